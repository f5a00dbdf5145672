#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "config/config.h"

// The one table of configuration keys: each Centrifugo v5 flat key (reference.md §8.1) with
// its Centrifugo v6 nested path (v6-config.md §2). File, environment and flag handling of both
// shapes go through it, and docs, defaultconfig and defaultenv are generated from it. The
// tables are immutable static data: thread-safe.
namespace gyre::config::schema {

// How a key's value is read. File values must have the matching JSON/YAML/TOML type;
// environment and flag values are text and are parsed (see loader.cc).
enum class Type {
  kBool,        // file: boolean; text: Go strconv.ParseBool
  kInt,         // file: integer; text: decimal integer
  kString,      // file: string
  kPort,        // a string key that also accepts an integer (`port: 8000`)
  kDuration,    // Go duration string ("25s", "1m30s"); a plain integer means seconds
  kSeconds,     // as kDuration, and must be whole seconds
  kStringList,  // file: array of strings (or one space-separated string); text: space-separated
  kNamespaces,  // file: array of objects; text: a JSON array
  // {enabled, transforms: [{code, to: {...}}]}; text: a JSON object. `to` holds
  // {code, reason} (kDisconnectTransforms) or {status_code, body} (kHttpTransforms).
  kDisconnectTransforms,
  kHttpTransforms,
  // A JSON object or array kept as a tree (proxies, rpc_namespaces, proxy static headers and
  // status transforms); text: JSON. Checked and typed by config/proxies.cc.
  kJson,
};

// Where the value of a key lives inside its owner struct.
template <class Owner>
using Member = std::variant<std::monostate, bool Owner::*, int Owner::*, int64_t Owner::*,
                            std::string Owner::*, Duration Owner::*,
                            std::vector<std::string> Owner::*, CodeTransforms Owner::*,
                            Value Owner::*>;

// A pointer to the storage of one key inside a concrete config object.
using FieldRef = std::variant<bool*, int*, int64_t*, std::string*, Duration*,
                              std::vector<std::string>*, CodeTransforms*, Value*>;

template <class Owner>
struct KeySpec {
  std::string_view name;  // Centrifugo v5 flat key
  // Centrifugo v6 name (v6-config.md §2): the dotted path for global keys
  // ("client.ping_interval"), the field name for token keys (under client.token and
  // client.subscription_token) and for channel options (under channel.without_namespace and
  // in channel.namespaces[] items). Empty: the key has no v6 equivalent.
  std::string_view v6;
  Type type;
  Member<Owner> member;  // monostate: handled specially (only `namespaces`)
  std::string_view doc;
  // Accepted only for top-level channel options (reference quirk aliases).
  bool top_level_only = false;
};

template <class Owner>
FieldRef bind(Owner& owner, const Member<Owner>& member) {
  return std::visit(
      [&owner](auto m) -> FieldRef {
        if constexpr (std::is_same_v<decltype(m), std::monostate>) {
          return static_cast<bool*>(nullptr);
        } else {
          return &(owner.*m);
        }
      },
      member);
}

// Node-level keys (members of Config other than tokens and channel options).
std::span<const KeySpec<Config>> global_keys();
// Token keys, without prefix; exposed as `token_<name>` and `subscription_token_<name>`.
std::span<const KeySpec<TokenConfig>> token_keys();
// Channel options: flat top-level keys for Config::channel and keys of namespace objects.
std::span<const KeySpec<ChannelOptions>> channel_keys();

inline constexpr std::string_view kTokenPrefix = "token_";
inline constexpr std::string_view kSubscriptionTokenPrefix = "subscription_token_";

// What happens when a Centrifugo v5 key that Gyre does not implement is set.
enum class UnsupportedPolicy {
  kWarn,          // warn "is not supported ... and is ignored"
  kRejectIfTrue,  // a true value is an error: ignoring it would silently change behaviour
};

struct UnsupportedKey {
  std::string_view name;
  UnsupportedPolicy policy = UnsupportedPolicy::kWarn;
  std::string_view reason;  // why true is refused (kRejectIfTrue); empty: "not supported yet"
};

// The error for a true value of a kRejectIfTrue key.
std::string reject_message(const UnsupportedKey& key);

// Known Centrifugo v5 top-level key that Gyre does not implement yet, or null.
const UnsupportedKey* find_unsupported(std::string_view key);
// Known Centrifugo v5 channel option (top level or in a namespace) Gyre ignores, or null.
const UnsupportedKey* find_unsupported_channel_option(std::string_view key);

// v6 blocks holding the token keys and the options of channels without namespace.
inline constexpr std::string_view kV6TokenBlock = "client.token";
inline constexpr std::string_view kV6SubscriptionTokenBlock = "client.subscription_token";
inline constexpr std::string_view kV6ChannelBlock = "channel.without_namespace";
inline constexpr std::string_view kV6NamespacesPath = "channel.namespaces";

// A Centrifugo v6 path Gyre does not implement (the path itself or a path below it, e.g.
// "admin" covers "admin.enabled"), or null. Reject-if-true entries are exact leaves.
const UnsupportedKey* find_unsupported_v6(std::string_view path);
// A v6 channel option (without_namespace or namespace item) Gyre does not implement, or null.
const UnsupportedKey* find_unsupported_v6_channel_option(std::string_view option);
// Every unsupported v6 path entry (for environment-name matching).
std::span<const UnsupportedKey> unsupported_v6();

// Which configuration shape a top-level file key signals (v6-config.md §4.1-§4.2): v6 for
// v6-only blocks and for same-name keys holding an object, v5 for flat v5 keys and for
// same-name keys holding a scalar, none for shared and unknown keys.
enum class Signal { kNone, kV5, kV6 };
Signal top_level_signal(std::string_view key, bool value_is_object);

// Engines/brokers Gyre implements; anything else fails validation.
inline constexpr std::string_view kSupportedEngine = "memory";
inline constexpr std::string_view kRedisEngine = "redis";

}  // namespace gyre::config::schema
