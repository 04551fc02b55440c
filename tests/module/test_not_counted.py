"""Requests that are not downloads never reach Redis, even with hubstats on."""
import json

import hub
from hub import MODEL, Client, anon, bearer

WHO = anon("10.2.2.2", "ua-browse")


def test_nothing_counted_for_non_downloads(make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root))
    c = Client(ng)
    R = "/models/demo/tiny-model/resolve/main"
    lfs_upload = json.dumps({"operation": "upload", "transfers": ["basic"],
                             "objects": [{"oid": hub.LFS_OID, "size": 1}]})
    requests_made = [
        c.get("/models/demo/tiny-model", who=WHO),                       # repo page
        c.get("/models/demo/tiny-model/tree/main", who=WHO),             # browsing
        c.get("/api/models/demo/tiny-model/tree/main", who=WHO),         # tree API
        c.get("/api/models/demo/tiny-model", who=WHO),                   # repo info API
        c.get("/api/models/demo/tiny-model/stats", who=WHO),
        c.get(f"{R}/config.json", method="HEAD", who=WHO),               # HEAD
        c.get(f"{R}/config.json", method="HEAD", who=bearer("tok-h")),
        c.get(f"{R}/nope.json", who=WHO),                                # 404
        c.get(f"{R}/config.json", method="POST", who=WHO),               # 405 on static
        c.get(f"{R}/model.safetensors", who=WHO, headers={"Range": "bytes=100-200"}),
        c.get(f"{R}/model.safetensors", who=WHO, headers={"Range": "bytes=5000000-"}),  # 416
        c.get("/broken", who=WHO),                                       # 500
        c.get("/denied", who=WHO),                                       # 403
        c.get("/models/demo/tiny-model/blob/main/config.json", who=WHO),
        c.get("/models/demo/resolve/main/config.json", who=WHO),         # missing part
        c.get("/models/demo/tiny-model/resolve/main/", who=WHO),         # no file
        c.get("/models/de%7Bmo%7D/tiny-model/resolve/main/config.json", who=WHO),  # bad chars
        c.get("/models/" + "n" * 200 + "/x/resolve/main/config.json", who=WHO),  # overlong
        c.get("/widgets/demo/tiny-model/resolve/main/config.json", who=WHO),
        c.get("/models/demo/tiny-model.git/info/lfs/objects/batch", method="POST", who=WHO,
              data=lfs_upload, headers={"Content-Type": "application/vnd.git-lfs+json"}),
        c.get("/models/demo/tiny-model.git/info/lfs/objects/batch", method="GET", who=WHO),
        c.get("/", who=WHO),
    ]
    codes = [r.status_code for r in requests_made]
    assert 206 in codes and 404 in codes and 500 in codes and 403 in codes and 416 in codes
    assert requests_made[-3].status_code == 200  # the upload batch reached the backend

    s = c.status()
    assert s["requests"] == len(requests_made)
    assert s["counted"] == 0
    assert rclient.keys("*") == []

    # The pipeline is live: one real download right after is counted.
    assert c.get(f"{R}/config.json", who=WHO).status_code == 200
    s = c.settled()
    assert s["counted"] == 1 and s["sent"] == 1
    assert hub.counters(rclient, MODEL)["files"] == 1


def test_hubstats_off_location_counts_nothing(make_nginx, redis, rclient, secret_file, hub_root):
    conf = hub.http_conf(redis, secret_file, hub_root).replace(
        "    hubstats on;\n", "    hubstats off;\n", 1)
    ng = make_nginx(conf)
    c = Client(ng)
    assert c.get("/models/demo/tiny-model/resolve/main/config.json", who=WHO).status_code == 200
    s = c.status()
    assert s["requests"] == 0 and s["counted"] == 0
    assert rclient.keys("*") == []
