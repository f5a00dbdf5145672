#include "metrics/exposition.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <string_view>
#include <vector>

namespace gyre::metrics {

namespace {

std::string_view type_name(Kind k) {
  switch (k) {
    case Kind::kCounter:
      return "counter";
    case Kind::kGauge:
      return "gauge";
    case Kind::kHistogram:
      return "histogram";
    case Kind::kSummary:
      return "summary";
  }
  return "untyped";
}

// HELP text: backslash and newline escaped (expfmt).
void append_help(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

// Label values: backslash, double quote and newline escaped.
void append_label_value(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

// `{a="x",b="y"[,extra="v"]}` or nothing when there are no labels at all.
void append_labels(std::string& out, const Family& f, std::string_view key,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (f.labels.empty() && extra_name.empty()) {
    return;
  }
  out.push_back('{');
  size_t pos = 0;
  for (size_t i = 0; i < f.labels.size(); ++i) {
    size_t end = key.find('\0', pos);
    if (end == std::string_view::npos) {
      end = key.size();
    }
    if (i > 0) {
      out.push_back(',');
    }
    out += f.labels[i];
    out += "=\"";
    append_label_value(out, key.substr(pos, end - pos));
    out.push_back('"');
    pos = end + 1;
  }
  if (!extra_name.empty()) {
    if (!f.labels.empty()) {
      out.push_back(',');
    }
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out.push_back('"');
  }
  out.push_back('}');
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const Family& f, std::string_view key, double v,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  append_labels(out, f, key, extra_name, extra_value);
  out.push_back(' ');
  out += format_value(v);
  out.push_back('\n');
}

// Nearest-rank quantile of sorted samples (NaN without samples, as client_golang prints).
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) {
    return std::nan("");
  }
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace

std::string format_value(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  if (v == 0) {
    return "0";  // expfmt writes -0 as 0 too
  }
  // strconv 'g' with the shortest precision uses %e when the decimal exponent is < -4 or
  // >= 6 (ftoa.go: `if shortest { eprec = 6 }`), the plain form otherwise; both with the
  // shortest digits that round-trip, which std::to_chars also produces.
  char sci[64];
  auto r = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  std::string_view s(sci, static_cast<size_t>(r.ptr - sci));
  size_t e = s.find('e');
  int exp = 0;
  std::from_chars(s.data() + e + (s[e + 1] == '+' ? 2 : 1), s.data() + s.size(), exp);
  if (exp < -4 || exp >= 6) {
    return std::string(s);
  }
  char fixed[64];
  auto rf = std::to_chars(fixed, fixed + sizeof fixed, v, std::chars_format::fixed);
  return std::string(fixed, static_cast<size_t>(rf.ptr - fixed));
}

std::string expose(const Registry& registry, const Snapshot& values) {
  std::vector<FamilyId> order(registry.size());
  std::iota(order.begin(), order.end(), 0);
  std::ranges::sort(order, {}, [&](FamilyId id) -> const std::string& {
    return registry.family(id).name;
  });
  std::string out;
  for (FamilyId id : order) {
    if (id >= values.families.size() || values.families[id].empty()) {
      continue;
    }
    const Family& f = registry.family(id);
    out += "# HELP ";
    out += f.name;
    out.push_back(' ');
    append_help(out, f.help);
    out += "\n# TYPE ";
    out += f.name;
    out.push_back(' ');
    out += type_name(f.kind);
    out.push_back('\n');
    for (const auto& [key, s] : values.families[id]) {
      switch (f.kind) {
        case Kind::kCounter:
          append_sample(out, f.name, "", f, key, static_cast<double>(s.count) + s.value);
          break;
        case Kind::kGauge:
          append_sample(out, f.name, "", f, key, s.value);
          break;
        case Kind::kHistogram: {
          uint64_t cumulative = 0;
          for (size_t b = 0; b < f.buckets.size(); ++b) {
            cumulative += b < s.buckets.size() ? s.buckets[b] : 0;
            append_sample(out, f.name, "_bucket", f, key, static_cast<double>(cumulative), "le",
                          format_value(f.buckets[b]));
          }
          append_sample(out, f.name, "_bucket", f, key, static_cast<double>(s.count), "le",
                        "+Inf");
          append_sample(out, f.name, "_sum", f, key, s.sum);
          append_sample(out, f.name, "_count", f, key, static_cast<double>(s.count));
          break;
        }
        case Kind::kSummary: {
          std::vector<double> sorted = s.window;
          std::ranges::sort(sorted);
          for (double q : kSummaryQuantiles) {
            append_sample(out, f.name, "", f, key, quantile(sorted, q), "quantile",
                          format_value(q));
          }
          append_sample(out, f.name, "_sum", f, key, s.sum);
          append_sample(out, f.name, "_count", f, key, static_cast<double>(s.count));
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace gyre::metrics
