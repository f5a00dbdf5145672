#include "metrics/shard_metrics.h"

#include <algorithm>
#include <cassert>

namespace gyre::metrics {

namespace {

Series make_series(const Family& f) {
  Series s;
  if (f.kind == Kind::kHistogram) {
    s.buckets.assign(f.buckets.size() + 1, 0);
  }
  return s;
}

void add_into(Series& to, Series&& from) {
  to.count += from.count;
  to.value += from.value;
  to.sum += from.sum;
  if (to.buckets.size() < from.buckets.size()) {
    to.buckets.resize(from.buckets.size(), 0);
  }
  for (size_t i = 0; i < from.buckets.size(); ++i) {
    to.buckets[i] += from.buckets[i];
  }
  to.window.insert(to.window.end(), from.window.begin(), from.window.end());
}

}  // namespace

std::string series_key(std::initializer_list<std::string_view> labels) {
  std::string key;
  bool first = true;
  for (std::string_view l : labels) {
    if (!first) {
      key.push_back('\0');
    }
    first = false;
    key.append(l);
  }
  return key;
}

void Snapshot::merge(Snapshot&& other) {
  if (families.size() < other.families.size()) {
    families.resize(other.families.size());
  }
  for (size_t f = 0; f < other.families.size(); ++f) {
    for (auto& [key, s] : other.families[f]) {
      auto [it, fresh] = families[f].try_emplace(key);
      if (fresh) {
        it->second = std::move(s);
      } else {
        add_into(it->second, std::move(s));
      }
    }
  }
}

Series& Snapshot::at(const Registry& registry, FamilyId family,
                     std::initializer_list<std::string_view> labels) {
  assert(labels.size() == registry.family(family).labels.size());
  if (families.size() < registry.size()) {
    families.resize(registry.size());
  }
  auto [it, fresh] = families[family].try_emplace(series_key(labels));
  if (fresh) {
    it->second = make_series(registry.family(family));
  }
  return it->second;
}

ShardMetrics::ShardMetrics(const Registry& registry)
    : registry_(registry), families_(registry.size()) {}

Series& ShardMetrics::at(FamilyId family, std::initializer_list<std::string_view> labels) {
  assert(family < families_.size());
  assert(labels.size() == registry_.family(family).labels.size());
  auto& values = families_[family];
  char buf[192];
  size_t n = 0;
  size_t i = 0;
  bool fits = true;
  for (std::string_view l : labels) {
    if (n + l.size() + 1 > sizeof buf) {
      fits = false;
      break;
    }
    if (i++ > 0) {
      buf[n++] = '\0';
    }
    l.copy(buf + n, l.size());
    n += l.size();
  }
  auto it = fits ? values.find(std::string_view(buf, n)) : values.find(series_key(labels));
  if (it == values.end()) {
    it = values.emplace(series_key(labels), make_series(registry_.family(family))).first;
  }
  return it->second;
}

void ShardMetrics::observe(FamilyId family, std::initializer_list<std::string_view> labels,
                           double v) {
  observe(family, at(family, labels), v);
}

void ShardMetrics::observe(FamilyId family, Series& s, double v) {
  const Family& f = registry_.family(family);
  ++s.count;
  s.sum += v;
  if (f.kind == Kind::kHistogram) {
    // Prometheus `le`: the first bucket whose upper bound is >= v (+Inf past the last).
    auto it = std::ranges::lower_bound(f.buckets, v);
    ++s.buckets[static_cast<size_t>(it - f.buckets.begin())];
  } else if (f.kind == Kind::kSummary) {
    if (s.window.size() < kSummaryWindow) {
      s.window.push_back(v);
    } else {
      s.window[s.next] = v;
      s.next = static_cast<uint32_t>((s.next + 1) % kSummaryWindow);
    }
  }
}

Snapshot ShardMetrics::snapshot() const {
  Snapshot out;
  out.families.resize(families_.size());
  for (size_t f = 0; f < families_.size(); ++f) {
    for (const auto& [key, s] : families_[f]) {
      out.families[f].emplace(key, s);
    }
  }
  return out;
}

}  // namespace gyre::metrics
