#include "engine/memory_engine.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <atomic>
#include <future>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// MemoryEngine across two shards, each running its io_context on its own thread
// (STYLE.md "Concurrency and ownership"; engine.h threading contract).
namespace gyre::engine {
namespace {

using namespace std::chrono_literals;

constexpr auto kWait = 5s;

struct Delivered {
  unsigned shard = 0;
  std::string channel;
  uint64_t offset = 0;
  std::string epoch;
  std::string data;
};

// Records what the engine delivers, and on which shard. Called from shard threads.
class RecordingHandler final : public EventHandler {
 public:
  void handle_publication(const std::string& channel, std::shared_ptr<const Publication> pub,
                          bool delta, std::shared_ptr<const Publication> prev) override {
    std::lock_guard lk(mu_);
    pubs.push_back({shard_id(), channel, pub->offset, pub->epoch, pub->data});
  }
  void handle_join(const std::string& channel, const ClientInfo& info) override {
    std::lock_guard lk(mu_);
    joins.push_back({shard_id(), channel, 0, "", info.user});
  }
  void handle_leave(const std::string& channel, const ClientInfo& info) override {
    std::lock_guard lk(mu_);
    leaves.push_back({shard_id(), channel, 0, "", info.user});
  }
  std::vector<Delivered> snapshot_pubs() {
    std::lock_guard lk(mu_);
    return pubs;
  }
  std::vector<Delivered> snapshot_joins() {
    std::lock_guard lk(mu_);
    return joins;
  }
  std::vector<Delivered> snapshot_leaves() {
    std::lock_guard lk(mu_);
    return leaves;
  }

 private:
  static unsigned shard_id() { return Shard::current() ? Shard::current()->id() : 999; }
  std::mutex mu_;
  std::vector<Delivered> pubs, joins, leaves;
};

class MemoryEngineTest : public ::testing::Test {
 protected:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  void SetUp() override {
    engine = std::make_unique<MemoryEngine>(shards);
    engine->set_event_handler(&handler);
    for (unsigned i = 0; i < shards.size(); ++i) {
      guards.emplace_back(boost::asio::make_work_guard(shards.at(i).io()));
    }
    for (unsigned i = 0; i < shards.size(); ++i) {
      threads.emplace_back([this, i] {
        Shard::set_current(&shards.at(i));
        shards.at(i).io().run();
      });
    }
    remote = channel_homed_on(1);
    local = channel_homed_on(0);
  }

  void TearDown() override {
    for (auto& g : guards) {
      g.reset();
    }
    for (unsigned i = 0; i < shards.size(); ++i) {
      shards.at(i).io().stop();
    }
    for (auto& t : threads) {
      t.join();
    }
    engine.reset();
  }

  std::string channel_homed_on(unsigned shard) {
    for (int i = 0;; ++i) {
      std::string ch = "chat:room" + std::to_string(i);
      if (shards.home_index(ch) == shard) {
        return ch;
      }
    }
  }

  // Runs `start(done)` on `shard`; waits (bounded) for the callback and returns its value and
  // the shard id it ran on.
  template <typename T, typename Start>
  std::pair<OpResult<T>, unsigned> call_on(unsigned shard, Start start) {
    auto prom = std::make_shared<std::promise<std::pair<OpResult<T>, unsigned>>>();
    auto fut = prom->get_future();
    shards.at(shard).post([start, prom]() mutable {
      start([prom](OpResult<T> r) {
        unsigned on = Shard::current() ? Shard::current()->id() : 999;
        prom->set_value({std::move(r), on});
      });
    });
    if (fut.wait_for(kWait) != std::future_status::ready) {
      ADD_FAILURE() << "callback did not run within 5 s";
      return {std::unexpected(Error{100, "timeout", true}), 999};
    }
    return fut.get();
  }

  // Waits until every handler queued on `shard` so far has run.
  void drain(unsigned shard) {
    std::promise<void> p;
    auto f = p.get_future();
    shards.at(shard).post([&p] { p.set_value(); });
    ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  }

  OpResult<StreamPosition> publish(unsigned from, const std::string& ch,
                                               std::string data, PublishOptions opts) {
    return call_on<StreamPosition>(from, [this, ch, data, opts](auto done) {
             Publication p;
             p.data = data;
             engine->publish(ch, std::move(p), opts, std::move(done));
           })
        .first;
  }

  static PublishOptions with_history() {
    PublishOptions o;
    o.history = HistoryOptions{.size = 10, .ttl = 300s, .meta_ttl = 3600s};
    return o;
  }

  static ClientInfo info(std::string user, std::string client) {
    ClientInfo i;
    i.user = std::move(user);
    i.client = std::move(client);
    return i;
  }

  ShardSet shards{2};
  RecordingHandler handler;
  std::unique_ptr<MemoryEngine> engine;
  std::vector<Guard> guards;
  std::vector<std::thread> threads;
  std::string remote;  // homed on shard 1
  std::string local;   // homed on shard 0
};

TEST_F(MemoryEngineTest, PublishToRemoteHomeRunsCallbackOnCallingShard) {
  auto [r, on] = call_on<StreamPosition>(0, [this](auto done) {
    Publication p;
    p.data = "{\"a\":1}";
    engine->publish(remote, std::move(p), with_history(), std::move(done));
  });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(on, 0u);
  EXPECT_EQ(r->offset, 1u);
  EXPECT_EQ(r->epoch.size(), 4u);
}

TEST_F(MemoryEngineTest, EventHandlerReceivesPublicationOnHomeShard) {
  auto sp = publish(0, remote, "{\"a\":1}", with_history());
  ASSERT_TRUE(sp.has_value());
  auto pubs = handler.snapshot_pubs();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].shard, 1u);
  EXPECT_EQ(pubs[0].channel, remote);
  EXPECT_EQ(pubs[0].offset, 1u);
  EXPECT_EQ(pubs[0].epoch, sp->epoch);
  EXPECT_EQ(pubs[0].data, "{\"a\":1}");
}

TEST_F(MemoryEngineTest, SuccessivePublishesAdvanceOffsetInSameEpoch) {
  auto a = publish(0, remote, "1", with_history());
  auto b = publish(1, remote, "2", with_history());
  auto c = publish(0, remote, "3", with_history());
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->offset, 1u);
  EXPECT_EQ(b->offset, 2u);
  EXPECT_EQ(c->offset, 3u);
  EXPECT_EQ(b->epoch, a->epoch);
  EXPECT_EQ(c->epoch, a->epoch);
}

TEST_F(MemoryEngineTest, PublishWithoutHistoryHasNoPosition) {
  auto sp = publish(0, remote, "1", PublishOptions{});
  ASSERT_TRUE(sp.has_value());
  EXPECT_EQ(*sp, (StreamPosition{0, ""}));
  auto pubs = handler.snapshot_pubs();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].offset, 0u);
  EXPECT_EQ(pubs[0].shard, 1u);
}

TEST_F(MemoryEngineTest, IdempotentPublishReturnsCachedPositionAndDeliversOnce) {
  PublishOptions o = with_history();
  o.idempotency_key = "key-1";
  auto first = publish(0, remote, "1", o);
  auto second = publish(0, remote, "1", o);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(handler.snapshot_pubs().size(), 1u);
  o.idempotency_key = "key-2";
  auto third = publish(0, remote, "1", o);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->offset, 2u);
  EXPECT_EQ(handler.snapshot_pubs().size(), 2u);
}

TEST_F(MemoryEngineTest, CallbackIsNeverInlineEvenOnHomeShard) {
  auto prom = std::make_shared<std::promise<bool>>();
  auto fut = prom->get_future();
  shards.at(0).post([this, prom] {
    auto returned = std::make_shared<bool>(false);
    engine->presence_stats(local, [prom, returned](OpResult<PresenceStats>) {
      prom->set_value(*returned);
    });
    *returned = true;
  });
  ASSERT_EQ(fut.wait_for(kWait), std::future_status::ready);
  EXPECT_TRUE(fut.get()) << "callback ran before presence_stats() returned";
}

TEST_F(MemoryEngineTest, HistoryThroughEngine) {
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(publish(0, remote, std::to_string(i), with_history()).has_value());
  }
  auto [all, on] = call_on<HistoryResult>(0, [this](auto done) {
    engine->history(remote, HistoryFilter{.limit = -1}, 3600s, std::move(done));
  });
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(on, 0u);
  ASSERT_EQ(all->publications.size(), 3u);
  EXPECT_EQ(all->publications[0]->data, "1");
  EXPECT_EQ(all->publications[2]->offset, 3u);
  EXPECT_EQ(all->top.offset, 3u);
  std::string epoch = all->top.epoch;

  auto since = call_on<HistoryResult>(0, [this, epoch](auto done) {
                 engine->history(remote,
                                 HistoryFilter{.since = StreamPosition{1, epoch}, .limit = -1},
                                 3600s, std::move(done));
               }).first;
  ASSERT_TRUE(since.has_value());
  ASSERT_EQ(since->publications.size(), 2u);
  EXPECT_EQ(since->publications[0]->offset, 2u);
  EXPECT_EQ(since->publications[1]->offset, 3u);

  auto newest = call_on<HistoryResult>(1, [this](auto done) {
                  engine->history(remote, HistoryFilter{.limit = 1, .reverse = true}, 3600s,
                                  std::move(done));
                }).first;
  ASSERT_TRUE(newest.has_value());
  ASSERT_EQ(newest->publications.size(), 1u);
  EXPECT_EQ(newest->publications[0]->offset, 3u);
}

TEST_F(MemoryEngineTest, HistoryOfUnknownChannelCreatesStreamAtZero) {
  auto r = call_on<HistoryResult>(0, [this](auto done) {
             engine->history(remote, HistoryFilter{}, 3600s, std::move(done));
           }).first;
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->publications.empty());
  EXPECT_EQ(r->top.offset, 0u);
  EXPECT_EQ(r->top.epoch.size(), 4u);
  auto sp = publish(0, remote, "1", with_history());
  ASSERT_TRUE(sp.has_value());
  EXPECT_EQ(sp->epoch, r->top.epoch);
  EXPECT_EQ(sp->offset, 1u);
}

TEST_F(MemoryEngineTest, RemoveHistoryKeepsTopAndEpoch) {
  auto a = publish(0, remote, "1", with_history());
  auto b = publish(0, remote, "2", with_history());
  ASSERT_TRUE(a && b);
  auto removed = call_on<bool>(0, [this](auto done) {
                   engine->remove_history(remote, std::move(done));
                 }).first;
  ASSERT_TRUE(removed.has_value());
  EXPECT_TRUE(*removed);
  auto r = call_on<HistoryResult>(0, [this](auto done) {
             engine->history(remote, HistoryFilter{.limit = -1}, 3600s, std::move(done));
           }).first;
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->publications.empty());
  EXPECT_EQ(r->top, (StreamPosition{2, a->epoch}));
  auto c = publish(0, remote, "3", with_history());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, (StreamPosition{3, a->epoch}));
}

TEST_F(MemoryEngineTest, PresenceAddGetStatsRemove) {
  auto add = [this](std::string client, std::string user) {
    auto [r, on] = call_on<bool>(0, [this, client, user](auto done) {
      engine->add_presence(remote, client, info(user, client), std::move(done));
    });
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(*r);
    EXPECT_EQ(on, 0u);
  };
  add("c2", "42");
  add("c1", "7");
  add("c3", "42");

  auto [got, on] = call_on<std::vector<std::pair<std::string, ClientInfo>>>(
      0, [this](auto done) { engine->presence(remote, std::move(done)); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(on, 0u);
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].first, "c1");
  EXPECT_EQ((*got)[0].second.user, "7");
  EXPECT_EQ((*got)[1].first, "c2");
  EXPECT_EQ((*got)[2].first, "c3");

  auto stats = call_on<PresenceStats>(1, [this](auto done) {
                 engine->presence_stats(remote, std::move(done));
               }).first;
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->num_clients, 3u);
  EXPECT_EQ(stats->num_users, 2u);

  auto rm = call_on<bool>(0, [this](auto done) {
              engine->remove_presence(remote, "c2", "u2", std::move(done));
            }).first;
  ASSERT_TRUE(rm.has_value());
  auto after = call_on<PresenceStats>(0, [this](auto done) {
                 engine->presence_stats(remote, std::move(done));
               }).first;
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->num_clients, 2u);
  EXPECT_EQ(after->num_users, 2u);
}

TEST_F(MemoryEngineTest, JoinAndLeaveReachHandlerOnHomeShard) {
  shards.at(0).post([this] {
    engine->publish_join(remote, info("42", "c1"));
    engine->publish_leave(remote, info("42", "c1"));
  });
  drain(0);
  drain(1);
  auto joins = handler.snapshot_joins();
  auto leaves = handler.snapshot_leaves();
  ASSERT_EQ(joins.size(), 1u);
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(joins[0].shard, 1u);
  EXPECT_EQ(joins[0].channel, remote);
  EXPECT_EQ(joins[0].data, "42");
  EXPECT_EQ(leaves[0].shard, 1u);
}

TEST_F(MemoryEngineTest, CallFromOutsideShardsRunsCallbackOnHomeShard) {
  std::promise<unsigned> p;
  auto f = p.get_future();
  engine->presence_stats(remote, [&p](OpResult<PresenceStats>) {
    p.set_value(Shard::current() ? Shard::current()->id() : 999);
  });
  ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(f.get(), 1u);
}

TEST_F(MemoryEngineTest, ExpirySweepDropsHistoryOnlyOnceTheClockPassesTheTtl) {
  // The engine reads time through its clock: no real waiting for TTLs or the 1 s timer.
  auto fake = std::make_shared<std::atomic<int64_t>>(1000);  // seconds
  engine->set_clock([fake] { return MemoryEngine::TimePoint(std::chrono::seconds(fake->load())); });
  PublishOptions o;
  o.history = HistoryOptions{.size = 10, .ttl = 5s, .meta_ttl = 3600s};
  auto sp = publish(0, remote, "1", o);
  ASSERT_TRUE(sp.has_value());
  auto sweep = [this] {
    std::promise<unsigned> p;
    auto f = p.get_future();
    shards.at(0).post([this, &p] {
      engine->expire([&p] { p.set_value(Shard::current()->id()); });
    });
    ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
    EXPECT_EQ(f.get(), 0u);  // done back on the calling shard
  };
  auto read = [this] {
    return call_on<HistoryResult>(0, [this](auto done) {
             engine->history(remote, HistoryFilter{.limit = -1}, 3600s, std::move(done));
           }).first;
  };

  fake->store(1004);  // 4 s later: within the TTL
  sweep();
  auto r = read();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->publications.size(), 1u);
  EXPECT_EQ(r->publications[0]->data, "1");

  fake->store(1006);  // past the TTL
  sweep();
  r = read();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->publications.empty());
  EXPECT_EQ(r->top, *sp);  // the position survives (meta TTL 1 h)
}

// One shard (gomaxprocs: 1): the home shard is the calling shard, so a publish — the stream
// append, the event handler and the result — runs inline and posts nothing.
TEST(MemoryEngineOneShardTest, PublishOnTheHomeShardPostsNothing) {
  ShardSet shards(1);
  MemoryEngine engine(shards);
  RecordingHandler handler;
  engine.set_event_handler(&handler);
  Shard::set_current(&shards.at(0));  // this thread acts as the only shard
  std::optional<OpResult<StreamPosition>> result;
  Publication p;
  p.data = "x";
  PublishOptions o;
  o.history = HistoryOptions{.size = 10, .ttl = 300s, .meta_ttl = 3600s};
  engine.publish("chat", std::move(p), o,
                 [&result](OpResult<StreamPosition> r) { result = std::move(r); });
  ASSERT_TRUE(result.has_value()) << "the result arrived before publish() returned";
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ((*result)->offset, 1u);
  auto pubs = handler.snapshot_pubs();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].shard, 0u);
  EXPECT_EQ(pubs[0].offset, 1u);
  EXPECT_EQ(shards.at(0).io().poll(), 0u);  // nothing was queued
  Shard::set_current(nullptr);
}

}  // namespace
}  // namespace gyre::engine
