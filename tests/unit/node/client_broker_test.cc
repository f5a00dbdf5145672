#include <gtest/gtest.h>

#include "core/sharded.h"
#include "node/client.h"
#include "unit/node/client_harness.h"

// A remote broker (Engine::tracks_subscriptions, as the Redis engine): the client subscribes
// the channel on the broker before it reads the stream or adds presence, and balances every
// subscribe with one unsubscribe.
namespace gyre::node::testing {
namespace {

// The memory engine behind a recorder that asks for subscription tracking.
class TrackingEngine final : public engine::Engine {
 public:
  explicit TrackingEngine(engine::Engine& inner) : inner_(inner) {}
  void set_event_handler(engine::EventHandler* h) override { inner_.set_event_handler(h); }
  void publish(std::string ch, engine::Publication pub, engine::PublishOptions opts,
               engine::Callback<engine::StreamPosition> done) override {
    inner_.publish(std::move(ch), std::move(pub), std::move(opts), std::move(done));
  }
  void publish_join(std::string ch, engine::ClientInfo info) override {
    inner_.publish_join(std::move(ch), std::move(info));
  }
  void publish_leave(std::string ch, engine::ClientInfo info) override {
    inner_.publish_leave(std::move(ch), std::move(info));
  }
  void history(std::string ch, engine::HistoryFilter f, engine::Duration meta_ttl,
               engine::Callback<engine::HistoryResult> done) override {
    calls.push_back("history " + ch);
    inner_.history(std::move(ch), std::move(f), meta_ttl, std::move(done));
  }
  void remove_history(std::string ch, engine::Callback<bool> done) override {
    inner_.remove_history(std::move(ch), std::move(done));
  }
  void add_presence(std::string ch, std::string id, engine::ClientInfo info,
                    engine::Callback<bool> done) override {
    calls.push_back("add_presence " + ch);
    inner_.add_presence(std::move(ch), std::move(id), std::move(info), std::move(done));
  }
  void remove_presence(std::string ch, std::string id, std::string user,
                       engine::Callback<bool> done) override {
    inner_.remove_presence(std::move(ch), std::move(id), std::move(user), std::move(done));
  }
  void presence(std::string ch,
                engine::Callback<std::vector<std::pair<std::string, engine::ClientInfo>>> done)
      override {
    inner_.presence(std::move(ch), std::move(done));
  }
  void presence_stats(std::string ch, engine::Callback<engine::PresenceStats> done) override {
    inner_.presence_stats(std::move(ch), std::move(done));
  }
  bool tracks_subscriptions() const override { return true; }
  void subscribe(std::string ch, engine::Callback<bool> done) override {
    calls.push_back("subscribe " + ch);
    run_later([this, done = std::move(done)] {
      if (fail_subscribe) {
        done(std::unexpected(errors::internal()));
      } else {
        done(true);
      }
    });
  }
  void unsubscribe(std::string ch) override { calls.push_back("unsubscribe " + ch); }

  std::vector<std::string> calls;
  bool fail_subscribe = false;

 private:
  engine::Engine& inner_;
};

class BrokerSubscribeTest : public ClientTest {
 protected:
  BrokerSubscribeTest() {
    engine_override = &tracking;
    auto& o = add_namespace(cfg, "chat");
    o.allow_subscribe_for_client = true;
    o.presence = true;
    o.history_size = 10;
    o.history_ttl = std::chrono::seconds(300);
    o.force_recovery = true;
  }
  TrackingEngine tracking{engine};
};

TEST_F(BrokerSubscribeTest, BrokerSubscribesBeforeTheStreamIsReadAndUnsubscribesOnce) {
  Conn& c = connected();
  send(c, R"({"id":2,"subscribe":{"channel":"chat:x"}})");
  std::string reply = c.one();
  EXPECT_NE(reply.find(R"("id":2,"subscribe":{)"), std::string::npos) << reply;
  ASSERT_EQ(tracking.calls.size(), 3u);
  EXPECT_EQ(tracking.calls[0], "subscribe chat:x");
  // Presence and the stream read come after the broker's confirmation, in either order.
  std::vector<std::string> rest(tracking.calls.begin() + 1, tracking.calls.end());
  std::sort(rest.begin(), rest.end());
  EXPECT_EQ(rest, (std::vector<std::string>{"add_presence chat:x", "history chat:x"}));

  send(c, R"({"id":3,"unsubscribe":{"channel":"chat:x"}})");
  EXPECT_EQ(c.one(), R"({"id":3,"unsubscribe":{}})");
  EXPECT_EQ(std::count(tracking.calls.begin(), tracking.calls.end(), "unsubscribe chat:x"), 1);
}

TEST_F(BrokerSubscribeTest, BrokerFailureEndsTheConnectionWith3004AndStaysBalanced) {
  tracking.fail_subscribe = true;
  Conn& c = connected();
  send(c, R"({"id":2,"subscribe":{"channel":"chat:x"}})");
  run();
  ASSERT_TRUE(c.closed());
  EXPECT_EQ(c.closed()->code, 3004u);
  // Neither the stream nor presence was touched; the subscribe is balanced.
  EXPECT_EQ(tracking.calls, (std::vector<std::string>{"subscribe chat:x", "unsubscribe chat:x"}));
}

TEST_F(BrokerSubscribeTest, ClosingTheConnectionUnsubscribesEveryChannel) {
  Conn& c = connected();
  send(c, R"({"id":2,"subscribe":{"channel":"chat:a"}})");
  c.one();
  send(c, R"({"id":3,"subscribe":{"channel":"chat:b"}})");
  c.one();
  c.client->transport_closed();
  run();
  EXPECT_EQ(std::count(tracking.calls.begin(), tracking.calls.end(), "unsubscribe chat:a"), 1);
  EXPECT_EQ(std::count(tracking.calls.begin(), tracking.calls.end(), "unsubscribe chat:b"), 1);
}

}  // namespace
}  // namespace gyre::node::testing
