#pragma once

#include <chrono>
#include <cstdint>

#include "core/clock.h"

// The time source of one shard's client sessions and of its timer wheel: the real steady and
// wall clocks, or (tests) a manual clock that only moves when told to. Client sessions read
// "now" only through their shard's SessionClock, so a test drives pings, pongs, stale and
// expiry deadlines by advancing it, without sleeping. Shard-local.
namespace gyre::node {

class SessionClock {
 public:
  clock::TimePoint now() const { return manual_ ? steady_ : clock::now(); }
  int64_t unix_ms() const { return manual_ ? unix_ms_ : clock::unix_ms(); }
  int64_t unix_seconds() const {
    return manual_ ? unix_ms_ / 1000 : clock::unix_seconds();  // unix_ms_ >= 0
  }
  double unix_seconds_f() const {
    return manual_ ? static_cast<double>(unix_ms_) / 1000.0 : clock::unix_seconds_f();
  }

  bool manual() const { return manual_; }
  // Stops the clock at `steady` / `unix_ms` (Unix milliseconds, >= 0); it then moves only
  // through advance(). A timer wheel keeps its origin: `steady` should not precede it.
  void set_manual(clock::TimePoint steady, int64_t unix_ms) {
    manual_ = true;
    steady_ = steady;
    unix_ms_ = unix_ms;
  }
  // Moves a manual clock forward: both the steady and the wall time.
  void advance(std::chrono::milliseconds d) {
    steady_ += d;
    unix_ms_ += d.count();
  }

 private:
  bool manual_ = false;
  clock::TimePoint steady_{};
  int64_t unix_ms_ = 0;
};

}  // namespace gyre::node
