#include "api/requests.h"

#include <simdjson.h>

#include <array>
#include <limits>
#include <utility>

#include "protocol/codec.h"
#include "protocol/json_decode.h"
#include "protocol/json_raw.h"

namespace gyre::api {
namespace {

namespace od = simdjson::ondemand;

thread_local od::parser tl_od_parser;

constexpr std::array<std::pair<Method, std::string_view>, 13> kMethodNames{{
    {Method::kPublish, "publish"},
    {Method::kBroadcast, "broadcast"},
    {Method::kSubscribe, "subscribe"},
    {Method::kUnsubscribe, "unsubscribe"},
    {Method::kDisconnect, "disconnect"},
    {Method::kPresence, "presence"},
    {Method::kPresenceStats, "presence_stats"},
    {Method::kHistory, "history"},
    {Method::kHistoryRemove, "history_remove"},
    {Method::kChannels, "channels"},
    {Method::kInfo, "info"},
    {Method::kRpc, "rpc"},
    {Method::kRefresh, "refresh"},
}};

// MethodType names (api.proto), index = enum value; "" = unused value.
constexpr std::array<std::string_view, 33> kEnumNames{
    "PUBLISH",          "BROADCAST",          "UNSUBSCRIBE",
    "DISCONNECT",       "PRESENCE",           "PRESENCE_STATS",
    "HISTORY",          "HISTORY_REMOVE",     "CHANNELS",
    "INFO",             "RPC",                "SUBSCRIBE",
    "REFRESH",          "",                   "CONNECTIONS",
    "UPDATE_USER_STATUS", "GET_USER_STATUS",  "DELETE_USER_STATUS",
    "BLOCK_USER",       "UNBLOCK_USER",       "REVOKE_TOKEN",
    "INVALIDATE_USER_TOKENS", "DEVICE_REGISTER", "DEVICE_UPDATE",
    "DEVICE_REMOVE",    "DEVICE_LIST",        "DEVICE_TOPIC_LIST",
    "DEVICE_TOPIC_UPDATE", "USER_TOPIC_LIST", "USER_TOPIC_UPDATE",
    "SEND_PUSH_NOTIFICATION", "UPDATE_PUSH_STATUS", "CANCEL_PUSH",
};

// Handled enum values 0..12 -> Method.
constexpr std::array<Method, 13> kEnumMethods{
    Method::kPublish,       Method::kBroadcast, Method::kUnsubscribe, Method::kDisconnect,
    Method::kPresence,      Method::kPresenceStats, Method::kHistory, Method::kHistoryRemove,
    Method::kChannels,      Method::kInfo,      Method::kRpc,         Method::kSubscribe,
    Method::kRefresh,
};

using protocol::key_is;
using protocol::json::decode_bool;
using protocol::json::decode_int32;
using protocol::json::decode_int64;
using protocol::json::decode_raw;
using protocol::json::decode_string;
using protocol::json::decode_uint32;
using protocol::json::decode_uint64;
using protocol::json::is_null;

// Calls fn(key, value) -> bool for every field, null values included.
template <typename Fn>
bool for_each_field(od::object obj, Fn&& fn) {
  return protocol::json::for_each_member(obj, fn);
}

// A nested message field (a Go pointer): `null` clears it, an object fills it (a repeated key
// keeps filling the same message, as Go does), anything else fails.
template <typename T, typename Fn>
bool read_message(od::value v, std::optional<T>& out, Fn&& fields) {
  if (is_null(v)) {
    out.reset();
    return true;
  }
  od::object obj;
  if (v.get_object().get(obj)) {
    return false;
  }
  if (!out) {
    out.emplace();
  }
  return for_each_field(obj,
                        [&](std::string_view k, od::value val) { return fields(*out, k, val); });
}

// []string: `null` empties it; a null element is "".
bool read_string_list(od::value v, std::vector<std::string>& out) {
  out.clear();
  if (is_null(v)) {
    return true;
  }
  od::array arr;
  if (v.get_array().get(arr)) {
    return false;
  }
  for (auto el : arr) {
    od::value ev;
    if (el.get(ev)) {
      return false;
    }
    std::string s;
    if (!decode_string(ev, s)) {
      return false;
    }
    out.push_back(std::move(s));
  }
  return true;
}

// map[string]string: `null` empties it; a repeated key merges (Go reuses the map).
bool read_string_map(od::value v, std::map<std::string, std::string>& out) {
  if (is_null(v)) {
    out.clear();
    return true;
  }
  od::object obj;
  if (v.get_object().get(obj)) {
    return false;
  }
  return for_each_field(obj, [&](std::string_view k, od::value val) {
    std::string s;
    if (!decode_string(val, s)) {
      return false;
    }
    out[std::string(k)] = std::move(s);
    return true;
  });
}

bool read_position(od::value v, std::optional<protocol::StreamPosition>& out) {
  return read_message(v, out, [](protocol::StreamPosition& p, std::string_view k, od::value val) {
    if (key_is(k, "offset")) return decode_uint64(val, p.offset);
    if (key_is(k, "epoch")) return decode_string(val, p.epoch);
    return true;
  });
}

// BoolValue {"value": bool}: its presence is what overrides.
bool read_bool_value(od::value v, std::optional<bool>& out) {
  return read_message(v, out, [](bool& b, std::string_view k, od::value val) {
    if (key_is(k, "value")) return decode_bool(val, b);
    return true;
  });
}

// Validates the whole document (On-Demand skips what it is not asked for), then calls
// fn(key, value) for each field of the top-level object. A `null` document is an empty
// request; any other non-object fails.
template <typename Fn>
bool decode_document(std::string_view json, Fn&& fn) {
  if (!protocol::valid_json(json)) {
    return false;
  }
  const size_t first = json.find_first_not_of(" \t\r\n");  // valid: never npos
  if (json[first] == 'n') {
    return true;  // null
  }
  if (json[first] != '{') {
    return false;
  }
  simdjson::padded_string padded(json);
  od::document doc;
  if (tl_od_parser.iterate(padded).get(doc)) {
    return false;
  }
  od::object obj;
  if (doc.get_object().get(obj)) {
    return false;
  }
  return for_each_field(obj, fn);
}

template <typename R>
bool publish_field(R& r, std::string_view k, od::value val) {
  if (key_is(k, "data")) return decode_raw(val, r.data);
  if (key_is(k, "b64data")) return decode_string(val, r.b64data);
  if (key_is(k, "skip_history")) return decode_bool(val, r.skip_history);
  if (key_is(k, "tags")) return read_string_map(val, r.tags);
  if (key_is(k, "idempotency_key")) return decode_string(val, r.idempotency_key);
  if (key_is(k, "delta")) return decode_bool(val, r.delta);
  return true;
}

bool subscribe_field(SubscribeRequest& r, std::string_view k, od::value val) {
  if (key_is(k, "user")) return decode_string(val, r.user);
  if (key_is(k, "channel")) return decode_string(val, r.channel);
  if (key_is(k, "expire_at")) return decode_int64(val, r.expire_at);
  if (key_is(k, "info")) return decode_raw(val, r.info);
  if (key_is(k, "b64info")) return decode_string(val, r.b64info);
  if (key_is(k, "client")) return decode_string(val, r.client);
  if (key_is(k, "session")) return decode_string(val, r.session);
  if (key_is(k, "data")) return decode_raw(val, r.data);
  if (key_is(k, "b64data")) return decode_string(val, r.b64data);
  if (key_is(k, "recover_since")) return read_position(val, r.recover_since);
  if (key_is(k, "override")) {
    return read_message(val, r.override_, [](SubscribeOverride& o, std::string_view ok,
                                              od::value ov) {
      if (key_is(ok, "presence")) return read_bool_value(ov, o.presence);
      if (key_is(ok, "join_leave")) return read_bool_value(ov, o.join_leave);
      if (key_is(ok, "force_recovery")) return read_bool_value(ov, o.force_recovery);
      if (key_is(ok, "force_positioning")) return read_bool_value(ov, o.force_positioning);
      if (key_is(ok, "force_push_join_leave")) return read_bool_value(ov, o.force_push_join_leave);
      return true;
    });
  }
  return true;
}

// MethodType: a name (case-insensitive) or an int32 value.
bool read_method_type(od::value v, int32_t& out) {
  if (is_null(v)) {
    return true;
  }
  od::json_type t;
  if (v.type().get(t)) {
    return false;
  }
  if (t == od::json_type::string) {
    std::string_view s;
    if (v.get_string().get(s)) {
      return false;
    }
    std::string upper(s);
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') {
        c = static_cast<char>(c - 'a' + 'A');
      }
    }
    for (size_t i = 0; i < kEnumNames.size(); ++i) {
      if (!kEnumNames[i].empty() && kEnumNames[i] == upper) {
        out = static_cast<int32_t>(i);
        return true;
      }
    }
    return false;
  }
  return decode_int32(v, out);
}

}  // namespace

std::string_view method_name(Method m) {
  for (const auto& [method, name] : kMethodNames) {
    if (method == m) {
      return name;
    }
  }
  return {};
}

std::optional<Method> method_from_name(std::string_view name) {
  for (const auto& [method, n] : kMethodNames) {
    if (n == name) {
      return method;
    }
  }
  return std::nullopt;
}

std::optional<Method> method_from_enum(int32_t value) {
  if (value < 0 || value >= static_cast<int32_t>(kEnumMethods.size())) {
    return std::nullopt;
  }
  return kEnumMethods[static_cast<size_t>(value)];
}

std::optional<AnyRequest> decode_request(Method m, std::string_view json) {
  auto decode = [json]<typename R>(R r, auto&& fields) -> std::optional<AnyRequest> {
    if (!decode_document(json, [&](std::string_view k, od::value v) { return fields(r, k, v); })) {
      return std::nullopt;
    }
    return AnyRequest(std::move(r));
  };
  switch (m) {
    case Method::kPublish:
      return decode(PublishRequest{}, [](PublishRequest& r, std::string_view k, od::value v) {
        if (key_is(k, "channel")) return decode_string(v, r.channel);
        return publish_field(r, k, v);
      });
    case Method::kBroadcast:
      return decode(BroadcastRequest{}, [](BroadcastRequest& r, std::string_view k, od::value v) {
        if (key_is(k, "channels")) return read_string_list(v, r.channels);
        return publish_field(r, k, v);
      });
    case Method::kSubscribe:
      return decode(SubscribeRequest{}, subscribe_field);
    case Method::kUnsubscribe:
      return decode(UnsubscribeRequest{},
                    [](UnsubscribeRequest& r, std::string_view k, od::value v) {
                      if (key_is(k, "user")) return decode_string(v, r.user);
                      if (key_is(k, "channel")) return decode_string(v, r.channel);
                      if (key_is(k, "client")) return decode_string(v, r.client);
                      if (key_is(k, "session")) return decode_string(v, r.session);
                      return true;
                    });
    case Method::kDisconnect:
      return decode(DisconnectRequest{}, [](DisconnectRequest& r, std::string_view k,
                                            od::value v) {
        if (key_is(k, "user")) return decode_string(v, r.user);
        if (key_is(k, "client")) return decode_string(v, r.client);
        if (key_is(k, "session")) return decode_string(v, r.session);
        if (key_is(k, "whitelist")) return read_string_list(v, r.whitelist);
        if (key_is(k, "disconnect")) {
          return read_message(v, r.disconnect, [](Disconnect& d, std::string_view dk,
                                                  od::value dv) {
            if (key_is(dk, "code")) return decode_uint32(dv, d.code);
            if (key_is(dk, "reason")) return decode_string(dv, d.reason);
            return true;
          });
        }
        return true;
      });
    case Method::kRefresh:
      return decode(RefreshRequest{}, [](RefreshRequest& r, std::string_view k, od::value v) {
        if (key_is(k, "user")) return decode_string(v, r.user);
        if (key_is(k, "client")) return decode_string(v, r.client);
        if (key_is(k, "session")) return decode_string(v, r.session);
        if (key_is(k, "expired")) return decode_bool(v, r.expired);
        if (key_is(k, "expire_at")) return decode_int64(v, r.expire_at);
        if (key_is(k, "info")) return decode_raw(v, r.info);
        return true;
      });
    case Method::kPresence:
    case Method::kPresenceStats:
    case Method::kHistoryRemove:
      return decode(ChannelRequest{}, [](ChannelRequest& r, std::string_view k, od::value v) {
        if (key_is(k, "channel")) return decode_string(v, r.channel);
        return true;
      });
    case Method::kHistory:
      return decode(HistoryRequest{}, [](HistoryRequest& r, std::string_view k, od::value v) {
        if (key_is(k, "channel")) return decode_string(v, r.channel);
        if (key_is(k, "limit")) return decode_int32(v, r.limit);
        if (key_is(k, "since")) return read_position(v, r.since);
        if (key_is(k, "reverse")) return decode_bool(v, r.reverse);
        return true;
      });
    case Method::kChannels:
      return decode(ChannelsRequest{}, [](ChannelsRequest& r, std::string_view k, od::value v) {
        if (key_is(k, "pattern")) return decode_string(v, r.pattern);
        return true;
      });
    case Method::kInfo:
      return decode(InfoRequest{}, [](InfoRequest&, std::string_view, od::value) { return true; });
    case Method::kRpc:
      return decode(RpcRequest{}, [](RpcRequest& r, std::string_view k, od::value v) {
        if (key_is(k, "method")) return decode_string(v, r.method);
        if (key_is(k, "params")) return decode_raw(v, r.params);
        return true;
      });
  }
  return std::nullopt;
}

std::optional<BatchRequest> decode_batch(std::string_view json) {
  // Pass 1 captures each command's method values as raw JSON (the thread-local parsers are
  // busy with the outer document); pass 2 decodes them.
  struct RawCommand {
    std::array<std::optional<std::string>, kMethodNames.size()> values;
  };
  std::vector<RawCommand> raws;
  bool parallel = false;
  bool ok = decode_document(json, [&](std::string_view k, od::value v) {
    if (key_is(k, "parallel")) return decode_bool(v, parallel);
    if (!key_is(k, "commands")) return true;
    raws.clear();
    if (is_null(v)) {
      return true;
    }
    od::array arr;
    if (v.get_array().get(arr)) {
      return false;
    }
    for (auto el : arr) {
      od::value cv;
      if (el.get(cv)) {
        return false;
      }
      RawCommand rc;
      if (is_null(cv)) {
        raws.push_back(std::move(rc));
        continue;
      }
      od::object obj;
      if (cv.get_object().get(obj)) {
        return false;
      }
      bool cmd_ok = for_each_field(obj, [&](std::string_view ck, od::value val) {
        for (size_t i = 0; i < kMethodNames.size(); ++i) {
          if (key_is(ck, kMethodNames[i].second)) {
            if (is_null(val)) {
              rc.values[i].reset();
              return true;
            }
            std::string raw;
            if (!decode_raw(val, raw)) {
              return false;
            }
            rc.values[i] = std::move(raw);
            return true;
          }
        }
        // Ignored, but still type-checked as Go decodes them.
        if (key_is(ck, "id")) {
          uint32_t id = 0;
          return decode_uint32(val, id);
        }
        if (key_is(ck, "method")) {
          int32_t m = 0;
          return read_method_type(val, m);
        }
        return true;
      });
      if (!cmd_ok) {
        return false;
      }
      raws.push_back(std::move(rc));
    }
    return true;
  });
  if (!ok) {
    return std::nullopt;
  }

  static constexpr std::array<Method, 13> kPrecedence{
      Method::kPublish,   Method::kBroadcast,     Method::kSubscribe, Method::kUnsubscribe,
      Method::kDisconnect, Method::kHistory,      Method::kHistoryRemove, Method::kPresence,
      Method::kPresenceStats, Method::kInfo,      Method::kRpc,       Method::kRefresh,
      Method::kChannels,
  };
  BatchRequest out;
  out.parallel = parallel;
  for (auto& rc : raws) {
    BatchCommand cmd{std::nullopt, InfoRequest{}};
    for (Method m : kPrecedence) {
      auto& raw = rc.values[static_cast<size_t>(m)];
      if (!raw) {
        continue;
      }
      auto req = decode_request(m, *raw);
      if (!req) {
        return std::nullopt;  // any undecodable value fails the whole body
      }
      if (!cmd.method) {
        cmd.method = m;
        cmd.request = std::move(*req);
      }
    }
    out.commands.push_back(std::move(cmd));
  }
  return out;
}

std::optional<LegacyCommand> decode_legacy_command(std::string_view json) {
  LegacyCommand cmd;
  bool ok = decode_document(json, [&](std::string_view k, od::value v) {
    if (key_is(k, "id")) return decode_uint32(v, cmd.id);
    if (key_is(k, "method")) return read_method_type(v, cmd.method);
    if (key_is(k, "params")) return decode_raw(v, cmd.params);
    return true;
  });
  if (!ok) {
    return std::nullopt;
  }
  return cmd;
}

}  // namespace gyre::api
