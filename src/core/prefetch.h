#pragma once

#include <cstddef>

namespace gyre::core {

// Issues a read prefetch for every cache line of [p, p + bytes): a hint to the CPU, never a
// fault (p may even be dangling), used where a loop is about to touch cold objects one after
// another (hub broadcast, flush of dirty and held sessions).
inline void prefetch_lines(const void* p, size_t bytes) {
  constexpr size_t kLine = 64;
  const auto* b = static_cast<const char*>(p);
  for (size_t off = 0; off < bytes; off += kLine) {
    __builtin_prefetch(b + off);
  }
}

}  // namespace gyre::core
