#include <gtest/gtest.h>

#include <algorithm>

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

// Publications coming one per loop turn, `gap_us` apart, `turns` of them from `t`, each turn's
// flush taking `flush_us`; returns the time of the last.
uint64_t push_turns(CoalescingPolicy& p, uint64_t t, uint64_t gap_us, int turns,
                    uint64_t flush_us) {
  for (int i = 0; i < turns; ++i) {
    if (i != 0) {
      t += gap_us;
    }
    p.pushes_queued(t);
    p.flush_took(flush_us);
  }
  return t;
}

constexpr uint64_t kRateMax = CoalescingPolicy::kRateMaxWindow.count();

TEST(WriteCoalescingTest, ASteadyPushStreamSetsTheWindowFromItsPace) {
  auto p = adaptive();
  uint64_t t = run_loop(p, 1'000'000, 100, 900, 50'000);  // a mostly idle loop
  ASSERT_EQ(p.window_us(), 0u);
  // Three pushing turns (two gaps) are no stream yet: the window is the flush term.
  t = push_turns(p, t, 8000, 3, 2000);
  EXPECT_EQ(p.steady_gap_us(), 0u);
  EXPECT_EQ(p.window_us(), 2000u);
  // The third gap in a row makes one (its flushes take a quarter of the gap): the window is
  // four gaps.
  t = push_turns(p, t + 8000, 8000, 1, 2000);
  EXPECT_EQ(p.steady_gap_us(), 8000u);
  EXPECT_EQ(p.window_us(), std::min<uint64_t>(4 * 8000, kRateMax));
  // A connection written 1 ms ago waits for the rest of the window; one written a whole
  // window ago (or never) is written at once.
  uint64_t w = p.window_us();
  EXPECT_EQ(p.hold_until(t + 1000, static_cast<uint32_t>(t), false, 100), t + w);
  EXPECT_EQ(p.hold_until(t + w, static_cast<uint32_t>(t), false, 100), 0u);
  EXPECT_EQ(p.hold_until(t + 1000, 0, true, 100), 0u);
  // Smoothed: a gap of 2 ms moves the estimate a quarter of the way: (3 * 8000 + 2000) / 4.
  t = push_turns(p, t + 2000, 2000, 1, 2000);
  EXPECT_EQ(p.steady_gap_us(), 6500u);
  EXPECT_EQ(p.window_us(), std::min<uint64_t>(4 * 6500, kRateMax));
  // Bounded: a slower stream gets at most kRateMaxWindow.
  t = push_turns(p, t + 40'000, 40'000, 8, 12'000);
  EXPECT_GT(p.steady_gap_us(), kRateMax / 4);
  EXPECT_EQ(p.window_us(), kRateMax);
}

TEST(WriteCoalescingTest, AStreamToAFewConnectionsIsNotHeldByItsPace) {
  // A stream whose flushes take under a quarter of its gap (a few subscribers): no rate term.
  auto p = adaptive();
  uint64_t t = run_loop(p, 1'000'000, 100, 900, 50'000);
  push_turns(p, t, 8000, 10, 1900);
  EXPECT_EQ(p.steady_gap_us(), 8000u);
  EXPECT_EQ(p.window_us(), 1900u);  // the flush term only
  // At a quarter it counts.
  push_turns(p, t + 80'000, 8000, 1, 2000);
  EXPECT_EQ(p.window_us(), 4 * 8000u > kRateMax ? kRateMax : 4 * 8000u);
}

TEST(WriteCoalescingTest, APauseEndsTheStreamSoTheNextPublicationIsNotHeld) {
  auto p = adaptive();
  uint64_t t = push_turns(p, 1'000'000, 1000, 10, 500);
  ASSERT_EQ(p.window_us(), 4000u);
  // The loop idles for a while: the flush term is forgotten.
  p.loop_idle(t);
  p.loop_busy(t + 30'000);
  p.loop_idle(t + 30'001);
  // A connection last written by the stream's end; the next publication comes 60 ms later.
  uint32_t written = static_cast<uint32_t>(t);
  t += CoalescingPolicy::kSteadyGapMax + 10'000;
  p.loop_busy(t);
  p.pushes_queued(t);
  EXPECT_EQ(p.steady_gap_us(), 0u);
  EXPECT_EQ(p.window_us(), 0u);
  EXPECT_EQ(p.hold_until(t, written, false, 100), 0u);
  // Even a connection written by a reply a moment ago is not held: no stream, no flush, idle.
  EXPECT_EQ(p.hold_until(t + 100, static_cast<uint32_t>(t), false, 100), 0u);
}

TEST(WriteCoalescingTest, ASlowSequentialPublisherIsHeldByItsPaceWhereTheFlushTermIsTooShort) {
  // One request in flight: each publication's flush to 1,000 subscribers takes 4 ms, the
  // publisher's next request comes 6 ms after that flush ended (its host is busy). The flush
  // term (4 ms) never covers the 6 ms: without the rate term every publication is written
  // at once, one sendmsg per subscriber.
  auto p = adaptive();
  uint64_t t = run_loop(p, 1'000'000, 100, 900, 50'000);
  t = push_turns(p, t, 10'000, 1, 4000);
  uint64_t flush_end = t + 4000;
  EXPECT_EQ(p.window_us(), 4000u);
  EXPECT_EQ(p.hold_until(flush_end + 6000, static_cast<uint32_t>(flush_end), false, 100), 0u);
  // Publications 10 ms apart (flush + reaction), steadily: the window becomes four gaps, at
  // most kRateMaxWindow, and the next publication is held.
  t = push_turns(p, t + 10'000, 10'000, 3, 4000);
  flush_end = t + 4000;
  uint64_t w = std::min<uint64_t>(40'000, kRateMax);
  EXPECT_EQ(p.window_us(), w);
  EXPECT_EQ(p.hold_until(flush_end + 6000, static_cast<uint32_t>(flush_end), false, 100),
            flush_end + w);
}

TEST(WriteCoalescingTest, TheRateTermIsTheAdaptiveModesOnly) {
  CoalescingPolicy fixed(coalescing_options(3, 16, false));
  push_turns(fixed, 1'000'000, 1000, 10, 500);
  EXPECT_EQ(fixed.window_us(), 3000u);
  CoalescingPolicy off(coalescing_options(-1, 16, false));
  push_turns(off, 1'000'000, 1000, 10, 500);
  EXPECT_EQ(off.window_us(), 0u);
  // A clock read going backwards restarts the gap measurement without a huge gap.
  auto p = adaptive();
  uint64_t t = push_turns(p, 1'000'000, 1000, 10, 500);
  p.pushes_queued(t - 500);
  EXPECT_EQ(p.steady_gap_us(), 1000u);
}

// Load periods of a loop `busy_us` busy then `idle_us` idle repeatedly, in each of which the
// shard's WebSocket writes carried `frames_per_write` messages each (100 writes a period; 0:
// no writes). Returns the time reached (each period is exactly one load period).
struct Output {
  uint64_t writes = 0;
  uint64_t frames = 0;
};
uint64_t periods(CoalescingPolicy& p, Output& out, uint64_t t, int n, uint64_t busy_us,
                 uint64_t idle_us, uint64_t frames_per_write) {
  for (int i = 0; i < n; ++i) {
    if (frames_per_write != 0) {
      out.writes += 100;
      out.frames += 100 * frames_per_write;
    }
    p.output_written(out.writes, out.frames);
    t = run_loop(p, t, busy_us, idle_us, CoalescingPolicy::kLoadPeriodUs);
  }
  return t;
}

constexpr uint64_t kSatMax = CoalescingPolicy::kSaturatedMaxWindow.count();
constexpr uint64_t kLoadW = CoalescingPolicy::kLoadWindow.count();

// An adaptive policy whose loop has just started running, driven by periods().
class SaturationTermTest : public ::testing::Test {
 protected:
  SaturationTermTest() { p.loop_busy(t); }
  CoalescingPolicy p = adaptive();
  Output out;
  uint64_t t = 1'000'000;
};

TEST_F(SaturationTermTest, ASaturatedLoopGrowsTheWindowWhileWritesCarryOneMessage) {
  // Publications spread over many channels: each connection's next push comes long after the
  // window, so every write carries one message; the loop never has time to spare.
  t = periods(p, out, t, CoalescingPolicy::kSaturatedPeriods - 1, 1000, 0, 1);
  EXPECT_EQ(p.saturated_window_us(), 0u);
  EXPECT_EQ(p.window_us(), kLoadW);  // the load term alone
  t = periods(p, out, t, 1, 1000, 0, 1);
  EXPECT_EQ(p.saturated_window_us(), kLoadW);
  // Doubled every further period, up to its bound.
  uint64_t expect = kLoadW;
  for (int i = 0; i < 12; ++i) {
    t = periods(p, out, t, 1, 1000, 0, 1);
    expect = std::min(2 * expect, kSatMax);
    EXPECT_EQ(p.saturated_window_us(), expect) << i;
  }
  EXPECT_EQ(p.window_us(), kSatMax);
  // A connection written 150 ms ago is held until the window after that write ends.
  EXPECT_EQ(p.hold_until(t, static_cast<uint32_t>(t - 150'000), false, 10),
            t - 150'000 + kSatMax);
  // The connection's own gap is longer than the bound: written at once.
  EXPECT_EQ(p.hold_until(t, static_cast<uint32_t>(t - kSatMax), false, 10), 0u);
}

TEST_F(SaturationTermTest, TheSaturationTermStaysZeroWhileWritesCarrySeveralMessages) {
  // One channel with many subscribers: a saturated loop's writes carry tens of messages each
  // (corking, the other terms), so holding batches already.
  t = periods(p, out, t, 10, 1000, 0, 30);
  EXPECT_EQ(p.saturated_window_us(), 0u);
  EXPECT_EQ(p.window_us(), kLoadW);
  // No writes at all: nothing to batch either.
  t = periods(p, out, t, 10, 1000, 0, 0);
  EXPECT_EQ(p.saturated_window_us(), 0u);
  // Once grown, it is kept (not grown further) while writes carry kSparseFramesPerWrite or more.
  t = periods(p, out, t, 5, 1000, 0, 1);
  uint64_t grown = p.saturated_window_us();
  ASSERT_GT(grown, kLoadW);
  t = periods(p, out, t, 5, 1000, 0, CoalescingPolicy::kSparseFramesPerWrite);
  EXPECT_EQ(p.saturated_window_us(), grown);
}

TEST_F(SaturationTermTest, TheSaturationTermNeedsASaturatedLoop) {
  // 90% busy: the load term is at its bound, but the loop has time to spare.
  t = periods(p, out, t, 10, 900, 100, 1);
  EXPECT_EQ(p.saturated_window_us(), 0u);
  EXPECT_EQ(p.window_us(), kLoadW);
}

TEST_F(SaturationTermTest, TheSaturationTermShrinksAsSoonAsTheLoopHasSlack) {
  t = periods(p, out, t, 20, 1000, 0, 1);
  ASSERT_EQ(p.saturated_window_us(), kSatMax);
  // One period at half load halves it; saturated again, it doubles at once.
  t = periods(p, out, t, 1, 500, 500, 1);
  EXPECT_EQ(p.saturated_window_us(), kSatMax / 2);
  t = periods(p, out, t, 1, 1000, 0, 1);
  EXPECT_EQ(p.saturated_window_us(), kSatMax);
  // Each period with slack halves it.
  t = periods(p, out, t, 3, 100, 900, 1);
  EXPECT_EQ(p.saturated_window_us(), kSatMax / 8);
  // A quiet second clears it at once: a lone message afterwards is written at once, even to
  // a connection written 10 ms before.
  p.loop_idle(t);
  p.loop_busy(t + 1'000'000);
  EXPECT_EQ(p.saturated_window_us(), 0u);
  EXPECT_EQ(p.window_us(), 0u);
  t += 1'000'000;
  EXPECT_EQ(p.hold_until(t, static_cast<uint32_t>(t - 10'000), false, 10), 0u);
}

TEST(WriteCoalescingTest, TheSaturationTermIsTheAdaptiveModesOnly) {
  CoalescingPolicy fixed(coalescing_options(3, 16, false));
  Output out;
  uint64_t t = 1'000'000;
  fixed.loop_busy(t);
  periods(fixed, out, t, 20, 1000, 0, 1);
  EXPECT_EQ(fixed.window_us(), 3000u);
}

TEST(WriteCoalescingTest, RepliesNeverWaitInTheAdaptiveMode) {
  EXPECT_TRUE(reply_is_urgent(coalescing_options(0, 0, false)));
  EXPECT_FALSE(reply_is_urgent(coalescing_options(5, 0, false)));
  EXPECT_TRUE(reply_is_urgent(coalescing_options(5, 0, true)));
}

}  // namespace
}  // namespace gyre::transport
