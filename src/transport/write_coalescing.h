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
// The adaptive window is the largest of four terms (load and flush bounded by
// kAdaptiveMaxWindow, rate by kRateMaxWindow, saturation by kSaturatedMaxWindow):
// - load: zero while the loop's busy fraction is <= kLoadFloor, up to kLoadWindow at kLoadFull;
// - flush: the longest flush of the loop over the current and the last period. It matters for
//   fan-outs to many connections: when writing one publication to every subscriber takes
//   longer than the load part, the subscribers were never "written a moment ago" when the
//   next publication comes; with the window at least as long as a flush, the next
//   publications join the held output and the flush that follows carries them all. (The
//   caller takes a connection written during a flush as written when that flush ended.)
// - rate: kRateWindowGaps times the smoothed gap between the loop turns that queued fanned-out
//   pushes, bounded by kRateMaxWindow, while (a) kSteadyTurns such gaps in a row were each at
//   most kSteadyGapMax (a steady stream of publications) and (b) the longest flush since the
//   stream began is at least 1/kRateMinFlushShare of the gap (writing the stream takes a
//   quarter of the loop's time or more: a stream to a handful of connections is not held).
//   The flush term alone fails when the next publication comes later than a flush lasts after
//   it — a sequential publisher (one request in flight) that reacts slowly because its host is
//   busy: every publication then found its subscribers idle again and was written with one
//   sendmsg per subscriber. The stream's own pace covers that gap, so holding starts, and the
//   publisher (whose replies never wait) comes back sooner. A lone publication after a pause (a gap above
//   kSteadyGapMax) ends the stream: no rate term.
// - saturation: once the loop has been saturated (busy fraction >= kLoadSaturated) for
//   kSaturatedPeriods load periods in a row, kLoadWindow, doubled for every further saturated
//   period in which the WebSocket writes carried fewer than kSparseFramesPerWrite messages
//   each, up to kSaturatedMaxWindow; kept while they carry more; halved for every period's
//   worth of time below kLoadSaturated (zero below kLoadWindow). Fan-outs to many subscribers
//   per channel already carry tens of messages per write (corking and the other terms): this
//   term stays zero for them. The other terms follow one fan-out or one stream of
//   publications; they fail when publications are spread over many channels with few
//   subscribers each (2,000 channels x 2 subscribers): each connection then gets its own
//   messages tens of milliseconds apart, longer than those windows, so holding batched
//   nothing and every delivery was its own sendmsg while the loop had no time to spare. A
//   saturated loop delays everything anyway; growing the window until connections' own
//   messages meet in it turns that time into fewer writes, and ends as soon as the loop has
//   slack again.
// An idle loop (no flush for a period, low load, no steady stream) has a zero window; and
// whatever the window, a connection not written within it is written at once.
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

// Whether a message to one connection (a command reply, a connection's own push) is written
// in the turn it was queued, with whatever is held before it: with client_reply_without_queue,
// and always in the adaptive mode (its window is for fanned-out pushes; a reply never waits).
inline bool reply_is_urgent(const CoalescingOptions& o) {
  return o.reply_without_queue || o.mode == CoalescingOptions::Mode::kAdaptive;
}

// What a shard's write coalescing did, counted since start (the gyre_shard_write_holds_total
// and gyre_shard_socket_writes_total metrics). Shard-local.
struct CoalescingStats {
  uint64_t holds = 0;   // outputs held for the window instead of written in their turn
  uint64_t writes = 0;  // socket writes (one writev or write each) of connections
};

// Converts the configuration values: write_delay_ms < 0 off, 0 adaptive, > 0 fixed;
// max_messages_in_frame 0 = replies up to 16 per frame, pushes one per frame; -1 = no limit,
// pushes joined; N > 0 = at most N, pushes joined.
CoalescingOptions coalescing_options(int64_t write_delay_ms, int64_t max_messages_in_frame,
                                     bool reply_without_queue);

class CoalescingPolicy {
 public:
  // The load and flush terms' upper bound (the rate term has its own, kRateMaxWindow), and the
  // load-proportional part's bound.
  static constexpr std::chrono::microseconds kAdaptiveMaxWindow{10000};
  static constexpr std::chrono::microseconds kLoadWindow{2000};
  // Load (busy fraction of the loop) under which the adaptive window is zero, and at which
  // it reaches kAdaptiveMaxWindow; linear in between.
  static constexpr double kLoadFloor = 0.25;
  static constexpr double kLoadFull = 0.75;
  // How long the loop's busy/idle split is accumulated before the load is recomputed.
  static constexpr uint64_t kLoadPeriodUs = 20000;
  // Output at or above this is written at once.
  static constexpr size_t kHoldMaxBytes = 64 * 1024;
  // The rate term: a gap between pushing turns above kSteadyGapMax ends a stream; kSteadyTurns
  // gaps in a row at most that long make one; the term is kRateWindowGaps smoothed gaps, at
  // most kRateMaxWindow, when the stream's longest flush is >= gap / kRateMinFlushShare.
  static constexpr uint64_t kSteadyGapMax = 50000;
  static constexpr uint32_t kSteadyTurns = 3;
  static constexpr uint64_t kRateWindowGaps = 4;
  static constexpr uint64_t kRateMinFlushShare = 4;
  static constexpr std::chrono::microseconds kRateMaxWindow{50000};
  // The saturation term: periods at or above kLoadSaturated busy in a row before it starts,
  // and its bound.
  static constexpr double kLoadSaturated = 0.95;
  static constexpr uint32_t kSaturatedPeriods = 3;
  static constexpr uint64_t kSparseFramesPerWrite = 2;
  static constexpr std::chrono::microseconds kSaturatedMaxWindow{200000};

  CoalescingPolicy() = default;
  explicit CoalescingPolicy(const CoalescingOptions& o) : opts_(o) {}

  const CoalescingOptions& options() const { return opts_; }
  bool enabled() const { return opts_.mode != CoalescingOptions::Mode::kOff; }

  // The loop reports when it starts waiting for events and when it wakes up.
  void loop_idle(uint64_t now_us) { account(now_us, false); }
  void loop_busy(uint64_t now_us) { account(now_us, true); }
  // The loop spent `us` writing connections in one flush.
  void flush_took(uint64_t us) {
    flush_max_cur_ = std::max(flush_max_cur_, us);
    stream_flush_max_ = std::max(stream_flush_max_, us);
  }
  // A loop turn queued fanned-out pushes (publications) on connections at `now_us`: feeds the
  // rate term. Called at most once per turn.
  void pushes_queued(uint64_t now_us);
  // The smoothed gap between pushing turns while a steady stream lasts; 0 otherwise.
  uint64_t steady_gap_us() const { return steady_turns_ >= kSteadyTurns ? gap_us_ : 0; }
  // The saturation term (0 unless the loop has been saturated kSaturatedPeriods in a row).
  uint64_t saturated_window_us() const { return saturated_us_; }
  // The loop's busy fraction over the last completed period (0..1).
  double load() const { return load_; }
  // The current window in microseconds.
  uint64_t window_us() const;

  // When a connection with output may be written: 0 = now; otherwise the time (same clock)
  // until which it is held. `last_write_us` is the low 32 bits of its last write time
  // (`never_written` when it has not written yet), `queued` its pending bytes.
  uint64_t hold_until(uint64_t now_us, uint32_t last_write_us, bool never_written,
                      size_t queued) const;
  // The shard's WebSocket socket writes and the messages (frames) they carried, counted since
  // start (the saturation term's "few messages per write").
  void output_written(uint64_t writes_total, uint64_t frames_total) {
    writes_total_ = writes_total;
    frames_total_ = frames_total;
  }

 private:
  void account(uint64_t now_us, bool busy_next);

  CoalescingOptions opts_;
  double load_ = 0;
  uint64_t mark_us_ = 0;        // start of the current busy or idle stretch
  uint64_t period_start_us_ = 0;
  uint64_t busy_us_ = 0;        // busy time accumulated in the current period
  uint64_t flush_max_cur_ = 0;  // longest flush in the current period
  uint64_t flush_max_prev_ = 0; // ... and in the last completed one
  uint64_t last_push_us_ = 0;   // the last pushing turn (0: none yet)
  uint64_t gap_us_ = 0;         // smoothed gap between pushing turns
  uint32_t steady_turns_ = 0;   // gaps in a row at most kSteadyGapMax
  uint64_t stream_flush_max_ = 0;  // longest flush since the current stream began
  uint32_t saturated_periods_ = 0;  // load periods in a row at or above kLoadSaturated
  uint64_t saturated_us_ = 0;       // the saturation term
  uint64_t writes_total_ = 0;       // output_written() totals, and their values at the
  uint64_t frames_total_ = 0;       // end of the last load period
  uint64_t writes_mark_ = 0;
  uint64_t frames_mark_ = 0;
  bool busy_ = true;            // the loop starts out running
  bool started_ = false;
};

// Microseconds of the monotonic clock (the policy's time base).
uint64_t coalescing_now_us();

}  // namespace gyre::transport
