#include "core/log.h"

#include <charconv>
#include <cmath>

#include "core/json_escape.h"

namespace gyre::logging {

void Field::append_json(std::string& out) const {
  out.push_back(',');
  append_json_string(out, key_);
  out.push_back(':');
  char buf[32];
  switch (kind_) {
    case Kind::kString:
      append_json_string(out, s_);
      return;
    case Kind::kInt: {
      auto r = std::to_chars(buf, buf + sizeof buf, i_);
      out.append(buf, r.ptr);
      return;
    }
    case Kind::kUint: {
      auto r = std::to_chars(buf, buf + sizeof buf, u_);
      out.append(buf, r.ptr);
      return;
    }
    case Kind::kBool:
      out += b_ ? "true" : "false";
      return;
    case Kind::kDouble: {
      if (std::isnan(d_)) {
        out += "\"NaN\"";
      } else if (std::isinf(d_)) {
        out += d_ > 0 ? "\"+Inf\"" : "\"-Inf\"";
      } else {
        auto r = std::to_chars(buf, buf + sizeof buf, d_);
        out.append(buf, r.ptr);
      }
      return;
    }
  }
}

std::string payload(std::string_view message, std::span<const Field> fields) {
  std::string out(message);
  // A message holding the mark itself (a configuration value quoted in an error) gets the mark
  // after it even without fields: the formatters split at the last mark.
  if (!fields.empty() || message.find(kFieldsMark) != std::string_view::npos) {
    out.push_back(kFieldsMark);
    for (const Field& f : fields) {
      f.append_json(out);
    }
  }
  return out;
}

void set_level(Level level) {
  spdlog::set_level(level);
  detail::min_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

void write(Level level, std::string_view message, std::span<const Field> fields) {
  if (fields.empty() && message.find(kFieldsMark) == std::string_view::npos) {
    spdlog::default_logger_raw()->log(level, spdlog::string_view_t(message.data(), message.size()));
    return;
  }
  std::string p = payload(message, fields);
  spdlog::default_logger_raw()->log(level, spdlog::string_view_t(p.data(), p.size()));
}

namespace {

// Go's fmtFrac/fmtInt: `v` with `prec` fractional digits, trailing zeros (and the point) dropped.
std::string frac(uint64_t v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) {
      digits.insert(digits.begin(), static_cast<char>('0' + digit));
    }
    v /= 10;
  }
  std::string out = std::to_string(v);
  if (print) {
    out += '.';
    out += digits;
  }
  return out;
}

}  // namespace

std::string go_duration(std::chrono::nanoseconds d) {
  int64_t n = d.count();
  if (n == 0) {
    return "0s";
  }
  bool neg = n < 0;
  uint64_t u = neg ? static_cast<uint64_t>(-(n + 1)) + 1 : static_cast<uint64_t>(n);
  std::string out;
  if (u < 1'000'000'000ULL) {
    // Sub-second: ns, µs or ms with a fraction.
    if (u < 1'000ULL) {
      out = std::to_string(u) + "ns";
    } else if (u < 1'000'000ULL) {
      out = frac(u, 3) + "\xc2\xb5s";  // U+00B5 micro sign, as Go
    } else {
      out = frac(u, 6) + "ms";
    }
  } else {
    uint64_t secs_frac = u % 1'000'000'000ULL;
    uint64_t secs = u / 1'000'000'000ULL;
    std::string s = frac(secs % 60 * 1'000'000'000ULL + secs_frac, 9) + "s";
    uint64_t mins = secs / 60;
    if (mins > 0) {
      s = std::to_string(mins % 60) + "m" + s;
      uint64_t hours = mins / 60;
      if (hours > 0) {
        s = std::to_string(hours) + "h" + s;
      }
    }
    out = s;
  }
  return neg ? "-" + out : out;
}

}  // namespace gyre::logging
