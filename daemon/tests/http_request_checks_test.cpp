// Framing (RFC 9112 §6) and request-target (§3.2) rules, without sockets.
#include <gtest/gtest.h>

#include "serve/http/request_checks.h"

using namespace hubstatsd::http;

namespace {

int framing_status(std::vector<std::string_view> te, bool content_length = false,
                   unsigned version = 11) {
  const auto e = check_framing(te, content_length, version);
  return e ? e->status : 0;
}

}  // namespace

TEST(Framing, ContentLengthOrChunkedAloneAreFine) {
  EXPECT_EQ(framing_status({}), 0);
  EXPECT_EQ(framing_status({}, true), 0);
  EXPECT_EQ(framing_status({"chunked"}), 0);
  EXPECT_EQ(framing_status({"Chunked"}), 0);
  EXPECT_EQ(framing_status({" chunked "}), 0);
  EXPECT_EQ(framing_status({", chunked,"}), 0);  // empty list elements are ignored
}

TEST(Framing, FinalCodingNotChunkedIs400) {
  EXPECT_EQ(framing_status({"xchunked"}), 400);
  EXPECT_EQ(framing_status({"gzip"}), 400);
  EXPECT_EQ(framing_status({"chunked, identity"}), 400);
  EXPECT_EQ(framing_status({"chunked", "identity"}), 400);  // two fields, one list
  EXPECT_EQ(framing_status({"chunked;foo=bar, gzip"}), 400);
  EXPECT_EQ(framing_status({""}), 400);
  EXPECT_EQ(framing_status({","}), 400);
  EXPECT_EQ(framing_status({"chunkedx"}), 400);
}

TEST(Framing, ChunkedTwiceIs400) {
  EXPECT_EQ(framing_status({"chunked, chunked"}), 400);
  EXPECT_EQ(framing_status({"chunked", "chunked"}), 400);
  EXPECT_EQ(framing_status({"gzip, chunked, chunked"}), 400);
}

TEST(Framing, OtherCodingBeforeChunkedIs400) {
  EXPECT_EQ(framing_status({"gzip, chunked"}), 400);
  EXPECT_EQ(framing_status({"gzip", "chunked"}), 400);
}

TEST(Framing, TransferEncodingWithContentLengthIs400) {
  EXPECT_EQ(framing_status({"chunked"}, true), 400);
  EXPECT_EQ(framing_status({"xchunked"}, true), 400);
}

TEST(Framing, TransferEncodingInHttp10Is400) {
  EXPECT_EQ(framing_status({"chunked"}, false, 10), 400);
  EXPECT_EQ(framing_status({}, true, 10), 0);
}

TEST(Target, OriginFormIsKept) {
  EXPECT_EQ(origin_form_target("/"), "/");
  EXPECT_EQ(origin_form_target("/models/a/b/stats?x=1"), "/models/a/b/stats?x=1");
}

TEST(Target, NoLeadingSlashIsRefused) {
  EXPECT_FALSE(origin_form_target("models/demo/tiny-model/stats"));
  EXPECT_FALSE(origin_form_target(""));
  EXPECT_FALSE(origin_form_target("?a=1"));
}

TEST(Target, AbsoluteFormGivesItsPathAndQuery) {
  EXPECT_EQ(origin_form_target("http://hub.example/models/a/b/stats"), "/models/a/b/stats");
  EXPECT_EQ(origin_form_target("HTTP://hub.example:8080/x?y=1"), "/x?y=1");
  EXPECT_EQ(origin_form_target("https://[::1]:443/health"), "/health");
  EXPECT_EQ(origin_form_target("http://hub.example"), "/");
  EXPECT_EQ(origin_form_target("http://hub.example?a=1"), "/?a=1");
}

TEST(Target, BadAbsoluteFormsAreRefused) {
  EXPECT_FALSE(origin_form_target("http://"));
  EXPECT_FALSE(origin_form_target("http:///path"));
  EXPECT_FALSE(origin_form_target("http://user:pw@hub.example/x"));
  EXPECT_FALSE(origin_form_target("ftp://hub.example/x"));
  EXPECT_FALSE(origin_form_target("http:/hub.example/x"));
}

TEST(Target, AuthorityAsteriskAndFragmentsAreRefused) {
  EXPECT_FALSE(origin_form_target("hub.example:443"));
  EXPECT_FALSE(origin_form_target("*"));
  EXPECT_FALSE(origin_form_target("/health#frag"));
}

TEST(Host, ExactlyOneForHttp11) {
  EXPECT_FALSE(check_host(1, 11));
  EXPECT_EQ(check_host(0, 11)->status, 400);
  EXPECT_EQ(check_host(2, 11)->status, 400);
  EXPECT_FALSE(check_host(0, 10));
  EXPECT_EQ(check_host(2, 10)->status, 400);
}
