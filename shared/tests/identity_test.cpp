#include "hubstats/identity.h"

#include <gtest/gtest.h>

#include <sodium.h>

#include <set>

namespace hubstats {
namespace {

IdentityKey key(std::string_view secret = "a-shared-secret-of-sufficient-length") {
  auto k = identity_key_from_secret(secret);
  EXPECT_TRUE(k.has_value());
  return *k;
}

TEST(Identity, SecretMustBeLongEnoughAndIsTrimmed) {
  EXPECT_FALSE(identity_key_from_secret("").has_value());
  EXPECT_FALSE(identity_key_from_secret("   short   \n").has_value());
  auto a = identity_key_from_secret("0123456789abcdef");
  auto b = identity_key_from_secret("  0123456789abcdef\n");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->bytes, b->bytes);
  EXPECT_NE(a->bytes, identity_key_from_secret("0123456789abcdeF")->bytes);
}

TEST(Identity, HubTokenIsThePartBeforeThePipe) {
  EXPECT_EQ(hub_token("abc"), "abc");
  EXPECT_EQ(hub_token("abc|https://huggingface.co,hf_x"), "abc");
  EXPECT_EQ(hub_token("abc|u1,t1|u2,t2"), "abc");
  EXPECT_EQ(hub_token("|https://huggingface.co,hf_x"), "");
  EXPECT_EQ(hub_token(""), "");
}

TEST(Identity, ExternalTokensDoNotChangeTheIdentity) {
  const IdentityKey k = key();
  const auto plain = derive_identity(k, {.authorization = "Bearer t1", .client_addr = "1.1.1.1"});
  const auto ext = derive_identity(
      k, {.authorization = "Bearer t1|https://huggingface.co,hf_ext", .client_addr = "2.2.2.2"});
  EXPECT_TRUE(ext.authenticated);
  EXPECT_EQ(plain.hex, ext.hex);
  // An empty hub token is no credential: the cookie, else the address, decides.
  const auto empty = derive_identity(
      k, {.authorization = "Bearer |https://huggingface.co,hf_ext", .cookie = "sess"});
  const auto cookie = derive_identity(k, {.cookie = "sess"});
  EXPECT_EQ(empty.hex, cookie.hex);
  const auto anon = derive_identity(k, {.authorization = "Bearer |u,t", .client_addr = "1.1.1.1"});
  EXPECT_FALSE(anon.authenticated);
}

TEST(Identity, BearerTokenParsing) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc  "), "abc");
  EXPECT_EQ(bearer_token("BEARER\tabc"), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token("Bearer "), "");
  EXPECT_EQ(bearer_token("Bearerabc"), "");
  EXPECT_EQ(bearer_token(""), "");
}

TEST(Identity, AnonymousIsAddressPlusAgent) {
  const auto k = key();
  auto a = derive_identity(k, {.client_addr = "10.0.0.1", .user_agent = "curl/8"});
  auto same = derive_identity(k, {.client_addr = "10.0.0.1", .user_agent = "curl/8"});
  auto other_ua = derive_identity(k, {.client_addr = "10.0.0.1", .user_agent = "git/2"});
  auto other_ip = derive_identity(k, {.client_addr = "10.0.0.2", .user_agent = "curl/8"});
  EXPECT_FALSE(a.authenticated);
  EXPECT_EQ(a.hex, same.hex);
  EXPECT_NE(a.hex, other_ua.hex);
  EXPECT_NE(a.hex, other_ip.hex);
  // The separator keeps ("1.2.3.4", "5x") and ("1.2.3.45", "x") apart.
  EXPECT_NE(derive_identity(k, {.client_addr = "1.2.3.4", .user_agent = "5x"}).hex,
            derive_identity(k, {.client_addr = "1.2.3.45", .user_agent = "x"}).hex);
}

TEST(Identity, CredentialsAuthenticateWithPriority) {
  const auto k = key();
  auto tok = derive_identity(k, {.authorization = "Bearer t1", .client_addr = "1.1.1.1"});
  auto tok_elsewhere = derive_identity(
      k, {.authorization = "Bearer t1", .client_addr = "2.2.2.2", .user_agent = "other"});
  EXPECT_TRUE(tok.authenticated);
  EXPECT_EQ(tok.hex, tok_elsewhere.hex);

  auto cookie = derive_identity(k, {.cookie = "sess", .client_addr = "1.1.1.1"});
  EXPECT_TRUE(cookie.authenticated);
  EXPECT_NE(cookie.hex, tok.hex);

  // The user variable names the person whatever token or cookie they used.
  auto u1 = derive_identity(k, {.user = "alice", .authorization = "Bearer t1"});
  auto u2 = derive_identity(k, {.user = "alice", .cookie = "sess"});
  EXPECT_TRUE(u1.authenticated);
  EXPECT_EQ(u1.hex, u2.hex);
  // Domain separation: a token equal to a user name is another identity.
  EXPECT_NE(derive_identity(k, {.user = "alice"}).hex,
            derive_identity(k, {.authorization = "Bearer alice"}).hex);
  // A non-Bearer Authorization header is no credential.
  auto basic = derive_identity(k, {.authorization = "Basic Zm9v", .client_addr = "1.1.1.1"});
  EXPECT_FALSE(basic.authenticated);
}

TEST(Identity, HashIsKeyedAndNeverContainsInput) {
  auto a = derive_identity(key("secret-number-one-xxxxxxxx"), {.authorization = "Bearer tok"});
  auto b = derive_identity(key("secret-number-two-xxxxxxxx"), {.authorization = "Bearer tok"});
  EXPECT_NE(a.hex, b.hex);
  EXPECT_EQ(a.hex.size(), 16u);
  EXPECT_EQ(a.hex.view().find_first_not_of("0123456789abcdef"), std::string::npos);
  std::set<std::string> seen;
  const auto k = key();
  for (int i = 0; i < 1000; ++i) {
    seen.insert(
        std::string(derive_identity(k, {.client_addr = "10.0.0." + std::to_string(i)}).hex.view()));
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Identity, LongInputsHashLikeShortOnes) {
  // Inputs past the stack buffer go through the heap path: same rules, stable hashes.
  const auto k = key();
  const std::string ua(2000, 'x');
  auto a = derive_identity(k, {.client_addr = "10.0.0.1", .user_agent = ua});
  EXPECT_EQ(a.hex, derive_identity(k, {.client_addr = "10.0.0.1", .user_agent = ua}).hex);
  EXPECT_NE(a.hex, derive_identity(k, {.client_addr = "10.0.0.1", .user_agent = ua + "y"}).hex);
  EXPECT_NE(a.hex, derive_identity(k, {.client_addr = "10.0.0.1", .user_agent = "x"}).hex);
  const std::string tok(3000, 't');
  EXPECT_EQ(derive_identity(k, {.authorization = "Bearer " + tok}).hex,
            derive_identity(k, {.authorization = "Bearer " + tok, .client_addr = "2.2.2.2"}).hex);
  EXPECT_EQ(a.hex.size(), 16u);
}

TEST(Identity, FormatIsSipHashOfTaggedInput) {
  // Pins the format: hex of SipHash-2-4 under the key's first 16 bytes, over a domain
  // tag and the inputs (anonymous: "a\0" addr "\0" UA).
  const auto k = key();
  auto hex_of = [&k](std::string_view msg) {
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                     k.bytes.data());
    std::string h;
    for (unsigned char c : out) {
      h += "0123456789abcdef"[c >> 4];
      h += "0123456789abcdef"[c & 15];
    }
    return h;
  };
  using namespace std::literals;
  EXPECT_EQ(derive_identity(k, {.client_addr = "10.0.0.1", .user_agent = "curl/8"}).hex,
            hex_of("a\0"
                   "10.0.0.1\0"
                   "curl/8"sv));
  EXPECT_EQ(derive_identity(k, {.authorization = "Bearer tok"}).hex, hex_of("t\0tok"sv));
  EXPECT_EQ(derive_identity(k, {.cookie = "sess"}).hex, hex_of("c\0sess"sv));
  EXPECT_EQ(derive_identity(k, {.user = "alice"}).hex, hex_of("u\0alice"sv));
}

}  // namespace
}  // namespace hubstats
