# Shared steps of scripts/dev-up and scripts/fleet-up (sourced, not run): the demo hub,
# PostgreSQL, hubstatsd, fcgiwrap, nginx with the module, the demo catalog and tokens,
# and stopping what they started by the PIDs they recorded.
# Every function takes its directories and ports as arguments; nothing is global but
# $STACK_NAME (the prefix of log lines) and the constants below.

STACK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK_PGBIN=/usr/lib/postgresql/15/bin

stack_log() { printf '%s: %s\n' "${STACK_NAME:-stack}" "$*" >&2; }

# stack_secrets RUN: the identity-hash secret (shared by every nginx of a fleet) and the
# admin token, created once and kept.
stack_secrets() {
  local run=$1
  [ -s "$run/secret" ] || (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$run/secret")
  [ -s "$run/admin.token" ] ||
    (umask 077 && echo "hsa_$(head -c 24 /dev/urandom | base64 -w0 | tr '+/' '-_')" >"$run/admin.token")
}

# stack_demo_hub RUN: the demo repos as files under RUN/hub and as bare git repositories
# under RUN/git, cloneable over smart HTTP.
stack_demo_hub() {
  local run=$1 hub=$1/hub repo bare work
  mkdir -p "$hub/models/demo/tiny-model" "$hub/datasets/demo/tiny-dataset" "$hub/models/demo/secret-model"
  cat >"$hub/models/demo/tiny-model/config.json" <<'JSON'
{"architectures": ["TinyModel"], "hidden_size": 64, "num_layers": 2, "vocab_size": 1024}
JSON
  printf '# tiny-model\n\nA demo model served by the hubstats dev stack.\n' >"$hub/models/demo/tiny-model/README.md"
  [ -s "$hub/models/demo/tiny-model/model.safetensors" ] ||
    head -c $((1536 * 1024)) /dev/urandom >"$hub/models/demo/tiny-model/model.safetensors"
  printf 'id,text,label\n1,hello,0\n2,world,1\n3,hubstats,1\n' >"$hub/datasets/demo/tiny-dataset/data.csv"
  echo '{"architectures": ["SecretModel"], "hidden_size": 32}' >"$hub/models/demo/secret-model/config.json"
  for repo in models/demo/tiny-model datasets/demo/tiny-dataset models/demo/secret-model; do
    bare=$run/git/$repo.git
    [ -d "$bare" ] && continue
    work=$(mktemp -d)
    cp -r "$hub/$repo/." "$work/"
    git -C "$work" init -q -b main
    git -C "$work" -c user.name=demo -c user.email=demo@example.invalid add -A
    git -C "$work" -c user.name=demo -c user.email=demo@example.invalid commit -qm "initial"
    mkdir -p "$(dirname "$bare")"
    git clone -q --bare "$work" "$bare"
    git -C "$bare" config http.receivepack false
    rm -rf "$work"
  done
  chmod -R a+rX "$run/hub" "$run/git"
}

# stack_postgres RUN PORT: a PostgreSQL cluster in RUN/pg on 127.0.0.1:PORT with the
# database hubstats (initialised once, kept across runs).
stack_postgres() {
  local run=$1 port=$2
  mkdir -p "$run/logs/postgres" "$run/pg-sock"
  chown postgres:postgres "$run/pg-sock" "$run/logs/postgres"
  if [ ! -s "$run/pg/PG_VERSION" ]; then
    stack_log "initialising PostgreSQL in $run/pg"
    mkdir -p "$run/pg" && chown postgres:postgres "$run/pg" && chmod 700 "$run/pg"
    runuser -u postgres -- "$STACK_PGBIN/initdb" -D "$run/pg" -U postgres -A trust >/dev/null
  fi
  stack_log "starting PostgreSQL on 127.0.0.1:$port"
  runuser -u postgres -- "$STACK_PGBIN/pg_ctl" -D "$run/pg" -l "$run/logs/postgres/postgres.log" -w \
    -o "-p $port -k $run/pg-sock -c listen_addresses=127.0.0.1" start >/dev/null
  [ "$(stack_psql "$port" -c "SELECT 1 FROM pg_database WHERE datname='hubstats'")" = 1 ] ||
    stack_psql "$port" -c "CREATE DATABASE hubstats"
}
# stack_wait_redis PORT LOG: waits until the redis-server on PORT answers PONG. One
# restarted from a large AOF answers LOADING for a while, and every client in between
# would fail; one that never comes up ends the script, naming its log.
stack_wait_redis() {
  local port=$1 logf=$2 answer=""
  for _ in $(seq 1200); do
    answer=$(redis-cli -p "$port" ping 2>&1 | tr -d '\r') || true
    [ "$answer" = PONG ] && return 0
    sleep 0.05
  done
  stack_log "redis on 127.0.0.1:$port is not ready after 60 s (last answer: ${answer:-none}):"
  tail -5 "$logf" >&2
  exit 1
}
stack_psql() { local port=$1; shift; psql -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

# stack_daemon_config OUT RUN PORT PG_PORT REDIS_YAML: a hubstatsd config file; REDIS_YAML
# is the body of its redis: section (indented two spaces). The session window is the
# nginx module's alone (hubstats_session_window).
stack_daemon_config() {
  local out=$1 run=$2 port=$3 pg_port=$4 redis_yaml=$5
  cat >"$out" <<YAML
listen:
  address: 127.0.0.1
  port: $port
redis:
$redis_yaml
postgres:
  dsn: "host=127.0.0.1 port=$pg_port dbname=hubstats user=postgres"
  pool_size: 8
fold:
  interval: 5s
catalog:
  backend: builtin
  cache_ttl: 2s
  admin_token_file: $run/admin.token
log:
  level: info
YAML
}

# stack_start_daemon BINARY CONFIG LOG PIDFILE PORT: starts hubstatsd, waits for /health.
stack_start_daemon() {
  local bin=$1 config=$2 logf=$3 pidfile=$4 port=$5
  stack_log "starting hubstatsd on 127.0.0.1:$port"
  nohup "$bin" -c "$config" >>"$logf" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0; sleep 0.05; done
  stack_log "hubstatsd did not come up; see $logf"
  tail -20 "$logf" >&2
  return 1
}

# stack_fcgiwrap RUN: git-http-backend through fcgiwrap on RUN/fcgiwrap.sock.
stack_fcgiwrap() {
  local run=$1
  rm -f "$run/fcgiwrap.sock"
  nohup fcgiwrap -c 2 -s "unix:$run/fcgiwrap.sock" >>"$run/logs/fcgiwrap.log" 2>&1 &
  echo $! >"$run/fcgiwrap.pid"
  for _ in $(seq 100); do [ -S "$run/fcgiwrap.sock" ] && break; sleep 0.05; done
  chmod 666 "$run/fcgiwrap.sock"
}

# stack_nginx RUN NODE LOGS PORT MODULE WINDOW REDIS_DIRECTIVE DAEMON_SERVERS: writes
# NODE/nginx.conf from conf/dev/nginx.conf.in (the hub in RUN, this node's pid, temp
# paths and spool in NODE, its logs in LOGS) and starts nginx with prefix NODE.
stack_nginx() {
  local run=$1 node=$2 logs=$3 port=$4 module=$5 window=$6 redis=$7 daemons=$8
  mkdir -p "$node/tmp" "$logs"
  chown -R nobody:nogroup "$node/tmp"
  sed -e "s#@RUN@#$run#g" -e "s#@NODE@#$node#g" -e "s#@LOGS@#$logs#g" -e "s#@MODULE@#$module#g" \
    -e "s#@NGINX_PORT@#$port#g" -e "s#@WINDOW@#$window#g" \
    -e "s#@REDIS_DIRECTIVE@#$redis#g" -e "s#@DAEMON_SERVERS@#$daemons#g" \
    "$STACK_ROOT/conf/dev/nginx.conf.in" >"$node/nginx.conf"
  /usr/sbin/nginx -t -q -p "$node" -c "$node/nginx.conf"
  stack_log "starting nginx on http://127.0.0.1:$port"
  /usr/sbin/nginx -p "$node" -c "$node/nginx.conf"
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/hubstats_status" >/dev/null 2>&1 && break; sleep 0.05; done
}

# stack_catalog RUN DAEMON_PORT: the demo repos, users and tokens (RUN/tokens.env), through
# the admin API; running it again keeps what exists.
stack_catalog() {
  local run=$1 port=$2 admin
  admin=$(cat "$run/admin.token")
  _stack_api() { # method path [json] -> prints body; tolerates 409 (already there)
    local code
    code=$(curl -s -o "$run/.api.out" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $admin" \
      -H 'Content-Type: application/json' ${3:+--data "$3"} "http://127.0.0.1:$port$2")
    case $code in 2*|409) cat "$run/.api.out" ;; *) stack_log "$1 $2 -> $code: $(cat "$run/.api.out")"; return 1 ;; esac
  }
  _stack_api POST /api/admin/repos '{"type":"model","namespace":"demo","name":"tiny-model"}' >/dev/null
  _stack_api POST /api/admin/repos '{"type":"dataset","namespace":"demo","name":"tiny-dataset"}' >/dev/null
  _stack_api POST /api/admin/repos '{"type":"model","namespace":"demo","name":"secret-model","private":true}' >/dev/null
  _stack_api PUT /api/admin/repos/models/demo/secret-model/private '{"private":true}' >/dev/null
  _stack_api POST /api/admin/users '{"username":"demo","fullname":"Demo User"}' >/dev/null
  _stack_api POST /api/admin/users '{"username":"outsider","fullname":"Outsider"}' >/dev/null

  _stack_token_works() { # token -> true when the daemon knows it (GET like answers for a user)
    [ -n "$1" ] && curl -fs -H "Authorization: Bearer $1" \
      "http://127.0.0.1:$port/api/models/demo/secret-model/stats" >/dev/null
  }
  local DEMO_TOKEN='' OUTSIDER_TOKEN=''
  [ -s "$run/tokens.env" ] && . "$run/tokens.env"
  _stack_token_works "$DEMO_TOKEN" ||
    DEMO_TOKEN=$(_stack_api POST /api/admin/tokens '{"username":"demo","name":"dev-up"}' |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  # The outsider cannot read the private repo, so its token is checked against the admin list.
  if [ -z "$OUTSIDER_TOKEN" ] || ! _stack_api GET '/api/admin/tokens?username=outsider' |
    python3 -c 'import json,sys; sys.exit(0 if any(not t["revoked"] for t in json.load(sys.stdin)) else 1)'; then
    OUTSIDER_TOKEN=$(_stack_api POST /api/admin/tokens '{"username":"outsider","name":"dev-up"}' |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  fi
  (umask 077 && cat >"$run/tokens.env" <<ENV
HUBSTATS_ADMIN_TOKEN=$admin
DEMO_TOKEN=$DEMO_TOKEN
OUTSIDER_TOKEN=$OUTSIDER_TOKEN
ENV
  )
  rm -f "$run/.api.out"
}

# stack_stop_pid NAME PIDFILE: SIGTERM, up to 10 s, then SIGKILL; removes the pidfile.
stack_stop_pid() {
  local pid
  [ -s "$2" ] || return 0
  pid=$(cat "$2")
  if kill -0 "$pid" 2>/dev/null; then
    stack_log "stopping $1 ($pid)"
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$2"
}

# stack_stop_nginx NODE: a graceful quit (queued events are delivered or spooled).
stack_stop_nginx() {
  local node=$1
  [ -s "$node/nginx.pid" ] || return 0
  /usr/sbin/nginx -p "$node" -c "$node/nginx.conf" -s quit 2>/dev/null
  for _ in $(seq 100); do [ -s "$node/nginx.pid" ] || break; sleep 0.1; done
  stack_stop_pid nginx "$node/nginx.pid"
}

# stack_stop_fcgiwrap RUN: its workers outlive their parent: note them, stop the parent
# (no respawns), then them.
stack_stop_fcgiwrap() {
  local run=$1 workers
  workers=$([ -s "$run/fcgiwrap.pid" ] && pgrep -P "$(cat "$run/fcgiwrap.pid")" || true)
  stack_stop_pid fcgiwrap "$run/fcgiwrap.pid"
  for pid in $workers; do kill -TERM "$pid" 2>/dev/null; done
}

# stack_stop_postgres RUN
stack_stop_postgres() {
  local run=$1
  [ -s "$run/pg/postmaster.pid" ] || return 0
  stack_log "stopping PostgreSQL"
  runuser -u postgres -- "$STACK_PGBIN/pg_ctl" -D "$run/pg" -m fast -w stop >/dev/null
}
