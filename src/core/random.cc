#include "core/random.h"

#include <random>

namespace gyre::random {
namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  return gen;
}

}  // namespace

uint64_t next_u64() { return rng()(); }

int64_t uniform(int64_t lo, int64_t hi) {
  if (hi <= lo) {
    return lo;
  }
  return lo + static_cast<int64_t>(next_u64() % static_cast<uint64_t>(hi - lo));
}

std::string uuid_v4() {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t a = next_u64();
  uint64_t b = next_u64();
  a = (a & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;  // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10
  std::string out;
  out.reserve(36);
  for (int i = 15; i >= 0; --i) {
    out += kHex[(a >> (i * 4)) & 0xF];
    if (i == 8 || i == 4) {
      out += '-';
    }
  }
  out += '-';
  for (int i = 15; i >= 0; --i) {
    out += kHex[(b >> (i * 4)) & 0xF];
    if (i == 12) {
      out += '-';
    }
  }
  return out;
}

std::string letters(size_t n) {
  static constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out += kLetters[next_u64() % 52];
  }
  return out;
}

}  // namespace gyre::random
