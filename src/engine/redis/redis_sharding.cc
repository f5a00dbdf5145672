#include "engine/redis/redis_sharding.h"

namespace gyre::engine::redis {

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

int consistent_index(std::string_view key, int buckets) {
  uint64_t k = fnv1a64(key);
  int64_t b = -1;
  int64_t j = 0;
  while (j < buckets) {
    b = j;
    k = k * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) *
                             (static_cast<double>(int64_t{1} << 31) /
                              static_cast<double>((k >> 33) + 1)));
  }
  return static_cast<int>(b);
}

}  // namespace gyre::engine::redis
