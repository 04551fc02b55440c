#include <gtest/gtest.h>

#include <set>

#include "catalog/token.h"

namespace hubstatsd {
namespace {

// FIPS 202 test vectors.
TEST(CatalogToken, Sha3_512OfEmptyString) {
  EXPECT_EQ(sha3_512_hex(""),
            "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a6"
            "15b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26");
}

TEST(CatalogToken, Sha3_512OfAbc) {
  EXPECT_EQ(sha3_512_hex("abc"),
            "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
            "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0");
}

TEST(CatalogToken, GeneratedTokensHavePrefixLengthAlphabetAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string t = generate_token();
    ASSERT_EQ(t.size(), 4u + 43u) << t;
    EXPECT_EQ(t.substr(0, 4), "hst_");
    for (char c : t.substr(4)) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << t;
    }
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(CatalogToken, SecretsEqualComparesWholeValue) {
  EXPECT_TRUE(secrets_equal("admin-secret-0123456789", "admin-secret-0123456789"));
  EXPECT_FALSE(secrets_equal("admin-secret-0123456789", "admin-secret-012345678"));
  EXPECT_FALSE(secrets_equal("admin-secret-0123456789", "admin-secret-0123456788"));
  EXPECT_FALSE(secrets_equal("", "x"));
}

TEST(CatalogToken, DigestsEqualNeedsSameLengthAndBytes) {
  const std::string a = sha3_512_hex("a"), b = sha3_512_hex("b");
  EXPECT_TRUE(digests_equal(a, sha3_512_hex("a")));
  EXPECT_FALSE(digests_equal(a, b));
  EXPECT_FALSE(digests_equal(a, a.substr(0, 127)));
  EXPECT_TRUE(digests_equal("", ""));
}

}  // namespace
}  // namespace hubstatsd
