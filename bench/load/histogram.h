#pragma once

#include <array>
#include <cstdint>

// Fixed log-linear latency histogram: exact below 128, then 64 linear sub-buckets per power of
// two (relative error under 1.6%). No allocation after construction, so recording is safe on the
// receive path. Single-threaded (owned by the load loop).
namespace gyre::bench {

class Histogram {
 public:
  static constexpr int kLinear = 128;
  static constexpr int kSubBuckets = 64;
  static constexpr int kBuckets = kLinear + 57 * kSubBuckets;

  void record(uint64_t value) {
    ++counts_[bucket_of(value)];
    ++total_;
    if (value > max_) {
      max_ = value;
    }
    if (value < min_) {
      min_ = value;
    }
  }

  uint64_t count() const { return total_; }
  uint64_t max() const { return total_ ? max_ : 0; }
  uint64_t min() const { return total_ ? min_ : 0; }
  double mean() const;
  // The value at quantile q in [0, 1] (bucket midpoint, clamped to the exact max). 0 if empty.
  uint64_t quantile(double q) const;
  void reset();

  static int bucket_of(uint64_t value);
  static uint64_t lower_bound(int bucket);
  static uint64_t upper_bound(int bucket);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
  long double sum_ = 0;
};

}  // namespace gyre::bench
