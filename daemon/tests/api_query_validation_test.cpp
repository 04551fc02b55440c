#include <gtest/gtest.h>

#include "serve/api/query_validation.h"

using hubstatsd::api::parse_lax_int;
using hubstatsd::api::QueryValidator;
using hubstatsd::http::Request;

namespace {

Request with_query(std::vector<std::pair<std::string, std::string>> q) {
  Request r;
  r.method = "GET";
  r.path = "/x";
  r.query = std::move(q);
  return r;
}

}  // namespace

TEST(ParseLaxInt, AcceptsWhatPydanticAccepts) {
  EXPECT_EQ(parse_lax_int("7"), 7);
  EXPECT_EQ(parse_lax_int(" 7 "), 7);
  EXPECT_EQ(parse_lax_int("+7"), 7);
  EXPECT_EQ(parse_lax_int("-7"), -7);
  EXPECT_EQ(parse_lax_int("007"), 7);
  EXPECT_EQ(parse_lax_int("7.0"), 7);
  EXPECT_EQ(parse_lax_int("7.000"), 7);
}

TEST(ParseLaxInt, RejectsNonIntegers) {
  for (const char* bad : {"", " ", "abc", "7a", "7.5", "7.", ".5", "1e3", "0x10", "+", "--1"}) {
    EXPECT_FALSE(parse_lax_int(bad).has_value()) << bad;
  }
}

TEST(ParseLaxInt, SaturatesHugeValues) {
  EXPECT_EQ(parse_lax_int("99999999999999999999999"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parse_lax_int("-99999999999999999999999"), -std::numeric_limits<std::int64_t>::max());
}

TEST(QueryValidator, DefaultWhenAbsent) {
  const Request r = with_query({});
  QueryValidator v(r);
  EXPECT_EQ(v.integer("days", 30, 1, 365), 30);
  EXPECT_TRUE(v.ok());
}

TEST(QueryValidator, LastRepeatedValueWins) {
  const Request r = with_query({{"days", "0"}, {"days", "5"}});
  QueryValidator v(r);
  EXPECT_EQ(v.integer("days", 30, 1, 365), 5);
  EXPECT_TRUE(v.ok());
}

TEST(QueryValidator, BelowMinimumIsGreaterThanEqual) {
  const Request r = with_query({{"days", "0"}});
  QueryValidator v(r);
  v.integer("days", 30, 1, 365);
  ASSERT_FALSE(v.ok());
  const auto res = v.error_response();
  EXPECT_EQ(res.status, 422);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.body,
            R"({"detail":[{"type":"greater_than_equal","loc":["query","days"],)"
            R"("msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}}]})");
}

TEST(QueryValidator, AboveMaximumIsLessThanEqual) {
  const Request r = with_query({{"days", "366"}});
  QueryValidator v(r);
  v.integer("days", 30, 1, 365);
  EXPECT_EQ(
      v.error_response().body,
      R"({"detail":[{"type":"less_than_equal","loc":["query","days"],)"
      R"("msg":"Input should be less than or equal to 365","input":"366","ctx":{"le":365}}]})");
}

TEST(QueryValidator, NotANumberIsIntParsingWithoutCtx) {
  const Request r = with_query({{"limit", "ten"}});
  QueryValidator v(r);
  v.integer("limit", 20, 1, 100);
  EXPECT_EQ(v.error_response().body,
            R"({"detail":[{"type":"int_parsing","loc":["query","limit"],)"
            R"("msg":"Input should be a valid integer, unable to parse string as an integer",)"
            R"("input":"ten"}]})");
}

TEST(QueryValidator, EmptyValueIsIntParsing) {
  const Request r = with_query({{"days", ""}});
  QueryValidator v(r);
  v.integer("days", 7, 1, 90);
  EXPECT_NE(v.error_response().body.find(R"("type":"int_parsing")"), std::string::npos);
  EXPECT_NE(v.error_response().body.find(R"("input":"")"), std::string::npos);
}

TEST(QueryValidator, PatternMismatch) {
  const Request r = with_query({{"repo_type", "models"}});
  QueryValidator v(r);
  EXPECT_EQ(
      v.one_of("repo_type", "model", {"model", "dataset", "space"}, "^(model|dataset|space)$"),
      "model");
  EXPECT_EQ(v.error_response().body,
            R"({"detail":[{"type":"string_pattern_mismatch","loc":["query","repo_type"],)"
            R"("msg":"String should match pattern '^(model|dataset|space)$'","input":"models",)"
            R"("ctx":{"pattern":"^(model|dataset|space)$"}}]})");
}

TEST(QueryValidator, ReportsEveryInvalidParameterInOrder) {
  const Request r = with_query({{"limit", "0"}, {"repo_type", "x"}, {"days", "abc"}});
  QueryValidator v(r);
  v.one_of("repo_type", "model", {"model", "dataset", "space"}, "^(model|dataset|space)$");
  v.integer("days", 7, 1, 90);
  v.integer("limit", 20, 1, 100);
  const auto body = nlohmann::json::parse(v.error_response().body);
  ASSERT_EQ(body["detail"].size(), 3u);
  EXPECT_EQ(body["detail"][0]["loc"][1], "repo_type");
  EXPECT_EQ(body["detail"][1]["type"], "int_parsing");
  EXPECT_EQ(body["detail"][2]["type"], "greater_than_equal");
  EXPECT_EQ(body["detail"][2]["input"], "0");
}

TEST(QueryValidator, InvalidUtf8InputDoesNotBreakTheBody) {
  const Request r = with_query({{"days", std::string("\xff\xfe", 2)}});
  QueryValidator v(r);
  v.integer("days", 7, 1, 90);
  EXPECT_NO_THROW(nlohmann::json::parse(v.error_response().body));
}
