#include "core/random.h"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <map>
#include <thread>
#include <vector>
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

TEST(RandomTest, JitterUniformStaysInHalfOpenRange) {
  Jitter j;
  for (int i = 0; i < 1000; ++i) {
    int64_t v = j.uniform(-3, 4);
    EXPECT_GE(v, -3);
    EXPECT_LT(v, 4);
  }
}

TEST(RandomTest, JitterUniformWithEmptyRangeReturnsLow) {
  Jitter j;
  EXPECT_EQ(j.uniform(5, 5), 5);
  EXPECT_EQ(j.uniform(7, 2), 7);
}

// 122 of a UUID's 128 bits are random: over many ids every one of those bits is seen both
// set and clear, while the 6 fixed bits (version 0100, variant 10) never change.
TEST(RandomTest, UuidV4Has122RandomBits) {
  auto bits = [](const std::string& u) {
    std::array<uint8_t, 16> b{};
    size_t k = 0;
    for (size_t i = 0; i < u.size(); i += 2) {
      if (u[i] == '-') {
        ++i;
      }
      b[k++] = static_cast<uint8_t>(std::stoi(u.substr(i, 2), nullptr, 16));
    }
    return b;
  };
  std::array<int, 128> ones{};
  constexpr int kIds = 2000;
  for (int n = 0; n < kIds; ++n) {
    auto b = bits(uuid_v4());
    for (int i = 0; i < 128; ++i) {
      ones[i] += (b[i / 8] >> (7 - i % 8)) & 1;
    }
  }
  const std::map<int, int> fixed = {{48, 0}, {49, 1}, {50, 0}, {51, 0}, {64, 1}, {65, 0}};
  int random_bits = 0;
  for (int i = 0; i < 128; ++i) {
    if (auto it = fixed.find(i); it != fixed.end()) {
      EXPECT_EQ(ones[i], it->second * kIds) << "fixed bit " << i;
      continue;
    }
    // Binomial(2000, 0.5): mean 1000, sd 22.4; 800..1200 is about 9 sd.
    EXPECT_GT(ones[i], 800) << "bit " << i;
    EXPECT_LT(ones[i], 1200) << "bit " << i;
    ++random_bits;
  }
  EXPECT_EQ(random_bits, 122);
}

// Two shards (threads) draw from the CSPRNG independently: their sequences never meet, as a
// seeded per-thread PRNG copied between threads would.
TEST(RandomTest, TwoThreadsNeverProduceTheSameSequence) {
  constexpr int kIds = 5000;
  std::vector<std::string> a;
  std::vector<std::string> b;
  std::thread ta([&] {
    for (int i = 0; i < kIds; ++i) {
      a.push_back(uuid_v4());
    }
  });
  std::thread tb([&] {
    for (int i = 0; i < kIds; ++i) {
      b.push_back(uuid_v4());
    }
  });
  ta.join();
  tb.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 2u * kIds);
  EXPECT_NE(a.front(), b.front());
}

TEST(RandomTest, FillDrawsFreshBytesEachCall) {
  std::array<uint8_t, 700> x{};  // longer than one refill of the thread's buffer
  std::array<uint8_t, 700> y{};
  fill(x);
  fill(y);
  EXPECT_NE(x, y);
  int zeros = 0;
  for (uint8_t v : x) {
    zeros += v == 0;
  }
  EXPECT_LT(zeros, 20);  // expected ~2.7
}

}  // namespace
}  // namespace gyre::random
