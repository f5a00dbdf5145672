#include <gtest/gtest.h>

#include "node/client.h"
#include "unit/node/client_harness.h"

// Unidirectional transports (client-protocol.md §8.3): the connect result is a push, pushes are
// bare, pings expect no pong. Same session code as the bidirectional tests.
namespace gyre::node::testing {
namespace {

class UniTest : public ClientTest {
 protected:
  Conn& uni_connected(std::string_view claims) {
    Conn& c = open({"uni_websocket", true, false, true});
    protocol::ConnectRequest req;
    req.token = token(claims);
    c.client->connect_unidirectional(std::move(req));
    run();
    return c;
  }
};

TEST_F(UniTest, ConnectResultIsAPushWithTheSession) {
  Conn& c = uni_connected(R"("sub":"42","channels":["news"])");
  std::string session = c.client->session();
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(replace_all(c.one(), session, "<session>"),
            R"({"connect":{"client":"<client>","version":"0.1.0","subs":{"news":{}},"ping":25,"session":"<session>"}})");
}

TEST_F(UniTest, PublicationsGoToTheTransportAsTheSharedFanout) {
  // The session hands over the fan-out encoded once for everyone; the unidirectional transport
  // strips the Reply wrapper itself (transport tests cover that).
  Conn& c = uni_connected(R"("sub":"42","channels":["news"])");
  c.take();
  publish("news", "7");
  EXPECT_EQ(replace_all(c.one(), top("news").epoch, "<epoch>"),
            R"({"push":{"channel":"news","pub":{"data":7,"offset":1,"epoch":"<epoch>"}}})");
}

TEST_F(UniTest, ServerUnsubscribeIsABarePush) {
  Conn& c = uni_connected(R"("sub":"42","channels":["news"])");
  c.take();
  c.client->api_unsubscribe("news");
  EXPECT_EQ(c.one(), R"({"channel":"news","unsubscribe":{"code":2000,"reason":"server unsubscribe"}})");
}

TEST_F(UniTest, PingsExpectNoPong) {
  Conn& c = uni_connected(R"("sub":"42")");
  c.take();
  advance(std::chrono::seconds(25));
  EXPECT_EQ(c.one(), "{}");
  advance(std::chrono::seconds(20));  // well past a pong timeout
  EXPECT_FALSE(c.closed());
}

TEST_F(UniTest, InvalidTokenDisconnects3500AndReportsTheCode) {
  Conn& c = open({"uni_websocket", true, false, true});
  protocol::ConnectRequest req;
  req.token = auth::make_hs256_token("wrong", R"({"sub":"42"})");
  c.client->connect_unidirectional(std::move(req));
  run();
  EXPECT_EQ(c.transport->failed_code, 3500u);
  EXPECT_EQ(c.closed(), (Disconnect{3500, "invalid token"}));
}

}  // namespace
}  // namespace gyre::node::testing
