#include "engine/redis/redis_engine.h"

#include <gtest/gtest.h>

namespace gyre::engine::redis {
namespace {

using namespace std::string_literals;

// Records what the engine hands to the node.
class Recorder final : public EventHandler {
 public:
  struct Pub {
    std::string channel;
    std::shared_ptr<const Publication> pub;
    bool delta;
    std::shared_ptr<const Publication> prev;
  };
  void handle_publication(const std::string& channel, std::shared_ptr<const Publication> pub,
                          bool delta, std::shared_ptr<const Publication> prev) override {
    pubs.push_back({channel, std::move(pub), delta, std::move(prev)});
  }
  void handle_join(const std::string& channel, const ClientInfo& info) override {
    joins.emplace_back(channel, info);
  }
  void handle_leave(const std::string& channel, const ClientInfo& info) override {
    leaves.emplace_back(channel, info);
  }
  std::vector<Pub> pubs;
  std::vector<std::pair<std::string, ClientInfo>> joins;
  std::vector<std::pair<std::string, ClientInfo>> leaves;
};

// The engine is built but never started: no connection is opened, handle_message is pure.
class RedisEngineTest : public ::testing::Test {
 protected:
  RedisEngineTest() : shards_(1), engine_(shards_, RedisEngineOptions{}) {
    engine_.set_event_handler(&rec_);
  }
  ShardSet shards_;
  RedisEngine engine_;
  Recorder rec_;
};

std::string pub_bytes(const std::string& data, bool delta = false) {
  Publication p;
  p.data = data;
  p.delta = delta;
  return encode_publication(p);
}

TEST_F(RedisEngineTest, HistoryPublicationTakesOffsetAndEpochFromThePrefix) {
  ASSERT_TRUE(engine_.handle_message("centrifugo.client.chat:1",
                                     "__p1:7:1700000000__" + pub_bytes("{\"a\":1}")));
  ASSERT_EQ(rec_.pubs.size(), 1u);
  EXPECT_EQ(rec_.pubs[0].channel, "chat:1");
  EXPECT_EQ(rec_.pubs[0].pub->offset, 7u);
  EXPECT_EQ(rec_.pubs[0].pub->epoch, "1700000000");
  EXPECT_EQ(rec_.pubs[0].pub->data, "{\"a\":1}");
  EXPECT_FALSE(rec_.pubs[0].delta);
  EXPECT_EQ(rec_.pubs[0].prev, nullptr);
}

TEST_F(RedisEngineTest, DeltaMessageCarriesThePreviousPublication) {
  std::string prev = pub_bytes("old");
  std::string cur = pub_bytes("new");
  std::string msg = "__d1:4:ep:" + std::to_string(prev.size()) + ":" + prev + ":" +
                    std::to_string(cur.size()) + ":" + cur;
  ASSERT_TRUE(engine_.handle_message("centrifugo.client.ch", msg));
  ASSERT_EQ(rec_.pubs.size(), 1u);
  EXPECT_TRUE(rec_.pubs[0].delta);
  EXPECT_EQ(rec_.pubs[0].pub->data, "new");
  EXPECT_EQ(rec_.pubs[0].pub->offset, 4u);
  ASSERT_NE(rec_.pubs[0].prev, nullptr);
  EXPECT_EQ(rec_.pubs[0].prev->data, "old");
  EXPECT_EQ(rec_.pubs[0].prev->offset, 3u);
}

TEST_F(RedisEngineTest, DeltaFlagWithoutHistoryIsTakenOffThePublication) {
  ASSERT_TRUE(engine_.handle_message("centrifugo.client.ch", pub_bytes("x", true)));
  ASSERT_EQ(rec_.pubs.size(), 1u);
  EXPECT_TRUE(rec_.pubs[0].delta);
  EXPECT_FALSE(rec_.pubs[0].pub->delta);
  EXPECT_EQ(rec_.pubs[0].pub->offset, 0u);
}

TEST_F(RedisEngineTest, JoinAndLeaveDecodeClientInfo) {
  ClientInfo info{"u", "c", "ci", "chi"};
  ASSERT_TRUE(engine_.handle_message("centrifugo.client.ch", join_message(info)));
  ASSERT_TRUE(engine_.handle_message("centrifugo.client.ch", leave_message(info)));
  ASSERT_EQ(rec_.joins.size(), 1u);
  ASSERT_EQ(rec_.leaves.size(), 1u);
  EXPECT_EQ(rec_.joins[0].first, "ch");
  EXPECT_EQ(rec_.joins[0].second.user, "u");
  EXPECT_EQ(rec_.leaves[0].second.chan_info, "chi");
}

TEST_F(RedisEngineTest, MalformedMessagesAreDropped) {
  EXPECT_FALSE(engine_.handle_message("centrifugo.client.ch", "__p1:x__"));
  EXPECT_FALSE(engine_.handle_message("centrifugo.client.ch", "\x22\x09short"s));
  EXPECT_FALSE(engine_.handle_message("elsewhere.ch", pub_bytes("x")));
  EXPECT_TRUE(rec_.pubs.empty());
}

}  // namespace
}  // namespace gyre::engine::redis
