#include "core/shard.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include <set>
#include <string>
#include <thread>

namespace gyre {
namespace {

TEST(ShardSetTest, ZeroCountMakesOneShard) {
  ShardSet set(0);
  EXPECT_EQ(set.size(), 1u);
  EXPECT_EQ(set.home_index("anything"), 0u);
}

TEST(ShardSetTest, ShardsAreNumberedInOrder) {
  ShardSet set(3);
  ASSERT_EQ(set.size(), 3u);
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(set.at(i).id(), i);
  }
}

TEST(ShardSetTest, HomeIndexIsFnv1aModuloShardCount) {
  // FNV-1a 64 of "" is the offset basis 0xcbf29ce484222325; of "a" is 0xaf63dc4c8601ec8c.
  ShardSet set(7);
  EXPECT_EQ(set.home_index(""), static_cast<unsigned>(0xcbf29ce484222325ull % 7));
  EXPECT_EQ(set.home_index("a"), static_cast<unsigned>(0xaf63dc4c8601ec8cull % 7));
}

TEST(ShardSetTest, HomeIndexIsStableAndInRange) {
  ShardSet a(4);
  ShardSet b(4);
  std::set<unsigned> used;
  for (int i = 0; i < 500; ++i) {
    std::string ch = "chat:room" + std::to_string(i);
    unsigned h = a.home_index(ch);
    ASSERT_LT(h, 4u);
    EXPECT_EQ(h, a.home_index(ch));
    EXPECT_EQ(h, b.home_index(ch));
    EXPECT_EQ(&a.home(ch), &a.at(h));
    used.insert(h);
  }
  EXPECT_EQ(used.size(), 4u);  // the hash spreads channels over every shard
}

TEST(ShardTest, CurrentIsNullOutsideShardThreadsAndSetPerThread) {
  ShardSet set(2);
  EXPECT_EQ(Shard::current(), nullptr);
  Shard* seen = reinterpret_cast<Shard*>(1);
  std::thread t([&] {
    Shard::set_current(&set.at(1));
    seen = Shard::current();
  });
  t.join();
  EXPECT_EQ(seen, &set.at(1));
  EXPECT_EQ(Shard::current(), nullptr);  // thread-local: main thread unaffected
}

TEST(ShardTest, PostRunsOnTheShardIoContextInOrder) {
  Shard s(0);
  std::string order;
  s.post([&] { order += 'a'; });
  s.post([&] { order += 'b'; });
  EXPECT_EQ(order, "");
  s.io().run();
  EXPECT_EQ(order, "ab");
}

TEST(ShardSetTest, PendingHandlerOwningAnotherShardsSocketIsDestroyedSafely) {
  // The shape of a shutdown race seen under ASan: shard 1's queue holds a callback that owns
  // a socket registered with shard 0's reactor. Destroying shard 0's loop first and then
  // shard 1's queued handler deregistered the socket from a freed reactor.
  for (int order = 0; order < 2; ++order) {
    auto set = std::make_unique<ShardSet>(2);
    auto sock = std::make_shared<boost::asio::ip::tcp::socket>(set->at(order).io());
    sock->open(boost::asio::ip::tcp::v4());
    std::weak_ptr<boost::asio::ip::tcp::socket> alive = sock;
    set->at(1 - order).post([sock] {});
    sock.reset();
    EXPECT_FALSE(alive.expired());  // the queued handler owns it
    if (order == 1) {
      set->discard_pending();  // explicit first phase, then the destructor's (idempotent)
      EXPECT_TRUE(alive.expired()) << "discard_pending destroys the queued handler";
    }
    set.reset();  // ASan reports heap-use-after-free here without the two-phase teardown
    EXPECT_TRUE(alive.expired());
  }
}

}  // namespace
}  // namespace gyre
