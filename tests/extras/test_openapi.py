"""/openapi.json of the real daemon documents exactly the routes it serves. The served
route table comes from the daemon itself (hubstatsd_http_route_info in /metrics), so a
route registered anywhere (commands.cpp included) without documentation fails here."""
import re

from extras_stack import parse_metrics


def documented(doc):
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


def test_openapi_matches_the_served_routes(stack):
    r = stack.get("/openapi.json")  # through nginx, as a client would
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"].startswith("3.0.")
    served = {(l["method"], l["route"]) for n, l, _ in parse_metrics(stack.metrics())
              if n == "hubstatsd_http_route_info"}
    assert len(served) > 30
    assert served - documented(doc) == set(), "served but undocumented"
    assert documented(doc) - served == set(), "documented but not served"


def test_documented_paths_answer(stack):
    """Every documented GET path, filled with a seeded repo, reaches its handler: never the
    router's {"detail":"Not Found"} or 405."""
    doc = stack.get("/openapi.json", direct=True).json()
    values = {"type": "model", "ns": "demo", "name": "tiny-model", "user": "alice",
              "org": "acme", "username": "alice", "token_id": "1"}
    for path, item in doc["paths"].items():
        if "get" not in item:
            continue
        concrete = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
        r = stack.get(concrete, direct=True)
        assert r.status_code != 405, path
        if r.status_code == 404:
            assert r.json().get("detail") != "Not Found", path


def test_bounds_are_documented(stack):
    doc = stack.get("/openapi.json", direct=True).json()
    params = {p["name"]: p["schema"] for p in
              doc["paths"]["/api/{type}s/{ns}/{name}/stats/chart.svg"]["get"]["parameters"]
              if "name" in p}
    assert params["days"] == {"type": "integer", "minimum": 1, "maximum": 365, "default": 30}
    trending = {p["name"]: p["schema"] for p in doc["paths"]["/api/trending"]["get"]["parameters"]}
    assert trending["limit"]["maximum"] == 100 and trending["days"]["maximum"] == 90
    # The documented bounds are the enforced ones.
    assert stack.get("/api/trending?limit=100", direct=True).status_code == 200
    assert stack.get("/api/trending?limit=101", direct=True).status_code == 422
    assert stack.get("/models/demo/tiny-model/stats/chart.svg?days=365",
                     direct=True).status_code == 200
    assert stack.get("/models/demo/tiny-model/stats/chart.svg?days=366",
                     direct=True).status_code == 422
