#pragma once

#include <cstdint>
#include <string>

// Randomness for identifiers. Each thread has its own generator seeded from the OS:
// thread-safe, never blocks.
namespace gyre::random {

std::string uuid_v4();
// `n` random ASCII letters (stream epochs).
std::string letters(size_t n);
uint64_t next_u64();
// Uniform in [lo, hi).
int64_t uniform(int64_t lo, int64_t hi);

}  // namespace gyre::random
