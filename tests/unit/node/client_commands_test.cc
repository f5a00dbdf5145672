#include <gtest/gtest.h>

#include "node/client.h"
#include "unit/node/client_harness.h"

// Publish, presence and history permissions (server-api.md §5.5) and the commands without a
// handler (client-protocol.md §4.12, §4.13), through a real Client.
namespace gyre::node::testing {
namespace {

class CommandsTest : public ClientTest {
 protected:
  std::string command(Conn& c, std::string_view body) {
    send(c, R"({"id":2,)" + std::string(body) + "}");
    return c.one();
  }
};

constexpr const char* k103 = R"({"id":2,"error":{"code":103,"message":"permission denied"}})";
constexpr const char* k108 = R"({"id":2,"error":{"code":108,"message":"not available"}})";

TEST_F(CommandsTest, PublishAllowedForClientReachesSubscribers) {
  cfg.channel.allow_publish_for_client = true;
  cfg.channel.allow_subscribe_for_client = true;
  Conn& sub = connected(R"("sub":"1")");
  send(sub, R"({"id":2,"subscribe":{"channel":"x"}})");
  sub.take();
  Conn& pub = connected(R"("sub":"2")");
  EXPECT_EQ(command(pub, R"("publish":{"channel":"x","data":{"a":1}})"),
            R"({"id":2,"publish":{}})");
  EXPECT_EQ(sub.one(),
            R"({"push":{"channel":"x","pub":{"data":{"a":1},"info":{"user":"2","client":")" +
                std::string(pub.client->id()) + R"("}}}})");
}

TEST_F(CommandsTest, PublishWithoutPermissionReplies103) {
  Conn& c = connected();
  EXPECT_EQ(command(c, R"("publish":{"channel":"x","data":{}})"), k103);
}

TEST_F(CommandsTest, PublishForSubscriberNeedsTheSubscription) {
  cfg.channel.allow_publish_for_subscriber = true;
  cfg.channel.allow_subscribe_for_client = true;
  Conn& c = connected();
  EXPECT_EQ(command(c, R"("publish":{"channel":"x","data":{}})"), k103);
  send(c, R"({"id":3,"subscribe":{"channel":"x"}})");
  c.take();
  send(c, R"({"id":4,"publish":{"channel":"x","data":{}}})");
  auto msgs = c.take();
  // The publication itself, then the reply: the memory engine posts the fan-out before the
  // publish callback.
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0],
            R"({"push":{"channel":"x","pub":{"data":{},"info":{"user":"42","client":"<client>"}}}})");
  EXPECT_EQ(msgs[1], R"({"id":4,"publish":{}})");
}

TEST_F(CommandsTest, PublishToProxiedNamespaceReplies108) {
  auto& o = add_namespace(cfg, "px");
  o.allow_publish_for_client = true;
  o.proxy_publish = true;
  Conn& c = connected();
  EXPECT_EQ(command(c, R"("publish":{"channel":"px:x","data":{}})"), k108);
}

TEST_F(CommandsTest, PresenceOfChannelWithoutPresenceReplies108) {
  cfg.channel.allow_presence_for_client = true;
  Conn& c = connected();
  EXPECT_EQ(command(c, R"("presence":{"channel":"x"})"), k108);
}

TEST_F(CommandsTest, PresenceWithoutPermissionReplies103) {
  cfg.channel.presence = true;
  Conn& c = connected();
  EXPECT_EQ(command(c, R"("presence_stats":{"channel":"x"})"), k103);
}

TEST_F(CommandsTest, PresenceStatsCountsSubscribers) {
  cfg.channel.presence = true;
  cfg.channel.allow_presence_for_subscriber = true;
  cfg.channel.allow_subscribe_for_client = true;
  Conn& c = connected();
  send(c, R"({"id":3,"subscribe":{"channel":"x"}})");
  c.take();
  EXPECT_EQ(command(c, R"("presence_stats":{"channel":"x"})"),
            R"({"id":2,"presence_stats":{"num_clients":1,"num_users":1}})");
}

TEST_F(CommandsTest, HistoryOfChannelWithoutHistoryReplies108) {
  cfg.channel.allow_history_for_client = true;
  Conn& c = connected();
  EXPECT_EQ(command(c, R"("history":{"channel":"x"})"), k108);
}

TEST_F(CommandsTest, HistoryForAnonymousNeedsAllowHistoryForAnonymous) {
  cfg.channel.history_size = 10;
  cfg.channel.history_ttl = std::chrono::seconds(60);
  cfg.channel.allow_history_for_client = true;
  Conn& c = connected("");
  EXPECT_EQ(command(c, R"("history":{"channel":"x"})"), k103);
}

TEST_F(CommandsTest, HistoryReturnsThePublications) {
  cfg.channel.history_size = 10;
  cfg.channel.history_ttl = std::chrono::seconds(60);
  cfg.channel.allow_history_for_client = true;
  Conn& c = connected();
  publish("x", "1");
  publish("x", "2");
  auto t = top("x");
  EXPECT_EQ(replace_all(command(c, R"("history":{"channel":"x","limit":-1})"), t.epoch, "<e>"),
            R"({"id":2,"history":{"publications":[{"data":1,"offset":1},{"data":2,"offset":2}],"epoch":"<e>","offset":2}})");
}

TEST_F(CommandsTest, RpcWithoutProxyReplies108) {
  Conn& c = connected();
  EXPECT_EQ(command(c, R"("rpc":{"method":"m","data":{}})"), k108);
}

TEST_F(CommandsTest, SendWithoutHandlerDisconnects3508) {
  Conn& c = connected();
  send(c, R"({"send":{"data":{}}})");
  EXPECT_EQ(c.closed(), (Disconnect{3508, "not available"}));
}

}  // namespace
}  // namespace gyre::node::testing
