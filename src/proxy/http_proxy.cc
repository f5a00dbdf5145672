#include "proxy/http_proxy.h"

#include <simdjson.h>

#include <algorithm>
#include <map>

#include "core/ascii.h"
#include "auth/jwt_claims.h"
#include "core/base64.h"
#include "protocol/codec.h"
#include "protocol/json_decode.h"
#include "protocol/json_entities.h"
#include "protocol/json_raw.h"
#include "protocol/json_writer.h"

namespace gyre::proxy {
namespace {

namespace od = simdjson::ondemand;
using JsonType = od::json_type;
using protocol::key_is;
using protocol::json::decode_bool;
using protocol::json::decode_int64;
using protocol::json::decode_raw;
using protocol::json::decode_string;
using protocol::json::decode_uint32;
using protocol::json::for_each_member;
using protocol::json::type_of;
using auth::claims::decode_override;

void write_common(protocol::JsonWriter& w, const ProxyConfig& p, const Caller& c) {
  w.field("client", c.client);
  w.field("transport", c.transport);
  w.field("protocol", c.protocol);
  w.field("encoding", p.binary_encoding ? "binary" : "json");
}

// `data`/`b64data` of a payload: omitted when empty. False when the payload must be JSON
// and is not.
bool write_payload(protocol::JsonWriter& w, const ProxyConfig& p, std::string_view data) {
  if (data.empty()) {
    return true;
  }
  if (p.binary_encoding) {
    w.field("b64data", base64::encode_std(data));
    return true;
  }
  std::string compact;
  if (!protocol::append_compact_json(compact, data)) {
    return false;
  }
  w.key("data");
  w.raw(compact);
  return true;
}

void write_user(protocol::JsonWriter& w, const Caller& c) {
  w.field("user", c.user);  // always present, even "" (server-api.md §4.3)
}

// Last, as in the reference's field order (server-api.md §4.11 field numbers).
void write_meta(protocol::JsonWriter& w, const ProxyConfig& p, const Caller& c) {
  if (p.include_connection_meta && !c.meta.empty()) {
    w.field_raw("meta", c.meta);
  }
}

// --- decoding helpers (Go encoding/json leniency, server-api.md §0.1)

// Opens `v` as an object; `is_null` when it is null (Go leaves the field unset).
bool object_of(od::value& v, od::object& out, bool& is_null) {
  JsonType t;
  if (!type_of(v, t)) {
    return false;
  }
  is_null = t == JsonType::null;
  if (is_null) {
    return true;
  }
  return t == JsonType::object && v.get_object().get(out) == simdjson::SUCCESS;
}

bool decode_string_list(od::value& v, std::vector<std::string>& out) {
  JsonType t;
  if (!type_of(v, t)) {
    return false;
  }
  if (t == JsonType::null) {
    out.clear();
    return true;
  }
  od::array array;
  if (t != JsonType::array || v.get_array().get(array) != simdjson::SUCCESS) {
    return false;
  }
  out.clear();
  for (auto item : array) {
    od::value e;
    if (std::move(item).get(e) != simdjson::SUCCESS) {
      return false;
    }
    std::string s;
    if (!decode_string(e, s)) {
      return false;
    }
    out.push_back(std::move(s));
  }
  return true;
}

// A member that is an object (decoded into `out`, each of its members by fill(T&, key,
// value)) or null (`out` reset). False: another type, or a member of the wrong type.
template <class T, class Fill>
bool decode_nullable_object(od::value& v, std::optional<T>& out, Fill&& fill) {
  od::object o;
  bool is_null = false;
  if (!object_of(v, o, is_null)) {
    return false;
  }
  if (is_null) {
    out.reset();
    return true;
  }
  T t;
  if (!for_each_member(o, [&](std::string_view key, od::value& m) { return fill(t, key, m); })) {
    return false;
  }
  out = std::move(t);
  return true;
}

bool decode_error(od::value& v, std::optional<Error>& out) {
  return decode_nullable_object(v, out, [](Error& e, std::string_view key, od::value& m) {
    if (key_is(key, "code")) {
      return decode_uint32(m, e.code);
    }
    if (key_is(key, "message")) {
      return decode_string(m, e.message);
    }
    if (key_is(key, "temporary")) {
      return decode_bool(m, e.temporary);
    }
    return true;
  });
}

bool decode_disconnect(od::value& v, std::optional<Disconnect>& out) {
  return decode_nullable_object(v, out, [](Disconnect& d, std::string_view key, od::value& m) {
    if (key_is(key, "code")) {
      return decode_uint32(m, d.code);
    }
    if (key_is(key, "reason")) {
      return decode_string(m, d.reason);
    }
    return true;
  });
}

// A raw field with its base64 twin; the twin wins when non-empty (all results but publish).
struct RawPair {
  std::optional<std::string> raw;
  std::string b64;
  // False on bad base64.
  bool resolve(std::string& out) const {
    if (!b64.empty()) {
      auto decoded = base64::decode_std(b64);
      if (!decoded) {
        return false;
      }
      out = std::move(*decoded);
      return true;
    }
    out = raw.value_or(std::string());
    return true;
  }
};

struct DecodedSubOptions {
  RawPair info;
  RawPair data;
  auth::SubscribeOptionOverride override;
};

// The subscription option keys a subscribe result and a connect result's `subs` entry share
// (info, b64info, data, b64data, override) into `opts`; other keys are left to the caller
// (true: nothing to decode). False: a present key of the wrong type.
bool decode_sub_option(std::string_view key, od::value& v, DecodedSubOptions& opts) {
  if (key_is(key, "info")) {
    return decode_raw(v, opts.info.raw);
  }
  if (key_is(key, "b64info")) {
    return decode_string(v, opts.info.b64);
  }
  if (key_is(key, "data")) {
    return decode_raw(v, opts.data.raw);
  }
  if (key_is(key, "b64data")) {
    return decode_string(v, opts.data.b64);
  }
  if (key_is(key, "override")) {
    return decode_override(v, opts.override);
  }
  return true;
}

// Runs `fn(key, value)` for each member of the top-level object of `body`, after checking
// that the whole body is valid JSON (Go decodes the whole document).
template <class Fn>
bool for_each_top_member(std::string_view body, Fn&& fn) {
  if (!protocol::valid_json(body)) {
    return false;
  }
  simdjson::padded_string padded(body);
  od::parser parser;
  od::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
    return false;
  }
  od::object o;
  if (doc.get_object().get(o) != simdjson::SUCCESS) {
    return false;
  }
  return for_each_member(o, fn);
}

template <class R, class ResultFn>
std::optional<Reply<R>> decode_reply(std::string_view body, ResultFn&& decode_result) {
  Reply<R> reply;
  bool ok = for_each_top_member(body, [&](std::string_view key, od::value& v) {
    if (key_is(key, "disconnect")) {
      return decode_disconnect(v, reply.disconnect);
    }
    if (key_is(key, "error")) {
      return decode_error(v, reply.error);
    }
    if (key_is(key, "result")) {
      od::object o;
      bool is_null = false;
      if (!object_of(v, o, is_null)) {
        return false;
      }
      if (is_null) {
        reply.result.reset();
        return true;
      }
      return decode_result(o, reply);
    }
    return true;
  });
  if (!ok) {
    return std::nullopt;
  }
  return reply;
}

// A result that failed a base64 decode: error 100 unless disconnect or error decide first.
template <class R>
void fail_result(Reply<R>& reply) {
  reply.result.reset();
  if (!reply.error) {
    reply.error = errors::internal();
  }
}

// decode_reply for results with base64 fields: decode_result(o, reply, bad_base64) sets
// `bad_base64` for one that does not decode, which fails the result once the whole reply is
// read (a disconnect or error in it still decides).
template <class R, class ResultFn>
std::optional<Reply<R>> decode_reply_b64(std::string_view body, ResultFn&& decode_result) {
  bool bad_base64 = false;
  auto reply = decode_reply<R>(body, [&](od::object& o, Reply<R>& r) {
    return decode_result(o, r, bad_base64);
  });
  if (reply && bad_base64 && reply->result) {
    fail_result(*reply);
  }
  return reply;
}

}  // namespace

namespace {

const ProxyConfig* of_kind(const config::Config& cfg, config::ResolvedProxies::Kind kind) {
  const auto& p = cfg.proxies_resolved.by_kind[kind];
  return p ? &*p : nullptr;
}

// Default mode: the kind's proxy when the namespace asks for it; granular: the named one.
const ProxyConfig* channel_proxy(const config::Config& cfg, bool wanted,
                                 const std::string& name, config::ResolvedProxies::Kind kind) {
  if (cfg.v6_proxies) {
    // v6: <type>_proxy_enabled switches, the name picks `default` ("") or a proxies[] item.
    if (!wanted) {
      return nullptr;
    }
    return name.empty() ? of_kind(cfg, kind) : cfg.proxies_resolved.find(name);
  }
  if (cfg.granular_proxy_mode) {
    return name.empty() ? nullptr : cfg.proxies_resolved.find(name);
  }
  return wanted || !name.empty() ? of_kind(cfg, kind) : nullptr;
}

// The rpc namespace a method names: the part before rpc_namespace_boundary. Null when the
// method has none (no boundary in it, or no boundary configured); method_not_found when that
// namespace is not configured.
std::expected<const config::RpcNamespace*, Error> rpc_namespace_of(const config::Config& cfg,
                                                                   std::string_view method) {
  const std::string& boundary = cfg.rpc_namespace_boundary;
  if (boundary.empty()) {
    return nullptr;
  }
  size_t at = method.find(boundary);
  if (at == std::string_view::npos || at == 0) {
    return nullptr;
  }
  std::string_view ns_name = method.substr(0, at);
  const auto& namespaces = cfg.proxies_resolved.rpc_namespaces;
  auto ns = std::find_if(namespaces.begin(), namespaces.end(),
                         [&](const auto& n) { return n.name == ns_name; });
  if (ns == namespaces.end()) {
    return std::unexpected(errors::method_not_found());
  }
  return &*ns;
}

// v6 (v6-config.md §2.6): the method always splits at rpc.namespace_boundary; proxy names
// "" (= `default`) are rpc.proxy, others proxies[] items.
std::expected<const ProxyConfig*, Error> v6_rpc_proxy(const config::Config& cfg,
                                                      std::string_view method) {
  const auto& namespaces = cfg.proxies_resolved.rpc_namespaces;
  const bool any = cfg.v6_rpc_proxy_enabled ||
                   std::any_of(namespaces.begin(), namespaces.end(),
                               [](const auto& ns) { return ns.proxy_enabled; });
  if (!any) {
    return std::unexpected(errors::not_available());
  }
  auto ns = rpc_namespace_of(cfg, method);
  if (!ns) {
    return std::unexpected(ns.error());
  }
  const bool enabled = *ns ? (*ns)->proxy_enabled : cfg.v6_rpc_proxy_enabled;
  const std::string* name = *ns ? &(*ns)->rpc_proxy_name : &cfg.rpc_proxy_name;
  const ProxyConfig* p = nullptr;
  if (enabled) {
    p = name->empty() ? of_kind(cfg, config::ResolvedProxies::kRpc)
                      : cfg.proxies_resolved.find(*name);
  }
  if (p == nullptr) {
    return std::unexpected(errors::not_available());
  }
  return p;
}

}  // namespace

const ProxyConfig* connect_proxy(const config::Config& cfg) {
  if (cfg.granular_proxy_mode) {
    return cfg.connect_proxy_name.empty() ? nullptr
                                          : cfg.proxies_resolved.find(cfg.connect_proxy_name);
  }
  return of_kind(cfg, config::ResolvedProxies::kConnect);
}

const ProxyConfig* refresh_proxy(const config::Config& cfg) {
  if (cfg.granular_proxy_mode) {
    return cfg.refresh_proxy_name.empty() ? nullptr
                                          : cfg.proxies_resolved.find(cfg.refresh_proxy_name);
  }
  return of_kind(cfg, config::ResolvedProxies::kRefresh);
}

const ProxyConfig* subscribe_proxy(const config::Config& cfg, const config::ChannelOptions& o) {
  return channel_proxy(cfg, o.proxy_subscribe, o.subscribe_proxy_name,
                       config::ResolvedProxies::kSubscribe);
}

const ProxyConfig* publish_proxy(const config::Config& cfg, const config::ChannelOptions& o) {
  return channel_proxy(cfg, o.proxy_publish, o.publish_proxy_name,
                       config::ResolvedProxies::kPublish);
}

const ProxyConfig* sub_refresh_proxy(const config::Config& cfg,
                                     const config::ChannelOptions& o) {
  return channel_proxy(cfg, o.proxy_sub_refresh, o.sub_refresh_proxy_name,
                       config::ResolvedProxies::kSubRefresh);
}

const ProxyConfig* server_side_sub_refresh_proxy(const config::Config& cfg,
                                                 const config::ChannelOptions& o) {
  return channel_proxy(cfg, cfg.v6_proxies ? o.proxy_sub_refresh : true,
                       o.sub_refresh_proxy_name, config::ResolvedProxies::kSubRefresh);
}

bool server_side_sub_refresh(const config::ChannelOptions& o) {
  return o.proxy_sub_refresh || !o.sub_refresh_proxy_name.empty();
}

std::expected<const ProxyConfig*, Error> rpc_proxy(const config::Config& cfg,
                                                   std::string_view method) {
  if (cfg.v6_proxies) {
    return v6_rpc_proxy(cfg, method);
  }
  if (!cfg.granular_proxy_mode) {
    if (const ProxyConfig* p = of_kind(cfg, config::ResolvedProxies::kRpc)) {
      return p;
    }
    return std::unexpected(errors::not_available());
  }
  // Centrifugo installs an RPC handler only when some rpc_proxy_name is set.
  const auto& namespaces = cfg.proxies_resolved.rpc_namespaces;
  const bool any = !cfg.rpc_proxy_name.empty() ||
                   std::any_of(namespaces.begin(), namespaces.end(),
                               [](const auto& ns) { return !ns.rpc_proxy_name.empty(); });
  if (!any) {
    return std::unexpected(errors::not_available());
  }
  auto ns = rpc_namespace_of(cfg, method);
  if (!ns) {
    return std::unexpected(ns.error());
  }
  const std::string* proxy_name = *ns ? &(*ns)->rpc_proxy_name : &cfg.rpc_proxy_name;
  if (proxy_name->empty()) {
    return std::unexpected(errors::not_available());
  }
  const ProxyConfig* p = cfg.proxies_resolved.find(*proxy_name);
  if (p == nullptr) {
    return std::unexpected(errors::not_available());  // a reload dropped it; config checks
  }
  return p;
}

std::optional<StatusTransformed> transform_status(const ProxyConfig& p, int status) {
  for (const auto& t : p.http_status_transforms) {
    if (t.status_code != status) {
      continue;
    }
    StatusTransformed out;
    if (t.error_code > 0) {
      out.error = Error{t.error_code, t.error_message, t.error_temporary};
      return out;
    }
    if (t.disconnect_code > 0) {
      out.disconnect = Disconnect{t.disconnect_code, t.disconnect_reason};
      return out;
    }
  }
  return std::nullopt;
}

Headers request_headers(const ProxyConfig& p, const Headers& client_headers) {
  Headers out;
  for (const auto& [name, value] : p.static_http_headers) {
    if (name == "content-type") {
      continue;  // forced below
    }
    const bool allowed =
        std::find(p.http_headers.begin(), p.http_headers.end(), name) != p.http_headers.end();
    const bool forwarded =
        allowed && std::any_of(client_headers.begin(), client_headers.end(),
                               [&](const auto& h) { return ascii_lower(h.first) == name; });
    if (!forwarded) {
      out.emplace_back(name, value);
    }
  }
  for (const auto& [name, value] : client_headers) {
    std::string lower = ascii_lower(name);
    if (lower == "content-type") {
      continue;  // forced below
    }
    if (std::find(p.http_headers.begin(), p.http_headers.end(), lower) != p.http_headers.end()) {
      out.emplace_back(std::move(lower), value);
    }
  }
  out.emplace_back("content-type", "application/json");
  return out;
}

std::optional<std::string> encode_connect_request(const ProxyConfig& p, const Caller& c,
                                                  const protocol::ConnectRequest& req) {
  std::string out;
  protocol::JsonWriter w(out);
  w.begin_object();
  write_common(w, p, c);
  if (!write_payload(w, p, req.data)) {
    return std::nullopt;
  }
  if (!req.name.empty()) {
    w.field("name", req.name);
  }
  if (!req.version.empty()) {
    w.field("version", req.version);
  }
  if (!req.subs.empty()) {
    w.key("channels");
    w.begin_array();
    for (const auto& [ch, sub] : req.subs) {
      w.string(ch);
    }
    w.end_array();
  }
  w.end_object();
  return out;
}

std::optional<std::string> encode_rpc_request(const ProxyConfig& p, const Caller& c,
                                              const protocol::RpcRequest& req) {
  std::string out;
  protocol::JsonWriter w(out);
  w.begin_object();
  write_common(w, p, c);
  write_user(w, c);
  if (!req.method.empty()) {
    w.field("method", req.method);
  }
  if (!write_payload(w, p, req.data)) {
    return std::nullopt;
  }
  write_meta(w, p, c);
  w.end_object();
  return out;
}

namespace {

std::optional<std::string> encode_channel_request(const ProxyConfig& p, const Caller& c,
                                                  std::string_view channel,
                                                  std::string_view data) {
  std::string out;
  protocol::JsonWriter w(out);
  w.begin_object();
  write_common(w, p, c);
  write_user(w, c);
  w.field("channel", channel);
  if (!write_payload(w, p, data)) {
    return std::nullopt;
  }
  write_meta(w, p, c);
  w.end_object();
  return out;
}

}  // namespace

std::string encode_refresh_request(const ProxyConfig& p, const Caller& c) {
  std::string out;
  protocol::JsonWriter w(out);
  w.begin_object();
  write_common(w, p, c);
  write_user(w, c);
  write_meta(w, p, c);
  w.end_object();
  return out;
}

std::string encode_sub_refresh_request(const ProxyConfig& p, const Caller& c,
                                       std::string_view channel) {
  std::string out;
  protocol::JsonWriter w(out);
  w.begin_object();
  write_common(w, p, c);
  write_user(w, c);
  w.field("channel", channel);
  write_meta(w, p, c);
  w.end_object();
  return out;
}

namespace {

// The keys a refresh result and a sub_refresh result share (expired, expire_at, info,
// b64info) into a new R; `more(R&, key, value)` decodes the others.
template <class R, class More>
bool decode_refresh_result(od::object& o, Reply<R>& r, More&& more) {
  RawPair info;
  R result;
  bool ok = for_each_member(o, [&](std::string_view key, od::value& v) {
    if (key_is(key, "expired")) {
      return decode_bool(v, result.expired);
    }
    if (key_is(key, "expire_at")) {
      return decode_int64(v, result.expire_at);
    }
    if (key_is(key, "info")) {
      return decode_raw(v, info.raw);
    }
    if (key_is(key, "b64info")) {
      return decode_string(v, info.b64);
    }
    return more(result, key, v);
  });
  if (!ok) {
    return false;
  }
  result.bad_info = !info.resolve(result.info);
  r.result = std::move(result);
  return true;
}

}  // namespace

std::optional<Reply<SubRefreshResult>> decode_sub_refresh_reply(std::string_view body) {
  return decode_reply<SubRefreshResult>(body, [](od::object& o, Reply<SubRefreshResult>& r) {
    return decode_refresh_result(o, r, [](SubRefreshResult&, std::string_view, od::value&) {
      return true;
    });
  });
}

std::optional<Reply<RefreshResult>> decode_refresh_reply(std::string_view body) {
  return decode_reply<RefreshResult>(body, [](od::object& o, Reply<RefreshResult>& r) {
    return decode_refresh_result(o, r, [](RefreshResult& result, std::string_view key,
                                          od::value& v) {
      if (key_is(key, "meta")) {
        return decode_raw(v, result.meta);
      }
      return true;
    });
  });
}

std::optional<std::string> encode_subscribe_request(const ProxyConfig& p, const Caller& c,
                                                    std::string_view channel,
                                                    std::string_view data) {
  return encode_channel_request(p, c, channel, data);
}

std::optional<std::string> encode_publish_request(const ProxyConfig& p, const Caller& c,
                                                  std::string_view channel,
                                                  std::string_view data) {
  return encode_channel_request(p, c, channel, data);
}

std::optional<Reply<SubscribeResult>> decode_subscribe_reply(std::string_view body) {
  return decode_reply_b64<SubscribeResult>(
      body, [&](od::object& o, Reply<SubscribeResult>& r, bool& bad_base64) {
    DecodedSubOptions opts;
    SubscribeResult result;
    bool ok = for_each_member(o, [&](std::string_view key, od::value& v) {
      if (key_is(key, "expire_at")) {
        return decode_int64(v, result.expire_at);
      }
      return decode_sub_option(key, v, opts);
    });
    if (!ok) {
      return false;
    }
    if (!opts.info.resolve(result.info) || !opts.data.resolve(result.data)) {
      bad_base64 = true;
    }
    result.override = opts.override;
    r.result = std::move(result);
    return true;
  });
}

std::optional<Reply<PublishResult>> decode_publish_reply(std::string_view body) {
  return decode_reply_b64<PublishResult>(
      body, [&](od::object& o, Reply<PublishResult>& r, bool& bad_base64) {
    RawPair data;
    PublishResult result;
    bool ok = for_each_member(o, [&](std::string_view key, od::value& v) {
      if (key_is(key, "data")) {
        return decode_raw(v, data.raw);
      }
      if (key_is(key, "b64data")) {
        return decode_string(v, data.b64);
      }
      if (key_is(key, "skip_history")) {
        return decode_bool(v, result.skip_history);
      }
      return true;
    });
    if (!ok) {
      return false;
    }
    if (data.raw) {
      result.data = std::move(data.raw);  // present data wins, even `null`
    } else if (!data.b64.empty()) {
      auto decoded = base64::decode_std(data.b64);
      if (!decoded) {
        bad_base64 = true;
      } else {
        result.data = std::move(*decoded);
        result.data_is_binary = true;
      }
    }
    r.result = std::move(result);
    return true;
  });
}

std::optional<Reply<ConnectResult>> decode_connect_reply(std::string_view body) {
  return decode_reply_b64<ConnectResult>(
      body, [&](od::object& o, Reply<ConnectResult>& r, bool& bad_base64) {
    // Fields are decoded first and resolved after the object (a later key may change them).
    std::string user;
    std::optional<int64_t> expire_at;
    RawPair info;
    RawPair data;
    std::optional<std::string> meta;
    std::vector<std::string> channels;
    std::vector<std::pair<std::string, DecodedSubOptions>> subs;
    bool ok = for_each_member(o, [&](std::string_view key, od::value& v) {
      if (key_is(key, "user")) {
        return decode_string(v, user);
      }
      if (key_is(key, "expire_at")) {
        int64_t n = 0;
        if (!decode_int64(v, n)) {
          return false;
        }
        expire_at = n;
        return true;
      }
      if (key_is(key, "info")) {
        return decode_raw(v, info.raw);
      }
      if (key_is(key, "b64info")) {
        return decode_string(v, info.b64);
      }
      if (key_is(key, "data")) {
        return decode_raw(v, data.raw);
      }
      if (key_is(key, "b64data")) {
        return decode_string(v, data.b64);
      }
      if (key_is(key, "meta")) {
        return decode_raw(v, meta);
      }
      if (key_is(key, "channels")) {
        return decode_string_list(v, channels);
      }
      if (key_is(key, "subs")) {
        od::object so;
        bool is_null = false;
        if (!object_of(v, so, is_null)) {
          return false;
        }
        subs.clear();
        if (is_null) {
          return true;
        }
        return for_each_member(so, [&](std::string_view ch, od::value& entry) {
          DecodedSubOptions opts;
          od::object eo;
          bool entry_null = false;
          if (!object_of(entry, eo, entry_null)) {
            return false;
          }
          // expire_at is ignored for connect subs (server-api.md §4.4).
          if (!entry_null && !for_each_member(eo, [&](std::string_view k, od::value& m) {
                return decode_sub_option(k, m, opts);
              })) {
            return false;
          }
          auto same = std::find_if(subs.begin(), subs.end(),
                                   [&](const auto& s) { return s.first == ch; });
          if (same != subs.end()) {
            same->second = std::move(opts);
          } else {
            subs.emplace_back(std::string(ch), std::move(opts));
          }
          return true;
        });
      }
      return true;
    });
    if (!ok) {
      return false;
    }
    ConnectResult result;
    auth::ConnectClaims& claims = result.claims;
    claims.user = std::move(user);
    claims.expire_at = expire_at;
    claims.meta = meta.value_or(std::string());
    if (!info.resolve(claims.info) || !data.resolve(result.data)) {
      bad_base64 = true;
    }
    for (const auto& ch : channels) {
      if (std::none_of(claims.subs.begin(), claims.subs.end(),
                       [&](const auto& s) { return s.first == ch; })) {
        claims.subs.emplace_back(ch, auth::SubscribeOptions{});
      }
    }
    for (auto& [ch, opts] : subs) {
      auth::SubscribeOptions so;
      if (!opts.info.resolve(so.info) || !opts.data.resolve(so.data)) {
        bad_base64 = true;
      }
      so.override = opts.override;
      auto same = std::find_if(claims.subs.begin(), claims.subs.end(),
                               [&](const auto& s) { return s.first == ch; });
      if (same != claims.subs.end()) {
        same->second = std::move(so);
      } else {
        claims.subs.emplace_back(ch, std::move(so));
      }
    }
    r.result = std::move(result);
    return true;
  });
}

std::optional<Reply<RpcResult>> decode_rpc_reply(std::string_view body) {
  return decode_reply_b64<RpcResult>(
      body, [&](od::object& o, Reply<RpcResult>& r, bool& bad_base64) {
    RawPair data;
    bool ok = for_each_member(o, [&](std::string_view key, od::value& v) {
      if (key_is(key, "data")) {
        return decode_raw(v, data.raw);
      }
      if (key_is(key, "b64data")) {
        return decode_string(v, data.b64);
      }
      return true;
    });
    if (!ok) {
      return false;
    }
    RpcResult result;
    if (!data.resolve(result.data)) {
      bad_base64 = true;
    }
    r.result = std::move(result);
    return true;
  });
}

}  // namespace gyre::proxy
