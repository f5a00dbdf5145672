#include "hub/hub.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gyre::hub {
namespace {

// A subscriber that records deliveries and can run an action from inside deliver().
class FakeSubscriber final : public Subscriber {
 public:
  explicit FakeSubscriber(std::string name, std::vector<std::string>* log = nullptr)
      : name_(std::move(name)), log_(log) {}
  void deliver(const std::shared_ptr<const Fanout>& f) override {
    received.push_back(f);
    if (log_ != nullptr) {
      log_->push_back(name_);
    }
    if (on_deliver) {
      on_deliver();
    }
  }
  void prefetch(unsigned stage) const override {
    EXPECT_FALSE(removed) << name_ << " prefetched after its removal";
    EXPECT_LT(stage, 3u);
    if (received.empty() && stage < prefetched.size()) {
      ++prefetched[stage];
    }
  }
  std::vector<std::shared_ptr<const Fanout>> received;
  std::function<void()> on_deliver;
  bool removed = false;  // set by a test once removed from the hub
  mutable std::array<int, 3> prefetched{};  // per stage, before the first delivery

 private:
  std::string name_;
  std::vector<std::string>* log_;
};

std::shared_ptr<const Fanout> fanout(const std::string& channel) {
  auto f = std::make_shared<Fanout>();
  f->channel = channel;
  f->json = "{}";
  return f;
}

class HubTest : public ::testing::Test {
 protected:
  Hub hub;
};

TEST_F(HubTest, FirstAddOfChannelReturnsTrue) {
  FakeSubscriber a("a"), b("b");
  EXPECT_TRUE(hub.add("c", &a));
  EXPECT_FALSE(hub.add("c", &b));
  EXPECT_TRUE(hub.add("d", &a));
  EXPECT_EQ(hub.num_channels(), 2u);
  EXPECT_EQ(hub.num_subscriptions(), 3u);
  EXPECT_EQ(hub.num_subscribers("c"), 2u);
  EXPECT_EQ(hub.num_subscribers("d"), 1u);
  EXPECT_EQ(hub.num_subscribers("x"), 0u);
}

TEST_F(HubTest, RemoveOfLastSubscriberReturnsTrueAndDropsChannel) {
  FakeSubscriber a("a"), b("b");
  hub.add("c", &a);
  hub.add("c", &b);
  EXPECT_FALSE(hub.remove("c", &a));
  EXPECT_EQ(hub.num_subscribers("c"), 1u);
  EXPECT_TRUE(hub.remove("c", &b));
  EXPECT_EQ(hub.num_channels(), 0u);
  EXPECT_EQ(hub.num_subscriptions(), 0u);
}

TEST_F(HubTest, RemoveOfUnknownSubscriberOrChannelIsNoOp) {
  FakeSubscriber a("a"), b("b");
  hub.add("c", &a);
  EXPECT_FALSE(hub.remove("c", &b));
  EXPECT_FALSE(hub.remove("nope", &a));
  EXPECT_EQ(hub.num_subscriptions(), 1u);
  EXPECT_EQ(hub.num_subscribers("c"), 1u);
}

TEST_F(HubTest, BroadcastReachesEverySubscriberOfTheChannelOnly) {
  FakeSubscriber a("a"), b("b"), other("other");
  hub.add("c", &a);
  hub.add("c", &b);
  hub.add("d", &other);
  auto f = fanout("c");
  hub.broadcast(f);
  ASSERT_EQ(a.received.size(), 1u);
  ASSERT_EQ(b.received.size(), 1u);
  EXPECT_EQ(a.received[0], f);  // the same shared fanout, not a copy
  EXPECT_EQ(b.received[0], f);
  EXPECT_TRUE(other.received.empty());
}

TEST_F(HubTest, BroadcastToChannelWithoutSubscribersDoesNothing) {
  EXPECT_FALSE(hub.broadcast(fanout("none")));  // false: no subscribers on this shard
  EXPECT_EQ(hub.num_channels(), 0u);
  FakeSubscriber a("a");
  hub.add("some", &a);
  EXPECT_TRUE(hub.broadcast(fanout("some")));
  hub.remove("some", &a);
  EXPECT_FALSE(hub.broadcast(fanout("some")));
}

TEST_F(HubTest, RemovedSubscriberNoLongerReceives) {
  FakeSubscriber a("a"), b("b");
  hub.add("c", &a);
  hub.add("c", &b);
  hub.remove("c", &a);
  hub.broadcast(fanout("c"));
  EXPECT_TRUE(a.received.empty());
  EXPECT_EQ(b.received.size(), 1u);
}

TEST_F(HubTest, SubscriberCanRemoveItselfAndAnotherDuringBroadcast) {
  std::vector<std::string> log;
  FakeSubscriber a("a", &log), b("b", &log), c("c", &log);
  hub.add("ch", &a);
  hub.add("ch", &b);
  hub.add("ch", &c);
  bool removed_last = true;
  a.on_deliver = [&] {
    EXPECT_FALSE(hub.remove("ch", &a));
    removed_last = hub.remove("ch", &c);
  };
  hub.broadcast(fanout("ch"));
  EXPECT_FALSE(removed_last);
  EXPECT_EQ(log, (std::vector<std::string>{"a", "b"}));  // c was removed before its turn
  EXPECT_EQ(hub.num_subscribers("ch"), 1u);
  EXPECT_EQ(hub.num_subscriptions(), 1u);

  a.on_deliver = nullptr;
  log.clear();
  hub.broadcast(fanout("ch"));
  EXPECT_EQ(log, (std::vector<std::string>{"b"}));
}

TEST_F(HubTest, RemovingEverySubscriberDuringBroadcastDropsChannelAfterwards) {
  FakeSubscriber a("a"), b("b");
  hub.add("ch", &a);
  hub.add("ch", &b);
  bool first = false, second = false;
  a.on_deliver = [&] {
    first = hub.remove("ch", &b);
    second = hub.remove("ch", &a);
  };
  hub.broadcast(fanout("ch"));
  EXPECT_FALSE(first);
  EXPECT_TRUE(second);
  EXPECT_TRUE(b.received.empty());
  EXPECT_EQ(hub.num_channels(), 0u);
  EXPECT_EQ(hub.num_subscriptions(), 0u);
  EXPECT_EQ(hub.num_subscribers("ch"), 0u);
  // The channel can be re-created afterwards.
  EXPECT_TRUE(hub.add("ch", &a));
}

TEST_F(HubTest, NestedBroadcastOfTheSameChannelKeepsTheOuterIterationIntact) {
  // With same-shard engine work inline (Sharded<T>), a deliver() can end a subscription and
  // publish to the channel again before the outer broadcast has finished.
  std::vector<std::string> log;
  FakeSubscriber a("a", &log), b("b", &log), c("c", &log);
  hub.add("ch", &a);
  hub.add("ch", &b);
  hub.add("ch", &c);
  auto inner = fanout("ch");
  int calls = 0;
  a.on_deliver = [&] {
    if (++calls > 1) {
      return;
    }
    EXPECT_FALSE(hub.remove("ch", &b));  // hole in the outer iteration
    hub.broadcast(inner);                // nested: a and c
    EXPECT_FALSE(hub.remove("ch", &a));
  };
  hub.broadcast(fanout("ch"));
  EXPECT_EQ(log, (std::vector<std::string>{"a", "a", "c", "c"}));
  ASSERT_EQ(c.received.size(), 2u);
  EXPECT_EQ(c.received[0], inner);  // the nested fan-out reached c first
  EXPECT_EQ(hub.num_subscribers("ch"), 1u);
  log.clear();
  hub.broadcast(fanout("ch"));
  EXPECT_EQ(log, (std::vector<std::string>{"c"}));
}

TEST_F(HubTest, NestedBroadcastRemovingTheLastSubscriberDropsTheChannelOnceOuterEnds) {
  FakeSubscriber a("a");
  hub.add("ch", &a);
  bool nested_done = false;
  int calls = 0;
  a.on_deliver = [&] {
    if (++calls == 2) {
      EXPECT_TRUE(hub.remove("ch", &a));  // from inside the nested broadcast
      return;
    }
    hub.broadcast(fanout("ch"));
    nested_done = true;
    EXPECT_EQ(hub.num_channels(), 1u);  // still iterated by the outer broadcast
  };
  hub.broadcast(fanout("ch"));
  EXPECT_TRUE(nested_done);
  EXPECT_EQ(a.received.size(), 2u);
  EXPECT_EQ(hub.num_channels(), 0u);
  EXPECT_EQ(hub.num_subscriptions(), 0u);
}

TEST_F(HubTest, SubscriberAddedDuringBroadcastDoesNotReceiveCurrentFanout) {
  FakeSubscriber a("a"), late("late");
  hub.add("ch", &a);
  bool done = false;
  a.on_deliver = [&] {
    if (!done) {
      done = true;
      EXPECT_FALSE(hub.add("ch", &late));
    }
  };
  hub.broadcast(fanout("ch"));
  EXPECT_TRUE(late.received.empty());
  EXPECT_EQ(hub.num_subscribers("ch"), 2u);
  hub.broadcast(fanout("ch"));
  EXPECT_EQ(late.received.size(), 1u);
  EXPECT_EQ(a.received.size(), 2u);
}

TEST_F(HubTest, RemoveAndReAddDuringBroadcastKeepsSubscription) {
  FakeSubscriber a("a"), b("b");
  hub.add("ch", &a);
  hub.add("ch", &b);
  bool done = false;
  a.on_deliver = [&] {
    if (!done) {
      done = true;
      hub.remove("ch", &b);
      hub.add("ch", &b);
    }
  };
  hub.broadcast(fanout("ch"));
  EXPECT_TRUE(b.received.empty());
  EXPECT_EQ(hub.num_subscribers("ch"), 2u);
  hub.broadcast(fanout("ch"));
  EXPECT_EQ(b.received.size(), 1u);
  EXPECT_EQ(a.received.size(), 2u);
}

TEST_F(HubTest, AddingManyChannelsDuringBroadcastIsSafe) {
  // Inserting channels from deliver() may rehash the index while the broadcast iterates.
  FakeSubscriber a("a"), b("b");
  hub.add("ch", &a);
  hub.add("ch", &b);
  a.on_deliver = [&] {
    for (int i = 0; i < 1000; ++i) {
      hub.add("other" + std::to_string(i), &a);
    }
    hub.remove("ch", &a);
  };
  hub.broadcast(fanout("ch"));
  EXPECT_EQ(b.received.size(), 1u);
  EXPECT_EQ(hub.num_channels(), 1001u);
  EXPECT_EQ(hub.num_subscribers("ch"), 1u);
  EXPECT_EQ(hub.num_subscriptions(), 1001u);
}

TEST_F(HubTest, ForEachChannelReportsLiveCounts) {
  FakeSubscriber a("a"), b("b");
  hub.add("x", &a);
  hub.add("x", &b);
  hub.add("y", &b);
  std::vector<std::pair<std::string, size_t>> seen;
  hub.for_each_channel([&](const std::string& name, size_t live) { seen.emplace_back(name, live); });
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, size_t>>{{"x", 2}, {"y", 1}}));
}

TEST(FanoutTest, PublicationFanoutEncodesJsonPushOnce) {
  auto pub = std::make_shared<protocol::Publication>();
  pub->data = "{\"text\":\"hi\"}";
  pub->offset = 3;
  auto f = make_publication_fanout("chat:lobby", pub, false);
  EXPECT_EQ(f->kind, Fanout::Kind::kPublication);
  EXPECT_EQ(f->channel, "chat:lobby");
  EXPECT_TRUE(f->json_compatible);
  EXPECT_EQ(f->pub, pub);
  EXPECT_EQ(f->json,
            "{\"push\":{\"channel\":\"chat:lobby\",\"pub\":{\"data\":{\"text\":\"hi\"},"
            "\"offset\":3}}}");
}

TEST(FanoutTest, BinaryPublicationIsNotJsonCompatible) {
  auto pub = std::make_shared<protocol::Publication>();
  pub->data = std::string("\x08\x96\x01", 3);
  auto f = make_publication_fanout("c", pub, false);
  EXPECT_FALSE(f->json_compatible);
  EXPECT_EQ(f->json, "");
  EXPECT_EQ(f->pub->data, pub->data);
}

TEST(FanoutTest, JoinAndLeaveFanoutsCarryInfoAndJson) {
  protocol::ClientInfo info;
  info.user = "42";
  info.client = "cid";
  auto j = make_join_fanout("c", info);
  EXPECT_EQ(j->kind, Fanout::Kind::kJoin);
  EXPECT_EQ(j->info.user, "42");
  EXPECT_EQ(j->json, "{\"push\":{\"channel\":\"c\",\"join\":{\"info\":{\"user\":\"42\",\"client\":\"cid\"}}}}");
  auto l = make_leave_fanout("c", info);
  EXPECT_EQ(l->kind, Fanout::Kind::kLeave);
  EXPECT_EQ(l->json, "{\"push\":{\"channel\":\"c\",\"leave\":{\"info\":{\"user\":\"42\",\"client\":\"cid\"}}}}");
}

}  // namespace
// Broadcast prefetches each subscriber a few deliveries ahead (Subscriber::prefetch), once per
// stage, before delivering to it; never one removed meanwhile (its slot is null, and its memory
// may already be gone).
TEST_F(HubTest, BroadcastPrefetchesAheadButNeverRemovedSubscribers) {
  constexpr int kN = 40;
  std::vector<std::unique_ptr<FakeSubscriber>> subs;
  for (int i = 0; i < kN; ++i) {
    subs.push_back(std::make_unique<FakeSubscriber>("s" + std::to_string(i)));
    hub.add("c", subs.back().get());
  }
  // The first subscriber removes the 3rd, 6th and last ones, as an unsubscribe or a
  // disconnect from inside a delivery would.
  subs[0]->on_deliver = [&] {
    for (int k : {3, 6, kN - 1}) {
      hub.remove("c", subs[k].get());
      subs[k]->removed = true;
    }
  };
  EXPECT_TRUE(hub.broadcast(fanout("c")));
  for (int i = 0; i < kN; ++i) {
    const bool gone = i == 3 || i == 6 || i == kN - 1;
    EXPECT_EQ(subs[i]->received.size(), gone ? 0u : 1u) << i;
    if (!gone && i >= 9) {
      // Far enough from the start to be looked ahead at in every stage first.
      EXPECT_EQ(subs[i]->prefetched, (std::array<int, 3>{1, 1, 1})) << i;
    }
  }
}

}  // namespace gyre::hub
