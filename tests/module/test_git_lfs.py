"""git clone over smart HTTP (git-http-backend behind fcgiwrap) and LFS through nginx."""
import json
import re

import pytest

import hub
from hub import MODEL, Client, anon, bearer
from harness.gitrepo import FcgiWrap, git, make_bare_repo


@pytest.fixture
def fcgiwrap(tmp_path):
    fw = FcgiWrap(tmp_path)
    yield fw
    fw.stop()


def upload_pack_posts(ng) -> int:
    """POST .../git-upload-pack answered 200, from nginx's access log."""
    text = (ng.prefix / "access.log").read_text()
    return len(re.findall(r'"POST /[^ ]*\.git/git-upload-pack HTTP/[0-9.]+" 200 ', text))


def test_git_clone_counts_once_and_push_does_not(make_nginx, redis, rclient, secret_file,
                                                 hub_root, fcgiwrap, tmp_path):
    make_bare_repo(hub_root / "git/models/demo/tiny-model.git",
                   {"config.json": '{"a": 1}\n', "README.md": "# hi\n"})
    (hub_root / "git/demo").mkdir()
    (hub_root / "git/demo/tiny-model.git").symlink_to(hub_root / "git/models/demo/tiny-model.git")
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, fcgi_socket=fcgiwrap.socket))
    c = Client(ng)

    # Anonymous clone (typed URL, protocol v2: ls-refs + fetch POSTs), then an
    # authenticated clone (model form, Bearer, protocol v0: one POST of wants).
    base = f"http://127.0.0.1:{ng.port}"
    git("-c", "http.extraHeader=X-Forwarded-For: 10.3.3.3", "-c", "protocol.version=2", "clone",
        "-q", f"{base}/models/demo/tiny-model.git", str(tmp_path / "c1"))
    assert (tmp_path / "c1/config.json").read_text() == '{"a": 1}\n'
    s = c.settled()
    assert upload_pack_posts(ng) == 2  # the v2 clone really made two POSTs
    assert s["counted"] == 1
    assert hub.counters(rclient, MODEL) == {
        "downloads": 1, "authenticated": 0, "anonymous": 1, "files": 1}

    git("-c", "http.extraHeader=Authorization: Bearer tok-git", "-c", "protocol.version=0",
        "clone", "-q", f"{base}/demo/tiny-model.git", str(tmp_path / "c2"))
    assert (tmp_path / "c2/README.md").read_text() == "# hi\n"
    s = c.settled()
    assert upload_pack_posts(ng) == 3
    assert s["counted"] == 2
    assert hub.counters(rclient, MODEL) == {
        "downloads": 2, "authenticated": 1, "anonymous": 1, "files": 2}

    # A fetch with something new to get is a download; a push never is.
    (tmp_path / "c1/new.txt").write_text("pushed\n")
    git("add", "new.txt", cwd=tmp_path / "c1")
    git("commit", "-q", "-m", "push", cwd=tmp_path / "c1")
    git("push", "-q", "origin", "HEAD:main", cwd=tmp_path / "c1")
    assert "receive-pack" in (ng.prefix / "access.log").read_text()
    s = c.settled()
    assert s["counted"] == 2
    assert hub.counters(rclient, MODEL)["files"] == 2
    git("-c", "protocol.version=2", "pull", "-q", cwd=tmp_path / "c2")
    assert (tmp_path / "c2/new.txt").read_text() == "pushed\n"
    s = c.settled()
    assert s["counted"] == 3
    assert hub.counters(rclient, MODEL)["files"] == 3


def test_lfs_download_batch_and_objects(make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root))
    c = Client(ng)
    batch = "/models/demo/tiny-model.git/info/lfs/objects/batch"
    body = lambda op: json.dumps({"operation": op, "transfers": ["basic"],  # noqa: E731
                                  "objects": [{"oid": hub.LFS_OID, "size": 1088}]})
    ct = {"Content-Type": "application/vnd.git-lfs+json"}
    who = anon("10.4.4.4", "git-lfs/3.3")
    assert c.get(batch, method="POST", who=who, data=body("download"), headers=ct).status_code == 200
    assert c.get(batch, method="POST", who=who, data=body("upload"), headers=ct).status_code == 200
    obj = f"/models/demo/tiny-model.git/info/lfs/objects/{hub.LFS_OID}"
    assert c.get(obj, who=who).status_code == 200
    assert c.get(obj, method="HEAD", who=who).status_code == 200
    assert c.get(obj, who=bearer("tok-lfs")).status_code == 200
    s = c.settled()
    assert s["counted"] == 3
    assert hub.counters(rclient, MODEL) == {
        "downloads": 2, "authenticated": 1, "anonymous": 1, "files": 3}
