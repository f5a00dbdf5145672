#include "node/node.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/memory_engine.h"
#include "metrics/names.h"

// The node over Sharded<NodeShard>: the path of a publication with the memory engine, run
// on this thread acting as a shard (nothing runs unless inline or polled).
namespace gyre::node {
namespace {

using namespace std::chrono_literals;

class Recorder final : public hub::Subscriber {
 public:
  void deliver(const std::shared_ptr<const hub::Fanout>& f) override { received.push_back(f); }
  std::vector<std::shared_ptr<const hub::Fanout>> received;
};

// Runs the handlers queued on `s` on this thread, acting as `s`; returns how many ran.
size_t poll_as(Shard& s) {
  Shard* was = Shard::current();
  Shard::set_current(&s);
  s.io().restart();  // a loop that ran out of work stops; it may be polled again
  size_t n = s.io().poll();
  Shard::set_current(was);
  return n;
}

class NodeTest : public ::testing::Test {
 protected:
  explicit NodeTest(unsigned n = 1) : shards(n), engine(shards) {
    node = std::make_unique<Node>(shards, engine, std::make_shared<config::Config>());
  }
  ~NodeTest() override { Shard::set_current(nullptr); }

  std::string homed_on(unsigned shard) {
    for (int i = 0;; ++i) {
      std::string ch = "chat:" + std::to_string(i);
      if (shards.home_index(ch) == shard) {
        return ch;
      }
    }
  }

  // Publishes on the calling shard with history; the result, if it arrived inline.
  std::optional<OpResult<protocol::StreamPosition>> publish(const std::string& ch,
                                                                        std::string data) {
    std::optional<OpResult<protocol::StreamPosition>> result;
    protocol::Publication p;
    p.data = std::move(data);
    p.data_is_json = true;
    engine::PublishOptions o;
    o.history = engine::HistoryOptions{.size = 10, .ttl = 300s, .meta_ttl = 3600s};
    engine.publish(ch, std::move(p), o,
                   [&result](OpResult<protocol::StreamPosition> r) { result = r; });
    return result;
  }

  ShardSet shards;
  engine::MemoryEngine engine;
  std::unique_ptr<Node> node;
};

class NodeTwoShardsTest : public NodeTest {
 protected:
  NodeTwoShardsTest() : NodeTest(2) {}
};

// gomaxprocs: 1 — home shard, fan-out and result are all the calling shard: a publish runs
// to its subscribers and back to the publisher without posting anything.
TEST_F(NodeTest, PublishWithOneShardPostsNothing) {
  Shard::set_current(&shards.at(0));
  Recorder sub;
  node->local().hub.add("chat", &sub);
  auto result = publish("chat", "{\"n\":1}");
  ASSERT_TRUE(result.has_value()) << "the publish answered before returning";
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ((*result)->offset, 1u);
  ASSERT_EQ(sub.received.size(), 1u);
  EXPECT_EQ(sub.received[0]->channel, "chat");
  EXPECT_EQ(sub.received[0]->pub->offset, 1u);
  EXPECT_EQ(shards.at(0).io().poll(), 0u);  // nothing was queued on the only shard
  node->local().hub.remove("chat", &sub);
}

TEST_F(NodeTwoShardsTest, PublishOnTheHomeShardBroadcastsThereInlineAndPostsOncePerOtherShard) {
  Recorder here, there;
  node->shard_state(0).hub.add(homed_on(0), &here);
  node->shard_state(1).hub.add(homed_on(0), &there);
  Shard::set_current(&shards.at(0));
  auto result = publish(homed_on(0), "{}");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(here.received.size(), 1u);
  EXPECT_TRUE(there.received.empty());
  EXPECT_EQ(poll_as(shards.at(1)), 1u);  // one post: the fan-out
  ASSERT_EQ(there.received.size(), 1u);
  EXPECT_EQ(there.received[0], here.received[0]);  // the same encoded-once Fanout
  EXPECT_EQ(shards.at(0).io().poll(), 0u);
}

TEST_F(NodeTwoShardsTest, PublishFromAnotherShardAnswersOnTheCallersShard) {
  Recorder here;
  node->shard_state(1).hub.add(homed_on(0), &here);
  Shard::set_current(&shards.at(1));
  auto result = publish(homed_on(0), "{}");
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(poll_as(shards.at(0)), 1u);  // the stream append on the home shard
  // Shard 1 got the fan-out, then the answer, in that order (FIFO from shard 0).
  EXPECT_TRUE(here.received.empty());
  EXPECT_EQ(poll_as(shards.at(1)), 2u);
  EXPECT_EQ(here.received.size(), 1u);
}

TEST_F(NodeTwoShardsTest, ForEachShardRunsEveryShardThenDoneOnTheCaller) {
  Shard::set_current(&shards.at(1));
  std::vector<unsigned> seen;
  bool done = false;
  node->for_each_shard([&seen](NodeShard& st) { seen.push_back(Shard::current()->id()); },
                       [&done] { done = true; });
  EXPECT_EQ(seen, (std::vector<unsigned>{1}));  // the caller's part ran inline
  EXPECT_FALSE(done);
  EXPECT_EQ(poll_as(shards.at(0)), 1u);
  EXPECT_EQ(seen, (std::vector<unsigned>{1, 0}));
  EXPECT_FALSE(done);
  EXPECT_EQ(poll_as(shards.at(1)), 1u);  // done, posted back to shard 1
  EXPECT_TRUE(done);
}

// centrifugo_node_broadcast_duration_seconds: one observation per publication per node (as
// centrifuge's hub), made by the shard that finishes the fan-out last, and none when no
// shard has a subscriber.
TEST_F(NodeTwoShardsTest, BroadcastDurationIsObservedOncePerPublicationByTheLastShard) {
  const auto id = metrics::ids().node_broadcast_duration_seconds;
  auto observed = [&](unsigned i) { return node->shard_state(i).metrics.at(id).count; };
  const std::string ch = homed_on(0);
  Recorder here, there;
  node->shard_state(0).hub.add(ch, &here);
  node->shard_state(1).hub.add(ch, &there);
  Shard::set_current(&shards.at(0));
  ASSERT_TRUE(publish(ch, "{}").has_value());
  EXPECT_EQ(here.received.size(), 1u);
  EXPECT_EQ(observed(0), 0u);  // shard 1 has not delivered its part yet
  EXPECT_EQ(poll_as(shards.at(1)), 1u);
  EXPECT_EQ(there.received.size(), 1u);
  EXPECT_EQ(observed(1), 1u);
  EXPECT_EQ(observed(0), 0u);
  // Subscribers on the other shard only: still one observation, by the last shard.
  node->shard_state(0).hub.remove(ch, &here);
  Shard::set_current(&shards.at(0));
  ASSERT_TRUE(publish(ch, "{}").has_value());
  EXPECT_EQ(poll_as(shards.at(1)), 1u);
  EXPECT_EQ(observed(0), 0u);
  EXPECT_EQ(observed(1), 2u);
  // Subscribers on the home shard only: observed by shard 1, which finishes last.
  node->shard_state(1).hub.remove(ch, &there);
  node->shard_state(0).hub.add(ch, &here);
  Shard::set_current(&shards.at(0));
  ASSERT_TRUE(publish(ch, "{}").has_value());
  EXPECT_EQ(poll_as(shards.at(1)), 1u);
  EXPECT_EQ(observed(0) + observed(1), 3u);
  // No subscriber anywhere: nothing observed.
  node->shard_state(0).hub.remove(ch, &here);
  Shard::set_current(&shards.at(0));
  ASSERT_TRUE(publish(ch, "{}").has_value());
  EXPECT_EQ(poll_as(shards.at(1)), 1u);
  EXPECT_EQ(observed(0) + observed(1), 3u);
}

}  // namespace
}  // namespace gyre::node
