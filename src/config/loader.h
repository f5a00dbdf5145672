#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.h"

namespace gyre::config {

// Thrown at start-up (and by checkconfig) for an invalid configuration. what() names the
// offending key, e.g. "config: key \"ping_interval\": invalid duration \"abc\"".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The configuration shape in use (v6-config.md §4): Centrifugo v5 flat keys or Centrifugo v6
// nested blocks. Detected from the file's top-level keys, or, when the file gives no signal,
// from the environment (v6 names and no v5-only names means v6). Environment variables of
// both shapes are read whatever the shape; v6 semantics (§1.8-§1.9: zero values take the
// default, a number in a file is nanoseconds) apply only to the v6 shape.
enum class Shape { kV5, kV6 };

// Where values come from. `flags` holds command-line flags that were explicitly set,
// keyed by config key (e.g. {"port","9000"}, {"client_insecure","true"}); values are text
// and are parsed with the same rules as environment variables.
struct LoadInput {
  std::string config_path;                 // "" = no file
  bool config_path_explicit = false;       // a missing explicit file is still only a warning
  std::map<std::string, std::string> env;  // usually the process environment
  std::map<std::string, std::string> flags;
  // false: skip validate() (checkconfig --print and tests that compare effective configs
  // which Gyre cannot run, e.g. spec worked examples using Redis).
  bool validate = true;
};

struct LoadResult {
  Config config;
  std::vector<std::string> warnings;  // unknown keys, missing file, ...
  Shape shape = Shape::kV5;
};

// Loads, merges (flags > env > file > defaults) and validates. Throws ConfigError, also for
// a file mixing v5 and v6 keys (naming the first key of the other shape). Environment order:
// v5 names, then v6 names, then v6 per-namespace names (CENTRIFUGO_CHANNEL_NAMESPACES_<N>_*).
LoadResult load(const LoadInput& input);

// Validates a loaded config (cross-key rules of server-api.md §5.2, ping > pong, ...).
// Throws ConfigError. Called by load().
void validate(const Config& config);

// SIGHUP (reference.md §7.11): `running` with what a reload may change taken from `fresh` —
// token verification settings and the channel rules (namespaces, top-level channel options,
// channel name rules, personal channel, anonymous/insecure access). Everything else
// (addresses, engine, transports, timers) keeps its running value.
Config apply_reload(const Config& running, const Config& fresh);

// The process environment as a map (for LoadInput::env).
std::map<std::string, std::string> process_environment();

// Parses a Go-style duration ("300ms", "1.5s", "2h45m", "0"). Returns false on error.
bool parse_duration(std::string_view text, Duration& out);

// genconfig: renders a minimal config for `path` (format by extension: .json, .yaml/.yml,
// .toml) with fresh random secrets for the token HMAC key, the admin password and secret
// and the API key, and empty allowed origins; v6 nested blocks (client.token, admin,
// http_api) or v5 flat keys. Throws ConfigError for an unknown extension.
std::string generate_config(const std::string& path, Shape shape);

}  // namespace gyre::config
