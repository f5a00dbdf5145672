#include "load/histogram.h"

#include <bit>

namespace gyre::bench {

int Histogram::bucket_of(uint64_t value) {
  if (value < kLinear) {
    return static_cast<int>(value);
  }
  int msb = 63 - std::countl_zero(value);  // >= 7
  int shift = msb - 6;                      // keeps the top 7 bits: 64..127
  auto top = static_cast<int>(value >> shift);
  return kLinear + (msb - 7) * kSubBuckets + (top - kSubBuckets);
}

uint64_t Histogram::lower_bound(int bucket) {
  if (bucket < kLinear) {
    return static_cast<uint64_t>(bucket);
  }
  int group = (bucket - kLinear) / kSubBuckets;
  uint64_t top = static_cast<uint64_t>((bucket - kLinear) % kSubBuckets + kSubBuckets);
  return top << (group + 1);
}

uint64_t Histogram::upper_bound(int bucket) {
  if (bucket < kLinear) {
    return static_cast<uint64_t>(bucket);
  }
  int group = (bucket - kLinear) / kSubBuckets;
  uint64_t top = static_cast<uint64_t>((bucket - kLinear) % kSubBuckets + kSubBuckets);
  return ((top + 1) << (group + 1)) - 1;
}

double Histogram::mean() const {
  if (total_ == 0) {
    return 0;
  }
  long double sum = 0;
  for (int b = 0; b < kBuckets; ++b) {
    if (counts_[b]) {
      sum += static_cast<long double>(counts_[b]) *
             ((lower_bound(b) + upper_bound(b)) / 2.0L);
    }
  }
  return static_cast<double>(sum / total_);
}

uint64_t Histogram::quantile(double q) const {
  if (total_ == 0) {
    return 0;
  }
  auto rank = static_cast<uint64_t>(q * static_cast<double>(total_));
  if (rank < 1) {
    rank = 1;
  }
  if (rank > total_) {
    rank = total_;
  }
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[b];
    if (seen >= rank) {
      uint64_t mid = lower_bound(b) + (upper_bound(b) - lower_bound(b)) / 2;
      return mid > max_ ? max_ : (mid < min_ ? min_ : mid);
    }
  }
  return max_;
}

void Histogram::reset() { *this = Histogram{}; }

}  // namespace gyre::bench
