#include "node/timer_wheel.h"

#include <gtest/gtest.h>

#include <vector>

namespace gyre::node {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Item {
  int id = 0;
  TimerWheelHandle handle;
  TimerWheelHandle& wheel_handle() { return handle; }
};

class TimerWheelTest : public ::testing::Test {
 protected:
  clock::TimePoint t0 = clock::TimePoint{} + seconds(1000);
  TimerWheel<Item> wheel{t0};

  std::vector<int> fire(clock::TimePoint now) {
    std::vector<int> out;
    wheel.advance(now, [&out](Item* i) { out.push_back(i->id); });
    return out;
  }
};

TEST_F(TimerWheelTest, FiresAtTheDeadlineNeverBefore) {
  Item a{1};
  wheel.schedule(&a, t0 + milliseconds(600));  // rounded up to tick 3 (750 ms)
  EXPECT_TRUE(fire(t0 + milliseconds(599)).empty());
  EXPECT_TRUE(fire(t0 + milliseconds(700)).empty());
  EXPECT_EQ(fire(t0 + milliseconds(750)), std::vector<int>{1});
  EXPECT_EQ(a.handle.slot, -1);
  EXPECT_TRUE(fire(t0 + seconds(5)).empty());
}

TEST_F(TimerWheelTest, RescheduleMovesAndCancelRemoves) {
  Item a{1}, b{2}, c{3};
  wheel.schedule(&a, t0 + seconds(1));
  wheel.schedule(&b, t0 + seconds(1));
  wheel.schedule(&c, t0 + seconds(1));
  wheel.cancel(&a);  // swap-removes: c's index must follow
  wheel.schedule(&b, t0 + seconds(3));
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(fire(t0 + seconds(2)), std::vector<int>{3});
  EXPECT_EQ(fire(t0 + seconds(3)), std::vector<int>{2});
  EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, DeadlinesPastTheHorizonFireEarlyForRescheduling) {
  Item a{1};
  auto far = t0 + seconds(1000);
  wheel.schedule(&a, far);
  auto horizon = t0 + TimerWheel<Item>::kTick * static_cast<int>(TimerWheel<Item>::kSlots);
  std::vector<int> fired;
  wheel.advance(horizon, [&](Item* i) {
    fired.push_back(i->id);
    wheel.schedule(i, far);  // the owner re-arms it
  });
  EXPECT_EQ(fired, std::vector<int>{1});
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_TRUE(fire(horizon + seconds(1)).empty());
}

TEST_F(TimerWheelTest, PastDeadlinesFireOnTheNextTick) {
  Item a{1};
  EXPECT_TRUE(fire(t0 + seconds(2)).empty());
  wheel.schedule(&a, t0);  // already in the past
  EXPECT_EQ(fire(t0 + seconds(2) + milliseconds(250)), std::vector<int>{1});
}

TEST_F(TimerWheelTest, CallbackMayCancelAnotherDueItem) {
  Item a{1}, b{2};
  wheel.schedule(&a, t0 + seconds(1));
  wheel.schedule(&b, t0 + seconds(2));
  std::vector<int> fired;
  wheel.advance(t0 + seconds(1), [&](Item* i) {
    fired.push_back(i->id);
    wheel.cancel(&b);
  });
  EXPECT_EQ(fired, std::vector<int>{1});
  EXPECT_TRUE(fire(t0 + seconds(3)).empty());
}

}  // namespace
}  // namespace gyre::node
