#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "metrics/registry.h"

// Metric values. Each shard updates its own ShardMetrics with plain integers and doubles (no
// atomics, no locks: shard-local, touched only by its thread); a scrape copies every shard's
// values into a Snapshot on that shard (Sharded<T>::map_reduce) and merges the copies on the
// scraping shard, so the hot path pays one hash lookup and an add.
namespace gyre::metrics {

// The values of one series (one family, one set of label values).
struct Series {
  uint64_t count = 0;  // counter value; histogram and summary observation count
  double value = 0;    // gauge value; a counter's fractional part (process CPU seconds)
  double sum = 0;      // histogram and summary: sum of the observations
  std::vector<uint64_t> buckets;  // histogram: observations per bucket (last: +Inf), not cumulative
  std::vector<double> window;     // summary: the most recent observations (a ring)
  uint32_t next = 0;              // summary: the ring's next slot once full
};

// Summaries keep their quantile window per shard and series: the most recent observations
// (client_golang keeps a 10-minute decaying stream instead; see docs/operations.md).
inline constexpr size_t kSummaryWindow = 512;

// Series of one family keyed by their label values joined with '\0', in exposition order.
using FamilyValues = std::map<std::string, Series>;

// A copy of values: one FamilyValues per family of the registry. Moves between shards.
struct Snapshot {
  std::vector<FamilyValues> families;
  // Adds `other` in: counters, gauges, sums and buckets are summed, summary windows joined.
  void merge(Snapshot&& other);
  // The series of `family` with `labels` (created at zero), to set values at scrape time.
  Series& at(const Registry& registry, FamilyId family,
             std::initializer_list<std::string_view> labels);
};

// Joins label values into a series key.
std::string series_key(std::initializer_list<std::string_view> labels);

// Heterogeneous lookup: a series is found by a key built in a stack buffer, without
// allocating on the hot path.
struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class ShardMetrics {
 public:
  explicit ShardMetrics(const Registry& registry);

  // The series of `family` with `labels` (values in the family's label order), created at
  // zero on first use. The reference stays valid for the life of this object.
  Series& at(FamilyId family, std::initializer_list<std::string_view> labels = {});
  void inc(FamilyId family, std::initializer_list<std::string_view> labels = {},
           uint64_t by = 1) {
    at(family, labels).count += by;
  }
  void set(FamilyId family, std::initializer_list<std::string_view> labels, double v) {
    at(family, labels).value = v;
  }
  // A histogram or summary observation.
  void observe(FamilyId family, std::initializer_list<std::string_view> labels, double v);
  // Same, on a series already looked up.
  void observe(FamilyId family, Series& s, double v);

  Snapshot snapshot() const;
  const Registry& registry() const { return registry_; }

 private:
  const Registry& registry_;
  std::vector<std::unordered_map<std::string, Series, KeyHash, std::equal_to<>>> families_;
};

}  // namespace gyre::metrics
