"""A stand-in for KohakuHub's API server (the `hub-api:48888` upstream of its nginx),
answering the routes hubstats cares about the way KohakuHub does:

- resolve (`/{type}s/ns/name/resolve/rev/path`, `/ns/name/resolve/...`, and under /api):
  GET -> 302 to a presigned object-store URL; HEAD -> 200 with the file's metadata;
  a missing file -> 404 `X-Error-Code: EntryNotFound`; a missing repo -> 404 RepoNotFound;
- LFS batch (`.../name.git/info/lfs/objects/batch`): reads the whole JSON body and
  answers the batch JSON;
- likes (`/api/{type}s/ns/name/like` GET/POST/DELETE, `.../likers`), with KohakuHub's
  answers (401 Not authenticated, 400 already liked / not liked, likes_count);
- the hub's own `/api/.../stats` (which a hubstats drop-in must not reach);
- anything else under /api/, /admin/api/, /org/: 200 JSON naming the path.

Tokens are `Bearer tok-<user>`. Every request is recorded in `.requests` as
(method, path). Runs in a thread of the test process:

    hub = FakeKohakuHub({"model/demo/tiny": {"config.json": b"{}"}}).start()
    hub.port ... hub.stop()
"""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_RESOLVE = [
    re.compile(r"^(?:/api)?/(?P<t>models|datasets|spaces)/(?P<ns>[^/]+)/(?P<nm>[^/]+)"
               r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)$"),
    re.compile(r"^(?:/api)?/(?P<ns>[^/]+)/(?P<nm>[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$"),
]
_LFS_BATCH = re.compile(r"^/(?:(?P<t>models|datasets|spaces)/)?(?P<ns>[^/]+)/(?P<nm>[^/]+)\.git"
                        r"/info/lfs/objects/batch$")
_LIKE = re.compile(r"^/api/(?P<t>models|datasets|spaces)/(?P<ns>[^/]+)/(?P<nm>[^/]+)"
                   r"/(?P<what>like|likers|stats)$")


class FakeKohakuHub:
    def __init__(self, repos):
        """repos: {"model/ns/name": {"path": bytes}}."""
        self.repos = repos
        self.likes = {}  # repo key -> [user, ...] newest last
        self.requests = []
        self.lock = threading.Lock()
        self.server = None
        self.thread = None

    @property
    def port(self):
        return self.server.server_address[1]

    def start(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                hub.handle(self, "GET")

            def do_HEAD(self):
                hub.handle(self, "HEAD")

            def do_POST(self):
                hub.handle(self, "POST")

            def do_DELETE(self):
                hub.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def seen(self, method, path):
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and p == path)

    # ---- answers ----

    def handle(self, h, method):
        path = h.path.split("?", 1)[0]
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        with self.lock:
            self.requests.append((method, path))
        user = None
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Bearer tok-"):
            user = auth[len("Bearer tok-"):].split("|", 1)[0] or None
        for rx in _RESOLVE:
            m = rx.match(path)
            if m and method in ("GET", "HEAD"):
                t = TYPES[m.group("t")] if "t" in m.groupdict() and m.group("t") else "model"
                return self.resolve(h, method, t, m.group("ns"), m.group("nm"), m.group("rev"),
                                    m.group("path"))
        m = _LFS_BATCH.match(path)
        if m and method == "POST":
            return self.lfs_batch(h, body)
        m = _LIKE.match(path)
        if m:
            key = f"{TYPES[m.group('t')]}/{m.group('ns')}/{m.group('nm')}"
            return self.like(h, method, key, m.group("what"), user)
        return self.send(h, 200, {"hub": True, "method": method, "path": path})

    def send(self, h, status, obj, headers=None, head=False):
        data = json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if not head:
            h.wfile.write(data)

    def resolve(self, h, method, t, ns, nm, rev, path):
        key = f"{t}/{ns}/{nm}"
        files = self.repos.get(key)
        if files is None:
            msg = f"Repository '{ns}/{nm}' ({t}) not found"
            return self.send(h, 404, {"detail": msg}, {"X-Error-Code": "RepoNotFound",
                                                       "X-Error-Message": msg}, method == "HEAD")
        if path not in files:
            msg = f"Entry '{path}' not found in {ns}/{nm}"
            return self.send(h, 404, {"detail": msg}, {"X-Error-Code": "EntryNotFound",
                                                       "X-Error-Message": msg}, method == "HEAD")
        data = files[path]
        meta = {"X-Repo-Commit": "0" * 40, "ETag": f'"{len(data):x}"',
                "X-Linked-Size": str(len(data)), "Accept-Ranges": "bytes"}
        if method == "HEAD":
            h.send_response(200)
            for k, v in meta.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            return None
        h.send_response(302)
        h.send_header("Location", f"http://storage.invalid/hub-storage/{key}/{path}?X-Amz-Sig=x")
        for k, v in meta.items():
            h.send_header(k, v)
        h.send_header("Content-Length", "0")
        h.end_headers()
        return None

    def lfs_batch(self, h, body):
        req = json.loads(body or b"{}")
        op = req.get("operation")
        objects = [{"oid": o.get("oid"), "size": o.get("size"), "authenticated": True,
                    "actions": {op: {"href": f"http://storage.invalid/lfs/{o.get('oid')}"}}}
                   for o in req.get("objects", [])]
        return self.send(h, 200, {"transfer": "basic", "objects": objects},
                         {"Content-Type": "application/vnd.git-lfs+json"})

    def like(self, h, method, key, what, user):
        with self.lock:
            likers = self.likes.setdefault(key, [])
            if what == "stats":
                return self.send(h, 200, {"downloads": 424242, "likes": len(likers),
                                          "answered_by": "fake-kohakuhub"})
            if what == "likers":
                return self.send(h, 200, [{"user": u, "fullname": u.title(), "avatarUrl": None}
                                          for u in reversed(likers)])
            if method == "GET":
                return self.send(h, 200, {"liked": user in likers if user else False})
            if not user:
                return self.send(h, 401, {"detail": "Not authenticated"})
            if method == "POST":
                if user in likers:
                    return self.send(h, 400, {"detail": {"error": "Repository already liked"}})
                likers.append(user)
                return self.send(h, 200, {"success": True,
                                          "message": "Repository liked successfully",
                                          "likes_count": len(likers)})
            if user not in likers:
                return self.send(h, 400, {"detail": {"error": "Repository not liked"}})
            likers.remove(user)
            return self.send(h, 200, {"success": True, "message": "Repository unliked successfully",
                                      "likes_count": len(likers)})
