// Token hashing and generation. Tokens are stored only as the lowercase hex SHA3-512
// of the token string: the same hashing KohakuHub uses, so hub tokens work unchanged.
#pragma once

#include <string>
#include <string_view>

namespace hubstatsd {

// 128 lowercase hex chars: SHA3-512 of the bytes of token (OpenSSL EVP_sha3_512).
std::string sha3_512_hex(std::string_view token);

// A new random API token: "hst_" + 43 base64url chars (32 bytes of OpenSSL RAND_bytes).
std::string generate_token();

// Compares two secrets in constant time regardless of where they differ or their
// lengths (both are hashed first, then compared with CRYPTO_memcmp).
bool secrets_equal(std::string_view a, std::string_view b);

// Compares two digests of public, equal length (e.g. two sha3_512_hex values) in
// constant time; false when the lengths differ.
bool digests_equal(std::string_view a, std::string_view b);

}  // namespace hubstatsd
