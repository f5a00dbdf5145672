#include <gtest/gtest.h>

#include "node/client.h"
#include "unit/node/client_harness.h"

// Client subscribe: every branch of the permission order of server-api.md §5.4, with the exact
// reply or disconnect (client-protocol.md §4.5, §7).
namespace gyre::node::testing {
namespace {

class SubscribeTest : public ClientTest {
 protected:
  // A subscription token signed with kSecret.
  static std::string sub_token(std::string_view claims) { return token(claims); }
  std::string subscribe(Conn& c, std::string_view body, uint32_t id = 2) {
    send(c, R"({"id":)" + std::to_string(id) + R"(,"subscribe":{)" + std::string(body) + "}}");
    return c.one();
  }
};

constexpr const char* k103 = R"({"id":2,"error":{"code":103,"message":"permission denied"}})";
constexpr const char* kOk = R"({"id":2,"subscribe":{}})";

TEST_F(SubscribeTest, UnknownNamespaceReplies102) {
  Conn& c = connected();
  EXPECT_EQ(subscribe(c, R"("channel":"nope:x")"),
            R"({"id":2,"error":{"code":102,"message":"unknown channel"}})");
}

TEST_F(SubscribeTest, NamespaceWithoutClientSubscribeReplies103) {
  add_namespace(cfg, "chat");
  Conn& c = connected();
  EXPECT_EQ(subscribe(c, R"("channel":"chat:x")"), k103);
}

TEST_F(SubscribeTest, AllowSubscribeForClientAllowsAUser) {
  add_namespace(cfg, "chat").allow_subscribe_for_client = true;
  Conn& c = connected();
  EXPECT_EQ(subscribe(c, R"("channel":"chat:x")"), kOk);
  // Subscribed: publications reach it.
  publish("chat:x", R"({"m":"hi"})");
  EXPECT_EQ(replace_all(c.one(), top("chat:x").epoch, "<epoch>"),
            R"({"push":{"channel":"chat:x","pub":{"data":{"m":"hi"},"offset":1,"epoch":"<epoch>"}}})");
}

TEST_F(SubscribeTest, AnonymousNeedsAllowSubscribeForAnonymous) {
  add_namespace(cfg, "chat").allow_subscribe_for_client = true;
  Conn& c = connected("");
  EXPECT_EQ(subscribe(c, R"("channel":"chat:x")"), k103);
}

TEST_F(SubscribeTest, AllowSubscribeForAnonymousAllowsAnonymous) {
  auto& o = add_namespace(cfg, "chat");
  o.allow_subscribe_for_client = true;
  o.allow_subscribe_for_anonymous = true;
  Conn& c = connected("");
  EXPECT_EQ(subscribe(c, R"("channel":"chat:x")"), kOk);
}

TEST_F(SubscribeTest, UserLimitedChannelAllowsItsUser) {
  cfg.channel.allow_user_limited_channels = true;
  Conn& c = connected(R"("sub":"42")");
  EXPECT_EQ(subscribe(c, R"("channel":"dialog#42,43")"), kOk);
}

TEST_F(SubscribeTest, UserLimitedChannelRefusesOtherUsers) {
  cfg.channel.allow_user_limited_channels = true;
  cfg.channel.allow_subscribe_for_client = true;  // not for user-limited channels
  Conn& c = connected(R"("sub":"44")");
  EXPECT_EQ(subscribe(c, R"("channel":"dialog#42,43")"), k103);
}

TEST_F(SubscribeTest, PrivateChannelWithoutTokenReplies103) {
  cfg.channel.allow_subscribe_for_client = true;  // does not open private channels
  Conn& c = connected();
  EXPECT_EQ(subscribe(c, R"("channel":"$secret")"), k103);
}

TEST_F(SubscribeTest, PrivateChannelWithTokenSubscribes) {
  Conn& c = connected(R"("sub":"42")");
  std::string t = sub_token(R"("sub":"42","channel":"$secret")");
  EXPECT_EQ(subscribe(c, R"("channel":"$secret","token":")" + t + "\""), kOk);
}

TEST_F(SubscribeTest, TokenWithExpiryReportsTtl) {
  start();
  Conn& c = connected(R"("sub":"42")");
  std::string t = sub_token(R"("sub":"42","channel":"$s","exp":)" +
                            std::to_string(now_unix() + 60));
  EXPECT_EQ(subscribe(c, R"("channel":"$s","token":")" + t + "\""),
            R"({"id":2,"subscribe":{"expires":true,"ttl":60}})");
}

TEST_F(SubscribeTest, TokenForAnotherChannelDisconnects3500) {
  Conn& c = connected(R"("sub":"42")");
  std::string t = sub_token(R"("sub":"42","channel":"$other")");
  send(c, R"({"id":2,"subscribe":{"channel":"$secret","token":")" + t + "\"}}");
  EXPECT_EQ(c.closed(), (Disconnect{3500, "invalid token"}));
}

TEST_F(SubscribeTest, TokenForAnotherUserDisconnects3500) {
  Conn& c = connected(R"("sub":"42")");
  std::string t = sub_token(R"("sub":"43","channel":"$secret")");
  send(c, R"({"id":2,"subscribe":{"channel":"$secret","token":")" + t + "\"}}");
  EXPECT_EQ(c.closed(), (Disconnect{3500, "invalid token"}));
}

TEST_F(SubscribeTest, TokenWithBadSignatureReplies103) {
  Conn& c = connected(R"("sub":"42")");
  std::string t = auth::make_hs256_token("wrong", R"({"sub":"42","channel":"$secret"})");
  EXPECT_EQ(subscribe(c, R"("channel":"$secret","token":")" + t + "\""), k103);
  EXPECT_FALSE(c.closed());
}

TEST_F(SubscribeTest, ExpiredTokenReplies109) {
  start();
  Conn& c = connected(R"("sub":"42")");
  std::string t = sub_token(R"("sub":"42","channel":"$secret","exp":)" +
                            std::to_string(now_unix() - 5));
  EXPECT_EQ(subscribe(c, R"("channel":"$secret","token":")" + t + "\""),
            R"({"id":2,"error":{"code":109,"message":"token expired"}})");
}

TEST_F(SubscribeTest, AlreadySubscribedReplies105) {
  cfg.channel.allow_subscribe_for_client = true;
  Conn& c = connected();
  EXPECT_EQ(subscribe(c, R"("channel":"x")"), kOk);
  EXPECT_EQ(subscribe(c, R"("channel":"x")", 3),
            R"({"id":3,"error":{"code":105,"message":"already subscribed"}})");
}

TEST_F(SubscribeTest, ChannelLimitReplies106) {
  cfg.channel.allow_subscribe_for_client = true;
  cfg.client_channel_limit = 1;
  Conn& c = connected();
  EXPECT_EQ(subscribe(c, R"("channel":"x")"), kOk);
  EXPECT_EQ(subscribe(c, R"("channel":"y")", 3),
            R"({"id":3,"error":{"code":106,"message":"limit exceeded"}})");
}

TEST_F(SubscribeTest, TooLongChannelReplies107) {
  cfg.channel.allow_subscribe_for_client = true;
  cfg.channel_max_length = 8;
  Conn& c = connected();
  EXPECT_EQ(subscribe(c, R"("channel":"123456789")"),
            R"({"id":2,"error":{"code":107,"message":"bad request"}})");
}

TEST_F(SubscribeTest, EmptyChannelDisconnects3501) {
  Conn& c = connected();
  send(c, R"({"id":2,"subscribe":{"channel":""}})");
  EXPECT_EQ(c.closed(), (Disconnect{3501, "bad request"}));
}

TEST_F(SubscribeTest, UnknownDeltaTypeDisconnects3501) {
  cfg.channel.allow_subscribe_for_client = true;
  Conn& c = connected();
  send(c, R"({"id":2,"subscribe":{"channel":"x","delta":"xdelta"}})");
  EXPECT_EQ(c.closed(), (Disconnect{3501, "bad request"}));
}

TEST_F(SubscribeTest, SubscribeProxyNamespaceReplies108) {
  auto& o = add_namespace(cfg, "px");
  o.allow_subscribe_for_client = true;
  o.proxy_subscribe = true;
  Conn& c = connected();
  EXPECT_EQ(subscribe(c, R"("channel":"px:x")"),
            R"({"id":2,"error":{"code":108,"message":"not available"}})");
}

TEST_F(SubscribeTest, InsecureModeAllowsWhatIsNotDenied) {
  cfg.client_insecure = true;
  Conn& c = connected();
  EXPECT_EQ(subscribe(c, R"("channel":"x")"), kOk);
}

TEST_F(SubscribeTest, UnsubscribeStopsDelivery) {
  cfg.channel.allow_subscribe_for_client = true;
  Conn& c = connected();
  EXPECT_EQ(subscribe(c, R"("channel":"x")"), kOk);
  send(c, R"({"id":3,"unsubscribe":{"channel":"x"}})");
  EXPECT_EQ(c.one(), R"({"id":3,"unsubscribe":{}})");
  publish("x", "1");
  EXPECT_TRUE(c.take().empty());
}

}  // namespace
}  // namespace gyre::node::testing
