#include "engine/redis/redis_continuity.h"

#include <gtest/gtest.h>

namespace gyre::engine::redis {
namespace {

using Verdict = StreamContinuity::Verdict;

StreamContinuity::Held pub(uint64_t offset, const std::string& epoch, const std::string& bytes) {
  auto p = std::make_shared<Publication>();
  p->offset = offset;
  p->epoch = epoch;
  p->data = bytes;
  return {p, false, nullptr, StreamContinuity::hash_of(bytes)};
}

TEST(StreamContinuity, InOrderPublicationsAreDeliveredAndFollowed) {
  StreamContinuity c;
  auto a = pub(1, "E", "a");
  auto b = pub(2, "E", "b");
  EXPECT_EQ(c.on_publication(a), Verdict::kDeliver);
  EXPECT_EQ(c.on_publication(b), Verdict::kDeliver);
  EXPECT_EQ(c.epoch(), "E");
  EXPECT_EQ(c.offset(), 2u);
  // A new epoch (a stream started again with a new Unix second) is simply followed: the
  // subscribers' own epoch check handles it.
  auto n = pub(1, "F", "n");
  EXPECT_EQ(c.on_publication(n), Verdict::kDeliver);
  EXPECT_EQ(c.offset(), 1u);
}

TEST(StreamContinuity, AReusedOffsetHoldsAndRelabelsWithTheNewEpoch) {
  StreamContinuity c;
  for (uint64_t i = 1; i <= 3; ++i) {
    auto h = pub(i, "E", "old" + std::to_string(i));
    ASSERT_EQ(c.on_publication(h), Verdict::kDeliver);
  }
  // Offset 3 again in epoch E: the stream lost the old 3.
  auto again = pub(3, "E", "new3");
  EXPECT_EQ(c.on_publication(again), Verdict::kChangeEpoch);
  EXPECT_TRUE(c.holding());
  EXPECT_EQ(c.epoch(), "E");  // what the caller moves away from
  // Published before the change reached Redis: still epoch E, held behind.
  auto four = pub(4, "E", "4");
  EXPECT_EQ(c.on_publication(four), Verdict::kHold);
  auto held = c.release("E", "G");
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].pub->offset, 3u);
  EXPECT_EQ(held[0].pub->epoch, "G");
  EXPECT_EQ(held[0].pub->data, "new3");
  EXPECT_EQ(held[1].pub->epoch, "G");
  EXPECT_FALSE(c.holding());
  EXPECT_EQ(c.epoch(), "G");
  EXPECT_EQ(c.offset(), 4u);
  // A late publication of epoch E (it left Redis before the change) belongs to G too.
  auto five = pub(5, "E", "5");
  EXPECT_EQ(c.on_publication(five), Verdict::kDeliver);
  EXPECT_EQ(five.pub->epoch, "G");
  // Publications after the change carry G from Redis itself.
  auto six = pub(6, "G", "6");
  EXPECT_EQ(c.on_publication(six), Verdict::kDeliver);
  EXPECT_EQ(c.offset(), 6u);
}

TEST(StreamContinuity, TheDeltaBaseIsRelabelledWithItsPublication) {
  StreamContinuity c;
  auto one = pub(1, "E", "1");
  ASSERT_EQ(c.on_publication(one), Verdict::kDeliver);
  auto dup = pub(1, "E", "x");
  dup.prev = std::make_shared<Publication>();
  dup.prev->epoch = "E";
  dup.delta = true;
  ASSERT_EQ(c.on_publication(dup), Verdict::kChangeEpoch);
  auto held = c.release("E", "G");
  ASSERT_EQ(held.size(), 1u);
  EXPECT_TRUE(held[0].delta);
  EXPECT_EQ(held[0].prev->epoch, "G");
}

TEST(StreamContinuity, ReadBackAfterAReconnectTellsALostPublication) {
  StreamContinuity c;
  EXPECT_FALSE(c.begin_verify());  // nothing seen yet: nothing to check
  auto a = pub(1, "E", "a");
  auto b = pub(2, "E", "b");
  c.on_publication(a);
  c.on_publication(b);
  EXPECT_TRUE(c.begin_verify());
  EXPECT_FALSE(c.begin_verify());  // already holding
  // While the stream is read back, publications wait.
  auto three = pub(3, "E", "c");
  EXPECT_EQ(c.on_publication(three), Verdict::kHold);
  EXPECT_FALSE(c.lost("E", 2, "b"));   // the entry seen is there
  EXPECT_FALSE(c.lost("E", 5, "b"));   // and more came after it
  EXPECT_FALSE(c.lost("E", 5, ""));    // trimmed: cannot be compared
  EXPECT_FALSE(c.lost("F", 0, ""));    // another stream: the epoch check covers it
  EXPECT_FALSE(c.lost("", 0, ""));     // no meta yet
  EXPECT_TRUE(c.lost("E", 1, "a"));    // the top is below what was seen
  EXPECT_TRUE(c.lost("E", 2, "b2"));   // offset 2 is another publication now
  // Nothing lost: the held publications go out unchanged and are followed.
  auto held = c.release("", "");
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].pub->epoch, "E");
  EXPECT_EQ(c.offset(), 3u);
}

}  // namespace
}  // namespace gyre::engine::redis
