#include "core/sharded.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace gyre {
namespace {

using namespace std::chrono_literals;

constexpr auto kWait = 5s;

// Per-shard test state: which shard built it and how often it was touched.
struct Counter {
  explicit Counter(unsigned s) : shard(s) {}
  unsigned shard;
  int hits = 0;
};

std::unique_ptr<Counter> make_counter(unsigned i) { return std::make_unique<Counter>(i); }

unsigned current_id() { return Shard::current() != nullptr ? Shard::current()->id() : 999; }

// Makes the test's own thread act as `shard` (no loop running): what runs inline runs now,
// what is posted waits in shard.io() until poll(). Restores "no shard" on destruction.
class AsShard {
 public:
  explicit AsShard(Shard& s) { Shard::set_current(&s); }
  ~AsShard() { Shard::set_current(nullptr); }
};

// Runs the handlers queued on `s` on this thread, acting as `s` meanwhile; returns how many ran.
size_t poll_as(Shard& s) {
  Shard* was = Shard::current();
  Shard::set_current(&s);
  size_t n = s.io().poll();
  Shard::set_current(was);
  return n;
}

// Shards running on their own threads until the test ends.
class ShardedThreadsTest : public ::testing::Test {
 protected:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  void SetUp() override {
    for (unsigned i = 0; i < shards.size(); ++i) {
      guards.emplace_back(boost::asio::make_work_guard(shards.at(i).io()));
      threads.emplace_back([this, i] {
        Shard::set_current(&shards.at(i));
        shards.at(i).io().run();
      });
    }
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
  }

  // Runs `start(done)` on shard `from` and waits (bounded) for the value passed to done.
  template <typename R, typename Start>
  R call_on(unsigned from, Start start) {
    auto prom = std::make_shared<std::promise<R>>();
    auto fut = prom->get_future();
    shards.at(from).post([start, prom]() mutable {
      start([prom](R r) { prom->set_value(std::move(r)); });
    });
    if (fut.wait_for(kWait) != std::future_status::ready) {
      ADD_FAILURE() << "callback did not run within 5 s";
      return R{};
    }
    return fut.get();
  }

  ShardSet shards{4};
  Sharded<Counter> counters{shards, make_counter};
  std::vector<Guard> guards;
  std::vector<std::thread> threads;
};

TEST(ShardedTest, BuildsOneItemPerShardWithItsId) {
  ShardSet set(3);
  Sharded<Counter> s(set, make_counter);
  ASSERT_EQ(s.size(), 3u);
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(s.at(i).shard, i);
  }
}

TEST(ShardedTest, LocalIsTheCallingShardsItemAndNullOutsideShards) {
  ShardSet set(2);
  Sharded<Counter> s(set, make_counter);
  EXPECT_EQ(s.local_if_any(), nullptr);
  {
    AsShard on(set.at(1));
    EXPECT_EQ(&s.local(), &s.at(1));
  }
  ShardSet other(2);
  AsShard foreign(other.at(1));  // a shard of another set is not "local" to this one
  EXPECT_EQ(s.local_if_any(), nullptr);
  EXPECT_FALSE(s.is_local(1));
}

TEST(ShardedTest, InvokeOnTheCallingShardRunsInlineAndPostsNothing) {
  ShardSet set(1);
  Sharded<Counter> s(set, make_counter);
  AsShard on(set.at(0));
  s.invoke_on(0, [](Counter& c) { ++c.hits; });
  EXPECT_EQ(s.at(0).hits, 1);
  EXPECT_EQ(poll_as(set.at(0)), 0u);
}

TEST(ShardedTest, InvokeOnAnotherShardIsPostedThere) {
  ShardSet set(2);
  Sharded<Counter> s(set, make_counter);
  AsShard on(set.at(0));
  s.invoke_on(1, [](Counter& c) { ++c.hits; });
  EXPECT_EQ(s.at(1).hits, 0);
  EXPECT_EQ(poll_as(set.at(0)), 0u);
  EXPECT_EQ(poll_as(set.at(1)), 1u);
  EXPECT_EQ(s.at(1).hits, 1);
}

TEST(ShardedTest, PostToQueuesEvenOnTheCallingShard) {
  ShardSet set(1);
  Sharded<Counter> s(set, make_counter);
  AsShard on(set.at(0));
  s.post_to(0, [](Counter& c) { ++c.hits; });
  EXPECT_EQ(s.at(0).hits, 0);
  EXPECT_EQ(poll_as(set.at(0)), 1u);
  EXPECT_EQ(s.at(0).hits, 1);
}

TEST(ShardedTest, SubmitToTheCallingShardReturnsInline) {
  ShardSet set(1);
  Sharded<Counter> s(set, make_counter);
  AsShard on(set.at(0));
  int got = -1;
  s.submit_to(0, [](Counter& c) { return ++c.hits + 41; }, [&got](int v) { got = v; });
  EXPECT_EQ(got, 42);
  EXPECT_EQ(poll_as(set.at(0)), 0u);
}

TEST(ShardedTest, SubmitToWithVoidWorkCallsDone) {
  ShardSet set(2);
  Sharded<Counter> s(set, make_counter);
  AsShard on(set.at(0));
  bool done = false;
  s.submit_to(1, [](Counter& c) { ++c.hits; }, [&done] { done = true; });
  EXPECT_EQ(poll_as(set.at(1)), 1u);  // the work
  EXPECT_FALSE(done);
  EXPECT_EQ(s.at(1).hits, 1);
  EXPECT_EQ(poll_as(set.at(0)), 1u);  // the result, back on the caller's shard
  EXPECT_TRUE(done);
}

TEST(ShardedTest, InvokeOnAllWithOneShardIsEntirelyInline) {
  ShardSet set(1);
  Sharded<Counter> s(set, make_counter);
  AsShard on(set.at(0));
  bool done = false;
  s.invoke_on_all([](Counter& c) { ++c.hits; }, [&done] { done = true; });
  EXPECT_EQ(s.at(0).hits, 1);
  EXPECT_TRUE(done);
  EXPECT_EQ(poll_as(set.at(0)), 0u);
}

TEST(ShardedTest, InvokeOnAllSkipsAnEmptyDone) {
  ShardSet set(1);
  Sharded<Counter> s(set, make_counter);
  AsShard on(set.at(0));
  s.invoke_on_all([](Counter& c) { ++c.hits; }, std::function<void()>());
  EXPECT_EQ(s.at(0).hits, 1);
}

TEST(ShardedTest, MapReduceWithOneShardIsEntirelyInline) {
  ShardSet set(1);
  Sharded<Counter> s(set, make_counter);
  AsShard on(set.at(0));
  int got = -1;
  s.map_reduce([](Counter& c) { return static_cast<int>(c.shard) + 7; }, 100,
               [](int acc, int v) { return acc + v; }, [&got](int v) { got = v; });
  EXPECT_EQ(got, 107);
  EXPECT_EQ(poll_as(set.at(0)), 0u);
}

TEST_F(ShardedThreadsTest, SubmitToAnotherShardRunsThereAndAnswersOnTheCaller) {
  auto [ran_on, answered_on] = call_on<std::pair<unsigned, unsigned>>(0, [this](auto done) {
    counters.submit_to(
        3, [](Counter& c) { return std::make_pair(c.shard, current_id()); },
        [done](std::pair<unsigned, unsigned> r) {
          EXPECT_EQ(r.first, 3u);  // the item of shard 3
          done(std::make_pair(r.second, current_id()));
        });
  });
  EXPECT_EQ(ran_on, 3u);
  EXPECT_EQ(answered_on, 0u);
}

TEST_F(ShardedThreadsTest, SubmitToFromOutsideShardsAnswersOnTheTargetShard) {
  std::promise<unsigned> p;
  auto f = p.get_future();
  counters.submit_to(2, [](Counter& c) { return c.shard; },
                     [&p](unsigned) { p.set_value(current_id()); });
  ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(f.get(), 2u);
}

TEST_F(ShardedThreadsTest, InvokeOnAllRunsOnEveryShardThenDoneOnTheCaller) {
  unsigned done_on = call_on<unsigned>(1, [this](auto done) {
    counters.invoke_on_all(
        [](Counter& c) {
          EXPECT_EQ(current_id(), c.shard);  // each item touched by its own thread
          ++c.hits;
        },
        [done] { done(current_id()); });
  });
  EXPECT_EQ(done_on, 1u);
  // done ran after every shard's call: all hits are visible to the caller's shard.
  auto hits = call_on<std::vector<int>>(1, [this](auto done) {
    std::vector<int> h;
    for (unsigned i = 0; i < counters.size(); ++i) {
      h.push_back(counters.at(i).hits);
    }
    done(h);
  });
  EXPECT_EQ(hits, (std::vector<int>{1, 1, 1, 1}));
}

TEST_F(ShardedThreadsTest, MapReduceFoldsEveryShardInShardOrderOnTheCaller) {
  auto [folded, on] = call_on<std::pair<std::string, unsigned>>(2, [this](auto done) {
    counters.map_reduce(
        [](Counter& c) { return std::to_string(c.shard) + "@" + std::to_string(current_id()); },
        std::string(">"), [](std::string acc, std::string v) { return acc + " " + v; },
        [done](std::string r) { done(std::make_pair(r, current_id())); });
  });
  EXPECT_EQ(folded, "> 0@0 1@1 2@2 3@3");
  EXPECT_EQ(on, 2u);
}

}  // namespace
}  // namespace gyre
