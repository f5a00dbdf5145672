// resolve_proxies(): the proxy keys of a loaded Config checked and typed into
// Config::proxies_resolved (server-api.md §4.1, §4.10), as Centrifugo v5.4 checks them at
// start-up. Every failure throws ConfigError naming the key.
#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <re2/re2.h>

#include "config/internal.h"
#include "config/loader.h"
#include "core/ascii.h"

namespace gyre::config::internal {
namespace {

[[noreturn]] void fail(std::string_view key, std::string_view message) {
  throw ConfigError(fmt::format("config: key \"{}\": {}", key, message));
}

// Unknown keys inside proxy objects are warnings, as Centrifugo's WarnUnknownProxyKeys.
using Warnings = std::vector<std::string>;

void warn_unknown(Warnings& warnings, const std::string& path) {
  warnings.push_back(fmt::format("unknown key \"{}\"", path));
}

bool is_ascii(std::string_view s) {
  return std::ranges::all_of(s, [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool is_valid_name(std::string_view name) {
  static const re2::RE2 kPattern("^[-a-zA-Z0-9_.]{2,}$");
  return re2::RE2::FullMatch(name, kPattern);
}

const Value& expect(const Value& v, Value::Kind kind, const std::string& path) {
  if (v.kind != kind) {
    fail(path, fmt::format("expected {}, got {}", kind_name(kind), describe(v)));
  }
  return v;
}

std::string string_of(const Value& v, const std::string& path) {
  return expect(v, Value::Kind::kString, path).string;
}

bool bool_of(const Value& v, const std::string& path) {
  return expect(v, Value::Kind::kBool, path).boolean;
}

int64_t int_of(const Value& v, const std::string& path) {
  if (v.kind == Value::Kind::kDouble && v.number == static_cast<double>(
                                                        static_cast<int64_t>(v.number))) {
    return static_cast<int64_t>(v.number);
  }
  return expect(v, Value::Kind::kInt, path).integer;
}

uint32_t code_of(const Value& v, const std::string& path) {
  int64_t c = int_of(v, path);
  if (c < 0 || c > 0xFFFFFFFFll) {
    fail(path, fmt::format("integer {} out of range", c));
  }
  return static_cast<uint32_t>(c);
}

// A Go duration string, or an integer: seconds in v5 (as every v5 duration in Gyre),
// nanoseconds in a v6 file (v6-config.md §1.8).
Duration duration_of(const Value& v, const std::string& path, bool v6 = false) {
  if (v.kind == Value::Kind::kInt) {
    return v6 ? Duration(v.integer / 1000000) : Duration(v.integer * 1000);
  }
  Duration d{0};
  if (!parse_duration(string_of(v, path), d)) {
    fail(path, fmt::format("invalid duration \"{}\"", v.string));
  }
  return d;
}

std::vector<std::string> lower_list(const Value& v, const std::string& path) {
  std::vector<std::string> out;
  if (v.kind == Value::Kind::kString) {
    for (auto& s : split_fields(v.string)) {
      out.push_back(ascii_lower(s));
    }
    return out;
  }
  expect(v, Value::Kind::kArray, path);
  for (size_t i = 0; i < v.items.size(); ++i) {
    out.push_back(ascii_lower(string_of(v.items[i], fmt::format("{}[{}]", path, i))));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> header_map(const Value& v,
                                                            const std::string& path) {
  expect(v, Value::Kind::kObject, path);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : v.fields) {
    std::string lower = ascii_lower(name);
    std::string text = string_of(value, fmt::format("{}.{}", path, name));
    auto same = std::ranges::find(out, lower, &std::pair<std::string, std::string>::first);
    if (same != out.end()) {
      same->second = std::move(text);
    } else {
      out.emplace_back(std::move(lower), std::move(text));
    }
  }
  std::ranges::sort(out);
  return out;
}

// Runs fn(key, value, key_path) for each member of the object `v` (at `path`) that is not
// null; `lower`: the key lower-cased first (v6 keys are case-insensitive). Not an object: a
// start-up error naming `path`.
template <class Fn>
void for_each_field(const Value& v, const std::string& path, bool lower, Fn&& fn) {
  for (const auto& [raw_key, value] : expect(v, Value::Kind::kObject, path).fields) {
    if (value.kind == Value::Kind::kNull) {
      continue;
    }
    const std::string key = lower ? ascii_lower(raw_key) : raw_key;
    fn(key, value, fmt::format("{}.{}", path, key));
  }
}

// An rpc namespace's name: valid and not used before (`names`), as Centrifugo checks both.
void check_rpc_namespace_name(const std::string& path, const std::string& name,
                              std::set<std::string>& names) {
  if (!is_valid_name(name)) {
    fail(path + ".name", fmt::format("invalid rpc namespace name \"{}\" (must match "
                                     "^[-a-zA-Z0-9_.]{{2,}}$)",
                                     name));
  }
  if (!names.insert(name).second) {
    fail(path + ".name", fmt::format("rpc namespace name must be unique: {}", name));
  }
}

// Centrifugo's HttpStatusToCodeTransform.Validate (server-api.md §4.10).
std::vector<ProxyStatusTransform> status_transforms(const Value& v, const std::string& path,
                                                    Warnings& warnings) {
  expect(v, Value::Kind::kArray, path);
  std::vector<ProxyStatusTransform> out;
  for (size_t i = 0; i < v.items.size(); ++i) {
    std::string ip = fmt::format("{}[{}]", path, i);
    ProxyStatusTransform t;
    for_each_field(v.items[i], ip, false, [&](const std::string& key, const Value& value,
                                              const std::string& kp) {
      if (key == "status_code") {
        t.status_code = static_cast<int>(code_of(value, kp));
      } else if (key == "to_error") {
        for_each_field(value, kp, false, [&](const std::string& ek, const Value& ev,
                                             const std::string& ep) {
          if (ek == "code") {
            t.error_code = code_of(ev, ep);
          } else if (ek == "message") {
            t.error_message = string_of(ev, ep);
          } else if (ek == "temporary") {
            t.error_temporary = bool_of(ev, ep);
          } else {
            warn_unknown(warnings, ep);
          }
        });
      } else if (key == "to_disconnect") {
        for_each_field(value, kp, false, [&](const std::string& dk, const Value& dv,
                                             const std::string& dp) {
          if (dk == "code") {
            t.disconnect_code = code_of(dv, dp);
          } else if (dk == "reason") {
            t.disconnect_reason = string_of(dv, dp);
          } else {
            warn_unknown(warnings, dp);
          }
        });
      } else {
        warn_unknown(warnings, kp);
      }
    });
    if (t.status_code == 0) {
      fail(ip, "no status code specified");
    }
    if (t.error_code == 0 && t.disconnect_code == 0) {
      fail(ip, "no error or disconnect code set");
    }
    if (t.error_code > 0 && t.disconnect_code > 0) {
      fail(ip, "only error or disconnect code can be set");
    }
    if (!is_ascii(t.disconnect_reason)) {
      fail(ip + ".to_disconnect.reason", "disconnect reason must be ASCII");
    }
    if (!is_ascii(t.error_message)) {
      fail(ip + ".to_error.message", "error message must be ASCII");
    }
    if (t.disconnect_reason.size() > 123) {
      fail(ip + ".to_disconnect.reason", "disconnect reason can be up to 123 characters long");
    }
    out.push_back(std::move(t));
  }
  return out;
}

// http:// and https:// endpoints are HTTP proxies; anything else is a gRPC target
// (server-api.md §4.1.3), which this version does not implement: a start-up error.
void check_endpoint(const std::string& key, const std::string& endpoint) {
  if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
    fail(key, fmt::format("\"{}\" is not an http:// or https:// URL; GRPC proxies are not "
                          "supported by this version of Gyre",
                          endpoint));
  }
}

// The keys a v5 proxies[] item and a v6 Proxy object share (endpoint, timeout, http_headers,
// binary_encoding, include_connection_meta), decoded into `p`. False: not one of them.
// `v6`: an integer timeout is in nanoseconds.
bool shared_proxy_key(std::string_view key, const Value& value, const std::string& kp, bool v6,
                      ProxyDefinition& p) {
  if (key == "endpoint") {
    p.endpoint = string_of(value, kp);
  } else if (key == "timeout") {
    p.timeout = duration_of(value, kp, v6);
  } else if (key == "http_headers") {
    p.http_headers = lower_list(value, kp);
  } else if (key == "binary_encoding") {
    p.binary_encoding = bool_of(value, kp);
  } else if (key == "include_connection_meta") {
    p.include_connection_meta = bool_of(value, kp);
  } else {
    return false;
  }
  return true;
}

ProxyDefinition parse_proxy(const Value& item, const std::string& path, Warnings& warnings) {
  ProxyDefinition p;
  for_each_field(item, path, false, [&](const std::string& key, const Value& value,
                                        const std::string& kp) {
    if (shared_proxy_key(key, value, kp, false, p)) {
      return;
    }
    if (key == "name") {
      p.name = string_of(value, kp);
    } else if (key == "static_http_headers") {
      p.static_http_headers = header_map(value, kp);
    } else if (key == "http_status_to_code_transforms") {
      p.http_status_transforms = status_transforms(value, kp, warnings);
    } else if (key == "grpc_metadata" || key.starts_with("grpc_")) {
      // Options of gRPC proxies: meaningless for an HTTP endpoint, and a gRPC endpoint is
      // refused below, so they can never take effect silently.
    } else {
      warn_unknown(warnings, kp);
    }
  });
  if (!is_valid_name(p.name)) {
    fail(path + ".name", fmt::format("invalid proxy name \"{}\", must match "
                                     "^[-a-zA-Z0-9_.]{{2,}}$ regular expression",
                                     p.name));
  }
  if (p.timeout.count() == 0) {
    p.timeout = Duration(1000);
  }
  if (p.timeout.count() < 0) {
    fail(path + ".timeout", "must not be negative");
  }
  if (p.endpoint.empty()) {
    fail(path + ".endpoint", fmt::format("no endpoint set for proxy {}", p.name));
  }
  check_endpoint(path + ".endpoint", p.endpoint);
  return p;
}

void add_captured(std::vector<std::string>& out, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (std::ranges::find(out, n) == out.end()) {
      out.push_back(n);
    }
  }
}

void check_name(const ResolvedProxies& r, const std::string& key, const std::string& name,
                std::string_view kind) {
  if (!name.empty() && r.find(name) == nullptr) {
    fail(key, fmt::format("{} proxy not found: {}", kind, name));
  }
}

void check_channel_names(const ResolvedProxies& r, const ChannelOptions& o,
                         const std::string& prefix) {
  check_name(r, prefix + "subscribe_proxy_name", o.subscribe_proxy_name, "subscribe");
  check_name(r, prefix + "publish_proxy_name", o.publish_proxy_name, "publish");
  check_name(r, prefix + "sub_refresh_proxy_name", o.sub_refresh_proxy_name, "sub refresh");
  if (!o.subscribe_stream_proxy_name.empty()) {
    fail(prefix + "subscribe_stream_proxy_name",
         "subscribe stream proxies need GRPC, which this version of Gyre does not support");
  }
}


// ---- Centrifugo v6 (v6-config.md §2.2, §2.6)

// A v6 Proxy object. `with_enabled`: client.proxy.connect/refresh have `enabled`;
// `with_name`: proxies[] items. Returns the definition and whether it is switched on
// (`enabled`, or a non-empty endpoint where there is no switch).
std::pair<ProxyDefinition, bool> parse_v6_proxy(const Value& v, const std::string& path,
                                                bool with_enabled, bool with_name,
                                                Warnings& warnings) {
  ProxyDefinition p;
  bool enabled = false;
  for_each_field(v, path, true, [&](const std::string& key, const Value& value,
                                    const std::string& kp) {
    if (shared_proxy_key(key, value, kp, true, p)) {
      return;
    }
    if (key == "enabled" && with_enabled) {
      enabled = bool_of(value, kp);
    } else if (key == "name" && with_name) {
      p.name = string_of(value, kp);
    } else if (key == "http") {
      for_each_field(value, kp, true, [&](const std::string& hk, const Value& hv,
                                          const std::string& hp) {
        if (hk == "static_headers") {
          p.static_http_headers = header_map(hv, hp);
        } else if (hk == "status_to_code_transforms") {
          p.http_status_transforms = status_transforms(hv, hp, warnings);
        } else if (hk == "tls") {
          for (const auto& [tk, tv] : expect(hv, Value::Kind::kObject, hp).fields) {
            if (ascii_lower(tk) == "enabled" && tv.kind == Value::Kind::kBool && tv.boolean) {
              fail(hp + ".enabled", "true is not supported yet; supported: false (https:// "
                                    "endpoints use the system CA store)");
            }
          }
        } else {
          warn_unknown(warnings, hp);
        }
      });
    } else if (key == "grpc_metadata" || key == "grpc") {
      // gRPC proxy options; a gRPC endpoint is refused below
    } else {
      warn_unknown(warnings, kp);
    }
  });
  if (p.timeout.count() == 0) {
    p.timeout = Duration(1000);
  }
  if (p.timeout.count() < 0) {
    fail(path + ".timeout", "must not be negative");
  }
  const bool on = with_enabled ? enabled : !p.endpoint.empty();
  if (with_name || (with_enabled && enabled)) {
    if (p.endpoint.empty()) {
      fail(path + ".endpoint", "required when the proxy is enabled or named");
    }
  }
  if (!p.endpoint.empty()) {
    check_endpoint(path + ".endpoint", p.endpoint);
  }
  return {std::move(p), on};
}

void resolve_v6(Config& config, Warnings& warnings) {
  ResolvedProxies r;
  struct Row {
    ResolvedProxies::Kind kind;
    const char* name;
    const Value& value;
    const char* path;
    bool with_enabled;
  };
  const Row rows[] = {
      {ResolvedProxies::kConnect, "connect", config.v6_connect_proxy, "client.proxy.connect", true},
      {ResolvedProxies::kRefresh, "refresh", config.v6_refresh_proxy, "client.proxy.refresh", true},
      {ResolvedProxies::kSubscribe, "subscribe", config.v6_subscribe_proxy,
       "channel.proxy.subscribe", false},
      {ResolvedProxies::kPublish, "publish", config.v6_publish_proxy, "channel.proxy.publish",
       false},
      {ResolvedProxies::kSubRefresh, "sub_refresh", config.v6_sub_refresh_proxy,
       "channel.proxy.sub_refresh", false},
      {ResolvedProxies::kRpc, "rpc", config.v6_rpc_proxy, "rpc.proxy", false},
  };
  for (const auto& row : rows) {
    auto [p, on] = parse_v6_proxy(row.value, row.path, row.with_enabled, false, warnings);
    if (on) {
      p.name = row.name;
      add_captured(r.captured_headers, p.http_headers);
      r.by_kind[row.kind] = std::move(p);
    }
  }
  {
    auto [stream, on] = parse_v6_proxy(config.v6_subscribe_stream_proxy,
                                       "channel.proxy.subscribe_stream", false, false, warnings);
    if (on) {
      fail("channel.proxy.subscribe_stream.endpoint",
           "subscribe stream proxies need GRPC, which this version of Gyre does not support");
    }
  }
  const Value& list = expect(config.proxies, Value::Kind::kArray, "proxies");
  for (size_t i = 0; i < list.items.size(); ++i) {
    std::string ip = fmt::format("proxies[{}]", i);
    auto [p, on] = parse_v6_proxy(list.items[i], ip, false, true, warnings);
    if (p.name == "default") {
      fail(ip + ".name", "\"default\" is reserved for the unnamed proxy of each type");
    }
    if (!is_valid_name(p.name)) {
      fail(ip + ".name", fmt::format("invalid proxy name \"{}\", must match "
                                     "^[-a-zA-Z0-9_.]{{2,}}$ regular expression",
                                     p.name));
    }
    if (r.find(p.name) != nullptr) {
      fail(ip + ".name", fmt::format("duplicate proxy name: {}", p.name));
    }
    add_captured(r.captured_headers, p.http_headers);
    r.named.push_back(std::move(p));
  }
  const Value& nss = expect(config.rpc_namespaces, Value::Kind::kArray, "rpc.namespaces");
  std::set<std::string> names;
  for (size_t i = 0; i < nss.items.size(); ++i) {
    std::string ip = fmt::format("rpc.namespaces[{}]", i);
    RpcNamespace ns;
    for_each_field(nss.items[i], ip, true, [&](const std::string& key, const Value& value,
                                               const std::string& kp) {
      if (key == "name") {
        ns.name = string_of(value, kp);
      } else if (key == "proxy_name") {
        ns.rpc_proxy_name = string_of(value, kp);
      } else if (key == "proxy_enabled") {
        ns.proxy_enabled = bool_of(value, kp);
      } else {
        warn_unknown(warnings, kp);
      }
    });
    if (ns.rpc_proxy_name == "default") {
      ns.rpc_proxy_name.clear();
    }
    check_rpc_namespace_name(ip, ns.name, names);
    r.rpc_namespaces.push_back(std::move(ns));
  }
  if (config.rpc_proxy_name == "default") {
    config.rpc_proxy_name.clear();
  }
  config.proxies_resolved = std::move(r);
  check_proxy_names(config);
}

}  // namespace

void resolve_proxies(Config& config, std::vector<std::string>& warnings) {
  if (config.v6_proxies) {
    resolve_v6(config, warnings);
    return;
  }
  // The v6 Proxy objects are read only in the v6 shape; their variables with a v5-shaped file
  // would otherwise be lost silently.
  const std::pair<const char*, const Value*> v6_objects[] = {
      {"client.proxy.connect", &config.v6_connect_proxy},
      {"client.proxy.refresh", &config.v6_refresh_proxy},
      {"channel.proxy.subscribe", &config.v6_subscribe_proxy},
      {"channel.proxy.publish", &config.v6_publish_proxy},
      {"channel.proxy.sub_refresh", &config.v6_sub_refresh_proxy},
      {"channel.proxy.subscribe_stream", &config.v6_subscribe_stream_proxy},
      {"rpc.proxy", &config.v6_rpc_proxy},
  };
  for (const auto& [path, object] : v6_objects) {
    if (object->kind == Value::Kind::kObject && !object->fields.empty()) {
      fail(path, "a Centrifugo v6 proxy option cannot be combined with a configuration in the "
                 "v5 shape; use the v5 proxy_* keys there");
    }
  }
  ResolvedProxies r;
  auto static_headers = header_map(config.proxy_static_http_headers, "proxy_static_http_headers");
  auto transforms =
      status_transforms(config.proxy_http_status_code_transforms,
                        "proxy_http_status_code_transforms", warnings);
  // rpc_namespaces (both modes validate them, as Centrifugo's rule config does).
  {
    const Value& list = expect(config.rpc_namespaces, Value::Kind::kArray, "rpc_namespaces");
    std::set<std::string> names;
    for (size_t i = 0; i < list.items.size(); ++i) {
      std::string ip = fmt::format("rpc_namespaces[{}]", i);
      RpcNamespace ns;
      for_each_field(list.items[i], ip, false, [&](const std::string& key, const Value& value,
                                                   const std::string& kp) {
        if (key == "name") {
          ns.name = string_of(value, kp);
        } else if (key == "rpc_proxy_name") {
          ns.rpc_proxy_name = string_of(value, kp);
        } else {
          warn_unknown(warnings, kp);
        }
      });
      check_rpc_namespace_name(ip, ns.name, names);
      r.rpc_namespaces.push_back(std::move(ns));
    }
  }

  if (!config.granular_proxy_mode) {
    if (!config.proxy_subscribe_stream_endpoint.empty()) {
      fail("proxy_subscribe_stream_endpoint",
           "subscribe stream proxies need GRPC, which this version of Gyre does not support");
    }
    struct Row {
      ResolvedProxies::Kind kind;
      const char* name;
      const std::string& endpoint;
      Duration timeout;
      const char* endpoint_key;
      const char* timeout_key;
    };
    const Row rows[] = {
        {ResolvedProxies::kConnect, "connect", config.proxy_connect_endpoint,
         config.proxy_connect_timeout, "proxy_connect_endpoint", "proxy_connect_timeout"},
        {ResolvedProxies::kRefresh, "refresh", config.proxy_refresh_endpoint,
         config.proxy_refresh_timeout, "proxy_refresh_endpoint", "proxy_refresh_timeout"},
        {ResolvedProxies::kSubscribe, "subscribe", config.proxy_subscribe_endpoint,
         config.proxy_subscribe_timeout, "proxy_subscribe_endpoint", "proxy_subscribe_timeout"},
        {ResolvedProxies::kPublish, "publish", config.proxy_publish_endpoint,
         config.proxy_publish_timeout, "proxy_publish_endpoint", "proxy_publish_timeout"},
        {ResolvedProxies::kSubRefresh, "sub_refresh", config.proxy_sub_refresh_endpoint,
         config.proxy_sub_refresh_timeout, "proxy_sub_refresh_endpoint",
         "proxy_sub_refresh_timeout"},
        {ResolvedProxies::kRpc, "rpc", config.proxy_rpc_endpoint, config.proxy_rpc_timeout,
         "proxy_rpc_endpoint", "proxy_rpc_timeout"},
    };
    std::vector<std::string> headers;
    for (const auto& h : config.proxy_http_headers) {
      headers.push_back(ascii_lower(h));
    }
    for (const auto& row : rows) {
      if (row.endpoint.empty()) {
        continue;
      }
      check_endpoint(row.endpoint_key, row.endpoint);
      if (row.timeout.count() <= 0) {
        fail(row.timeout_key, "must be positive when the proxy is enabled");
      }
      ProxyDefinition p;
      p.name = row.name;
      p.endpoint = row.endpoint;
      p.timeout = row.timeout;
      p.http_headers = headers;
      p.static_http_headers = static_headers;
      p.binary_encoding = config.proxy_binary_encoding;
      p.include_connection_meta = config.proxy_include_connection_meta;
      p.http_status_transforms = transforms;
      r.by_kind[row.kind] = std::move(p);
      add_captured(r.captured_headers, headers);
    }
    config.proxies_resolved = std::move(r);
    return;
  }

  // Granular mode (server-api.md §4.1.2): named proxies, chosen by *_proxy_name; the
  // default-mode endpoints are ignored, as in Centrifugo, and said so.
  const std::pair<const char*, const std::string*> ignored[] = {
      {"proxy_connect_endpoint", &config.proxy_connect_endpoint},
      {"proxy_refresh_endpoint", &config.proxy_refresh_endpoint},
      {"proxy_subscribe_endpoint", &config.proxy_subscribe_endpoint},
      {"proxy_publish_endpoint", &config.proxy_publish_endpoint},
      {"proxy_sub_refresh_endpoint", &config.proxy_sub_refresh_endpoint},
      {"proxy_rpc_endpoint", &config.proxy_rpc_endpoint},
  };
  for (const auto& [key, value] : ignored) {
    if (!value->empty()) {
      warnings.push_back(fmt::format(
          "key \"{}\" is ignored in granular proxy mode (use proxies and *_proxy_name)", key));
    }
  }
  const Value& list = expect(config.proxies, Value::Kind::kArray, "proxies");
  for (size_t i = 0; i < list.items.size(); ++i) {
    std::string ip = fmt::format("proxies[{}]", i);
    ProxyDefinition p = parse_proxy(list.items[i], ip, warnings);
    if (r.find(p.name) != nullptr) {
      fail(ip + ".name", fmt::format("duplicate proxy name: {}", p.name));
    }
    r.named.push_back(std::move(p));
  }
  config.proxies_resolved = std::move(r);
  check_proxy_names(config);
  ResolvedProxies& resolved = config.proxies_resolved;
  for (const auto& p : resolved.named) {
    add_captured(resolved.captured_headers, p.http_headers);
  }
}

void check_proxy_names(const Config& config) {
  const ResolvedProxies& r = config.proxies_resolved;
  if (config.v6_proxies) {
    // v6: "" is `default` (the unnamed proxy of the type); other names are proxies[] items.
    check_name(r, "rpc.without_namespace.proxy_name", config.rpc_proxy_name, "rpc");
    check_channel_names(r, config.channel, "channel.without_namespace.");
    for (size_t i = 0; i < config.namespaces.size(); ++i) {
      check_channel_names(r, config.namespaces[i].options,
                          fmt::format("channel.namespaces[{}].", i));
    }
    for (size_t i = 0; i < r.rpc_namespaces.size(); ++i) {
      check_name(r, fmt::format("rpc.namespaces[{}].proxy_name", i),
                 r.rpc_namespaces[i].rpc_proxy_name, "rpc");
    }
    return;
  }
  if (!config.granular_proxy_mode) {
    return;
  }
  check_name(r, "connect_proxy_name", config.connect_proxy_name, "connect");
  check_name(r, "refresh_proxy_name", config.refresh_proxy_name, "refresh");
  check_name(r, "rpc_proxy_name", config.rpc_proxy_name, "rpc");
  check_channel_names(r, config.channel, "");
  for (size_t i = 0; i < config.namespaces.size(); ++i) {
    check_channel_names(r, config.namespaces[i].options, fmt::format("namespaces[{}].", i));
  }
  for (size_t i = 0; i < r.rpc_namespaces.size(); ++i) {
    check_name(r, fmt::format("rpc_namespaces[{}].rpc_proxy_name", i),
               r.rpc_namespaces[i].rpc_proxy_name, "rpc");
  }
}

}  // namespace gyre::config::internal
