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

#include "config/dump.h"
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

constexpr std::string_view kV6NamespaceItemPrefix = "CENTRIFUGO_CHANNEL_NAMESPACES_";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

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

  // `root` must be an object (see detect_file_shape).
  void apply_file(const Value& root, Shape shape) {
    text_ = false;
    origin_.clear();
    if (shape == Shape::kV6) {
      v6_ = true;
      walk_v6(root, "");
      v6_ = false;
      return;
    }
    for (const auto& [key, value] : root.fields) {
      apply_top_level(key, value);
    }
  }

  // v5 names first, then v6 names (so a v6 name wins over its v5 twin), then the v6
  // per-namespace names, which also reach namespaces from the file or from
  // CENTRIFUGO_NAMESPACES (v6-config.md §1.3-§1.5). Records which shape the names signal.
  void apply_env(const std::map<std::string, std::string>& env) {
    text_ = true;
    std::vector<std::pair<std::string, std::string>> v6_names;
    std::vector<std::pair<std::string, std::string>> item_names;
    for (const auto& [name, text] : env) {
      // Empty values are unset (reference.md §8.1); CENTRIFUGO_ alone names no key.
      if (!name.starts_with(kEnvPrefix) || name.size() == kEnvPrefix.size() || text.empty()) {
        continue;
      }
      std::string key = ascii_lower(std::string_view(name).substr(kEnvPrefix.size()));
      // Names Centrifugo v5 knows keep v5 value rules, also those v6 shares (§4.2).
      if (schema::top_level_signal(key, false) == schema::Signal::kV5) {
        origin_ = fmt::format(" (from {})", name);
        apply_top_level(key, Value::make_string(text));
        if (!is_shared_env_name(name)) {
          env_v5_ = true;
        }
      } else if (name.starts_with(kV6NamespaceItemPrefix)) {
        item_names.emplace_back(name, text);
      } else {
        v6_names.emplace_back(name, text);
      }
    }
    v6_ = true;
    for (const auto& [name, text] : v6_names) {
      origin_ = fmt::format(" (from {})", name);
      apply_v6_env(name, text);
    }
    for (const auto& [name, text] : item_names) {
      origin_ = fmt::format(" (from {})", name);
      apply_v6_namespace_env(name, text);
    }
    v6_ = false;
  }

  void apply_flags(const std::map<std::string, std::string>& flags) {
    text_ = true;
    for (const auto& [key, text] : flags) {
      origin_ = fmt::format(" (from flag --{})", key);
      if (key.find('.') != std::string::npos) {
        // v6 flag names are option paths (v6-config.md §1.2).
        v6_ = true;
        Value value = Value::make_string(text);
        if (!apply_v6_leaf(key, value)) {
          if (schema::find_unsupported_v6(key) == nullptr) {
            fail(key, "unknown option");
          }
          reject_v6_if_true(key, value);
          warn_unsupported_leaves(key, value);
        }
        v6_ = false;
      } else {
        apply_top_level(key, Value::make_string(text));
      }
    }
  }

  bool env_signals_v6() const { return env_v6_ && !env_v5_; }

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

  // ---- Centrifugo v6 shape (v6-config.md §1-§2)

  // Sets the option at v6 `path` if the schema has it; false otherwise.
  bool apply_v6_leaf(const std::string& path, const Value& value) {
    for (const auto& spec : schema::global_keys()) {
      if (!spec.v6.empty() && spec.v6 == path) {
        if (spec.type == Type::kNamespaces) {
          apply_namespaces(value, path);
        } else {
          set(schema::bind(config_, spec.member), spec.type, value, path);
        }
        return true;
      }
    }
    for (auto [block, token] : {std::pair{schema::kV6TokenBlock, &config_.token},
                                std::pair{schema::kV6SubscriptionTokenBlock,
                                          &config_.subscription_token}}) {
      if (auto field = child_of(path, block)) {
        for (const auto& spec : schema::token_keys()) {
          if (spec.v6 == *field) {
            set(schema::bind(*token, spec.member), spec.type, value, path);
            return true;
          }
        }
      }
    }
    if (auto option = child_of(path, schema::kV6ChannelBlock)) {
      if (const auto* spec = v6_channel_spec(*option)) {
        set_v6_channel_option(config_.channel, *spec, value, path);
        return true;
      }
    }
    return false;
  }

  // True if `path` is a v6 block holding options Gyre reads (e.g. "client", "client.token").
  static bool is_v6_block(std::string_view path) {
    auto below = [path](std::string_view full) {
      return full.size() > path.size() && full.starts_with(path) && full[path.size()] == '.';
    };
    for (const auto& spec : schema::global_keys()) {
      if (below(spec.v6)) {
        return true;
      }
    }
    for (std::string_view block :
         {schema::kV6TokenBlock, schema::kV6SubscriptionTokenBlock, schema::kV6ChannelBlock}) {
      if (block == path || below(block)) {
        return true;
      }
    }
    return false;
  }

  static std::optional<std::string_view> child_of(std::string_view path, std::string_view block) {
    if (path.size() > block.size() + 1 && path.starts_with(block) && path[block.size()] == '.') {
      std::string_view rest = path.substr(block.size() + 1);
      if (rest.find('.') == std::string_view::npos) {
        return rest;
      }
    }
    return std::nullopt;
  }

  static const schema::KeySpec<ChannelOptions>* v6_channel_spec(std::string_view option) {
    for (const auto& spec : schema::channel_keys()) {
      if (!spec.v6.empty() && spec.v6 == option) {
        return &spec;
      }
    }
    return nullptr;
  }

  // v6 proxy names default to "default", the unnamed channel.proxy.<type> (v6-config.md
  // §2.5), which is what an empty v5 name means.
  void set_v6_channel_option(ChannelOptions& options,
                             const schema::KeySpec<ChannelOptions>& spec, const Value& value,
                             const std::string& path) {
    FieldRef ref = schema::bind(options, spec.member);
    set(ref, spec.type, value, path);
    if (spec.type == Type::kString && spec.v6.ends_with("_proxy_name")) {
      std::string& name = *std::get<std::string*>(ref);
      if (name == "default") {
        name.clear();
      }
    }
  }

  // The whole v6 tree; keys are case-insensitive as in Centrifugo v6 (§1.1 step 2).
  void walk_v6(const Value& object, const std::string& prefix) {
    for (const auto& [raw_key, value] : object.fields) {
      std::string key = ascii_lower(raw_key);
      std::string path = prefix.empty() ? key : prefix + "." + key;
      if (value.kind == Value::Kind::kNull) {
        continue;
      }
      if (apply_v6_leaf(path, value)) {
        continue;
      }
      if (is_v6_block(path)) {
        if (value.kind != Value::Kind::kObject) {
          // What Centrifugo v6 does with a v5 scalar where a block is expected (§1.1).
          fail(path, fmt::format("expected object, got {}", describe(value)));
        }
        walk_v6(value, path);
        continue;
      }
      auto option = child_of(path, schema::kV6ChannelBlock);
      if (schema::find_unsupported_v6(path) != nullptr ||
          (option && schema::find_unsupported_v6_channel_option(*option) != nullptr)) {
        reject_v6_if_true(path, value);
        warn_unsupported_leaves(path, value);
        continue;
      }
      warn(fmt::format("unknown key \"{}\"", path));
    }
  }

  // One warning per leaf set under an unsupported v6 path, naming it.
  void warn_unsupported_leaves(const std::string& path, const Value& value) {
    if (value.kind == Value::Kind::kObject && !value.fields.empty()) {
      for (const auto& [key, child] : value.fields) {
        warn_unsupported_leaves(path + "." + ascii_lower(key), child);
      }
      return;
    }
    warn(fmt::format("key \"{}\" is not supported by this version of Gyre and is ignored", path));
  }

  // Reject-if-true leaves inside an unsupported v6 value (e.g. {"tls": {"enabled": true}}).
  void reject_v6_if_true(const std::string& path, const Value& value) {
    if (value.kind == Value::Kind::kObject) {
      for (const auto& [key, child] : value.fields) {
        reject_v6_if_true(path + "." + ascii_lower(key), child);
      }
      return;
    }
    const auto* entry = schema::find_unsupported_v6(path);
    if (entry != nullptr && entry->name == path &&
        entry->policy == schema::UnsupportedPolicy::kRejectIfTrue && is_true(value)) {
      fail(path, "true is not supported yet; supported: false");
    }
  }

  // CENTRIFUGO_ + the path upper-cased with '.' -> '_' (v6-config.md §1.3).
  static std::string v6_env_name(std::string_view path) {
    std::string out(kEnvPrefix);
    for (char c : path) {
      out += c == '.' ? '_' : ascii_upper_char(c);
    }
    return out;
  }

  static char ascii_upper_char(char c) { return c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c; }

  // Every v6 leaf Gyre reads, as (environment name, path).
  static const std::vector<std::pair<std::string, std::string>>& v6_env_table() {
    static const auto table = [] {
      std::vector<std::pair<std::string, std::string>> out;
      for (const auto& spec : schema::global_keys()) {
        if (spec.v6.empty()) {
          continue;
        }
        if (spec.type == Type::kDisconnectTransforms || spec.type == Type::kHttpTransforms) {
          // Only leaves have variables (§1.3 rule 2): the object's two fields.
          out.emplace_back(v6_env_name(std::string(spec.v6) + ".enabled"),
                           std::string(spec.v6) + ".enabled");
          out.emplace_back(v6_env_name(std::string(spec.v6) + ".transforms"),
                           std::string(spec.v6) + ".transforms");
        } else {
          out.emplace_back(v6_env_name(spec.v6), std::string(spec.v6));
        }
      }
      for (std::string_view block : {schema::kV6TokenBlock, schema::kV6SubscriptionTokenBlock}) {
        for (const auto& spec : schema::token_keys()) {
          std::string path = fmt::format("{}.{}", block, spec.v6);
          out.emplace_back(v6_env_name(path), path);
        }
      }
      for (const auto& spec : schema::channel_keys()) {
        if (!spec.v6.empty()) {
          std::string path = fmt::format("{}.{}", schema::kV6ChannelBlock, spec.v6);
          out.emplace_back(v6_env_name(path), path);
        }
      }
      return out;
    }();
    return table;
  }

  static bool is_v6_env_name(std::string_view name) {
    for (const auto& [env, path] : v6_env_table()) {
      if (env == name) {
        return true;
      }
    }
    return false;
  }

  // A v5 name that is also a v6 name with the same meaning (v6-config.md §4.2: neutral), e.g.
  // CENTRIFUGO_ADMIN_PASSWORD (admin.password) or CENTRIFUGO_CLIENT_CHANNEL_LIMIT.
  static bool is_shared_env_name(std::string_view name) {
    if (is_v6_env_name(name)) {
      return true;
    }
    for (const auto& entry : schema::unsupported_v6()) {
      std::string env = v6_env_name(entry.name);
      if (name.size() > env.size() && name.starts_with(env) && name[env.size()] == '_') {
        return true;
      }
    }
    return false;
  }

  void apply_v6_env(const std::string& name, const std::string& text) {
    for (const auto& [env, path] : v6_env_table()) {
      if (env != name) {
        continue;
      }
      env_v6_ = true;
      for (const auto& spec : schema::global_keys()) {
        if (spec.type != Type::kDisconnectTransforms && spec.type != Type::kHttpTransforms) {
          continue;
        }
        if (auto field = child_of(path, spec.v6)) {
          set_transforms_field(*std::get<CodeTransforms*>(schema::bind(config_, spec.member)),
                               spec.type, *field, text, path);
          return;
        }
      }
      if (path == schema::kV6NamespacesPath) {
        apply_v6_namespaces_env(text);
        return;
      }
      apply_v6_leaf(path, Value::make_string(text));
      return;
    }
    // Unsupported v6 options: the longest matching entry, named in the message.
    const schema::UnsupportedKey* best = nullptr;
    for (const auto& entry : schema::unsupported_v6()) {
      std::string env = v6_env_name(entry.name);
      if ((name == env || (name.size() > env.size() && name.starts_with(env) &&
                           name[env.size()] == '_')) &&
          (best == nullptr || entry.name.size() > best->name.size())) {
        best = &entry;
      }
    }
    if (best != nullptr) {
      env_v6_ = true;
      std::string path(best->name);
      if (name == v6_env_name(best->name) &&
          best->policy == schema::UnsupportedPolicy::kRejectIfTrue &&
          is_true(Value::make_string(text))) {
        fail(path, "true is not supported yet; supported: false");
      }
      warn(fmt::format("key \"{}\" is not supported by this version of Gyre and is ignored",
                       path));
      return;
    }
    // Not options, so not reported (v6-config.md §1.7): CENTRIFUGO_VAR_* (substitution values)
    // and the variables Kubernetes sets for a service named centrifugo.
    static const re2::RE2 kKubernetes("^CENTRIFUGO(?:_[A-Z0-9_]+)?_(PORT|SERVICE_)");
    if (name.starts_with("CENTRIFUGO_VAR_") || re2::RE2::PartialMatch(name, kKubernetes)) {
      return;
    }
    warn(fmt::format("unknown key \"{}\"",
                     ascii_lower(std::string_view(name).substr(kEnvPrefix.size()))));
  }

  // CENTRIFUGO_..._ENABLED (bool) or _TRANSFORMS (JSON array) of a transforms object.
  void set_transforms_field(CodeTransforms& target, Type type, std::string_view field,
                            const std::string& text, const std::string& path) {
    if (field == "enabled") {
      target.enabled = to_bool(Value::make_string(text), path);
      return;
    }
    Value parsed;
    try {
      parsed = parse_json(text, fmt::format("key \"{}\"", path));
    } catch (const ConfigError& e) {
      throw ConfigError(e.what() + origin_);
    }
    Value object = Value::make_object();
    object.fields.emplace_back("transforms", std::move(parsed));
    bool saved_text = text_;
    text_ = false;
    CodeTransforms read = to_transforms(object, path.substr(0, path.rfind('.')), type);
    text_ = saved_text;
    target.transforms = std::move(read.transforms);
  }

  // CENTRIFUGO_CHANNEL_NAMESPACES: a JSON array replaces the namespaces; space-separated
  // names append namespaces with default options (v6-config.md §1.5).
  void apply_v6_namespaces_env(const std::string& text) {
    std::string_view trimmed = text;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) {
      trimmed.remove_prefix(1);
    }
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) {
      trimmed.remove_suffix(1);
    }
    if (trimmed.starts_with('[') && trimmed.ends_with(']')) {
      apply_namespaces(Value::make_string(text), std::string(schema::kV6NamespacesPath));
      return;
    }
    for (const auto& name : split_v6_list(text)) {
      config_.namespaces.push_back(Namespace{name, {}});
    }
  }

  // CENTRIFUGO_CHANNEL_NAMESPACES_<N>_<OPTION>, N = the name with '.' and '-' as '_',
  // upper-cased. Applies to namespaces from any source.
  void apply_v6_namespace_env(const std::string& name, const std::string& text) {
    env_v6_ = true;
    for (size_t i = 0; i < config_.namespaces.size(); ++i) {
      Namespace& ns = config_.namespaces[i];
      std::string prefix(kV6NamespaceItemPrefix);
      for (char c : ns.name) {
        prefix += (c == '.' || c == '-') ? '_' : ascii_upper_char(c);
      }
      prefix += '_';
      if (!name.starts_with(prefix) || name.size() == prefix.size()) {
        continue;
      }
      std::string option = ascii_lower(std::string_view(name).substr(prefix.size()));
      std::string path = fmt::format("{}[{}].{}", schema::kV6NamespacesPath, i, option);
      if (option == "name") {
        ns.name = text;
        return;
      }
      if (const auto* spec = v6_channel_spec(option)) {
        set_v6_channel_option(ns.options, *spec, Value::make_string(text), path);
        return;
      }
      if (schema::find_unsupported_v6_channel_option(option) != nullptr) {
        warn(fmt::format("key \"{}\" is not supported by this version of Gyre and is ignored",
                         path));
        return;
      }
    }
    // No such namespace, or no such option: Centrifugo v6 reports it as unknown (§1.5).
    warn(fmt::format("unknown key \"{}\"",
                     ascii_lower(std::string_view(name).substr(kEnvPrefix.size()))));
  }

  // v6 lists in the environment: items separated by one space (§1.4).
  static std::vector<std::string> split_v6_list(std::string_view text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
      size_t space = text.find(' ', start);
      out.emplace_back(text.substr(start, space - start));
      if (space == std::string_view::npos) {
        break;
      }
      start = space + 1;
    }
    return out;
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

  void apply_namespaces(const Value& value, const std::string& key = "namespaces") {
    Value parsed;
    const Value* list = &value;
    if (text_) {
      // Object arrays come from the environment as JSON (reference.md §8.1).
      try {
        parsed = parse_json(value.string, fmt::format("key \"{}\"", key));
      } catch (const ConfigError& e) {
        throw ConfigError(e.what() + origin_);
      }
      list = &parsed;
    }
    if (list->kind != Value::Kind::kArray) {
      fail(key, fmt::format("expected array of objects, got {}", kind_name(list->kind)));
    }
    // Values inside the JSON are typed, like file values.
    bool saved_text = text_;
    text_ = false;
    std::vector<Namespace> namespaces;
    for (size_t i = 0; i < list->items.size(); ++i) {
      namespaces.push_back(parse_namespace(list->items[i], fmt::format("{}[{}]", key, i)));
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
    for (const auto& [raw_key, value] : object.fields) {
      // v6 keys are case-insensitive (v6-config.md §1.1).
      const std::string key = v6_ ? ascii_lower(raw_key) : raw_key;
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
      if (v6_) {
        if (const auto* spec = v6_channel_spec(key)) {
          set_v6_channel_option(ns.options, *spec, value, key_path);
        } else if (schema::find_unsupported_v6_channel_option(key) != nullptr) {
          warn(fmt::format("key \"{}\" is not supported by this version of Gyre and is ignored",
                           key_path));
        } else {
          warn(fmt::format("unknown key \"{}\"", key_path));
        }
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
      // v6 reads integers with Go's strconv.ParseInt(v, 0, 64): 0x, 0o, 0b, leading 0.
      if (!(v6_ ? parse_go_int(value.string, i) : parse_int(value.string, i))) {
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
    if (v6_) {
      return to_v6_duration(value, path);
    }
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

  // v6 (§1.4, §1.8): in a file a number is nanoseconds; in the environment a bare number
  // other than 0 is an error (missing unit).
  Duration to_v6_duration(const Value& value, const std::string& path) const {
    if (value.kind == Value::Kind::kInt && !text_) {
      int64_t ns = value.integer;
      if (ns != 0 && ns > -1000000 && ns < 1000000) {
        fail(path, fmt::format("invalid duration {}: a number is nanoseconds in the Centrifugo "
                               "v6 shape; write a duration string such as \"{}s\"",
                               ns, ns));
      }
      return Duration(ns / 1000000);
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
    if (v6_ && value.kind == Value::Kind::kString) {
      // v6: one space separates items in the environment; in a file a single string is a
      // one-item list (§1.4, §1.8).
      return text_ ? split_v6_list(value.string) : std::vector<std::string>{value.string};
    }
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
  bool v6_ = false;     // values follow Centrifugo v6 rules (v6-config.md §1.4, §1.8)
  bool env_v5_ = false;  // the environment has a v5-only name
  bool env_v6_ = false;  // the environment has a v6 name
  std::string origin_;  // " (from CENTRIFUGO_X)" for env/flags, appended to messages
};

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
    validate(config);
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
  return next;
}

}  // namespace gyre::config
