#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/value.h"

// Helpers shared by loader.cc, applier*.cc and validate.cc. Pure functions: thread-safe.
namespace gyre::config::internal {

// Go's time.Duration.String() at millisecond resolution: "0s", "300ms", "1m30s", "720h0m0s".
std::string format_duration(Duration d);

// Go's strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False.
bool parse_go_bool(std::string_view text, bool& out);

inline constexpr std::string_view kEnvPrefix = "CENTRIFUGO_";
inline constexpr std::string_view kV6NamespaceItemPrefix = "CENTRIFUGO_CHANNEL_NAMESPACES_";
inline constexpr std::string_view kV6ProxyItemPrefix = "CENTRIFUGO_PROXIES_";
inline constexpr uint64_t kMaxDurationNs =
    static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// 1<<63: the magnitude of the most negative duration, the bound Go's parser checks against.
inline constexpr uint64_t kDurationLimit = kMaxDurationNs + 1;

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
// Go's strconv.ParseInt(text, 0, 64): optional sign, then decimal, 0x/0X hex, 0o/0O or
// leading-0 octal, 0b/0B binary.
bool parse_go_int(std::string_view text, int64_t& out);
// Whitespace-separated fields (Go's strings.Fields).
std::vector<std::string> split_fields(std::string_view text);
// A decimal integer with an optional '+'.
bool parse_int(std::string_view text, int64_t& out);
bool all_digits(std::string_view text);
// Checks the proxy keys and fills config.proxies_resolved (config/proxies.cc); throws
// ConfigError naming the key. Unknown keys inside proxy objects become warnings.
void resolve_proxies(Config& config, std::vector<std::string>& warnings);
// Granular mode: every *_proxy_name names a proxy of config.proxies_resolved.
void check_proxy_names(const Config& config);
// A value as an error message shows it: true, 42, 1.5, "text", object...
std::string describe(const Value& v);

}  // namespace gyre::config::internal
