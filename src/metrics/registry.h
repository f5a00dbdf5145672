#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The metric families a process exposes (Prometheus data model): name, help, type, label
// names and, for histograms, the bucket bounds. Filled once, then immutable: thread-safe to
// read from any shard. Values live elsewhere, per shard (metrics/shard_metrics.h).
namespace gyre::metrics {

enum class Kind { kCounter, kGauge, kHistogram, kSummary };

using FamilyId = uint32_t;

struct Family {
  std::string name;
  std::string help;
  Kind kind = Kind::kCounter;
  // Sorted by name (Go's client library prints labels sorted; keeping them sorted here makes
  // a series' key order the exposition order).
  std::vector<std::string> labels;
  std::vector<double> buckets;  // histograms: upper bounds, ascending, without +Inf
};

// Summaries (client_golang SummaryOpts.Objectives of Centrifugo): quantiles 0.5, 0.99, 0.999.
inline constexpr double kSummaryQuantiles[] = {0.5, 0.99, 0.999};
// Go's prometheus.DefBuckets.
std::span<const double> default_buckets();

class Registry {
 public:
  // Adds a family; asserts unique names and sorted label names. Startup only.
  FamilyId add(Family f);
  const Family& family(FamilyId id) const { return families_[id]; }
  size_t size() const { return families_.size(); }
  // The family named `name`, or size() when there is none.
  FamilyId find(std::string_view name) const;

 private:
  std::vector<Family> families_;
};

}  // namespace gyre::metrics
