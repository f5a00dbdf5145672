#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "config/schema.h"
#include "config/value.h"

// Internal to the config module: the applier of loader.cc's load(). Its v5-shape and shared
// parts are in applier.cc, the Centrifugo v6 shape (nested keys, v6 environment names) in
// applier_v6.cc.
namespace gyre::config::internal {

using schema::FieldRef;
using schema::Type;

// Applies values from the file tree, the environment and flags to a Config through the
// schema table, in that order, so later sources override earlier ones. Collects warnings and
// throws ConfigError naming the key (and, for env and flags, where the value came from).
// Not thread-safe: one instance lives on the stack of one load() call.
class Applier {
 public:
  Applier(Config& config, std::vector<std::string>& warnings)
      : config_(config), warnings_(warnings) {}
  // `root` must be an object (see detect_file_shape).
  void apply_file(const Value& root, Shape shape);
  // v5 names first, then v6 names (so a v6 name wins over its v5 twin), then the v6
  // per-namespace names, which also reach namespaces from the file or from
  // CENTRIFUGO_NAMESPACES (v6-config.md §1.3-§1.5). Records which shape the names signal.
  void apply_env(const std::map<std::string, std::string>& env);
  void apply_flags(const std::map<std::string, std::string>& flags);
  bool env_signals_v6() const;
 private:
  [[noreturn]] void fail(std::string_view path, std::string_view message) const;
  void warn(std::string message);
  void apply_top_level(const std::string& key, const Value& value);
  // ---- Centrifugo v6 shape (v6-config.md §1-§2)

  // Sets the option at v6 `path` if the schema has it; false otherwise.
  bool apply_v6_leaf(const std::string& path, const Value& value);
  // True if `path` is a v6 block holding options Gyre reads (e.g. "client", "client.token").
  static bool is_v6_block(std::string_view path);
  static std::optional<std::string_view> child_of(std::string_view path, std::string_view block);
  static const schema::KeySpec<ChannelOptions>* v6_channel_spec(std::string_view option);
  // v6 proxy names default to "default", the unnamed channel.proxy.<type> (v6-config.md
  // §2.5), which is what an empty v5 name means.
  void set_v6_channel_option(ChannelOptions& options,
                             const schema::KeySpec<ChannelOptions>& spec, const Value& value,
                             const std::string& path);
  // The whole v6 tree; keys are case-insensitive as in Centrifugo v6 (§1.1 step 2).
  void walk_v6(const Value& object, const std::string& prefix);
  // One warning per leaf set under an unsupported v6 path, naming it.
  void warn_unsupported_leaves(const std::string& path, const Value& value);
  // Reject-if-true leaves inside an unsupported v6 value (e.g. {"tls": {"enabled": true}}).
  void reject_v6_if_true(const std::string& path, const Value& value);
  // CENTRIFUGO_ + the path upper-cased with '.' -> '_' (v6-config.md §1.3).
  static std::string v6_env_name(std::string_view path);
  static char ascii_upper_char(char c);
  // Every v6 leaf Gyre reads, as (environment name, path).
  static const std::vector<std::pair<std::string, std::string>>& v6_env_table();
  static bool is_v6_env_name(std::string_view name);
  // A v5 name that is also a v6 name with the same meaning (v6-config.md §4.2: neutral), e.g.
  // CENTRIFUGO_ADMIN_PASSWORD (admin.password) or CENTRIFUGO_CLIENT_CHANNEL_LIMIT.
  static bool is_shared_env_name(std::string_view name);
  void apply_v6_env(const std::string& name, const std::string& text);
  // CENTRIFUGO_..._ENABLED (bool) or _TRANSFORMS (JSON array) of a transforms object.
  void set_transforms_field(CodeTransforms& target, Type type, std::string_view field,
                            const std::string& text, const std::string& path);
  // CENTRIFUGO_CHANNEL_NAMESPACES: a JSON array replaces the namespaces; space-separated
  // names append namespaces with default options (v6-config.md §1.5).
  void apply_v6_namespaces_env(const std::string& text);
  // CENTRIFUGO_CHANNEL_NAMESPACES_<N>_<OPTION>, N = the name with '.' and '-' as '_',
  // upper-cased. Applies to namespaces from any source.
  void apply_v6_namespace_env(const std::string& name, const std::string& text);
  // Per-leaf variables of the v6 Proxy objects (§2.2): CENTRIFUGO_CLIENT_PROXY_CONNECT_ENDPOINT,
  // CENTRIFUGO_CHANNEL_PROXY_PUBLISH_HTTP_STATIC_HEADERS, ... set that leaf of the raw object,
  // which config/proxies.cc then reads exactly as the file key. False if `name` is none.
  bool apply_v6_proxy_env(const std::string& name, const std::string& text);
  // CENTRIFUGO_PROXIES_<N>_<FIELD>: a leaf of the proxies[] item whose name maps to N (§1.5).
  void apply_v6_proxy_item_env(const std::string& name, const std::string& text);
  // Sets the Proxy-object leaf named by the env suffix `field` (e.g. "HTTP_TLS_ENABLED") in
  // `object`; false if the suffix names no leaf of such an object.
  bool set_v6_proxy_leaf(Value& object, std::string_view field, const std::string& text,
                         bool with_enabled, bool with_name, const std::string& path_prefix);
  // v6 lists in the environment: items separated by one space (§1.4).
  static std::vector<std::string> split_v6_list(std::string_view text);
  bool apply_token_key(const std::string& key, const Value& value, std::string_view prefix,
                       TokenConfig& token);
  bool is_true(const Value& value) const;
  void apply_namespaces(const Value& value, const std::string& key = "namespaces");
  Namespace parse_namespace(const Value& object, const std::string& path);
  // Stores `value` into `ref` according to `type`. File values must have the matching type;
  // env and flag values are text and are parsed here.
  void set(FieldRef ref, Type type, const Value& value, const std::string& path);
  // {enabled, transforms: [{code, to: {code, reason} | {status_code, body}}]}
  // (reference.md §1.9). From the environment or a flag the value is a JSON object.
  CodeTransforms to_transforms(const Value& value, const std::string& path, Type type);
  bool to_bool(const Value& value, const std::string& path) const;
  int64_t to_int(const Value& value, const std::string& path) const;
  std::string to_string(const Value& value, const std::string& path, bool port) const;
  // A plain integer means seconds, in files (`history_ttl: 300`, accepted by older
  // Centrifugo versions) and in env/flags ("300"), where Go would otherwise read 300ns.
  Duration to_duration(const Value& value, const std::string& path) const;
  // v6 (§1.4, §1.8): in a file a number is nanoseconds; in the environment a bare number
  // other than 0 is an error (missing unit).
  Duration to_v6_duration(const Value& value, const std::string& path) const;
  std::vector<std::string> to_string_list(const Value& value, const std::string& path) const;
  Config& config_;
  std::vector<std::string>& warnings_;
  bool text_ = false;   // values are text (env, flags) rather than typed file values
  bool v6_ = false;     // values follow Centrifugo v6 rules (v6-config.md §1.4, §1.8)
  bool env_v5_ = false;  // the environment has a v5-only name
  bool env_v6_ = false;  // the environment has a v6 name
  std::string origin_;  // " (from CENTRIFUGO_X)" for env/flags, appended to messages
};

}  // namespace gyre::config::internal
