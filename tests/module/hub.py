"""The suite's hub: files laid out as repositories, and the nginx config that serves
them the way KohakuHub's nginx does (resolve, git smart HTTP, LFS), with hubstats on."""
import re
import time
from pathlib import Path

import requests

from harness.gitrepo import GIT_HTTP_BACKEND
from harness.ports import wait_until

LFS_OID = "a" * 64
MODEL = ("model", "demo", "tiny-model")
DATASET = ("dataset", "demo", "tiny-dataset")


def make_tree(root: Path) -> Path:
    """root/<type>s/<ns>/<name>/<file> plus root/lfs/<oid>."""
    files = {
        "models/demo/tiny-model/config.json": b'{"model_type": "tiny"}\n',
        "models/demo/tiny-model/README.md": b"# tiny model\n",
        "models/demo/tiny-model/model.safetensors": bytes(range(256)) * 4096,  # 1 MiB
        "datasets/demo/tiny-dataset/data.csv": b"a,b\n1,2\n",
        f"lfs/{LFS_OID}": b"lfs object bytes\n" * 64,
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "git").mkdir(parents=True, exist_ok=True)
    return root


def http_conf(redis, secret, root, *, fcgi_socket=None, main_extra="", server_extra="",
              status_format="") -> str:
    """The http{} body: hubstats settings, realip from loopback, and one server that
    serves the hub with hubstats on at server level (so non-countable requests are
    seen, and must not count)."""
    git = ""
    if fcgi_socket:
        git = f"""
    location ~ ^/(?:api/)?(?<gitpath>.+\\.git/(?:info/refs|git-upload-pack|git-receive-pack))$ {{
      client_max_body_size 0;
      fastcgi_pass unix:{fcgi_socket};
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME {GIT_HTTP_BACKEND};
      fastcgi_param GIT_PROJECT_ROOT {root}/git;
      fastcgi_param GIT_HTTP_EXPORT_ALL "";
      fastcgi_param PATH_INFO /$gitpath;
      fastcgi_param REMOTE_USER tester;
    }}"""
    return f"""
  hubstats_redis {redis.address};
  hubstats_secret_file {secret};
  {main_extra}
  set_real_ip_from 127.0.0.1;
  real_ip_header X-Forwarded-For;

  server {{
    listen 127.0.0.1:@PORT@;
    hubstats on;
    hubstats_user $http_x_test_user;
    {server_extra}

    # KohakuHub answers resolve with a 302 to presigned storage: counted at the 302.
    location ~ ^/datasets/demo/tiny-dataset/resolve/[^/]+/redirected\\.bin$ {{
      return 302 http://storage.invalid/presigned/redirected.bin;
    }}
    # resolve at the hub's pull-request and conversion refs (refs%2Fpr%2F1, decoded)
    location ~ ^/(?:api/)?(?<t>models|datasets|spaces)/(?<ns>[^/]+)/(?<nm>[^/]+)/resolve/refs/(?:pr|convert)/[^/]+/(?<p>.+)$ {{
      alias {root}/$t/$ns/$nm/$p;
    }}
    # resolve: /{{type}}s/ns/name/resolve/rev/path, under /api too, and /ns/name/... (model)
    location ~ ^/(?:api/)?(?<t>models|datasets|spaces)/(?<ns>[^/]+)/(?<nm>[^/]+)/resolve/[^/]+/(?<p>.+)$ {{
      alias {root}/$t/$ns/$nm/$p;
    }}
    location ~ ^/(?:api/)?(?<ns>[^/]+)/(?<nm>[^/]+)/resolve/[^/]+/(?<p>.+)$ {{
      alias {root}/models/$ns/$nm/$p;
    }}
    # LFS: the batch API is proxied (nginx buffers the body); objects are files.
    location ~ ^/.+\\.git/info/lfs/objects/batch$ {{
      set $lfs_backend http://127.0.0.1:@PORT@/__lfs_backend;
      proxy_pass $lfs_backend;
    }}
    location ~ "^/.+\\.git/info/lfs/objects/(?<oid>[0-9a-f]{{64}})$" {{
      alias {root}/lfs/$oid;
    }}
    location = /__lfs_backend {{
      hubstats off;
      default_type application/vnd.git-lfs+json;
      return 200 '{{"objects":[]}}';
    }}
    {git}
    # browsing and API stand-ins
    location /api/ {{ default_type application/json; return 200 '[]'; }}
    location = /broken {{ return 500; }}
    location = /denied {{ return 403; }}
    location / {{ default_type text/html; return 200 'page'; }}
    location = /hubstats {{ hubstats off; hubstats_status {status_format}; }}
  }}
"""


class Client:
    """HTTP against one nginx; every request on a fresh connection."""

    def __init__(self, ng, status_path="/hubstats"):
        self.ng = ng
        self.status_path = status_path

    def get(self, path, method="GET", who=None, headers=None, **kw):
        h = {"Connection": "close"}
        if who:
            h.update(who)
        if headers:
            h.update(headers)
        return requests.request(method, self.ng.url(path), headers=h, allow_redirects=False,
                                timeout=10, **kw)

    def status(self) -> dict:
        text = requests.get(self.ng.url(self.status_path), timeout=10).text
        return {k: int(v) for k, v in (l.split(": ", 1) for l in text.splitlines())}

    def wait_status(self, pred, what, timeout=10.0) -> dict:
        return wait_until(lambda: (lambda s: s if pred(s) else None)(self.status()),
                          timeout=timeout, what=what)

    def settled(self, timeout=10.0) -> dict:
        """Waits until nothing is queued and every counted event is accounted for."""
        return self.wait_status(
            lambda s: s["queued"] == 0
            and s["sent"] + s["failed"] + s["dropped"] + s.get("spooled", 0) == s["counted"],
            "hubstats queue to drain", timeout)


def anon(ip, ua):
    return {"X-Forwarded-For": ip, "User-Agent": ua}


def bearer(token, ip="10.9.9.9"):
    return {"Authorization": f"Bearer {token}", "X-Forwarded-For": ip, "User-Agent": "hf-hub"}


def cookie(value, ip="10.9.9.8"):
    return {"Cookie": f"theme=dark; session_id={value}", "X-Forwarded-For": ip,
            "User-Agent": "browser"}


def user(name, ip="10.9.9.7"):
    return {"X-Test-User": name, "X-Forwarded-For": ip, "User-Agent": "proxy"}


def counters(rc, repo) -> dict:
    """Sum of a repo's day hashes over the days recorded in its days set."""
    t, ns, nm = repo
    tag = f"{{{t}/{ns}/{nm}}}"
    total = {"downloads": 0, "authenticated": 0, "anonymous": 0, "files": 0}
    for d in rc.execute("SMEMBERS", f"hs:{tag}:days") or []:
        for k, v in rc.hgetall(f"hs:{tag}:d:{d}").items():
            total[k] = total.get(k, 0) + int(v)
    return total


def exit_summaries(ng) -> list[dict]:
    """The per-worker 'hubstats: worker exit:' summaries logged in error.log."""
    out = []
    for m in re.finditer(r"hubstats: worker exit: (.*)", ng.error_log_text()):
        out.append({k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())})
    return out


def dirty_key(tag: str, shards: int = 16) -> str:
    """The dirty-set shard of a repo tag: FNV-1a 32 of the tag modulo the shard count
    (keys::dirty_shard), written out here so the test checks the contract itself."""
    h = 0x811C9DC5
    for b in tag.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return f"hs:{{dirty:{h % shards}}}"
