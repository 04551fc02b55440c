#include <gtest/gtest.h>

#include "serve/http/message.h"
#include "serve/http/pipeline.h"
#include "serve/http/router.h"

using namespace hubstatsd::http;

namespace {

Request req(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

Handler echo(std::string tag) {
  return [tag](const Request&, const PathParams& p) {
    std::string body = tag;
    for (const auto& [k, v] : p) body += " " + k + "=" + v;
    return json_response(200, body);
  };
}

}  // namespace

TEST(Router, CapturesWithAffixes) {
  Router r;
  r.add("GET", "/{type}s/{ns}/{name}/stats", echo("stats"));
  EXPECT_EQ(r.dispatch(req("GET", "/models/a/b/stats")).body, "stats name=b ns=a type=model");
  EXPECT_EQ(r.dispatch(req("GET", "/models/a/b/stats/")).body, "stats name=b ns=a type=model");
  EXPECT_EQ(r.dispatch(req("GET", "/s/a/b/stats")).status, 404);  // empty capture
}

TEST(Router, ApiPrefixRegistersBoth) {
  Router r;
  r.add_with_api_prefix("GET", "/{type}s/{ns}/{name}/stats", echo("x"));
  EXPECT_EQ(r.dispatch(req("GET", "/api/datasets/a/b/stats")).status, 200);
  EXPECT_EQ(r.dispatch(req("GET", "/datasets/a/b/stats")).status, 200);
  EXPECT_EQ(r.routes().size(), 2u);
}

TEST(Router, UnknownPathIs404Json) {
  Router r;
  r.add("GET", "/api/trending", echo("t"));
  const Response res = r.dispatch(req("GET", "/api/trendy"));
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.body, R"({"detail":"Not Found"})");
}

TEST(Router, WrongMethodIs405WithAllow) {
  Router r;
  r.add("GET", "/{type}s/{ns}/{name}/like", echo("get"));
  r.add("POST", "/{type}s/{ns}/{name}/like", echo("post"));
  r.add("DELETE", "/{type}s/{ns}/{name}/like", echo("delete"));
  const Response res = r.dispatch(req("PUT", "/models/a/b/like"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.header("Allow"), "GET, HEAD, POST, DELETE");
  EXPECT_EQ(res.body, R"({"detail":"Method Not Allowed"})");
  EXPECT_EQ(r.dispatch(req("DELETE", "/models/a/b/like")).body, "delete name=b ns=a type=model");
}

TEST(Router, ConstraintFailureMeansNoMatch) {
  Router r;
  r.constrain("type", [](std::string_view v) { return v == "model"; });
  r.add("GET", "/{type}s/{ns}", echo("typed"));
  r.add("GET", "/{other}/{ns}", echo("fallback"));
  EXPECT_EQ(r.dispatch(req("GET", "/models/a")).body, "typed ns=a type=model");
  EXPECT_EQ(r.dispatch(req("GET", "/widgets/a")).body, "fallback ns=a other=widgets");
}

TEST(Router, FirstRegisteredWins) {
  Router r;
  r.add("GET", "/api/trending", echo("literal"));
  r.add("GET", "/api/{x}", echo("capture"));
  EXPECT_EQ(r.dispatch(req("GET", "/api/trending")).body, "literal");
  EXPECT_EQ(r.dispatch(req("GET", "/api/other")).body, "capture x=other");
}

TEST(Message, QueryParsingAndDecoding) {
  const auto q = parse_query("days=7&repo_type=model&x=a%20b+c&flag&&bad=%zz");
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"days", "7"}));
  EXPECT_EQ(q[2].second, "a b c");
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(q[4].second, "%zz");
  EXPECT_EQ(percent_decode("a%2Fb", false), "a/b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_FALSE(percent_decode("a%2", false).has_value());
  EXPECT_FALSE(percent_decode("a%", false).has_value());
}

TEST(Message, BearerAndCookie) {
  Request r;
  r.headers["authorization"] = "bearer  abc.def ";
  r.headers["cookie"] = "a=1; session_id=\"xyz\"; b=2";
  EXPECT_EQ(r.bearer_token(), "abc.def");
  EXPECT_EQ(r.cookie("session_id"), "xyz");
  EXPECT_EQ(r.cookie("b"), "2");
  EXPECT_EQ(r.cookie("c"), "");
  r.headers["authorization"] = "Basic Zm9v";
  EXPECT_EQ(r.bearer_token(), "");
  r.headers["authorization"] = "Bearerabc";
  EXPECT_EQ(r.bearer_token(), "");
}

TEST(RequestId, SaneIncomingIsEchoed) {
  Router r;
  r.add("GET", "/x", echo("x"));
  Pipeline p(r);
  Request in = req("GET", "/x");
  in.headers["x-request-id"] = "abc-123_DEF.4:5";
  const Response res = p.handle(in);
  EXPECT_EQ(res.header("X-Request-Id"), "abc-123_DEF.4:5");
  EXPECT_EQ(in.request_id, "abc-123_DEF.4:5");
}

TEST(RequestId, InsaneIncomingIsReplaced) {
  Router r;
  Pipeline p(r);
  for (std::string bad : {std::string("has space"), std::string("a\r\nSet-Cookie: x"),
                          std::string(200, 'a'), std::string("")}) {
    Request in = req("GET", "/nowhere");
    in.headers["x-request-id"] = bad;
    const Response res = p.handle(in);
    EXPECT_EQ(res.status, 404);  // every response carries an id, errors too
    EXPECT_NE(res.header("X-Request-Id"), bad);
    EXPECT_EQ(res.header("X-Request-Id").size(), 32u);
  }
}

TEST(RequestId, GeneratedIdsDiffer) {
  EXPECT_NE(make_request_id(), make_request_id());
  EXPECT_TRUE(sane_request_id(make_request_id()));
}

TEST(Pipeline, HandlerExceptionIs500) {
  Router r;
  r.add("GET", "/boom",
        [](const Request&, const PathParams&) -> Response { throw std::runtime_error("bug"); });
  Pipeline p(r);
  Request in = req("GET", "/boom");
  const Response res = p.handle(in);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body, R"({"detail":"Internal Server Error"})");
}

TEST(Router, HeadIsAnsweredByTheGetRoute) {
  Router r;
  r.add("GET", "/{type}s/{ns}/{name}/stats", echo("stats"));
  r.add("POST", "/{type}s/{ns}/{name}/like", echo("like"));
  const Response res = r.dispatch(req("HEAD", "/models/a/b/stats"));
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "stats name=b ns=a type=model");  // the server drops it for HEAD
  EXPECT_EQ(r.dispatch(req("HEAD", "/models/a/b/like")).status, 405);
  EXPECT_EQ(r.dispatch(req("PUT", "/models/a/b/stats")).header("Allow"), "GET, HEAD");
}

TEST(Router, CorsRoutesAreMarkedWithTheirApiTwin) {
  Router r;
  r.add_with_api_prefix("GET", "/{type}s/{ns}/{name}/stats", echo("stats"));
  r.add("GET", "/api/admin/repos", echo("admin"));
  r.allow_cors("/{type}s/{ns}/{name}/stats");
  EXPECT_THROW(r.allow_cors("/nope"), std::invalid_argument);
  int route = -1;
  r.dispatch(req("GET", "/api/models/a/b/stats"), &route);
  EXPECT_TRUE(r.cors(route));
  r.dispatch(req("GET", "/models/a/b/stats"), &route);
  EXPECT_TRUE(r.cors(route));
  r.dispatch(req("GET", "/api/admin/repos"), &route);
  EXPECT_FALSE(r.cors(route));
  EXPECT_EQ(r.cors_allow(req("OPTIONS", "/models/a/b/stats")), "GET, HEAD, OPTIONS");
  EXPECT_FALSE(r.cors_allow(req("OPTIONS", "/api/admin/repos")));
}

namespace {

Request with_origin(std::string method, std::string path, std::string origin) {
  Request r = req(std::move(method), std::move(path));
  if (!origin.empty()) r.headers["origin"] = std::move(origin);
  return r;
}

}  // namespace

TEST(Cors, AnyOriginOnReadRoutesOnly) {
  Router r;
  r.add("GET", "/api/trending", echo("t"));
  r.add("GET", "/api/admin/repos", echo("admin"));
  r.allow_cors("/api/trending");
  const CorsPolicy cors({"*"});
  const Pipeline p(r, nullptr, &cors);
  Request t = with_origin("GET", "/api/trending", "http://a.example");
  const Response res = p.handle(t);
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(res.header("Vary"), "");  // "*" does not depend on the Origin
  Request a = with_origin("GET", "/api/admin/repos", "http://a.example");
  EXPECT_EQ(p.handle(a).header("Access-Control-Allow-Origin"), "");
  Request pre = with_origin("OPTIONS", "/api/trending", "http://a.example");
  pre.headers["access-control-request-headers"] = "authorization";
  const Response pr = p.handle(pre);
  EXPECT_EQ(pr.status, 204);
  EXPECT_EQ(pr.body, "");
  EXPECT_EQ(pr.header("Access-Control-Allow-Origin"), "*");
  EXPECT_NE(pr.header("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
  EXPECT_EQ(pr.header("Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
  Request apre = with_origin("OPTIONS", "/api/admin/repos", "http://a.example");
  const Response ar = p.handle(apre);
  EXPECT_EQ(ar.status, 405);
  EXPECT_EQ(ar.header("Access-Control-Allow-Origin"), "");
}

TEST(Cors, ListedOriginsAreEchoedWithVary) {
  Router r;
  r.add("GET", "/api/trending", echo("t"));
  r.allow_cors("/api/trending");
  const CorsPolicy cors({"https://a.example", "http://b.example:8080"});
  const Pipeline p(r, nullptr, &cors);
  Request ok = with_origin("GET", "/api/trending", "http://b.example:8080");
  Response res = p.handle(ok);
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "http://b.example:8080");
  EXPECT_EQ(res.header("Vary"), "Origin");
  Request other = with_origin("GET", "/api/trending", "https://evil.example");
  res = p.handle(other);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "");
  EXPECT_EQ(res.header("Vary"), "Origin");
  Request pre = with_origin("OPTIONS", "/api/trending", "https://evil.example");
  res = p.handle(pre);
  EXPECT_EQ(res.status, 204);
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "");
}

TEST(Cors, DisabledPolicyAddsNothing) {
  Router r;
  r.add("GET", "/api/trending", echo("t"));
  r.allow_cors("/api/trending");
  const CorsPolicy cors({});
  const Pipeline p(r, nullptr, &cors);
  Request t = with_origin("GET", "/api/trending", "http://a.example");
  EXPECT_EQ(p.handle(t).header("Access-Control-Allow-Origin"), "");
  Request pre = with_origin("OPTIONS", "/api/trending", "http://a.example");
  EXPECT_EQ(p.handle(pre).status, 405);
}
