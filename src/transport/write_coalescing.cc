#include "transport/write_coalescing.h"

#include <algorithm>

#include "core/clock.h"

namespace gyre::transport {

CoalescingOptions coalescing_options(int64_t write_delay_ms, int64_t max_messages_in_frame,
                                     bool reply_without_queue) {
  CoalescingOptions o;
  if (write_delay_ms < 0) {
    o.mode = CoalescingOptions::Mode::kOff;
  } else if (write_delay_ms == 0) {
    o.mode = CoalescingOptions::Mode::kAdaptive;
  } else {
    o.mode = CoalescingOptions::Mode::kFixed;
    o.fixed_window = std::chrono::milliseconds(write_delay_ms);
  }
  o.reply_without_queue = reply_without_queue;
  o.join_pushes = max_messages_in_frame != 0;
  o.max_messages_in_frame =
      max_messages_in_frame == 0 ? 16
      : max_messages_in_frame < 0
          ? 0
          : static_cast<uint32_t>(std::min<int64_t>(max_messages_in_frame, UINT32_MAX));
  return o;
}

uint64_t coalescing_now_us() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   clock::now().time_since_epoch())
                                   .count());
}

void CoalescingPolicy::account(uint64_t now_us, bool busy_next) {
  if (!started_) {
    started_ = true;
    mark_us_ = period_start_us_ = now_us;
    busy_ = busy_next;
    return;
  }
  if (now_us < mark_us_) {
    now_us = mark_us_;
  }
  if (busy_) {
    busy_us_ += now_us - mark_us_;
  }
  mark_us_ = now_us;
  busy_ = busy_next;
  uint64_t period = now_us - period_start_us_;
  if (period >= kLoadPeriodUs) {
    load_ = std::min(1.0, static_cast<double>(busy_us_) / static_cast<double>(period));
    busy_us_ = 0;
    period_start_us_ = now_us;
    flush_max_prev_ = flush_max_cur_;
    flush_max_cur_ = 0;
    // Few messages per write this period: holding is not batching yet.
    const uint64_t writes = writes_total_ - writes_mark_;
    const uint64_t frames = frames_total_ - frames_mark_;
    const bool sparse = writes != 0 && frames < kSparseFramesPerWrite * writes;
    writes_mark_ = writes_total_;
    frames_mark_ = frames_total_;
    if (load_ >= kLoadSaturated) {
      if (saturated_periods_ < kSaturatedPeriods) {
        ++saturated_periods_;
      }
      if ((saturated_periods_ >= kSaturatedPeriods || saturated_us_ != 0) && sparse) {
        // kLoadWindow once the loop has been saturated kSaturatedPeriods in a row, doubled
        // for each saturated period after that (at once again after a dip) in which writes
        // carried fewer than kSparseFramesPerWrite messages each; kept while they carry more.
        saturated_us_ = saturated_us_ == 0
                            ? static_cast<uint64_t>(kLoadWindow.count())
                            : std::min(2 * saturated_us_,
                                       static_cast<uint64_t>(kSaturatedMaxWindow.count()));
      }
    } else {
      // Halved for every period's worth of time below saturation (a long idle wait clears
      // it); below kLoadWindow it is gone. A dip of one period in a saturated stretch costs one
      // doubling, not the climb from kLoadWindow.
      saturated_periods_ = 0;
      uint64_t periods = std::min<uint64_t>(period / kLoadPeriodUs, 63);
      saturated_us_ >>= periods;
      if (saturated_us_ < static_cast<uint64_t>(kLoadWindow.count())) {
        saturated_us_ = 0;
      }
    }
  }
}

void CoalescingPolicy::pushes_queued(uint64_t now_us) {
  if (last_push_us_ == 0 || now_us < last_push_us_) {
    last_push_us_ = now_us;
    return;
  }
  uint64_t gap = now_us - last_push_us_;
  last_push_us_ = now_us;
  if (gap > kSteadyGapMax) {
    steady_turns_ = 0;  // a pause: whatever comes next starts a new stream
    gap_us_ = 0;
    stream_flush_max_ = 0;
    return;
  }
  // Exponential smoothing with weight 1/4 for the new gap; the first gap of a stream is taken
  // as it is.
  gap_us_ = steady_turns_ == 0 ? gap : (3 * gap_us_ + gap) / 4;
  if (steady_turns_ < kSteadyTurns) {
    ++steady_turns_;
  }
}

uint64_t CoalescingPolicy::window_us() const {
  switch (opts_.mode) {
    case CoalescingOptions::Mode::kOff:
      return 0;
    case CoalescingOptions::Mode::kFixed:
      return static_cast<uint64_t>(opts_.fixed_window.count());
    case CoalescingOptions::Mode::kAdaptive:
      break;
  }
  uint64_t by_load = 0;
  if (load_ > kLoadFloor) {
    double f = std::min(1.0, (load_ - kLoadFloor) / (kLoadFull - kLoadFloor));
    by_load = static_cast<uint64_t>(f * static_cast<double>(kLoadWindow.count()));
  }
  // Not gated by the load: a loop that just spent milliseconds writing one fan-out is busy in
  // those moments however idle it is on average (e.g. waiting for a slow publisher's next
  // request), and holding adds no more than that flush delays everyone anyway.
  uint64_t by_flush = std::max(flush_max_cur_, flush_max_prev_);
  // Not gated by the load either: a steady stream of publications is what holding batches,
  // and the pace of the stream, not the loop's momentary state, says how long to wait for the
  // next one.
  uint64_t gap = steady_gap_us();
  uint64_t by_rate = gap != 0 && stream_flush_max_ * kRateMinFlushShare >= gap
                         ? std::min(kRateWindowGaps * gap,
                                    static_cast<uint64_t>(kRateMaxWindow.count()))
                         : 0;
  return std::max(
      {std::min(std::max(by_load, by_flush), static_cast<uint64_t>(kAdaptiveMaxWindow.count())),
       by_rate, saturated_us_});
}

uint64_t CoalescingPolicy::hold_until(uint64_t now_us, uint32_t last_write_us,
                                      bool never_written, size_t queued) const {
  if (never_written || queued >= kHoldMaxBytes) {
    return 0;
  }
  uint64_t window = window_us();
  if (window == 0) {
    return 0;
  }
  // Elapsed since the last write, modulo 2^32 µs.
  uint32_t since = static_cast<uint32_t>(now_us) - last_write_us;
  if (since >= window) {
    return 0;
  }
  return now_us + (window - since);
}

}  // namespace gyre::transport
