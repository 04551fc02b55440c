#include "catalog/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <memory>
#include <stdexcept>

namespace hubstatsd {

namespace {

std::array<unsigned char, 64> sha3_512(std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::array<unsigned char, 64> out{};
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha3_512(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    throw std::runtime_error("sha3-512 failed");
  }
  return out;
}

}  // namespace

std::string sha3_512_hex(std::string_view token) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto digest = sha3_512(token);
  std::string hex;
  hex.reserve(digest.size() * 2);
  for (unsigned char b : digest) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0xf]);
  }
  return hex;
}

std::string generate_token() {
  static constexpr char kB64Url[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::array<unsigned char, 32> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  // Unpadded base64url: 32 bytes -> 43 chars.
  std::string out = "hst_";
  unsigned bits = 0;
  int nbits = 0;
  for (unsigned char b : raw) {
    bits = (bits << 8) | b;
    nbits += 8;
    while (nbits >= 6) {
      nbits -= 6;
      out.push_back(kB64Url[(bits >> nbits) & 0x3f]);
    }
  }
  if (nbits > 0) out.push_back(kB64Url[(bits << (6 - nbits)) & 0x3f]);
  return out;
}

bool secrets_equal(std::string_view a, std::string_view b) {
  const auto ha = sha3_512(a);
  const auto hb = sha3_512(b);
  return CRYPTO_memcmp(ha.data(), hb.data(), ha.size()) == 0;
}

bool digests_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace hubstatsd
