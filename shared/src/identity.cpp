#include "hubstats/identity.h"

#include <sodium.h>

#include <stdexcept>

namespace hubstats {

namespace {

constexpr std::string_view kKeyContext = "hubstats identity key v1";
constexpr std::size_t kMinSecret = 16;
constexpr std::size_t kDigest = 16;

std::string_view trim(std::string_view s) noexcept {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

bool ensure_sodium() noexcept {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

}  // namespace

std::optional<IdentityKey> identity_key_from_secret(std::string_view secret_contents) {
  const std::string_view secret = trim(secret_contents);
  if (secret.size() < kMinSecret || !ensure_sodium()) return std::nullopt;
  IdentityKey key;
  // The secret file may hold any text; hashing it under a context gives a uniform key.
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, key.bytes.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kKeyContext.data()),
                            kKeyContext.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                            secret.size());
  crypto_generichash_final(&st, key.bytes.data(), key.bytes.size());
  return key;
}

std::string_view bearer_token(std::string_view authorization) noexcept {
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return {};
  }
  if (authorization[kScheme.size()] != ' ' && authorization[kScheme.size()] != '\t') return {};
  return trim(authorization.substr(kScheme.size()));
}

Identity derive_identity(const IdentityKey& key, const IdentityInput& in) {
  if (!ensure_sodium()) throw std::runtime_error("libsodium initialisation failed");
  Identity id;
  // A one-byte domain tag keeps a user name, a token, a cookie and an address from
  // ever hashing to the same identity.
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.bytes.data(), key.bytes.size(), kDigest);
  auto feed = [&st](std::string_view part) {
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(part.data()),
                              part.size());
  };
  const std::string_view token = bearer_token(in.authorization);
  if (!in.user.empty()) {
    id.authenticated = true;
    feed(std::string_view("u\0", 2));
    feed(in.user);
  } else if (!token.empty()) {
    id.authenticated = true;
    feed(std::string_view("t\0", 2));
    feed(token);
  } else if (!in.cookie.empty()) {
    id.authenticated = true;
    feed(std::string_view("c\0", 2));
    feed(in.cookie);
  } else {
    feed(std::string_view("a\0", 2));
    feed(in.client_addr);
    feed(std::string_view("\0", 1));
    feed(in.user_agent);
  }
  unsigned char out[kDigest];
  crypto_generichash_final(&st, out, sizeof out);
  static constexpr char kHex[] = "0123456789abcdef";
  id.hex.reserve(2 * kDigest);
  for (unsigned char c : out) {
    id.hex += kHex[c >> 4];
    id.hex += kHex[c & 15];
  }
  return id;
}

}  // namespace hubstats
