#include "transport/hold_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

// The queue of held connections (write coalescing): time order, stale entries, callbacks that
// hold again, and the lifetime of what an entry keeps.
namespace gyre::transport {
namespace {

// Stands for a connection: held flag and last-write stamp as WebSocketSession keeps them.
struct FakeConn {
  int id = 0;
  bool held = false;
  uint32_t last_write = 0;
  std::vector<int>* log = nullptr;
  // What the release does besides writing (a callback that holds again).
  HoldQueue* requeue_on = nullptr;
  uint64_t requeue_until = 0;
  std::shared_ptr<FakeConn> self;
};

bool release(void* object, uint32_t stamp) {
  auto* c = static_cast<FakeConn*>(object);
  if (!c->held || c->last_write != stamp) {
    return false;
  }
  c->held = false;
  c->last_write = stamp + 1;  // written
  c->log->push_back(c->id);
  if (c->requeue_on != nullptr) {
    HoldQueue* q = c->requeue_on;
    c->requeue_on = nullptr;
    c->held = true;
    q->hold(c->requeue_until, c->self, &release, c->last_write);
  }
  return true;
}

std::shared_ptr<FakeConn> conn(int id, std::vector<int>& log) {
  auto c = std::make_shared<FakeConn>();
  c->id = id;
  c->log = &log;
  return c;
}

void hold(HoldQueue& q, const std::shared_ptr<FakeConn>& c, uint64_t until) {
  c->held = true;
  q.hold(until, c, &release, c->last_write);
}

TEST(HoldQueueTest, ReleasesOnlyDueHoldsEarliestFirst) {
  HoldQueue q;
  std::vector<int> log;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.earliest_us(), 0u);
  auto a = conn(1, log), b = conn(2, log), c = conn(3, log);
  hold(q, a, 3000);
  hold(q, b, 1000);
  hold(q, c, 2000);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.earliest_us(), 1000u);
  EXPECT_EQ(q.release_due(999), 0u);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(q.release_due(2000), 2u);  // an end equal to now is due
  EXPECT_EQ(log, (std::vector<int>{2, 3}));
  EXPECT_EQ(q.earliest_us(), 3000u);
  EXPECT_EQ(q.release_due(10000), 1u);
  EXPECT_EQ(log, (std::vector<int>{2, 3, 1}));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.earliest_us(), 0u);
}

TEST(HoldQueueTest, ManyHoldsComeOutInTimeOrder) {
  HoldQueue q;
  std::vector<int> log;
  std::mt19937 rng(7);
  std::vector<std::shared_ptr<FakeConn>> conns;
  std::vector<uint64_t> until(2000);
  for (int i = 0; i < 2000; ++i) {
    until[i] = 1000 + rng() % 50000;
    conns.push_back(conn(i, log));
    hold(q, conns.back(), until[i]);
  }
  // Released in steps of 1 ms: each step writes exactly the holds ending in it.
  size_t total = 0;
  for (uint64_t now = 1000; now <= 52000; now += 1000) {
    size_t before = log.size();
    total += q.release_due(now);
    for (size_t k = before; k < log.size(); ++k) {
      EXPECT_LE(until[log[k]], now);
      EXPECT_GT(until[log[k]], now - 1000);
      if (k > 0) {
        EXPECT_LE(until[log[k - 1]], until[log[k]]);
      }
    }
  }
  EXPECT_EQ(total, 2000u);
  EXPECT_TRUE(q.empty());
}

TEST(HoldQueueTest, StaleEntriesDoNothing) {
  HoldQueue q;
  std::vector<int> log;
  auto a = conn(1, log);
  hold(q, a, 5000);
  // Written early (an urgent reply): not held any more; its entry is stale.
  a->held = false;
  a->last_write = 77;
  EXPECT_EQ(q.release_due(5000), 0u);
  EXPECT_TRUE(log.empty());

  // Written early, then held again with a later end: the old entry must not write it before
  // the new hold ends, nor twice.
  hold(q, a, 6000);
  a->held = false;
  a->last_write = 78;
  hold(q, a, 9000);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.release_due(6000), 0u);
  EXPECT_TRUE(log.empty());
  EXPECT_TRUE(a->held);
  EXPECT_EQ(q.release_due(9000), 1u);
  EXPECT_EQ(log, (std::vector<int>{1}));
  EXPECT_FALSE(a->held);
  EXPECT_TRUE(q.empty());
}

TEST(HoldQueueTest, ACallbackMayHoldAgain) {
  HoldQueue q;
  std::vector<int> log;
  auto a = conn(1, log), b = conn(2, log);
  a->self = a;
  a->requeue_on = &q;
  a->requeue_until = 8000;
  hold(q, a, 1000);
  hold(q, b, 2000);
  EXPECT_EQ(q.release_due(3000), 2u);
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
  EXPECT_EQ(q.earliest_us(), 8000u);  // the new hold stays queued
  EXPECT_EQ(q.release_due(8000), 1u);
  EXPECT_EQ(log, (std::vector<int>{1, 2, 1}));
  a->self.reset();
}

TEST(HoldQueueTest, AnEntryKeepsItsObjectAliveUntilReleased) {
  HoldQueue q;
  std::vector<int> log;
  auto a = conn(1, log);
  std::weak_ptr<FakeConn> watch = a;
  hold(q, a, 1000);
  a.reset();  // the connection ended while held: only the entry keeps it
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(q.release_due(1000), 1u);
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(log, (std::vector<int>{1}));
}

}  // namespace
}  // namespace gyre::transport
