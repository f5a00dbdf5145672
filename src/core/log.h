#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

// Log lines with structured fields, as Centrifugo's zerolog lines: a constant message plus typed
// fields, e.g.
//
//   logging::error("error publishing data to channel", {{"channel", ch}, {"error", e.message}});
//
// In JSON output (a non-terminal stdout, log_file) each field is its own member between "level"
// and "time", in the order given, strings as JSON strings, numbers and booleans unquoted; on a
// terminal the line ends with `key=value` pairs. spdlog stays the sink: the fields travel in the
// spdlog payload after kFieldsMark and the formatters (core/log_sink.h) place them.
//
// Cost when the level is off: one relaxed atomic load (set_level's copy of the level) and the
// field views built on the stack by the caller; nothing is formatted or allocated. A value that
// is expensive to compute should be guarded with `if (logging::enabled(level))`.
//
// Thread-safe: spdlog's default logger is thread-safe and these functions keep no state.
namespace gyre::logging {

using Level = spdlog::level::level_enum;

// Separates the message from the JSON-encoded fields in a spdlog payload (the last one in it).
// Field values are JSON-escaped, so the byte cannot occur in them.
inline constexpr char kFieldsMark = '\x1e';

// One field: a key and a typed value. Views the strings it is given, so it lives only for the
// full expression of the log call that takes it (it is not copyable into a container).
class Field {
 public:
  Field(std::string_view key, std::string_view value) : key_(key), kind_(Kind::kString), s_(value) {}
  Field(std::string_view key, const std::string& value) : Field(key, std::string_view(value)) {}
  // A null pointer is an empty string.
  Field(std::string_view key, const char* value)
      : Field(key, value == nullptr ? std::string_view() : std::string_view(value)) {}
  template <std::integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char>)
  Field(std::string_view key, T value) : key_(key) {
    if constexpr (std::is_signed_v<T>) {
      kind_ = Kind::kInt;
      i_ = static_cast<int64_t>(value);
    } else {
      kind_ = Kind::kUint;
      u_ = static_cast<uint64_t>(value);
    }
  }
  Field(std::string_view key, bool value) : key_(key), kind_(Kind::kBool), b_(value) {}
  // NaN and infinities are written as the strings "NaN", "+Inf", "-Inf" (zerolog's choice).
  Field(std::string_view key, double value) : key_(key), kind_(Kind::kDouble), d_(value) {}

  Field(const Field&) = delete;
  Field& operator=(const Field&) = delete;

  // Appends `,"key":value`.
  void append_json(std::string& out) const;

 private:
  enum class Kind : uint8_t { kString, kInt, kUint, kBool, kDouble };
  std::string_view key_;
  Kind kind_;
  union {
    std::string_view s_;
    int64_t i_;
    uint64_t u_;
    bool b_;
    double d_;
  };
};

// The spdlog payload of a line: `message`, then kFieldsMark and `,"k":v...` when there are fields.
std::string payload(std::string_view message, std::span<const Field> fields);

namespace detail {
// The level given to set_level (trace until then: every line goes on to spdlog's own check).
inline std::atomic<int> min_level{static_cast<int>(Level::trace)};
}  // namespace detail

// Sets the default logger's level (spdlog::set_level) and the copy enabled() checks first.
void set_level(Level level);

// True when a line at `level` would be written by the default logger. Below set_level's level
// this is one relaxed load, without a call into spdlog.
inline bool enabled(Level level) {
  return static_cast<int>(level) >= detail::min_level.load(std::memory_order_relaxed) &&
         spdlog::default_logger_raw()->should_log(level);
}

// Writes the line through the default logger; call log() (it checks the level first).
void write(Level level, std::string_view message, std::span<const Field> fields);

inline void log(Level level, std::string_view message, std::initializer_list<Field> fields = {}) {
  if (enabled(level)) {
    write(level, message, std::span<const Field>(fields.begin(), fields.size()));
  }
}
inline void trace(std::string_view message, std::initializer_list<Field> fields = {}) {
  log(Level::trace, message, fields);
}
inline void debug(std::string_view message, std::initializer_list<Field> fields = {}) {
  log(Level::debug, message, fields);
}
inline void info(std::string_view message, std::initializer_list<Field> fields = {}) {
  log(Level::info, message, fields);
}
inline void warn(std::string_view message, std::initializer_list<Field> fields = {}) {
  log(Level::warn, message, fields);
}
inline void error(std::string_view message, std::initializer_list<Field> fields = {}) {
  log(Level::err, message, fields);
}
// zerolog's "fatal" level: the caller exits after it.
inline void fatal(std::string_view message, std::initializer_list<Field> fields = {}) {
  log(Level::critical, message, fields);
}

// Go's time.Duration.String() ("1.5s", "2m3.000000004s", "12.345µs", "0s"): Centrifugo writes
// durations in log fields this way.
std::string go_duration(std::chrono::nanoseconds d);

}  // namespace gyre::logging
