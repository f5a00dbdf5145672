#include <gtest/gtest.h>

#include "node/client.h"
#include "unit/node/client_harness.h"

// Time-driven behaviour of a client session with the shard's manual clock: stale connections,
// ping/pong (client-protocol.md §6), connection and subscription expiry with their refresh
// commands (§4.4, §4.6, §4.16), and the periodic position check (§5.2). No sleeps: the test
// moves the clock and runs the shard's timer wheel.
namespace gyre::node::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class TimersTest : public ClientTest {
 protected:
  std::string exp_in(int64_t s) { return std::to_string(now_unix() + s); }
};

TEST_F(TimersTest, UnauthenticatedConnectionIsClosedStaleAfterTheDelay) {
  Conn& c = open();
  advance(milliseconds(9750));
  EXPECT_FALSE(c.closed());
  advance(milliseconds(250));
  EXPECT_EQ(c.closed(), (Disconnect{3502, "stale"}));
}

TEST_F(TimersTest, PingIsSentAndAMissingPongDisconnects3012) {
  Conn& c = connected();
  advance(seconds(25));  // the first ping is due within [12.5 s, 25 s)
  EXPECT_EQ(c.one(), "{}");
  advance(milliseconds(7750));
  EXPECT_FALSE(c.closed());
  advance(milliseconds(250));
  EXPECT_EQ(c.closed(), (Disconnect{3012, "no pong"}));
}

TEST_F(TimersTest, PongKeepsTheConnectionAndPingsRepeat) {
  Conn& c = connected();
  advance(seconds(25));
  EXPECT_EQ(c.one(), "{}");
  send(c, "{}");  // the pong
  advance(seconds(10));
  EXPECT_FALSE(c.closed());
  EXPECT_TRUE(c.take().empty());
  advance(seconds(15));  // one interval after the first ping
  EXPECT_EQ(c.one(), "{}");
  EXPECT_FALSE(c.closed());
}

TEST_F(TimersTest, PongWithoutPingDisconnects3501) {
  Conn& c = connected();
  send(c, "{}");
  EXPECT_EQ(c.closed(), (Disconnect{3501, "bad request"}));
}

TEST_F(TimersTest, ExpiredConnectionIsClosedAfterTheGracePeriod) {
  cfg.ping_interval = milliseconds(0);
  start();
  Conn& c = connected(R"("sub":"42","exp":)" + exp_in(10));
  advance(seconds(34));  // expiry + client_expired_close_delay (25 s) not reached
  EXPECT_FALSE(c.closed());
  advance(seconds(1));
  EXPECT_EQ(c.closed(), (Disconnect{3005, "connection expired"}));
}

TEST_F(TimersTest, RefreshExtendsTheConnection) {
  cfg.ping_interval = milliseconds(0);
  start();
  Conn& c = connected(R"("sub":"42","exp":)" + exp_in(10));
  advance(seconds(5));
  send(c, R"({"id":2,"refresh":{"token":")" +
              token(R"("sub":"42","exp":)" + exp_in(100)) + R"("}})");
  EXPECT_EQ(c.one(),
            R"({"id":2,"refresh":{"client":"<client>","version":"0.1.0","expires":true,"ttl":100}})");
  advance(seconds(40));  // past the old deadline (35 s)
  EXPECT_FALSE(c.closed());
  advance(seconds(84));  // 129 s: new expiry 105 s + 25 s not reached
  EXPECT_FALSE(c.closed());
  advance(seconds(1));
  EXPECT_EQ(c.closed(), (Disconnect{3005, "connection expired"}));
}

TEST_F(TimersTest, RefreshForAnotherUserDisconnects3500) {
  Conn& c = connected(R"("sub":"42")");
  send(c, R"({"id":2,"refresh":{"token":")" + token(R"("sub":"43")") + R"("}})");
  EXPECT_EQ(c.closed(), (Disconnect{3500, "invalid token"}));
}

TEST_F(TimersTest, RefreshWithOtherServerSideChannelsDisconnects3010) {
  Conn& c = connected(R"("sub":"42","channels":["a"])");
  send(c, R"({"id":2,"refresh":{"token":")" + token(R"("sub":"42","channels":["b"])") +
              R"("}})");
  EXPECT_EQ(c.closed(), (Disconnect{3010, "insufficient state"}));
}

TEST_F(TimersTest, RefreshWithExpiredTokenDisconnects3005) {
  start();
  Conn& c = connected(R"("sub":"42")");
  send(c, R"({"id":2,"refresh":{"token":")" +
              token(R"("sub":"42","exp":)" + exp_in(-1)) + R"("}})");
  EXPECT_EQ(c.closed(), (Disconnect{3005, "connection expired"}));
}

class SubExpiryTest : public TimersTest {
 protected:
  // Connects user 42 and subscribes to the private channel "$s" with a token expiring in
  // `ttl` seconds.
  Conn& subscribed(int64_t ttl) {
    cfg.ping_interval = milliseconds(0);
    start();
    Conn& c = connected(R"("sub":"42")");
    send(c, R"({"id":2,"subscribe":{"channel":"$s","token":")" +
                token(R"("sub":"42","channel":"$s","exp":)" + exp_in(ttl)) + R"("}})");
    EXPECT_EQ(c.one(), R"({"id":2,"subscribe":{"expires":true,"ttl":)" + std::to_string(ttl) +
                           "}}");
    return c;
  }
};

TEST_F(SubExpiryTest, ExpiredSubscriptionIsUnsubscribedWith2501) {
  Conn& c = subscribed(10);
  advance(seconds(35));  // expiry + client_expired_sub_close_delay (25 s): still valid
  EXPECT_TRUE(c.take().empty());
  advance(seconds(1));
  EXPECT_EQ(c.one(),
            R"({"push":{"channel":"$s","unsubscribe":{"code":2501,"reason":"subscription expired"}}})");
  EXPECT_FALSE(c.closed());
}

TEST_F(SubExpiryTest, SubRefreshExtendsTheSubscription) {
  Conn& c = subscribed(10);
  advance(seconds(5));
  send(c, R"({"id":3,"sub_refresh":{"channel":"$s","token":")" +
              token(R"("sub":"42","channel":"$s","exp":)" + exp_in(60)) + R"("}})");
  EXPECT_EQ(c.one(), R"({"id":3,"sub_refresh":{"expires":true,"ttl":60}})");
  advance(seconds(60));  // past the old deadline
  EXPECT_TRUE(c.take().empty());
  advance(seconds(26));  // 91 s: 65 s + 25 s passed
  EXPECT_EQ(c.one(),
            R"({"push":{"channel":"$s","unsubscribe":{"code":2501,"reason":"subscription expired"}}})");
}

TEST_F(SubExpiryTest, SubRefreshOfAnUnknownSubscriptionReplies103) {
  Conn& c = subscribed(10);
  send(c, R"({"id":3,"sub_refresh":{"channel":"$t","token":")" +
              token(R"("sub":"42","channel":"$t")") + R"("}})");
  EXPECT_EQ(c.one(), R"({"id":3,"error":{"code":103,"message":"permission denied"}})");
}

TEST_F(SubExpiryTest, SubRefreshWithExpiredTokenReplies109) {
  Conn& c = subscribed(10);
  send(c, R"({"id":3,"sub_refresh":{"channel":"$s","token":")" +
              token(R"("sub":"42","channel":"$s","exp":)" + exp_in(-1)) + R"("}})");
  EXPECT_EQ(c.one(), R"({"id":3,"error":{"code":109,"message":"token expired"}})");
}

TEST_F(TimersTest, ExpiredServerSideSubscriptionFromApiDisconnects3006) {
  cfg.ping_interval = milliseconds(0);
  Conn& c = connected(R"("sub":"42")");
  SubscribeParams p;
  p.channel = "srv";
  p.server_side = true;
  p.expire_at = now_unix() + 10;
  c.client->api_subscribe(p);
  run();
  EXPECT_EQ(c.one(), R"({"push":{"channel":"srv","subscribe":{}}})");
  advance(seconds(36));
  EXPECT_EQ(c.closed(), (Disconnect{3006, "subscription expired"}));
}

// --- periodic position check (client_channel_position_check_delay, 40 s)

class PositionCheckTest : public ClientTest {
 protected:
  void SetUp() override {
    cfg.ping_interval = milliseconds(0);
    auto& o = add_namespace(cfg, "p");
    o.allow_subscribe_for_client = true;
    o.history_size = 10;
    o.history_ttl = seconds(300);
    o.force_positioning = true;
  }
  // Publishes without any delivery to this node: the stream moves, subscribers do not see it.
  void publish_unseen(const std::string& ch) {
    engine.set_event_handler(nullptr);
    publish(ch, "1");
    engine.set_event_handler(node.get());
  }
};

TEST_F(PositionCheckTest, TwoFailedChecksUnsubscribeWith2500) {
  Conn& c = connected();
  send(c, R"({"id":2,"subscribe":{"channel":"p:x"}})");
  c.take();
  publish_unseen("p:x");
  advance(seconds(39));
  EXPECT_TRUE(c.take().empty());
  advance(seconds(1));  // first check: one miss is tolerated
  EXPECT_TRUE(c.take().empty());
  advance(seconds(40));  // second check
  EXPECT_EQ(c.one(),
            R"({"push":{"channel":"p:x","unsubscribe":{"code":2500,"reason":"insufficient state"}}})");
}

TEST_F(PositionCheckTest, ServerSideSubscriptionBehindDisconnects3010) {
  Conn& c = connected(R"("sub":"42","channels":["p:x"])");
  publish_unseen("p:x");
  advance(seconds(40));
  EXPECT_FALSE(c.closed());
  advance(seconds(40));
  EXPECT_EQ(c.closed(), (Disconnect{3010, "insufficient state"}));
}

TEST_F(PositionCheckTest, SubscriberAheadOfTheStreamIsUnsubscribedAtTheFirstCheck) {
  Conn& c = connected();
  send(c, R"({"id":2,"subscribe":{"channel":"p:x"}})");
  c.take();
  publish("p:x", "1");
  c.take();
  // A publication the stream no longer holds (a failover to a replica without it): offset 2
  // of the same epoch, delivered, while the stream's top stays 1.
  auto lost = std::make_shared<protocol::Publication>();
  lost->data = "2";
  lost->data_is_json = true;
  lost->offset = 2;
  lost->epoch = top("p:x").epoch;
  node->handle_publication("p:x", lost, false, nullptr);
  run();
  EXPECT_EQ(c.take().size(), 1u);
  // The stream will hand offset 2 out again: no second chance (Centrifugo requires the
  // position to equal the top).
  advance(seconds(40));
  EXPECT_EQ(c.one(),
            R"({"push":{"channel":"p:x","unsubscribe":{"code":2500,"reason":"insufficient state"}}})");
}

TEST_F(PositionCheckTest, UpToDateSubscriptionPassesEveryCheck) {
  Conn& c = connected();
  send(c, R"({"id":2,"subscribe":{"channel":"p:x"}})");
  c.take();
  publish("p:x", "1");  // delivered: the position follows
  EXPECT_EQ(replace_all(c.one(), top("p:x").epoch, "<epoch>"),
            R"({"push":{"channel":"p:x","pub":{"data":1,"offset":1,"epoch":"<epoch>"}}})");
  for (int i = 0; i < 4; ++i) {
    advance(seconds(40));
  }
  EXPECT_TRUE(c.take().empty());
  EXPECT_FALSE(c.closed());
}

}  // namespace
}  // namespace gyre::node::testing
