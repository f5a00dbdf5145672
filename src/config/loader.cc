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
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <re2/re2.h>

#include "config/internal.h"
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

}  // namespace internal

namespace {

using schema::FieldRef;
using schema::Type;

constexpr std::string_view kEnvPrefix = "CENTRIFUGO_";
constexpr uint64_t kMaxDurationNs = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// 1<<63: the magnitude of the most negative duration, the bound Go's parser checks against.
constexpr uint64_t kDurationLimit = kMaxDurationNs + 1;

bool is_digit(char c) { return c >= '0' && c <= '9'; }


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

// Applies values from the file tree, the environment and flags to a Config through the
// schema table, in that order, so later sources override earlier ones. Collects warnings and
// throws ConfigError naming the key (and, for env and flags, where the value came from).
// Not thread-safe: one instance lives on the stack of one load() call.
class Applier {
 public:
  Applier(Config& config, std::vector<std::string>& warnings)
      : config_(config), warnings_(warnings) {}

  void apply_file(const Value& root, const std::string& path) {
    if (root.kind == Value::Kind::kNull) {
      return;  // empty YAML document
    }
    if (root.kind != Value::Kind::kObject) {
      throw ConfigError(fmt::format("config: file \"{}\": top level must be an object, got {}",
                                    path, kind_name(root.kind)));
    }
    text_ = false;
    origin_.clear();
    for (const auto& [key, value] : root.fields) {
      apply_top_level(key, value);
    }
  }

  void apply_env(const std::map<std::string, std::string>& env) {
    text_ = true;
    for (const auto& [name, text] : env) {
      // Empty values are unset (reference.md §8.1); CENTRIFUGO_ alone names no key.
      if (!name.starts_with(kEnvPrefix) || name.size() == kEnvPrefix.size() || text.empty()) {
        continue;
      }
      origin_ = fmt::format(" (from {})", name);
      apply_top_level(ascii_lower(std::string_view(name).substr(kEnvPrefix.size())),
                      Value::make_string(text));
    }
  }

  void apply_flags(const std::map<std::string, std::string>& flags) {
    text_ = true;
    for (const auto& [key, text] : flags) {
      origin_ = fmt::format(" (from flag --{})", key);
      apply_top_level(key, Value::make_string(text));
    }
  }

 private:
  [[noreturn]] void fail(std::string_view path, std::string_view message) const {
    throw ConfigError(fmt::format("config: key \"{}\": {}{}", path, message, origin_));
  }

  void warn(std::string message) { warnings_.push_back(message + origin_); }

  void apply_top_level(const std::string& key, const Value& value) {
    if (value.kind == Value::Kind::kNull) {
      return;  // `key:` without a value in YAML, or JSON null: leave the default
    }
    for (const auto& spec : schema::global_keys()) {
      if (spec.name == key) {
        if (spec.type == Type::kNamespaces) {
          apply_namespaces(value);
        } else {
          set(schema::bind(config_, spec.member), spec.type, value, key);
        }
        return;
      }
    }
    if (apply_token_key(key, value, schema::kTokenPrefix, config_.token) ||
        apply_token_key(key, value, schema::kSubscriptionTokenPrefix,
                        config_.subscription_token)) {
      return;
    }
    for (const auto& spec : schema::channel_keys()) {
      if (spec.name == key) {
        set(schema::bind(config_.channel, spec.member), spec.type, value, key);
        return;
      }
    }
    const schema::UnsupportedKey* unsupported = schema::find_unsupported(key);
    if (unsupported == nullptr) {
      unsupported = schema::find_unsupported_channel_option(key);
    }
    if (unsupported != nullptr) {
      if (unsupported->policy == schema::UnsupportedPolicy::kRejectIfTrue && is_true(value)) {
        fail(key, "true is not supported yet; supported: false");
      }
      warn(fmt::format("key \"{}\" is not supported by this version of Gyre and is ignored",
                       key));
      return;
    }
    warn(fmt::format("unknown key \"{}\"", key));
  }

  bool apply_token_key(const std::string& key, const Value& value, std::string_view prefix,
                       TokenConfig& token) {
    if (!key.starts_with(prefix)) {
      return false;
    }
    std::string_view field = std::string_view(key).substr(prefix.size());
    for (const auto& spec : schema::token_keys()) {
      if (spec.name == field) {
        set(schema::bind(token, spec.member), spec.type, value, key);
        return true;
      }
    }
    return false;
  }

  bool is_true(const Value& value) const {
    bool b = false;
    if (value.kind == Value::Kind::kBool) {
      return value.boolean;
    }
    return value.kind == Value::Kind::kString && internal::parse_go_bool(value.string, b) && b;
  }

  void apply_namespaces(const Value& value) {
    Value parsed;
    const Value* list = &value;
    if (text_) {
      // Object arrays come from the environment as JSON (reference.md §8.1).
      try {
        parsed = parse_json(value.string, "key \"namespaces\"");
      } catch (const ConfigError& e) {
        throw ConfigError(e.what() + origin_);
      }
      list = &parsed;
    }
    if (list->kind != Value::Kind::kArray) {
      fail("namespaces", fmt::format("expected array of objects, got {}", kind_name(list->kind)));
    }
    // Values inside the JSON are typed, like file values.
    bool saved_text = text_;
    text_ = false;
    std::vector<Namespace> namespaces;
    for (size_t i = 0; i < list->items.size(); ++i) {
      namespaces.push_back(parse_namespace(list->items[i], fmt::format("namespaces[{}]", i)));
    }
    text_ = saved_text;
    // Like every other key, a later source replaces the whole list.
    config_.namespaces = std::move(namespaces);
  }

  Namespace parse_namespace(const Value& object, const std::string& path) {
    if (object.kind != Value::Kind::kObject) {
      fail(path, fmt::format("expected object, got {}", kind_name(object.kind)));
    }
    Namespace ns;
    bool has_name = false;
    for (const auto& [key, value] : object.fields) {
      std::string key_path = fmt::format("{}.{}", path, key);
      if (value.kind == Value::Kind::kNull) {
        continue;
      }
      if (key == "name") {
        if (value.kind != Value::Kind::kString) {
          fail(key_path, fmt::format("expected string, got {}", describe(value)));
        }
        ns.name = value.string;
        has_name = true;
        continue;
      }
      const schema::KeySpec<ChannelOptions>* found = nullptr;
      for (const auto& spec : schema::channel_keys()) {
        if (spec.name == key && !spec.top_level_only) {
          found = &spec;
          break;
        }
      }
      if (found != nullptr) {
        set(schema::bind(ns.options, found->member), found->type, value, key_path);
      } else if (schema::find_unsupported_channel_option(key) != nullptr) {
        warn(fmt::format("key \"{}\" is not supported by this version of Gyre and is ignored",
                         key_path));
      } else {
        warn(fmt::format("unknown key \"{}\"", key_path));
      }
    }
    if (!has_name) {
      fail(path + ".name", "required");
    }
    return ns;
  }

  // Stores `value` into `ref` according to `type`. File values must have the matching type;
  // env and flag values are text and are parsed here.
  void set(FieldRef ref, Type type, const Value& value, const std::string& path) {
    switch (type) {
      case Type::kBool:
        *std::get<bool*>(ref) = to_bool(value, path);
        return;
      case Type::kInt: {
        int64_t i = to_int(value, path);
        if (auto* narrow = std::get_if<int*>(&ref)) {
          if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max()) {
            fail(path, fmt::format("integer {} out of range", i));
          }
          **narrow = static_cast<int>(i);
        } else {
          *std::get<int64_t*>(ref) = i;
        }
        return;
      }
      case Type::kString:
        *std::get<std::string*>(ref) = to_string(value, path, false);
        return;
      case Type::kPort:
        *std::get<std::string*>(ref) = to_string(value, path, true);
        return;
      case Type::kDuration:
      case Type::kSeconds:
        *std::get<Duration*>(ref) = to_duration(value, path);
        return;
      case Type::kStringList:
        *std::get<std::vector<std::string>*>(ref) = to_string_list(value, path);
        return;
      case Type::kNamespaces:
        break;  // handled by apply_namespaces
      case Type::kDisconnectTransforms:
      case Type::kHttpTransforms:
        *std::get<CodeTransforms*>(ref) = to_transforms(value, path, type);
        return;
    }
  }

  // {enabled, transforms: [{code, to: {code, reason} | {status_code, body}}]}
  // (reference.md §1.9). From the environment or a flag the value is a JSON object.
  CodeTransforms to_transforms(const Value& value, const std::string& path, Type type) {
    Value parsed;
    const Value* obj = &value;
    if (text_) {
      try {
        parsed = parse_json(value.string, fmt::format("key \"{}\"", path));
      } catch (const ConfigError& e) {
        throw ConfigError(e.what() + origin_);
      }
      obj = &parsed;
    }
    if (obj->kind != Value::Kind::kObject) {
      fail(path, fmt::format("expected object, got {}", describe(*obj)));
    }
    bool saved_text = text_;
    text_ = false;
    CodeTransforms out;
    auto code_of = [&](const Value& v, const std::string& p) -> uint32_t {
      int64_t c = to_int(v, p);
      if (c < 0 || c > 0xFFFFFFFFll) {
        fail(p, fmt::format("integer {} out of range", c));
      }
      return static_cast<uint32_t>(c);
    };
    for (const auto& [key, v] : obj->fields) {
      std::string kp = fmt::format("{}.{}", path, key);
      if (v.kind == Value::Kind::kNull) {
        continue;
      }
      if (key == "enabled") {
        out.enabled = to_bool(v, kp);
      } else if (key == "transforms") {
        if (v.kind != Value::Kind::kArray) {
          fail(kp, fmt::format("expected array of objects, got {}", describe(v)));
        }
        for (size_t i = 0; i < v.items.size(); ++i) {
          const Value& item = v.items[i];
          std::string ip = fmt::format("{}[{}]", kp, i);
          if (item.kind != Value::Kind::kObject) {
            fail(ip, fmt::format("expected object, got {}", describe(item)));
          }
          CodeTransform t;
          for (const auto& [ik, iv] : item.fields) {
            std::string ikp = fmt::format("{}.{}", ip, ik);
            if (iv.kind == Value::Kind::kNull) {
              continue;
            }
            if (ik == "code") {
              t.code = code_of(iv, ikp);
            } else if (ik == "to") {
              if (iv.kind != Value::Kind::kObject) {
                fail(ikp, fmt::format("expected object, got {}", describe(iv)));
              }
              for (const auto& [tk, tv] : iv.fields) {
                std::string tkp = fmt::format("{}.{}", ikp, tk);
                if (tv.kind == Value::Kind::kNull) {
                  continue;
                }
                if (type == Type::kDisconnectTransforms && tk == "code") {
                  t.to_code = code_of(tv, tkp);
                } else if (type == Type::kDisconnectTransforms && tk == "reason") {
                  t.to_reason = to_string(tv, tkp, false);
                } else if (type == Type::kHttpTransforms && tk == "status_code") {
                  t.to_status_code = static_cast<int>(code_of(tv, tkp));
                } else if (type == Type::kHttpTransforms && tk == "body") {
                  t.to_body = to_string(tv, tkp, false);
                } else {
                  warn(fmt::format("unknown key \"{}\"", tkp));
                }
              }
            } else {
              warn(fmt::format("unknown key \"{}\"", ikp));
            }
          }
          if (type == Type::kHttpTransforms &&
              (t.to_status_code < 100 || t.to_status_code > 999)) {
            fail(ip + ".to.status_code", "must be an HTTP status code (100-999)");
          }
          if (type == Type::kDisconnectTransforms && t.to_code == 0) {
            fail(ip + ".to.code", "must be set");
          }
          out.transforms.push_back(std::move(t));
        }
      } else {
        warn(fmt::format("unknown key \"{}\"", kp));
      }
    }
    text_ = saved_text;
    return out;
  }

  bool to_bool(const Value& value, const std::string& path) const {
    if (value.kind == Value::Kind::kBool) {
      return value.boolean;
    }
    if (text_ && value.kind == Value::Kind::kString) {
      bool b = false;
      if (!internal::parse_go_bool(value.string, b)) {
        fail(path, fmt::format("invalid boolean \"{}\"", value.string));
      }
      return b;
    }
    fail(path, fmt::format("expected boolean, got {}", describe(value)));
  }

  int64_t to_int(const Value& value, const std::string& path) const {
    if (value.kind == Value::Kind::kInt) {
      return value.integer;
    }
    // JSON numbers are doubles to Centrifugo's Go config reader, so 1e6 is a valid integer
    // there; accept doubles that are exact integers.
    // 2^63 is exactly representable; the range check comes first so the cast is defined
    // (it also rejects NaN).
    constexpr double kLimit = 9223372036854775808.0;
    if (value.kind == Value::Kind::kDouble && value.number > -kLimit && value.number < kLimit &&
        value.number == static_cast<double>(static_cast<int64_t>(value.number))) {
      return static_cast<int64_t>(value.number);
    }
    if (text_ && value.kind == Value::Kind::kString) {
      int64_t i = 0;
      if (!parse_int(value.string, i)) {
        fail(path, fmt::format("invalid integer \"{}\"", value.string));
      }
      return i;
    }
    fail(path, fmt::format("expected integer, got {}", describe(value)));
  }

  std::string to_string(const Value& value, const std::string& path, bool port) const {
    if (value.kind == Value::Kind::kString) {
      return value.string;
    }
    // Users often write `port: 8000`; the key is a string in Centrifugo.
    if (port && value.kind == Value::Kind::kInt) {
      return std::to_string(value.integer);
    }
    fail(path, fmt::format("expected string, got {}", describe(value)));
  }

  // A plain integer means seconds, in files (`history_ttl: 300`, accepted by older
  // Centrifugo versions) and in env/flags ("300"), where Go would otherwise read 300ns.
  Duration to_duration(const Value& value, const std::string& path) const {
    int64_t seconds = 0;
    bool is_seconds = false;
    if (value.kind == Value::Kind::kInt) {
      seconds = value.integer;
      is_seconds = true;
    } else if (value.kind == Value::Kind::kString && all_digits(value.string)) {
      is_seconds = parse_int(value.string, seconds);
    }
    if (is_seconds) {
      constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000000000;
      if (seconds > kMaxSeconds || seconds < -kMaxSeconds) {
        fail(path, fmt::format("invalid duration {}", describe(value)));
      }
      return Duration(seconds * 1000);
    }
    if (value.kind != Value::Kind::kString) {
      fail(path, fmt::format("expected duration string, got {}", describe(value)));
    }
    Duration d{0};
    if (!parse_duration(value.string, d)) {
      fail(path, fmt::format("invalid duration \"{}\"", value.string));
    }
    return d;
  }

  std::vector<std::string> to_string_list(const Value& value, const std::string& path) const {
    // A single string is split on whitespace, as Centrifugo's config reader does.
    if (value.kind == Value::Kind::kString) {
      return split_fields(value.string);
    }
    if (value.kind != Value::Kind::kArray) {
      fail(path, fmt::format("expected array of strings, got {}", describe(value)));
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < value.items.size(); ++i) {
      const Value& item = value.items[i];
      if (item.kind != Value::Kind::kString) {
        fail(fmt::format("{}[{}]", path, i),
             fmt::format("expected string, got {}", describe(item)));
      }
      out.push_back(item.string);
    }
    return out;
  }

  Config& config_;
  std::vector<std::string>& warnings_;
  bool text_ = false;   // values are text (env, flags) rather than typed file values
  std::string origin_;  // " (from CENTRIFUGO_X)" for env/flags, appended to messages
};

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

  if (!input.config_path.empty()) {
    bool found = false;
    std::string text = read_file(input.config_path, found);
    if (found) {
      applier.apply_file(parse_file(input.config_path, text), input.config_path);
    } else {
      // Centrifugo starts without its default config.json; an explicit path is treated the
      // same way (only a warning), see reference.md §8.1.
      result.warnings.push_back(
          fmt::format("config file \"{}\" not found, using defaults", input.config_path));
    }
  }
  applier.apply_env(input.env);
  applier.apply_flags(input.flags);

  normalise_log_level(config, result.warnings);
  if (config.name.empty()) {
    config.name = fmt::format("{}_{}", hostname(), config.port);
  }
  compile_regex(config.channel, "channel_regex");
  for (size_t i = 0; i < config.namespaces.size(); ++i) {
    compile_regex(config.namespaces[i].options, fmt::format("namespaces[{}].channel_regex", i));
  }
  validate(config);
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

std::string generate_config(const std::string& path) {
  std::string ext = extension_of(path);
  std::string token = random::uuid_v4();
  std::string password = random::uuid_v4();
  std::string secret = random::uuid_v4();
  std::string api_key = random::uuid_v4();
  if (ext == ".json") {
    return fmt::format(
        "{{\n"
        "  \"token_hmac_secret_key\": \"{}\",\n"
        "  \"admin_password\": \"{}\",\n"
        "  \"admin_secret\": \"{}\",\n"
        "  \"api_key\": \"{}\",\n"
        "  \"allowed_origins\": []\n"
        "}}\n",
        token, password, secret, api_key);
  }
  if (ext == ".yaml" || ext == ".yml") {
    return fmt::format(
        "token_hmac_secret_key: \"{}\"\n"
        "admin_password: \"{}\"\n"
        "admin_secret: \"{}\"\n"
        "api_key: \"{}\"\n"
        "allowed_origins: []\n",
        token, password, secret, api_key);
  }
  if (ext == ".toml") {
    return fmt::format(
        "token_hmac_secret_key = \"{}\"\n"
        "admin_password = \"{}\"\n"
        "admin_secret = \"{}\"\n"
        "api_key = \"{}\"\n"
        "allowed_origins = []\n",
        token, password, secret, api_key);
  }
  throw ConfigError(fmt::format(
      "config: cannot generate \"{}\": unknown extension \"{}\" (use .json, .yaml, .yml or "
      ".toml)",
      path, ext));
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
  return next;
}

}  // namespace gyre::config
