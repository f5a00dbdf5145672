#include "config/applier.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include <fmt/format.h>
#include <re2/re2.h>

#include "config/dump.h"
#include "config/internal.h"
#include "core/ascii.h"

namespace gyre::config::internal {

// `root` must be an object (see detect_file_shape).
void Applier::apply_file(const Value& root, Shape shape) {
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
void Applier::apply_env(const std::map<std::string, std::string>& env) {
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
    } else if (name.starts_with(kV6NamespaceItemPrefix) || name.starts_with(kV6ProxyItemPrefix)) {
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
    if (name.starts_with(kV6ProxyItemPrefix)) {
      apply_v6_proxy_item_env(name, text);
    } else {
      apply_v6_namespace_env(name, text);
    }
  }
  v6_ = false;
}

void Applier::apply_flags(const std::map<std::string, std::string>& flags) {
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

bool Applier::env_signals_v6() const { return env_v6_ && !env_v5_; }

[[noreturn]] void Applier::fail(std::string_view path, std::string_view message) const {
  throw ConfigError(fmt::format("config: key \"{}\": {}{}", path, message, origin_));
}

void Applier::warn(std::string message) { warnings_.push_back(message + origin_); }

void Applier::apply_top_level(const std::string& key, const Value& value) {
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
      fail(key, schema::reject_message(*unsupported));
    }
    warn(fmt::format("key \"{}\" is not supported by this version of Gyre and is ignored",
                     key));
    return;
  }
  warn(fmt::format("unknown key \"{}\"", key));
}

bool Applier::apply_token_key(const std::string& key, const Value& value, std::string_view prefix,
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

bool Applier::is_true(const Value& value) const {
  bool b = false;
  if (value.kind == Value::Kind::kBool) {
    return value.boolean;
  }
  return value.kind == Value::Kind::kString && internal::parse_go_bool(value.string, b) && b;
}

void Applier::apply_namespaces(const Value& value, const std::string& key) {
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

Namespace Applier::parse_namespace(const Value& object, const std::string& path) {
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
void Applier::set(FieldRef ref, Type type, const Value& value, const std::string& path) {
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
    case Type::kJson: {
      Value* target = std::get<Value*>(ref);
      if (text_ && value.kind == Value::Kind::kString) {
        // From the environment or a flag: JSON (as Centrifugo reads such keys).
        try {
          *target = parse_json(value.string, fmt::format("key \"{}\"", path));
        } catch (const ConfigError& e) {
          throw ConfigError(e.what() + origin_);
        }
      } else {
        *target = value;
      }
      if (target->kind != Value::Kind::kArray && target->kind != Value::Kind::kObject) {
        fail(path, fmt::format("expected JSON object or array, got {}", describe(*target)));
      }
      return;
    }
  }
}

// {enabled, transforms: [{code, to: {code, reason} | {status_code, body}}]}
// (reference.md §1.9). From the environment or a flag the value is a JSON object.
CodeTransforms Applier::to_transforms(const Value& value, const std::string& path, Type type) {
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

bool Applier::to_bool(const Value& value, const std::string& path) const {
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

int64_t Applier::to_int(const Value& value, const std::string& path) const {
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

std::string Applier::to_string(const Value& value, const std::string& path, bool port) const {
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
Duration Applier::to_duration(const Value& value, const std::string& path) const {
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

std::vector<std::string> Applier::to_string_list(const Value& value, const std::string& path) const {
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

}  // namespace gyre::config::internal
