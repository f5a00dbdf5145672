#include "core/random.h"

#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gyre::random {
namespace {

// Per-thread CSPRNG buffer. 512 bytes amortise RAND_bytes (one call per 32 UUIDs) and keep
// the thread's footprint small. Bytes are consumed once and the consumed part is wiped.
struct Pool {
  std::array<uint8_t, 512> bytes{};
  size_t pos = bytes.size();  // empty

  void refill() {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      std::fputs("gyre: fatal: the CSPRNG (RAND_bytes) failed\n", stderr);
      std::abort();
    }
    pos = 0;
  }
};

Pool& pool() {
  thread_local Pool p;
  return p;
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

void fill(std::span<uint8_t> out) {
  Pool& p = pool();
  size_t done = 0;
  while (done < out.size()) {
    if (p.pos == p.bytes.size()) {
      p.refill();
    }
    size_t n = std::min(out.size() - done, p.bytes.size() - p.pos);
    std::memcpy(out.data() + done, p.bytes.data() + p.pos, n);
    std::memset(p.bytes.data() + p.pos, 0, n);
    p.pos += n;
    done += n;
  }
}

uint64_t secure_u64() {
  uint64_t v = 0;
  fill(std::span(reinterpret_cast<uint8_t*>(&v), sizeof v));
  return v;
}

std::string uuid_v4() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::array<uint8_t, 16> b{};
  fill(b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant (10xx)
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0xF];
  }
  return out;
}

std::string letters(size_t n) {
  static constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    uint8_t b = 0;
    fill(std::span(&b, 1));
    if (b < 208) {  // 208 = 4 * 52: rejection keeps the letters uniform
      out += kLetters[b % 52];
    }
  }
  return out;
}

Jitter::Jitter() {
  do {
    fill(std::span(reinterpret_cast<uint8_t*>(s_), sizeof s_));
  } while ((s_[0] | s_[1] | s_[2] | s_[3]) == 0);
}

uint64_t Jitter::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

int64_t Jitter::uniform(int64_t lo, int64_t hi) {
  if (hi <= lo) {
    return lo;
  }
  return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo));
}

Jitter& thread_jitter() {
  thread_local Jitter j;
  return j;
}

}  // namespace gyre::random
