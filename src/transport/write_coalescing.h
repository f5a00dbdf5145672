#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

// Adaptive write coalescing (client_write_delay, client_reply_without_queue): when a
// connection was written a moment ago, its next output waits a short window so that the
// pushes arriving meanwhile leave in one writev instead of one sendmsg each. A connection
// that was not written within the window (an idle one) is written at once, so a lone message
// gets no added latency.
//
// The adaptive window follows the shard loop's load: the larger of a load-proportional part
// (zero while the loop's busy fraction is <= kLoadFloor, up to kLoadWindow at kLoadFull) and
// the longest flush of the loop over the current and the last period, bounded by
// kAdaptiveMaxWindow. An idle loop (no flush for a period, low load) has a zero window. The flush term matters for fan-outs to many connections: when writing
// one publication to every subscriber takes longer than the load part of the window, the
// subscribers were never "written a moment ago" when the next publication comes, and nothing
// would ever be held; with the window at least as long as a flush, the next publications
// join the held output and the flush that follows carries them all. (The caller also takes
// a connection written during a flush as written when that flush ended.)
// Output reaching kHoldMaxBytes is written at once whatever the window.
//
// Time is passed in by the caller (microseconds of a monotonic clock), so the policy is
// deterministic under test. Connections keep their last write time as 32 bits of that clock
// (wraps every ~71 minutes: after a wrap a connection can at worst be held one window it
// would not have been).
//
// Thread affinity: one CoalescingPolicy per shard, used only by that shard's thread.
namespace gyre::transport {

struct CoalescingOptions {
  enum class Mode : uint8_t {
    kOff,       // client_write_delay < 0: every turn's output is written at once
    kAdaptive,  // client_write_delay = 0 (default): window from the loop's load
    kFixed,     // client_write_delay > 0: that window
  };
  Mode mode = Mode::kOff;
  std::chrono::microseconds fixed_window{0};
  // client_reply_without_queue: messages that are not fanned-out publications (command
  // replies and a connection's own pushes) are written at once, with whatever is queued
  // before them.
  bool reply_without_queue = false;
  // client_max_messages_in_frame: messages joined into one WebSocket frame (0: no limit).
  uint32_t max_messages_in_frame = 16;
  // Whether fanned-out pushes join frames too (client_max_messages_in_frame set explicitly);
  // by default only replies are joined and each push keeps its pre-framed shared frame.
  bool join_pushes = false;
};

// Converts the configuration values: write_delay_ms < 0 off, 0 adaptive, > 0 fixed;
// max_messages_in_frame 0 = replies up to 16 per frame, pushes one per frame; -1 = no limit,
// pushes joined; N > 0 = at most N, pushes joined.
CoalescingOptions coalescing_options(int64_t write_delay_ms, int64_t max_messages_in_frame,
                                     bool reply_without_queue);

class CoalescingPolicy {
 public:
  // The adaptive window's hard upper bound, and its load-proportional part's bound.
  static constexpr std::chrono::microseconds kAdaptiveMaxWindow{10000};
  static constexpr std::chrono::microseconds kLoadWindow{2000};
  // Load (busy fraction of the loop) under which the adaptive window is zero, and at which
  // it reaches kAdaptiveMaxWindow; linear in between.
  static constexpr double kLoadFloor = 0.25;
  static constexpr double kLoadFull = 0.75;
  // How long the loop's busy/idle split is accumulated before the load is recomputed.
  static constexpr uint64_t kLoadPeriodUs = 20000;
  // Output at or above this is written at once.
  static constexpr size_t kHoldMaxBytes = 16 * 1024;

  CoalescingPolicy() = default;
  explicit CoalescingPolicy(const CoalescingOptions& o) : opts_(o) {}

  const CoalescingOptions& options() const { return opts_; }
  bool enabled() const { return opts_.mode != CoalescingOptions::Mode::kOff; }

  // The loop reports when it starts waiting for events and when it wakes up.
  void loop_idle(uint64_t now_us) { account(now_us, false); }
  void loop_busy(uint64_t now_us) { account(now_us, true); }
  // The loop spent `us` writing connections in one flush.
  void flush_took(uint64_t us) { flush_max_cur_ = std::max(flush_max_cur_, us); }
  // The loop's busy fraction over the last completed period (0..1).
  double load() const { return load_; }
  // The current window in microseconds.
  uint64_t window_us() const;

  // When a connection with output may be written: 0 = now; otherwise the time (same clock)
  // until which it is held. `last_write_us` is the low 32 bits of its last write time
  // (`never_written` when it has not written yet), `queued` its pending bytes.
  uint64_t hold_until(uint64_t now_us, uint32_t last_write_us, bool never_written,
                      size_t queued) const;

 private:
  void account(uint64_t now_us, bool busy_next);

  CoalescingOptions opts_;
  double load_ = 0;
  uint64_t mark_us_ = 0;        // start of the current busy or idle stretch
  uint64_t period_start_us_ = 0;
  uint64_t busy_us_ = 0;        // busy time accumulated in the current period
  uint64_t flush_max_cur_ = 0;  // longest flush in the current period
  uint64_t flush_max_prev_ = 0; // ... and in the last completed one
  bool busy_ = true;            // the loop starts out running
  bool started_ = false;
};

// Microseconds of the monotonic clock (the policy's time base).
uint64_t coalescing_now_us();

}  // namespace gyre::transport
