#include <gtest/gtest.h>

#include "transport/write_coalescing.h"

// The write coalescing policy (client_write_delay): which connection is written at once and
// how long another is held, on a clock the test drives.
namespace gyre::transport {
namespace {

using Mode = CoalescingOptions::Mode;

CoalescingPolicy adaptive() { return CoalescingPolicy(coalescing_options(0, 16, false)); }

// Drives the loop's busy/idle split: `busy_us` busy then `idle_us` idle, repeated until
// `total_us` has passed from `t`. Returns the time reached.
uint64_t run_loop(CoalescingPolicy& p, uint64_t t, uint64_t busy_us, uint64_t idle_us,
                  uint64_t total_us) {
  uint64_t end = t + total_us;
  while (t < end) {
    p.loop_busy(t);
    t += busy_us;
    p.loop_idle(t);
    t += idle_us;
  }
  p.loop_busy(t);
  return t;
}

TEST(WriteCoalescingTest, OptionsFromConfigValues) {
  EXPECT_EQ(coalescing_options(-1, 16, false).mode, Mode::kOff);
  EXPECT_EQ(coalescing_options(0, 16, false).mode, Mode::kAdaptive);
  auto fixed = coalescing_options(5, 16, true);
  EXPECT_EQ(fixed.mode, Mode::kFixed);
  EXPECT_EQ(fixed.fixed_window.count(), 5000);
  EXPECT_TRUE(fixed.reply_without_queue);
  EXPECT_EQ(coalescing_options(0, -1, false).max_messages_in_frame, 0u);  // no limit
  EXPECT_TRUE(coalescing_options(0, -1, false).join_pushes);
  EXPECT_EQ(coalescing_options(0, 1, false).max_messages_in_frame, 1u);
  // 0: replies up to 16 per frame, pushes one per frame.
  EXPECT_EQ(coalescing_options(0, 0, false).max_messages_in_frame, 16u);
  EXPECT_FALSE(coalescing_options(0, 0, false).join_pushes);
  EXPECT_TRUE(coalescing_options(0, 16, false).join_pushes);
}

TEST(WriteCoalescingTest, OffNeverHolds) {
  CoalescingPolicy p(coalescing_options(-1, 16, false));
  EXPECT_FALSE(p.enabled());
  EXPECT_EQ(p.hold_until(1000, 999, false, 10), 0u);
}

TEST(WriteCoalescingTest, FixedWindowHoldsARecentlyWrittenConnectionUntilItEnds) {
  CoalescingPolicy p(coalescing_options(5, 16, false));
  // Written at t=1,000,000 µs; output at +1 ms waits until +5 ms.
  EXPECT_EQ(p.hold_until(1'001'000, 1'000'000, false, 100), 1'005'000u);
  // At or after the window: written at once.
  EXPECT_EQ(p.hold_until(1'005'000, 1'000'000, false, 100), 0u);
  EXPECT_EQ(p.hold_until(9'000'000, 1'000'000, false, 100), 0u);
}

TEST(WriteCoalescingTest, NeverWrittenConnectionIsWrittenAtOnce) {
  CoalescingPolicy p(coalescing_options(5, 16, false));
  EXPECT_EQ(p.hold_until(1'001'000, 0, true, 100), 0u);
}

TEST(WriteCoalescingTest, SizeThresholdWritesAtOnce) {
  CoalescingPolicy p(coalescing_options(5, 16, false));
  EXPECT_NE(p.hold_until(1'001'000, 1'000'000, false, CoalescingPolicy::kHoldMaxBytes - 1), 0u);
  EXPECT_EQ(p.hold_until(1'001'000, 1'000'000, false, CoalescingPolicy::kHoldMaxBytes), 0u);
}

TEST(WriteCoalescingTest, LastWriteTimeWrapsAt32Bits) {
  CoalescingPolicy p(coalescing_options(5, 16, false));
  uint64_t written = (uint64_t{1} << 32) - 1000;  // 1 ms before the 32-bit wrap
  uint64_t now = written + 2000;                  // 1 ms after it
  EXPECT_EQ(p.hold_until(now, static_cast<uint32_t>(written), false, 10), written + 5000);
}

TEST(WriteCoalescingTest, AdaptiveWindowIsZeroWhileTheLoopIsIdle) {
  auto p = adaptive();
  EXPECT_EQ(p.window_us(), 0u);  // no load measured yet
  // 10% busy over several periods.
  uint64_t t = run_loop(p, 1'000'000, 100, 900, 50'000);
  EXPECT_NEAR(p.load(), 0.1, 0.02);
  EXPECT_EQ(p.window_us(), 0u);
  EXPECT_EQ(p.hold_until(t, static_cast<uint32_t>(t - 10), false, 10), 0u);
}

TEST(WriteCoalescingTest, AdaptiveWindowGrowsWithLoadToItsBound) {
  auto p = adaptive();
  uint64_t t = run_loop(p, 1'000'000, 500, 500, 50'000);  // 50% busy
  EXPECT_NEAR(p.load(), 0.5, 0.02);
  uint64_t half = p.window_us();
  EXPECT_GT(half, 0u);
  EXPECT_LT(half, static_cast<uint64_t>(CoalescingPolicy::kLoadWindow.count()));
  // Written 100 µs ago: held until the window after that write.
  EXPECT_EQ(p.hold_until(t, static_cast<uint32_t>(t - 100), false, 10), t - 100 + half);

  t = run_loop(p, t, 990, 10, 50'000);  // 99% busy
  EXPECT_EQ(p.window_us(), static_cast<uint64_t>(CoalescingPolicy::kLoadWindow.count()));

  // A loop that never blocks (sustained load, only turn boundaries reported) counts as busy.
  auto q = adaptive();
  for (uint64_t u = 0; u <= 30'000; u += 50) {
    q.loop_busy(2'000'000 + u);
  }
  EXPECT_EQ(q.window_us(), static_cast<uint64_t>(CoalescingPolicy::kLoadWindow.count()));
}

TEST(WriteCoalescingTest, AdaptiveWindowShrinksBackWhenTheLoadGoesAway) {
  auto p = adaptive();
  uint64_t t = run_loop(p, 1'000'000, 990, 10, 50'000);
  ASSERT_GT(p.window_us(), 0u);
  // One long idle wait (e.g. a quiet second) brings the load, and the window, to zero.
  p.loop_idle(t);
  p.loop_busy(t + 1'000'000);
  EXPECT_EQ(p.window_us(), 0u);
}

TEST(WriteCoalescingTest, AdaptiveWindowCoversTheLongestFlushUpToItsBound) {
  auto p = adaptive();
  uint64_t t = run_loop(p, 1'000'000, 990, 10, 50'000);
  ASSERT_EQ(p.window_us(), static_cast<uint64_t>(CoalescingPolicy::kLoadWindow.count()));
  // Writing one publication to every subscriber took 3 ms: the window grows to that.
  p.flush_took(3000);
  EXPECT_EQ(p.window_us(), 3000u);
  EXPECT_EQ(p.hold_until(t + 2900, static_cast<uint32_t>(t), false, 10), t + 3000);
  // It is remembered for the next load period, then forgotten.
  t = run_loop(p, t, 990, 10, CoalescingPolicy::kLoadPeriodUs);
  EXPECT_EQ(p.window_us(), 3000u);
  t = run_loop(p, t, 990, 10, 2 * CoalescingPolicy::kLoadPeriodUs);
  EXPECT_EQ(p.window_us(), static_cast<uint64_t>(CoalescingPolicy::kLoadWindow.count()));
  // Bounded.
  p.flush_took(60'000);
  EXPECT_EQ(p.window_us(), static_cast<uint64_t>(CoalescingPolicy::kAdaptiveMaxWindow.count()));
  // An idle loop: the flush is remembered one more period, then the window is zero.
  p.loop_idle(t);
  p.loop_busy(t + 1'000'000);
  EXPECT_EQ(p.window_us(), static_cast<uint64_t>(CoalescingPolicy::kAdaptiveMaxWindow.count()));
  p.loop_idle(t + 1'000'001);
  p.loop_busy(t + 2'000'000);
  EXPECT_EQ(p.window_us(), 0u);
}

TEST(WriteCoalescingTest, ALongFlushHoldsEvenWhenTheLoopIsMostlyIdle) {
  // A slow sequential publisher: the loop waits for each request most of the time, but each
  // publication's flush to every subscriber takes milliseconds.
  auto p = adaptive();
  uint64_t t = run_loop(p, 1'000'000, 100, 900, 50'000);
  ASSERT_EQ(p.window_us(), 0u);
  p.flush_took(4000);
  EXPECT_EQ(p.window_us(), 4000u);
  EXPECT_EQ(p.hold_until(t + 1000, static_cast<uint32_t>(t), false, 10), t + 4000);
}

TEST(WriteCoalescingTest, AConnectionIdleLongerThanTheWindowIsWrittenAtOnce) {
  auto p = adaptive();
  uint64_t t = run_loop(p, 1'000'000, 990, 10, 50'000);
  uint64_t w = p.window_us();
  ASSERT_GT(w, 0u);
  EXPECT_EQ(p.hold_until(t, static_cast<uint32_t>(t - w), false, 10), 0u);
  EXPECT_EQ(p.hold_until(t, static_cast<uint32_t>(t - w + 1), false, 10), t + 1);
}

}  // namespace
}  // namespace gyre::transport
