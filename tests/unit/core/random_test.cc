#include "core/random.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

namespace gyre::random {
namespace {

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

TEST(RandomTest, UuidV4HasCanonicalLayout) {
  for (int i = 0; i < 200; ++i) {
    std::string u = uuid_v4();
    ASSERT_EQ(u.size(), 36u) << u;
    for (size_t k = 0; k < u.size(); ++k) {
      if (k == 8 || k == 13 || k == 18 || k == 23) {
        EXPECT_EQ(u[k], '-') << u;
      } else {
        EXPECT_TRUE(is_lower_hex(u[k])) << u;
      }
    }
  }
}

TEST(RandomTest, UuidV4HasVersion4AndRfc4122Variant) {
  for (int i = 0; i < 200; ++i) {
    std::string u = uuid_v4();
    EXPECT_EQ(u[14], '4') << u;
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
  }
}

TEST(RandomTest, UuidV4IsUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    seen.insert(uuid_v4());
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RandomTest, LettersHasRequestedLengthAndOnlyAsciiLetters) {
  EXPECT_EQ(letters(0), "");
  for (size_t n : {1u, 4u, 8u, 64u}) {
    std::string s = letters(n);
    ASSERT_EQ(s.size(), n);
    for (char c : s) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) << s;
    }
  }
}

TEST(RandomTest, LettersUsesBothCases) {
  std::string s = letters(2000);
  bool lower = false;
  bool upper = false;
  for (char c : s) {
    lower |= (c >= 'a' && c <= 'z');
    upper |= (c >= 'A' && c <= 'Z');
  }
  EXPECT_TRUE(lower);
  EXPECT_TRUE(upper);
}

TEST(RandomTest, UniformStaysInHalfOpenRange) {
  for (int i = 0; i < 1000; ++i) {
    int64_t v = uniform(-3, 4);
    EXPECT_GE(v, -3);
    EXPECT_LT(v, 4);
  }
}

TEST(RandomTest, UniformWithEmptyRangeReturnsLow) {
  EXPECT_EQ(uniform(5, 5), 5);
  EXPECT_EQ(uniform(7, 2), 7);
}

}  // namespace
}  // namespace gyre::random
