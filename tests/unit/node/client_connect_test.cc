#include <gtest/gtest.h>

#include "node/client.h"
#include "unit/node/client_harness.h"

// Connect (client-protocol.md §4.3, server-api.md §3, §5.3) through a real Client on an
// in-process node, with a manual clock.
namespace gyre::node::testing {
namespace {

using ConnectTest = ClientTest;

constexpr const char* kConnectReply =
    R"({"id":1,"connect":{"client":"<client>","version":"0.1.0","ping":25,"pong":true}})";

TEST_F(ConnectTest, ValidTokenConnectsWithPingAndPong) {
  Conn& c = open();
  send(c, R"({"id":1,"connect":{"token":")" + token(R"("sub":"42")") + R"("}})");
  EXPECT_EQ(c.one(), kConnectReply);
  EXPECT_TRUE(c.client->authenticated());
  EXPECT_EQ(c.client->user(), "42");
  EXPECT_FALSE(c.closed());
}

TEST_F(ConnectTest, TokenWithExpiryReportsTtlFromTheShardClock) {
  start();
  Conn& c = open();
  const int64_t exp = now_unix() + 100;
  send(c, R"({"id":1,"connect":{"token":")" +
              token(R"("sub":"42","exp":)" + std::to_string(exp)) + R"("}})");
  EXPECT_EQ(c.one(),
            R"({"id":1,"connect":{"client":"<client>","version":"0.1.0","expires":true,"ttl":100,"ping":25,"pong":true}})");
}

TEST_F(ConnectTest, BadSignatureDisconnectsWithInvalidToken) {
  Conn& c = open();
  std::string bad = auth::make_hs256_token("other-secret", R"({"sub":"42"})");
  send(c, R"({"id":1,"connect":{"token":")" + bad + R"("}})");
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(c.closed(), (Disconnect{3500, "invalid token"}));
}

TEST_F(ConnectTest, ExpiredTokenReplies109AndTheConnectionIsUnusable) {
  start();
  Conn& c = open();
  const int64_t exp = now_unix() - 1;
  send(c, R"({"id":1,"connect":{"token":")" +
              token(R"("sub":"42","exp":)" + std::to_string(exp)) + R"("}})");
  EXPECT_EQ(c.one(), R"({"id":1,"error":{"code":109,"message":"token expired"}})");
  EXPECT_FALSE(c.closed());
  // Any later command closes it (client-protocol.md §4.1).
  send(c, R"({"id":2,"connect":{}})");
  EXPECT_EQ(c.closed(), (Disconnect{3501, "bad request"}));
}

TEST_F(ConnectTest, ExpiredTokenOnUnidirectionalTransportDisconnects3005) {
  start();
  Conn& c = open({"uni_websocket", true, false, true});
  protocol::ConnectRequest req;
  req.token = token(R"("sub":"42","exp":)" + std::to_string(now_unix() - 1));
  c.client->connect_unidirectional(std::move(req));
  run();
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(c.transport->failed_code, 109u);
  EXPECT_EQ(c.closed(), (Disconnect{3005, "connection expired"}));
}

TEST_F(ConnectTest, WithoutCredentialsDisconnects3501) {
  Conn& c = open();
  send(c, R"({"id":1,"connect":{}})");
  EXPECT_EQ(c.closed(), (Disconnect{3501, "bad request"}));
}

TEST_F(ConnectTest, AnonymousConnectWhenAllowed) {
  cfg.allow_anonymous_connect_without_token = true;
  Conn& c = open();
  send(c, R"({"id":1,"connect":{}})");
  EXPECT_EQ(c.one(), kConnectReply);
  EXPECT_EQ(c.client->user(), "");
}

TEST_F(ConnectTest, AnonymousTokenRefusedWhenDisallowed) {
  cfg.disallow_anonymous_connection_tokens = true;
  Conn& c = open();
  send(c, R"({"id":1,"connect":{"token":")" + token("") + R"("}})");
  EXPECT_EQ(c.closed(), (Disconnect{3507, "permission denied"}));
}

TEST_F(ConnectTest, InsecureModeConnectsWithoutToken) {
  cfg.client_insecure = true;
  Conn& c = open();
  send(c, R"({"id":1,"connect":{}})");
  EXPECT_EQ(c.one(), kConnectReply);
}

TEST_F(ConnectTest, UserIdHeaderConnectsAsThatUser) {
  cfg.client_user_id_http_header = "X-User";
  Conn& c = open({"websocket", false, false, true}, ConnectionRequest{"alice"});
  send(c, R"({"id":1,"connect":{}})");
  EXPECT_EQ(c.one(), kConnectReply);
  EXPECT_EQ(c.client->user(), "alice");
}

TEST_F(ConnectTest, TokenSubsBecomeServerSideSubscriptions) {
  Conn& c = open();
  send(c, R"({"id":1,"connect":{"token":")" +
              token(R"("sub":"42","subs":{"news":{"data":{"hello":1}}})") + R"("}})");
  EXPECT_EQ(c.one(),
            R"({"id":1,"connect":{"client":"<client>","version":"0.1.0","subs":{"news":{"data":{"hello":1}}},"ping":25,"pong":true}})");
  // A client-side subscribe to a server-side channel: 105 (client-protocol.md §5.5).
  send(c, R"({"id":2,"subscribe":{"channel":"news"}})");
  EXPECT_EQ(c.one(), R"({"id":2,"error":{"code":105,"message":"already subscribed"}})");
}

TEST_F(ConnectTest, TokenChannelsBecomeServerSideSubscriptions) {
  Conn& c = open();
  send(c, R"({"id":1,"connect":{"token":")" + token(R"("sub":"42","channels":["a","b"])") +
              R"("}})");
  EXPECT_EQ(c.one(),
            R"({"id":1,"connect":{"client":"<client>","version":"0.1.0","subs":{"a":{},"b":{}},"ping":25,"pong":true}})");
  // They receive publications.
  publish("b", R"({"n":1})");
  EXPECT_EQ(replace_all(c.one(), top("b").epoch, "<epoch>"),
            R"({"push":{"channel":"b","pub":{"data":{"n":1},"offset":1,"epoch":"<epoch>"}}})");
}

TEST_F(ConnectTest, TokenChannelOfUnknownNamespaceReplies102) {
  Conn& c = open();
  send(c, R"({"id":1,"connect":{"token":")" + token(R"("sub":"42","channels":["nope:a"])") +
              R"("}})");
  EXPECT_EQ(c.one(), R"({"id":1,"error":{"code":102,"message":"unknown channel"}})");
}

TEST_F(ConnectTest, TooManyServerSideChannelsDisconnects3505) {
  cfg.client_channel_limit = 1;
  Conn& c = open();
  send(c, R"({"id":1,"connect":{"token":")" + token(R"("sub":"42","channels":["a","b"])") +
              R"("}})");
  EXPECT_EQ(c.closed(), (Disconnect{3505, "channel limit"}));
}

TEST_F(ConnectTest, UserConnectionLimitDisconnects3504) {
  cfg.client_user_connection_limit = 1;
  connected(R"("sub":"42")");
  Conn& second = open();
  send(second, R"({"id":1,"connect":{"token":")" + token(R"("sub":"42")") + R"("}})");
  EXPECT_EQ(second.closed(), (Disconnect{3504, "connection limit"}));
  // Another user is not limited by it.
  connected(R"("sub":"43")");
}

TEST_F(ConnectTest, SecondConnectDisconnects3501) {
  Conn& c = connected();
  send(c, R"({"id":2,"connect":{}})");
  EXPECT_EQ(c.closed(), (Disconnect{3501, "bad request"}));
}

TEST_F(ConnectTest, CommandBeforeConnectDisconnects3501) {
  Conn& c = open();
  send(c, R"({"id":1,"subscribe":{"channel":"news"}})");
  EXPECT_EQ(c.closed(), (Disconnect{3501, "bad request"}));
}

TEST_F(ConnectTest, RequestedSubsAreKeptOnlyWhenTheClientCouldSubscribe) {
  cfg.allow_anonymous_connect_without_token = true;
  auto& open_ns = add_namespace(cfg, "open");
  open_ns.allow_subscribe_for_client = true;
  open_ns.allow_subscribe_for_anonymous = true;
  Conn& c = open();
  send(c, R"({"id":1,"connect":{"subs":{"open:x":{},"closed":{}}}})");
  EXPECT_EQ(c.one(),
            R"({"id":1,"connect":{"client":"<client>","version":"0.1.0","subs":{"open:x":{}},"ping":25,"pong":true}})");
}

TEST_F(ConnectTest, PersonalChannelSubscriptionFromConfig) {
  cfg.user_subscribe_to_personal = true;
  Conn& c = open();
  send(c, R"({"id":1,"connect":{"token":")" + token(R"("sub":"42")") + R"("}})");
  EXPECT_EQ(c.one(),
            R"({"id":1,"connect":{"client":"<client>","version":"0.1.0","subs":{"#42":{}},"ping":25,"pong":true}})");
}

}  // namespace
}  // namespace gyre::node::testing
