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

// An identity hash's hex digits, held inline: as a std::string, 16 characters are one
// past the small-string buffer, a heap allocation and free for every counted request.
class IdentityHex {
 public:
  static constexpr std::size_t kCapacity = 16;

  IdentityHex() = default;
  // False, leaving it unchanged, when `digits` is longer than kCapacity.
  bool assign(std::string_view digits) noexcept {
    if (digits.size() > kCapacity) return false;
    digits.copy(chars_.data(), digits.size());
    size_ = static_cast<std::uint8_t>(digits.size());
    return true;
  }
  std::string_view view() const noexcept { return {chars_.data(), size_}; }
  std::size_t size() const noexcept { return size_; }

  friend bool operator==(const IdentityHex& a, const IdentityHex& b) noexcept {
    return a.view() == b.view();
  }
  friend bool operator==(const IdentityHex& a, std::string_view b) noexcept {
    return a.view() == b;
  }

 private:
  std::array<char, kCapacity> chars_{};
  std::uint8_t size_ = 0;
};

struct Identity {
  bool authenticated = false;
  IdentityHex hex;  // 16 lowercase hex chars (64-bit keyed SipHash-2-4)
};

Identity derive_identity(const IdentityKey& key, const IdentityInput& in);

// Extracts the token from "Bearer <token>" (case-insensitive scheme); empty otherwise.
std::string_view bearer_token(std::string_view authorization) noexcept;

// The hub's own token in a bearer token: KohakuHub accepts
// "<token>|<url>,<external token>|..." and authenticates only the part before the
// first '|' (possibly empty). A token without '|' is returned whole.
std::string_view hub_token(std::string_view bearer) noexcept;

}  // namespace hubstats
