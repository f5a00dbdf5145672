#include "metrics/registry.h"

#include <algorithm>
#include <cassert>

namespace gyre::metrics {

std::span<const double> default_buckets() {
  static constexpr double kDef[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kDef;
}

FamilyId Registry::add(Family f) {
  assert(std::ranges::is_sorted(f.labels));
  assert(find(f.name) == size());
  assert(std::ranges::is_sorted(f.buckets));
  families_.push_back(std::move(f));
  return static_cast<FamilyId>(families_.size() - 1);
}

FamilyId Registry::find(std::string_view name) const {
  for (size_t i = 0; i < families_.size(); ++i) {
    if (families_[i].name == name) {
      return static_cast<FamilyId>(i);
    }
  }
  return static_cast<FamilyId>(families_.size());
}

}  // namespace gyre::metrics
