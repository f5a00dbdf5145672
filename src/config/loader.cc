#include "config/loader.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <re2/re2.h>

#include "config/applier.h"
#include "config/dump.h"
#include "config/internal.h"
#include "config/redis_tls.h"
#include "core/ascii.h"
#include "core/host.h"
#include "core/random.h"
#include "config/schema.h"
#include "config/value.h"

extern char** environ;

namespace gyre::config {

namespace internal {

std::string format_duration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) {
    return "0s";
  }
  std::string sign = ms < 0 ? "-" : "";
  // Negating INT64_MIN is not representable; such a duration never comes from a config.
  uint64_t abs_ms = ms < 0 ? static_cast<uint64_t>(-(ms + 1)) + 1 : static_cast<uint64_t>(ms);
  if (abs_ms < 1000) {
    return fmt::format("{}{}ms", sign, abs_ms);
  }
  uint64_t hours = abs_ms / 3600000;
  uint64_t minutes = abs_ms / 60000 % 60;
  uint64_t seconds = abs_ms / 1000 % 60;
  uint64_t millis = abs_ms % 1000;
  std::string secs = fmt::format("{}", seconds);
  if (millis != 0) {
    std::string frac = fmt::format("{:03}", millis);
    frac.erase(frac.find_last_not_of('0') + 1);
    secs += "." + frac;
  }
  if (hours > 0) {
    return fmt::format("{}{}h{}m{}s", sign, hours, minutes, secs);
  }
  if (minutes > 0) {
    return fmt::format("{}{}m{}s", sign, minutes, secs);
  }
  return fmt::format("{}{}s", sign, secs);
}

bool parse_go_bool(std::string_view text, bool& out) {
  static constexpr std::array<std::string_view, 6> kTrue = {"1",    "t",    "T",
                                                            "TRUE", "true", "True"};
  static constexpr std::array<std::string_view, 6> kFalse = {"0",     "f",     "F",
                                                             "FALSE", "false", "False"};
  if (std::ranges::find(kTrue, text) != kTrue.end()) {
    out = true;
    return true;
  }
  if (std::ranges::find(kFalse, text) != kFalse.end()) {
    out = false;
    return true;
  }
  return false;
}

// Go's strconv.ParseInt(text, 0, 64): optional sign, then decimal, 0x/0X hex, 0o/0O or
// leading-0 octal, 0b/0B binary.
bool parse_go_int(std::string_view text, int64_t& out) {
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0') {
    char p = static_cast<char>(text[1] | 0x20);
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
    if (base != 10) {
      text.remove_prefix(2);
    }
  }
  if (base == 10 && text.size() > 1 && text[0] == '0') {
    base = 8;
    text.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return false;
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (magnitude > kMax + (negative ? 1 : 0)) {
    return false;
  }
  out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}


std::vector<std::string> split_fields(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    if (i > start) {
      out.emplace_back(text.substr(start, i - start));
    }
  }
  return out;
}

bool parse_int(std::string_view text, int64_t& out) {
  if (!text.empty() && text[0] == '+') {
    text.remove_prefix(1);
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::ranges::all_of(text, is_digit);
}

std::string describe(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kBool:
      return v.boolean ? "true" : "false";
    case Value::Kind::kInt:
      return std::to_string(v.integer);
    case Value::Kind::kDouble:
      return fmt::format("{}", v.number);
    case Value::Kind::kString:
      return fmt::format("\"{}\"", v.string);
    default:
      return std::string(kind_name(v.kind));
  }
}

}  // namespace internal

namespace {

using internal::Applier;
using schema::FieldRef;
using schema::Type;
using internal::describe;
using internal::is_digit;
using internal::kDurationLimit;
using internal::kMaxDurationNs;

std::string read_file(const std::string& path, bool& found) {
  std::error_code ec;
  found = std::filesystem::exists(path, ec);
  if (!found) {
    return {};
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw ConfigError(fmt::format("config: file \"{}\": not a regular file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(fmt::format("config: file \"{}\": cannot open: {}", path,
                                  std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw ConfigError(fmt::format("config: file \"{}\": read error", path));
  }
  return text.str();
}

std::string extension_of(const std::string& path) {
  return ascii_lower(std::filesystem::path(path).extension().string());
}

Value parse_file(const std::string& path, const std::string& text) {
  std::string ext = extension_of(path);
  std::string origin = fmt::format("file \"{}\"", path);
  if (ext == ".yaml" || ext == ".yml") {
    return parse_yaml(text, origin);
  }
  if (ext == ".toml") {
    return parse_toml(text, origin);
  }
  // .json and anything else: JSON, like Centrifugo's default `config.json`.
  return parse_json(text, origin);
}


// v6-config.md §4.3 for a file: the first key that signals a shape decides it; a key of the
// other shape later is an error naming both. No signal: nullopt.
std::optional<Shape> detect_file_shape(const Value& root, const std::string& path) {
  std::optional<Shape> shape;
  std::string first;
  for (const auto& [raw_key, value] : root.fields) {
    std::string key = ascii_lower(raw_key);
    schema::Signal signal = schema::top_level_signal(key, value.kind == Value::Kind::kObject);
    if (signal == schema::Signal::kNone) {
      continue;
    }
    Shape found = signal == schema::Signal::kV6 ? Shape::kV6 : Shape::kV5;
    if (!shape) {
      shape = found;
      first = raw_key;
    } else if (*shape != found) {
      auto name = [](Shape s) {
        return s == Shape::kV6 ? "Centrifugo v6 nested block" : "Centrifugo v5 flat key";
      };
      throw ConfigError(fmt::format(
          "config: file \"{}\": key \"{}\" is a {}, but the file's first key \"{}\" is a {}; "
          "a file uses one shape (v6-config.md §4)",
          path, raw_key, name(found), first, name(*shape)));
    }
  }
  return shape;
}

// v6-config.md §1.9: in the v6 shape a defaulted scalar still holding its zero value after
// file and environment takes the default (client.channel_limit: 0 means 128). Booleans (none
// defaults to true) and lists (an explicit [] is kept) are left alone.
void apply_v6_zero_defaults(Config& config) {
  const Config defaults;
  for (const auto& spec : schema::global_keys()) {
    if (spec.v6.empty()) {
      continue;
    }
    FieldRef field = schema::bind(config, spec.member);
    FieldRef fallback = schema::bind(const_cast<Config&>(defaults), spec.member);
    std::visit(
        [&fallback](auto* p) {
          using T = std::remove_pointer_t<decltype(p)>;
          if (p == nullptr) {
            return;
          }
          T* d = std::get<T*>(fallback);
          if constexpr (std::is_same_v<T, int> || std::is_same_v<T, int64_t> ||
                        std::is_same_v<T, std::string>) {
            if (*p == T{} && *d != T{}) {
              *p = *d;
            }
          } else if constexpr (std::is_same_v<T, Duration>) {
            if (p->count() == 0 && d->count() != 0) {
              *p = *d;
            }
          }
        },
        field);
  }
}

void compile_regex(ChannelOptions& options, const std::string& path) {
  if (options.channel_regex.empty()) {
    options.channel_regex_compiled.reset();
    return;
  }
  auto re = std::make_shared<re2::RE2>(options.channel_regex, re2::RE2::Quiet);
  if (!re->ok()) {
    throw ConfigError(fmt::format("config: key \"{}\": invalid regex \"{}\": {}", path,
                                  options.channel_regex, re->error()));
  }
  options.channel_regex_compiled = std::move(re);
}

void normalise_log_level(Config& config, std::vector<std::string>& warnings) {
  static constexpr std::array<std::string_view, 6> kLevels = {"none", "trace", "debug",
                                                              "info", "warn",  "error"};
  std::string level = ascii_lower(config.log_level);
  if (std::ranges::find(kLevels, level) == kLevels.end()) {
    // Centrifugo falls back to info rather than refusing to start.
    warnings.push_back(fmt::format("unknown log_level \"{}\", using info", config.log_level));
    level = "info";
  }
  config.log_level = level;
}

}  // namespace

LoadResult load(const LoadInput& input) {
  LoadResult result;
  Config& config = result.config;
  Applier applier(config, result.warnings);

  std::optional<Shape> file_shape;
  if (!input.config_path.empty()) {
    bool found = false;
    std::string text = read_file(input.config_path, found);
    if (found) {
      Value root = parse_file(input.config_path, text);
      if (root.kind != Value::Kind::kNull) {  // null: empty YAML document
        if (root.kind != Value::Kind::kObject) {
          throw ConfigError(
              fmt::format("config: file \"{}\": top level must be an object, got {}",
                          input.config_path, kind_name(root.kind)));
        }
        file_shape = detect_file_shape(root, input.config_path);
        applier.apply_file(root, file_shape.value_or(Shape::kV5));
      }
    } else {
      // Centrifugo starts without its default config.json; an explicit path is treated the
      // same way (only a warning), see reference.md §8.1.
      result.warnings.push_back(
          fmt::format("config file \"{}\" not found, using defaults", input.config_path));
    }
  }
  applier.apply_env(input.env);
  applier.apply_flags(input.flags);
  result.shape = file_shape.value_or(applier.env_signals_v6() ? Shape::kV6 : Shape::kV5);
  if (result.shape == Shape::kV6) {
    config.v6_proxies = true;
    apply_v6_zero_defaults(config);
    if (config.client_connection_rate_limit > 0 && config.client_connection_limit <= 0) {
      // v6-config.md §2.4: v6 applies the rate limit on its own; Gyre keeps v5's rule for now.
      result.warnings.push_back(
          "key \"client.connection_rate_limit\" takes effect only together with "
          "\"client.connection_limit\" in this version of Gyre (Centrifugo v5 behaviour)");
    }
  }

  normalise_log_level(config, result.warnings);
  if (config.name.empty()) {
    config.name = fmt::format("{}_{}", hostname(), config.port);
  }
  compile_regex(config.channel, "channel_regex");
  for (size_t i = 0; i < config.namespaces.size(); ++i) {
    compile_regex(config.namespaces[i].options, fmt::format("namespaces[{}].channel_regex", i));
  }
  if (input.validate) {
    internal::resolve_proxies(config, result.warnings);
    internal::resolve_redis_tls(config, result.warnings);
    validate(config);
  } else {
    // Unchecked (samples, reload preparation): resolve what is valid, skip what is not.
    try {
      internal::resolve_proxies(config, result.warnings);
    } catch (const ConfigError&) {
      config.proxies_resolved = {};
    }
    try {
      internal::resolve_redis_tls(config, result.warnings);
    } catch (const ConfigError&) {
      config.redis_tls_resolved = {};
      config.redis_sentinel_tls_resolved = {};
    }
  }
  return result;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view kv(*entry);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

// Go's time.ParseDuration, then truncated to milliseconds (Duration's resolution). A non-zero
// duration shorter than 1ms is rejected rather than silently becoming 0, which means
// "disabled" for many keys.
bool parse_duration(std::string_view text, Duration& out) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    out = Duration(0);
    return true;
  }
  if (s.empty()) {
    return false;
  }
  struct Unit {
    std::string_view name;
    uint64_t ns;
  };
  static constexpr std::array<Unit, 8> kUnits = {{
      {"ns", 1},
      {"us", 1000},
      {"\xc2\xb5s", 1000},  // U+00B5 micro sign
      {"\xce\xbcs", 1000},  // U+03BC Greek mu
      {"ms", 1000000},
      {"s", 1000000000},
      {"m", 60ULL * 1000000000},
      {"h", 3600ULL * 1000000000},
  }};
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || is_digit(s[0]))) {
      return false;
    }
    // Integer part.
    uint64_t value = 0;
    size_t i = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (value > kDurationLimit / 10) {
        return false;  // overflow
      }
      value = value * 10 + static_cast<uint64_t>(s[i] - '0');
      if (value > kDurationLimit) {
        return false;
      }
    }
    bool pre = i > 0;
    s.remove_prefix(i);
    // Fraction: digits after '.', kept while they fit, like Go's leadingFraction.
    uint64_t fraction = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      bool overflow = false;
      size_t j = 0;
      for (; j < s.size() && is_digit(s[j]); ++j) {
        if (overflow) {
          continue;
        }
        uint64_t next = fraction * 10 + static_cast<uint64_t>(s[j] - '0');
        if (fraction > kMaxDurationNs / 10 || next > kDurationLimit) {
          overflow = true;
          continue;
        }
        fraction = next;
        scale *= 10;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) {
      return false;  // "." or ".s"
    }
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !is_digit(s[u])) {
      ++u;
    }
    if (u == 0) {
      return false;  // missing unit
    }
    std::string_view unit_name = s.substr(0, u);
    s.remove_prefix(u);
    auto unit = std::ranges::find(kUnits, unit_name, &Unit::name);
    if (unit == kUnits.end()) {
      return false;
    }
    if (value > kDurationLimit / unit->ns) {
      return false;
    }
    value *= unit->ns;
    if (fraction > 0) {
      value += static_cast<uint64_t>(static_cast<double>(fraction) *
                                     (static_cast<double>(unit->ns) / scale));
      if (value > kDurationLimit) {
        return false;
      }
    }
    total += value;
    if (total > kDurationLimit) {
      return false;
    }
  }
  if (!negative && total > kMaxDurationNs) {
    return false;
  }
  uint64_t ms = total / 1000000;
  if (ms == 0 && total != 0) {
    return false;
  }
  out = Duration(negative ? -static_cast<int64_t>(ms) : static_cast<int64_t>(ms));
  return true;
}

std::string generate_config(const std::string& path, Shape shape) {
  Format format = format_for_path(path);
  auto secret = [] { return Value::make_string(random::uuid_v4()); };
  Value root = Value::make_object();
  auto object = [](std::initializer_list<std::pair<const char*, Value>> fields) {
    Value v = Value::make_object();
    for (const auto& [k, f] : fields) {
      v.fields.emplace_back(k, f);
    }
    return v;
  };
  if (shape == Shape::kV6) {
    // What `centrifugo genconfig` v6 writes (v6-config.md §5).
    root.fields.emplace_back(
        "client", object({{"token", object({{"hmac_secret_key", secret()}})},
                          {"allowed_origins", Value::make_array()}}));
    root.fields.emplace_back("admin", object({{"enabled", Value::make_bool(false)},
                                              {"password", secret()},
                                              {"secret", secret()}}));
    root.fields.emplace_back("http_api", object({{"key", secret()}}));
  } else {
    root.fields.emplace_back("token_hmac_secret_key", secret());
    root.fields.emplace_back("admin_password", secret());
    root.fields.emplace_back("admin_secret", secret());
    root.fields.emplace_back("api_key", secret());
    root.fields.emplace_back("allowed_origins", Value::make_array());
  }
  return render(root, format);
}

Config apply_reload(const Config& running, const Config& fresh) {
  Config next = running;
  next.token = fresh.token;
  next.subscription_token = fresh.subscription_token;
  next.separate_subscription_token_config = fresh.separate_subscription_token_config;
  next.client_insecure_skip_token_signature_verify =
      fresh.client_insecure_skip_token_signature_verify;
  next.client_insecure = fresh.client_insecure;
  next.allow_anonymous_connect_without_token = fresh.allow_anonymous_connect_without_token;
  next.disallow_anonymous_connection_tokens = fresh.disallow_anonymous_connection_tokens;
  next.client_history_max_publication_limit = fresh.client_history_max_publication_limit;
  next.client_recovery_max_publication_limit = fresh.client_recovery_max_publication_limit;
  next.channel_max_length = fresh.channel_max_length;
  next.channel_private_prefix = fresh.channel_private_prefix;
  next.channel_namespace_boundary = fresh.channel_namespace_boundary;
  next.channel_user_boundary = fresh.channel_user_boundary;
  next.channel_user_separator = fresh.channel_user_separator;
  next.user_subscribe_to_personal = fresh.user_subscribe_to_personal;
  next.user_personal_channel_namespace = fresh.user_personal_channel_namespace;
  next.user_personal_single_connection = fresh.user_personal_single_connection;
  next.channel = fresh.channel;
  next.namespaces = fresh.namespaces;
  // RPC routing reloads as Centrifugo's rule config does; the proxies themselves do not, so
  // every name must still resolve against the running ones.
  next.rpc_proxy_name = fresh.rpc_proxy_name;
  next.rpc_namespace_boundary = fresh.rpc_namespace_boundary;
  next.rpc_namespaces = fresh.rpc_namespaces;
  next.v6_rpc_proxy_enabled = fresh.v6_rpc_proxy_enabled;
  next.proxies_resolved.rpc_namespaces = fresh.proxies_resolved.rpc_namespaces;
  internal::check_proxy_names(next);
  return next;
}

}  // namespace gyre::config
