#include "engine/redis/redis_sharding.h"

#include <gtest/gtest.h>

namespace gyre::engine::redis {
namespace {

// Expected values computed with Go's hash/fnv and the jump hash loop of centrifuge v0.33
// (float64 division) — the shard a Centrifugo v5.4.9 node picks for each channel.
TEST(RedisSharding, Fnv1a64MatchesGo) {
  EXPECT_EQ(fnv1a64(""), 14695981039346656037ULL);
  EXPECT_EQ(fnv1a64("chat:1"), 17504670429736252214ULL);
  EXPECT_EQ(fnv1a64("a"), 12638187200555641996ULL);
  EXPECT_EQ(fnv1a64("\xc3\xbc" "n\xc3\xaf"), 9513401892590210646ULL);
}

TEST(RedisSharding, ConsistentIndexMatchesCentrifuge) {
  struct Case {
    const char* key;
    int two, three, ten;
  };
  const Case cases[] = {
      {"", 1, 1, 1},           {"chat:1", 0, 0, 8},       {"a", 1, 2, 2},
      {"news", 1, 2, 3},       {"chat:index", 0, 0, 0},   {"personal:#42", 1, 1, 3},
      {"\xc3\xbc" "n\xc3\xaf", 0, 0, 8},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(consistent_index(c.key, 1), 0) << c.key;
    EXPECT_EQ(consistent_index(c.key, 2), c.two) << c.key;
    EXPECT_EQ(consistent_index(c.key, 3), c.three) << c.key;
    EXPECT_EQ(consistent_index(c.key, 10), c.ten) << c.key;
  }
}

}  // namespace
}  // namespace gyre::engine::redis
