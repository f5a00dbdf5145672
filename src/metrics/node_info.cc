#include "metrics/node_info.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace gyre::metrics {

namespace {

// eagle's quantileString: the quantile in thousandths, one trailing zero cut (0.5 -> "50",
// 0.99 -> "99", 0.999 -> "999").
std::string quantile_name(double q) {
  std::string s = std::to_string(static_cast<int>(q * 1000 + 1e-9));
  if (s.size() > 2 && s.back() == '0') {
    s.pop_back();
  }
  return s;
}

// Nearest-rank quantile of sorted samples, as /metrics prints it.
double quantile(const std::vector<double>& sorted, double q) {
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// ".<label>.<value>" for each label with a non-empty value (series key: values joined by
// '\0' in the family's label order).
std::string label_suffix(const Family& f, const std::string& key) {
  std::string out;
  size_t start = 0;
  for (size_t i = 0; i < f.labels.size(); ++i) {
    size_t end = key.find('\0', start);
    if (end == std::string::npos) {
      end = key.size();
    }
    std::string_view value(key.data() + start, end - start);
    if (!value.empty()) {
      out.push_back('.');
      out += f.labels[i];
      out.push_back('.');
      out += value;
    }
    start = std::min(end + 1, key.size());
  }
  return out;
}

}  // namespace

std::string node_info_prefix(std::string_view name) {
  std::string out;
  auto add = [&out](std::string_view part) {
    if (part.empty()) {
      return;
    }
    if (!out.empty()) {
      out.push_back('.');
    }
    out += part;
  };
  size_t first = name.find('_');
  if (first == std::string_view::npos) {
    add(name);
    return out;
  }
  add(name.substr(0, first));
  std::string_view rest = name.substr(first + 1);
  size_t second = rest.find('_');
  if (second == std::string_view::npos) {
    add(rest);
    return out;
  }
  add(rest.substr(0, second));
  add(rest.substr(second + 1));
  return out;
}

std::map<std::string, double> NodeInfoAggregator::flatten(const Registry& registry,
                                                         const Snapshot& values,
                                                         bool remember) {
  std::map<std::string, double> items;
  auto delta = [&](const std::string& k, double now) {
    double out = now;
    if (auto it = previous_.find(k); it != previous_.end() && remember) {
      out = now - it->second;
    }
    if (remember) {
      previous_[k] = now;
    }
    return out;
  };
  for (FamilyId id = 0; id < registry.size() && id < values.families.size(); ++id) {
    const Family& f = registry.family(id);
    if (f.kind == Kind::kHistogram) {
      continue;
    }
    const std::string prefix = node_info_prefix(f.name);
    for (const auto& [key, s] : values.families[id]) {
      const std::string labels = label_suffix(f, key);
      switch (f.kind) {
        case Kind::kGauge:
          items[prefix + labels] = s.value;
          break;
        case Kind::kCounter:
          items[prefix + labels] = delta(prefix + labels, static_cast<double>(s.count) + s.value);
          break;
        case Kind::kSummary: {
          items[prefix + ".sum" + labels] = delta(prefix + ".sum" + labels, s.sum);
          items[prefix + ".count" + labels] =
              delta(prefix + ".count" + labels, static_cast<double>(s.count));
          if (!s.window.empty()) {
            std::vector<double> sorted = s.window;
            std::ranges::sort(sorted);
            for (double q : kSummaryQuantiles) {
              items[prefix + ".quantile." + quantile_name(q) + labels] = quantile(sorted, q);
            }
          }
          break;
        }
        case Kind::kHistogram:
          break;
      }
    }
  }
  return items;
}

}  // namespace gyre::metrics
