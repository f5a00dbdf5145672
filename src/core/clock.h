#pragma once

#include <chrono>
#include <cstdint>

namespace gyre::clock {

using Steady = std::chrono::steady_clock;
using TimePoint = Steady::time_point;

inline TimePoint now() { return Steady::now(); }

// Wall clock.
inline int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline double unix_seconds_f() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace gyre::clock
