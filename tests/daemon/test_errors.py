"""Error answers through nginx: 404 RepoNotFound identical for missing and private
repos, FastAPI-shaped 422s, unknown routes, 405, request ids."""
import pytest

NOT_FOUND = {"detail": "Repository 'demo/secret' (model) not found"}


@pytest.fixture
def repos(stack):
    stack.add_repo("model", "demo", "public")
    stack.add_repo("model", "demo", "secret", private=True)
    return {"demo": stack.daemon.add_user("demo"), "outsider": stack.daemon.add_user("outsider")}


def error_view(r):
    return (r.status_code, r.headers.get("X-Error-Code"), r.headers.get("X-Error-Message"), r.text)


def test_private_repo_is_indistinguishable_from_a_missing_one(stack, repos):
    for path in ("/models/demo/{}/stats", "/api/models/demo/{}/stats/recent?days=3"):
        for token in (None, repos["outsider"], "garbage-token"):
            hidden = stack.get(path.format("secret"), token=token)
            assert hidden.status_code == 404
            assert hidden.json() == NOT_FOUND
            assert hidden.headers["X-Error-Code"] == "RepoNotFound"
            assert hidden.headers["X-Error-Message"] == "Repository 'demo/secret' (model) not found"
            # Same answer, byte for byte, as for a repo that never existed (other name).
            missing = stack.get(path.format("secreu"), token=token)
            assert error_view(missing) == (404, "RepoNotFound",
                                           "Repository 'demo/secreu' (model) not found",
                                           hidden.text.replace("secret", "secreu"))
        assert stack.get(path.format("secret"), token=repos["demo"]).status_code == 200


def test_validation_errors_have_fastapi_shape(stack, repos):
    r = stack.get("/models/demo/public/stats/recent", params={"days": "0"})
    assert r.status_code == 422
    assert r.text == ('{"detail":[{"type":"greater_than_equal","loc":["query","days"],'
                      '"msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}}]}')
    r = stack.get("/api/trending", params={"repo_type": "modle", "days": "x", "limit": "1000"})
    assert r.status_code == 422
    assert r.json() == {"detail": [
        {"type": "string_pattern_mismatch", "loc": ["query", "repo_type"],
         "msg": "String should match pattern '^(model|dataset|space)$'", "input": "modle",
         "ctx": {"pattern": "^(model|dataset|space)$"}},
        {"type": "int_parsing", "loc": ["query", "days"],
         "msg": "Input should be a valid integer, unable to parse string as an integer",
         "input": "x"},
        {"type": "less_than_equal", "loc": ["query", "limit"],
         "msg": "Input should be less than or equal to 100", "input": "1000", "ctx": {"le": 100}},
    ]}


def test_unknown_route_and_wrong_method(stack, repos):
    r = stack.get("/api/nothing-here")
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
    assert r.headers["X-Request-Id"]
    r = stack.get("/widgets/demo/public/stats")  # not a repo type
    assert r.status_code == 404
    import requests
    r = requests.post(stack.url("/api/trending"), timeout=10)
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"  # HEAD with GET; OPTIONS: CORS
    assert r.json() == {"detail": "Method Not Allowed"}


def test_request_ids(stack, repos):
    a = stack.get("/models/demo/public/stats")
    b = stack.get("/models/demo/public/stats")
    assert a.headers["X-Request-Id"] != b.headers["X-Request-Id"]
    echoed = stack.get("/models/demo/public/stats", headers={"X-Request-Id": "client-trace-1"})
    assert echoed.headers["X-Request-Id"] == "client-trace-1"
    replaced = stack.get("/models/demo/public/stats", headers={"X-Request-Id": "bad id with spaces"})
    assert replaced.headers["X-Request-Id"] != "bad id with spaces"
    # One structured access-log line per request, without tokens.
    stack.get("/models/demo/public/stats", token=repos["demo"], headers={"X-Request-Id": "tok-req"})
    log = stack.daemon.log_text()
    line = next(l for l in log.splitlines() if "request_id=tok-req" in l)
    for field in ("msg=request", "method=GET", "path=/models/demo/public/stats", "status=200",
                  "duration_ms="):
        assert field in line
    assert repos["demo"] not in log
