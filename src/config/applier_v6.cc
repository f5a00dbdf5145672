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

// Centrifugo v6 shape (v6-config.md §1-§2): nested keys, v6 environment names and values.

namespace {

// How a Proxy-object leaf reads its environment value (v6-config.md §1.4).
enum class LeafKind { kString, kBool, kDuration, kList, kMap, kArray };

struct ProxyLeaf {
  std::string_view path;  // inside the Proxy object, e.g. "http.static_headers"
  LeafKind kind;
};

// Every leaf of a v6 Proxy object (§2.2) and of its TLS objects (§2.1). `enabled` (connect,
// refresh) and `name` (proxies[]) are added by the caller.
constexpr ProxyLeaf kProxyLeaves[] = {
    {"endpoint", LeafKind::kString},
    {"timeout", LeafKind::kDuration},
    {"http_headers", LeafKind::kList},
    {"grpc_metadata", LeafKind::kList},
    {"emulated_headers", LeafKind::kList},
    {"binary_encoding", LeafKind::kBool},
    {"include_connection_meta", LeafKind::kBool},
    {"http.static_headers", LeafKind::kMap},
    {"http.status_to_code_transforms", LeafKind::kArray},
    {"http.tls.enabled", LeafKind::kBool},
    {"http.tls.cert_pem", LeafKind::kString},
    {"http.tls.key_pem", LeafKind::kString},
    {"http.tls.server_ca_pem", LeafKind::kString},
    {"http.tls.client_ca_pem", LeafKind::kString},
    {"http.tls.insecure_skip_verify", LeafKind::kBool},
    {"http.tls.server_name", LeafKind::kString},
    {"grpc.tls.enabled", LeafKind::kBool},
    {"grpc.tls.cert_pem", LeafKind::kString},
    {"grpc.tls.key_pem", LeafKind::kString},
    {"grpc.tls.server_ca_pem", LeafKind::kString},
    {"grpc.tls.client_ca_pem", LeafKind::kString},
    {"grpc.tls.insecure_skip_verify", LeafKind::kBool},
    {"grpc.tls.server_name", LeafKind::kString},
    {"grpc.credentials_key", LeafKind::kString},
    {"grpc.credentials_value", LeafKind::kString},
    {"grpc.compression", LeafKind::kBool},
    {"grpc.static_metadata", LeafKind::kMap},
};

// The field of an object, keys compared case-insensitively (v6 keys are); created if absent.
Value& field_of(Value& object, std::string_view key) {
  for (auto& [k, v] : object.fields) {
    if (ascii_lower(k) == key) {
      return v;
    }
  }
  object.fields.emplace_back(std::string(key), Value());
  return object.fields.back().second;
}

// "my-proxy.1" -> "MY_PROXY_1": the <N> of per-item variables (§1.5).
std::string item_env_token(std::string_view name) {
  std::string out;
  for (char c : name) {
    out += (c == '.' || c == '-') ? '_' : (c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c);
  }
  return out;
}

// The `name` of an item of a named array, "" if it has none.
std::string item_name(const Value& item) {
  if (item.kind != Value::Kind::kObject) {
    return "";
  }
  for (const auto& [k, v] : item.fields) {
    if (ascii_lower(k) == "name" && v.kind == Value::Kind::kString) {
      return v.string;
    }
  }
  return "";
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// The v6 Proxy objects that have per-leaf variables, with the extra `enabled` switch of the
// client proxies (§2.2).
struct ProxyBlock {
  std::string_view path;
  Value Config::*member;
  bool with_enabled;
};
constexpr ProxyBlock kProxyBlocks[] = {
    {"client.proxy.connect", &Config::v6_connect_proxy, true},
    {"client.proxy.refresh", &Config::v6_refresh_proxy, true},
    {"channel.proxy.subscribe", &Config::v6_subscribe_proxy, false},
    {"channel.proxy.publish", &Config::v6_publish_proxy, false},
    {"channel.proxy.sub_refresh", &Config::v6_sub_refresh_proxy, false},
    {"channel.proxy.subscribe_stream", &Config::v6_subscribe_stream_proxy, false},
    {"rpc.proxy", &Config::v6_rpc_proxy, false},
};

}  // namespace

// Sets the option at v6 `path` if the schema has it; false otherwise.
bool Applier::apply_v6_leaf(const std::string& path, const Value& value) {
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
bool Applier::is_v6_block(std::string_view path) {
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

std::optional<std::string_view> Applier::child_of(std::string_view path, std::string_view block) {
  if (path.size() > block.size() + 1 && path.starts_with(block) && path[block.size()] == '.') {
    std::string_view rest = path.substr(block.size() + 1);
    if (rest.find('.') == std::string_view::npos) {
      return rest;
    }
  }
  return std::nullopt;
}

const schema::KeySpec<ChannelOptions>* Applier::v6_channel_spec(std::string_view option) {
  for (const auto& spec : schema::channel_keys()) {
    if (!spec.v6.empty() && spec.v6 == option) {
      return &spec;
    }
  }
  return nullptr;
}

// v6 proxy names default to "default", the unnamed channel.proxy.<type> (v6-config.md
// §2.5), which is what an empty v5 name means.
void Applier::set_v6_channel_option(ChannelOptions& options,
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
void Applier::walk_v6(const Value& object, const std::string& prefix) {
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
void Applier::warn_unsupported_leaves(const std::string& path, const Value& value) {
  if (value.kind == Value::Kind::kObject && !value.fields.empty()) {
    for (const auto& [key, child] : value.fields) {
      warn_unsupported_leaves(path + "." + ascii_lower(key), child);
    }
    return;
  }
  warn(fmt::format("key \"{}\" is not supported by this version of Gyre and is ignored", path));
}

// Reject-if-true leaves inside an unsupported v6 value (e.g. {"tls": {"enabled": true}}).
void Applier::reject_v6_if_true(const std::string& path, const Value& value) {
  if (value.kind == Value::Kind::kObject) {
    for (const auto& [key, child] : value.fields) {
      reject_v6_if_true(path + "." + ascii_lower(key), child);
    }
    return;
  }
  const auto* entry = schema::find_unsupported_v6(path);
  if (entry != nullptr && entry->name == path &&
      entry->policy == schema::UnsupportedPolicy::kRejectIfTrue && is_true(value)) {
    fail(path, schema::reject_message(*entry));
  }
}

// CENTRIFUGO_ + the path upper-cased with '.' -> '_' (v6-config.md §1.3).
std::string Applier::v6_env_name(std::string_view path) {
  std::string out(kEnvPrefix);
  for (char c : path) {
    out += c == '.' ? '_' : ascii_upper_char(c);
  }
  return out;
}

char Applier::ascii_upper_char(char c) { return c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c; }

// Every v6 leaf Gyre reads, as (environment name, path).
const std::vector<std::pair<std::string, std::string>>& Applier::v6_env_table() {
  static const auto table = [] {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& spec : schema::global_keys()) {
      // v6 proxy objects (client.proxy.connect, ...): Centrifugo has only their leaf
      // variables, which Gyre reports as not supported (files are read).
      if (spec.v6.empty() || (spec.type == Type::kJson && spec.name.empty())) {
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

bool Applier::is_v6_env_name(std::string_view name) {
  for (const auto& [env, path] : v6_env_table()) {
    if (env == name) {
      return true;
    }
  }
  return false;
}

// A v5 name that is also a v6 name with the same meaning (v6-config.md §4.2: neutral), e.g.
// CENTRIFUGO_ADMIN_PASSWORD (admin.password) or CENTRIFUGO_CLIENT_CHANNEL_LIMIT.
bool Applier::is_shared_env_name(std::string_view name) {
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

void Applier::apply_v6_env(const std::string& name, const std::string& text) {
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
    if (path == "proxies") {
      // A JSON array replaces the list; space-separated names append items with only a
      // name (§1.5), whose fields CENTRIFUGO_PROXIES_<N>_<FIELD> may then set.
      std::string_view trimmed = trim_spaces(text);
      if (!(trimmed.starts_with('[') && trimmed.ends_with(']'))) {
        Value& list = config_.proxies;
        for (auto& item_name : split_v6_list(text)) {
          Value item = Value::make_object();
          item.fields.emplace_back("name", Value::make_string(std::move(item_name)));
          list.items.push_back(std::move(item));
        }
        return;
      }
    }
    apply_v6_leaf(path, Value::make_string(text));
    return;
  }
  if (apply_v6_proxy_env(name, text)) {
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
      fail(path, schema::reject_message(*best));
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
void Applier::set_transforms_field(CodeTransforms& target, Type type, std::string_view field,
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
void Applier::apply_v6_namespaces_env(const std::string& text) {
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
void Applier::apply_v6_namespace_env(const std::string& name, const std::string& text) {
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

bool Applier::set_v6_proxy_leaf(Value& object, std::string_view field, const std::string& text,
                                bool with_enabled, bool with_name,
                                const std::string& path_prefix) {
  const ProxyLeaf* leaf = nullptr;
  static constexpr ProxyLeaf kEnabled{"enabled", LeafKind::kBool};
  static constexpr ProxyLeaf kName{"name", LeafKind::kString};
  for (const auto& candidate : kProxyLeaves) {
    if (v6_env_name(candidate.path).substr(kEnvPrefix.size()) == field) {
      leaf = &candidate;
      break;
    }
  }
  if (leaf == nullptr && with_enabled && field == "ENABLED") {
    leaf = &kEnabled;
  }
  if (leaf == nullptr && with_name && field == "NAME") {
    leaf = &kName;
  }
  if (leaf == nullptr) {
    return false;
  }
  const std::string path = path_prefix + "." + std::string(leaf->path);
  Value value;
  switch (leaf->kind) {
    case LeafKind::kString:
      value = Value::make_string(text);
      break;
    case LeafKind::kBool:
      value = Value::make_bool(to_bool(Value::make_string(text), path));
      break;
    case LeafKind::kDuration:
      to_v6_duration(Value::make_string(text), path);  // checks: a bare number has no unit
      value = Value::make_string(text);
      break;
    case LeafKind::kList:
      value = Value::make_array();
      for (auto& item : split_v6_list(text)) {
        value.items.push_back(Value::make_string(std::move(item)));
      }
      break;
    case LeafKind::kMap:
    case LeafKind::kArray: {
      try {
        value = parse_json(text, fmt::format("key \"{}\"", path));
      } catch (const ConfigError& e) {
        throw ConfigError(e.what() + origin_);
      }
      const Value::Kind want =
          leaf->kind == LeafKind::kMap ? Value::Kind::kObject : Value::Kind::kArray;
      if (value.kind != want) {
        fail(path, fmt::format("expected JSON {}, got {}", kind_name(want), describe(value)));
      }
      break;
    }
  }
  // The proxy resolver reports errors with a path but not their origin: check here what it
  // would refuse, so the message names the variable.
  if (leaf->path == "http.tls.enabled" && value.boolean) {
    fail(path, "true is not supported yet; supported: false (https:// endpoints use the "
               "system CA store)");
  }
  Value* target = &object;
  std::string_view rest = leaf->path;
  while (true) {
    if (target->kind != Value::Kind::kObject) {
      *target = Value::make_object();
    }
    size_t dot = rest.find('.');
    Value& next = field_of(*target, rest.substr(0, dot));
    if (dot == std::string_view::npos) {
      next = std::move(value);
      return true;
    }
    target = &next;
    rest.remove_prefix(dot + 1);
  }
}

bool Applier::apply_v6_proxy_env(const std::string& name, const std::string& text) {
  for (const auto& block : kProxyBlocks) {
    std::string env = v6_env_name(block.path) + "_";
    if (name.size() > env.size() && name.starts_with(env) &&
        set_v6_proxy_leaf(config_.*block.member, std::string_view(name).substr(env.size()),
                          text, block.with_enabled, false, std::string(block.path))) {
      env_v6_ = true;
      return true;
    }
  }
  return false;
}

void Applier::apply_v6_proxy_item_env(const std::string& name, const std::string& text) {
  env_v6_ = true;
  if (config_.proxies.kind == Value::Kind::kArray) {
    for (size_t i = 0; i < config_.proxies.items.size(); ++i) {
      Value& item = config_.proxies.items[i];
      std::string prefix = std::string(kV6ProxyItemPrefix) + item_env_token(item_name(item)) + "_";
      if (item_name(item).empty() || !name.starts_with(prefix) || name.size() == prefix.size()) {
        continue;
      }
      if (set_v6_proxy_leaf(item, std::string_view(name).substr(prefix.size()), text, false,
                            true, fmt::format("proxies[{}]", i))) {
        return;
      }
    }
  }
  // No such proxy, or no such field: Centrifugo v6 reports it as unknown (§1.5).
  warn(fmt::format("unknown key \"{}\"",
                   ascii_lower(std::string_view(name).substr(kEnvPrefix.size()))));
}

// v6 lists in the environment: items separated by one space (§1.4).
std::vector<std::string> Applier::split_v6_list(std::string_view text) {
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

// v6 (§1.4, §1.8): in a file a number is nanoseconds; in the environment a bare number
// other than 0 is an error (missing unit).
Duration Applier::to_v6_duration(const Value& value, const std::string& path) const {
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

}  // namespace gyre::config::internal
