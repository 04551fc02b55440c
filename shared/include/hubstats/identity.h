// Who downloaded: a keyed hash of the credential (authenticated) or of client
// address + User-Agent (anonymous). Raw values never leave this function.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hubstats {

// Key material for the keyed hash, derived from the shared secret file's contents
// (SipHash-2-4 uses its first 16 bytes).
struct IdentityKey {
  std::array<std::uint8_t, 32> bytes{};
};

// Derives the key from secret file contents (whitespace-trimmed). nullopt when the
// secret is shorter than 16 bytes after trimming, which is too weak to use.
std::optional<IdentityKey> identity_key_from_secret(std::string_view secret_contents);

struct IdentityInput {
  std::string_view user{};           // configured variable naming the user (highest priority)
  std::string_view authorization{};  // Authorization header value; only "Bearer <tok>" counts
  std::string_view cookie{};         // value of the configured session cookie
  std::string_view client_addr{};    // after realip
  std::string_view user_agent{};
};

struct Identity {
  bool authenticated = false;
  std::string hex;  // 16 lowercase hex chars (64-bit keyed SipHash-2-4)
};

Identity derive_identity(const IdentityKey& key, const IdentityInput& in);

// Extracts the token from "Bearer <token>" (case-insensitive scheme); empty otherwise.
std::string_view bearer_token(std::string_view authorization) noexcept;

// The hub's own token in a bearer token: KohakuHub accepts
// "<token>|<url>,<external token>|..." and authenticates only the part before the
// first '|' (possibly empty). A token without '|' is returned whole.
std::string_view hub_token(std::string_view bearer) noexcept;

}  // namespace hubstats
