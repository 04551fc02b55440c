#include "hubstats/identity.h"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace hubstats {

namespace {

constexpr std::string_view kKeyContext = "hubstats identity key v1";
constexpr std::size_t kMinSecret = 16;
// SipHash-2-4 (libsodium crypto_shorthash): 64 bits separate the identities of one
// repo within one session window (a collision merges two sessions), at a fraction of
// BLAKE2b's cost on the log-phase hot path.
constexpr std::size_t kDigest = crypto_shorthash_BYTES;
static_assert(crypto_shorthash_KEYBYTES <= sizeof(IdentityKey::bytes));
// Inputs up to this size are hashed from a stack buffer (no allocation).
constexpr std::size_t kStackInput = 512;

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

std::string_view hub_token(std::string_view bearer) noexcept {
  return bearer.substr(0, bearer.find('|'));
}

Identity derive_identity(const IdentityKey& key, const IdentityInput& in) {
  if (!ensure_sodium()) throw std::runtime_error("libsodium initialisation failed");
  Identity id;
  // A one-byte domain tag keeps a user name, a token, a cookie and an address from
  // ever hashing to the same identity.
  std::string_view tag;
  std::string_view first;
  std::string_view second;  // after a NUL separator (anonymous: the User-Agent)
  bool has_second = false;
  // One user, one identity: "tok|url,ext" is the same user as "tok" (see hub_token).
  const std::string_view token = hub_token(bearer_token(in.authorization));
  if (!in.user.empty()) {
    id.authenticated = true;
    tag = std::string_view("u\0", 2);
    first = in.user;
  } else if (!token.empty()) {
    id.authenticated = true;
    tag = std::string_view("t\0", 2);
    first = token;
  } else if (!in.cookie.empty()) {
    id.authenticated = true;
    tag = std::string_view("c\0", 2);
    first = in.cookie;
  } else {
    tag = std::string_view("a\0", 2);
    first = in.client_addr;
    second = in.user_agent;
    has_second = true;
  }
  const std::size_t size = tag.size() + first.size() + (has_second ? 1 + second.size() : 0);
  unsigned char stack[kStackInput];
  std::string heap;
  unsigned char* buf = stack;
  if (size > sizeof stack) {
    heap.resize(size);
    buf = reinterpret_cast<unsigned char*>(heap.data());
  }
  unsigned char* p = buf;
  auto put = [&p](std::string_view part) {
    if (!part.empty()) std::memcpy(p, part.data(), part.size());
    p += part.size();
  };
  put(tag);
  put(first);
  if (has_second) {
    *p++ = 0;
    put(second);
  }
  unsigned char out[kDigest];
  // The key's first 16 bytes (uniform: the key is itself a BLAKE2b output).
  crypto_shorthash(out, buf, size, key.bytes.data());
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[2 * kDigest];
  for (std::size_t i = 0; i < kDigest; ++i) {
    digits[2 * i] = kHex[out[i] >> 4];
    digits[2 * i + 1] = kHex[out[i] & 15];
  }
  static_assert(sizeof digits == IdentityHex::kCapacity);
  id.hex.assign(std::string_view(digits, sizeof digits));
  return id;
}

}  // namespace hubstats
