#include <simdjson.h>

#include <limits>

#include "protocol/codec.h"
#include "protocol/json_decode.h"
#include "protocol/json_entities.h"
#include "protocol/json_raw.h"
#include "protocol/json_writer.h"

// JSON client protocol (client-protocol.md §2.2): keys are the proto field names, default
// values are omitted except the "always written" fields, `bytes` fields are raw JSON.
namespace gyre::protocol {
namespace {

namespace od = simdjson::ondemand;

thread_local od::parser tl_od_parser;

// ---------------------------------------------------------------- decoding helpers

using json::decode_bool;
using json::decode_int32;
using json::decode_int64;
using json::decode_raw;
using json::decode_string;
using json::decode_uint32;
using json::decode_uint64;
using json::is_null;

// Iterates an object's fields calling fn(key, value) -> bool; null values are skipped.
template <typename Fn>
bool for_each_field(od::object obj, Fn&& fn) {
  return json::for_each_member(obj, [&](std::string_view key, od::value& val) {
    return is_null(val) || fn(key, val);
  });
}

template <typename Fn>
bool for_each_field(od::value v, Fn&& fn) {
  od::object obj;
  if (v.get_object().get(obj)) {
    return false;
  }
  return for_each_field(obj, std::forward<Fn>(fn));
}

bool decode_subscribe(od::value v, SubscribeRequest& r) {
  return for_each_field(v, [&](std::string_view k, od::value val) {
    if (k == "channel") return decode_string(val, r.channel);
    if (k == "token") return decode_string(val, r.token);
    if (k == "recover") return decode_bool(val, r.recover);
    if (k == "epoch") return decode_string(val, r.epoch);
    if (k == "offset") return decode_uint64(val, r.offset);
    if (k == "data") return decode_raw(val, r.data);
    if (k == "positioned") return decode_bool(val, r.positioned);
    if (k == "recoverable") return decode_bool(val, r.recoverable);
    if (k == "join_leave") return decode_bool(val, r.join_leave);
    if (k == "delta") return decode_string(val, r.delta);
    if (k == "flag") return decode_int64(val, r.flag);
    if (k == "type") return decode_int32(val, r.type);
    return true;  // unknown keys (tf, phase, cursor, ...) are ignored
  });
}

template <typename Source>
bool decode_connect_fields(Source v, ConnectRequest& r) {
  return for_each_field(v, [&](std::string_view k, od::value val) {
    if (k == "token") return decode_string(val, r.token);
    if (k == "data") return decode_raw(val, r.data);
    if (k == "name") return decode_string(val, r.name);
    if (k == "version") return decode_string(val, r.version);
    if (k == "subs") {
      return for_each_field(val, [&](std::string_view ch, od::value sv) {
        SubscribeRequest s;
        if (!decode_subscribe(sv, s)) {
          return false;
        }
        s.channel = std::string(ch);
        r.subs.emplace_back(std::string(ch), std::move(s));
        return true;
      });
    }
    if (k == "headers") {
      return for_each_field(val, [&](std::string_view hk, od::value hv) {
        std::string s;
        if (!decode_string(hv, s)) {
          return false;
        }
        r.headers.emplace_back(std::string(hk), std::move(s));
        return true;
      });
    }
    return true;
  });
}

bool decode_connect(od::value v, ConnectRequest& r) { return decode_connect_fields(v, r); }
bool decode_connect_object(od::object o, ConnectRequest& r) { return decode_connect_fields(o, r); }

bool decode_channel(od::value v, ChannelRequest& r) {
  return for_each_field(v, [&](std::string_view k, od::value val) {
    if (k == "channel") return decode_string(val, r.channel);
    return true;
  });
}

bool decode_publish(od::value v, PublishRequest& r) {
  return for_each_field(v, [&](std::string_view k, od::value val) {
    if (k == "channel") return decode_string(val, r.channel);
    if (k == "data") return decode_raw(val, r.data);
    return true;
  });
}

bool decode_history(od::value v, HistoryRequest& r) {
  return for_each_field(v, [&](std::string_view k, od::value val) {
    if (k == "channel") return decode_string(val, r.channel);
    if (k == "limit") return decode_int32(val, r.limit);
    if (k == "reverse") return decode_bool(val, r.reverse);
    if (k == "since") {
      StreamPosition sp;
      bool ok = for_each_field(val, [&](std::string_view sk, od::value sval) {
        if (sk == "offset") return decode_uint64(sval, sp.offset);
        if (sk == "epoch") return decode_string(sval, sp.epoch);
        return true;
      });
      r.since = std::move(sp);
      return ok;
    }
    return true;
  });
}

bool decode_rpc(od::value v, RpcRequest& r) {
  return for_each_field(v, [&](std::string_view k, od::value val) {
    if (k == "data") return decode_raw(val, r.data);
    if (k == "method") return decode_string(val, r.method);
    return true;
  });
}

bool decode_send(od::value v, SendRequest& r) {
  return for_each_field(v, [&](std::string_view k, od::value val) {
    if (k == "data") return decode_raw(val, r.data);
    return true;
  });
}

bool decode_refresh(od::value v, RefreshRequest& r) {
  return for_each_field(v, [&](std::string_view k, od::value val) {
    if (k == "token") return decode_string(val, r.token);
    return true;
  });
}

bool decode_sub_refresh(od::value v, SubRefreshRequest& r) {
  return for_each_field(v, [&](std::string_view k, od::value val) {
    if (k == "channel") return decode_string(val, r.channel);
    if (k == "token") return decode_string(val, r.token);
    return true;
  });
}

bool accept_empty_object(od::value v) {
  return for_each_field(v, [](std::string_view, od::value) { return true; });
}

bool decode_line(std::string_view line, Command& cmd) {
  // Full validation first (syntax, UTF-8): On-Demand skips values it is not asked for.
  if (!valid_json(line)) {
    return false;
  }
  simdjson::padded_string padded(line);
  od::document doc;
  if (tl_od_parser.iterate(padded).get(doc)) {
    return false;
  }
  od::object obj;
  if (doc.get_object().get(obj)) {
    return false;
  }
  uint32_t present = 0;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) {
      return false;
    }
    od::value val;
    if (field.value().get(val)) {
      return false;
    }
    if (is_null(val)) {
      continue;
    }
    bool ok = true;
    if (key == "id") {
      ok = decode_uint32(val, cmd.id);
    } else if (key == "connect") {
      present |= request_bit(Method::kConnect);
      ok = decode_connect(val, cmd.connect);
    } else if (key == "subscribe") {
      present |= request_bit(Method::kSubscribe);
      ok = decode_subscribe(val, cmd.subscribe);
    } else if (key == "unsubscribe") {
      present |= request_bit(Method::kUnsubscribe);
      ok = decode_channel(val, cmd.channel);
    } else if (key == "publish") {
      present |= request_bit(Method::kPublish);
      ok = decode_publish(val, cmd.publish);
    } else if (key == "presence") {
      present |= request_bit(Method::kPresence);
      ok = decode_channel(val, cmd.channel);
    } else if (key == "presence_stats") {
      present |= request_bit(Method::kPresenceStats);
      ok = decode_channel(val, cmd.channel);
    } else if (key == "history") {
      present |= request_bit(Method::kHistory);
      ok = decode_history(val, cmd.history);
    } else if (key == "ping") {
      present |= request_bit(Method::kPing);
      ok = accept_empty_object(val);
    } else if (key == "send") {
      present |= request_bit(Method::kSend);
      ok = decode_send(val, cmd.send);
    } else if (key == "rpc") {
      present |= request_bit(Method::kRpc);
      ok = decode_rpc(val, cmd.rpc);
    } else if (key == "refresh") {
      present |= request_bit(Method::kRefresh);
      ok = decode_refresh(val, cmd.refresh);
    } else if (key == "sub_refresh") {
      present |= request_bit(Method::kSubRefresh);
      ok = decode_sub_refresh(val, cmd.sub_refresh);
    }
    if (!ok) {
      return false;
    }
  }
  cmd.method = first_request(present);
  return true;
}

// ---------------------------------------------------------------- encoding helpers

void write_subscribe_result(JsonWriter& w, const SubscribeResult& r) {
  w.begin_object();
  if (r.expires) {
    w.field_bool("expires", true);
  }
  if (r.ttl != 0) {
    w.field_uint("ttl", r.ttl);
  }
  if (r.recoverable) {
    w.field_bool("recoverable", true);
  }
  if (!r.epoch.empty()) {
    w.field("epoch", r.epoch);
  }
  if (!r.publications.empty()) {
    w.key("publications");
    w.begin_array();
    for (const auto& p : r.publications) {
      (void)write_publication(w, *p, {.data_as_string = r.delta});
    }
    w.end_array();
  }
  if (r.recovered) {
    w.field_bool("recovered", true);
  }
  if (r.offset != 0) {
    w.field_uint("offset", r.offset);
  }
  if (r.positioned) {
    w.field_bool("positioned", true);
  }
  if (!r.data.empty()) {
    w.field_raw("data", r.data);
  }
  if (r.was_recovering) {
    w.field_bool("was_recovering", true);
  }
  if (r.delta) {
    w.field_bool("delta", true);
  }
  w.end_object();
}

void write_connect_body(JsonWriter& w, const ConnectResult& r, bool push_order) {
  w.begin_object();
  w.field("client", r.client);
  if (!r.version.empty()) {
    w.field("version", r.version);
  }
  auto write_subs = [&] {
    if (!r.subs.empty()) {
      w.key("subs");
      w.begin_object();
      for (const auto& [ch, s] : r.subs) {
        w.key_escaped(ch);
        write_subscribe_result(w, s);
      }
      w.end_object();
    }
  };
  auto write_expiry = [&] {
    if (r.expires) {
      w.field_bool("expires", true);
    }
    if (r.ttl != 0) {
      w.field_uint("ttl", r.ttl);
    }
  };
  if (push_order) {
    // Push.Connect field order: client, version, data, subs, expires, ttl, ping, pong...
    if (!r.data.empty()) {
      w.field_raw("data", r.data);
    }
    write_subs();
    write_expiry();
  } else {
    write_expiry();
    if (!r.data.empty()) {
      w.field_raw("data", r.data);
    }
    write_subs();
  }
  if (r.ping != 0) {
    w.field_uint("ping", r.ping);
  }
  if (r.pong) {
    w.field_bool("pong", true);
  }
  if (!r.session.empty()) {
    w.field("session", r.session);
  }
  if (!r.node.empty()) {
    w.field("node", r.node);
  }
  if (r.time != 0) {
    w.field_int("time", r.time);
  }
  w.end_object();
}

// Opens `{"id":N,` ... the caller writes the result key and closes.
void begin_reply(JsonWriter& w, uint32_t id) {
  w.begin_object();
  if (id != 0) {
    w.field_uint("id", id);
  }
}

// Opens a push: `{"push":{"channel":"ch",` (bidirectional) or `{"channel":"ch",` (uni).
void begin_push(JsonWriter& w, std::string_view channel, bool uni) {
  w.begin_object();
  if (!uni) {
    w.key("push");
    w.begin_object();
  }
  if (!channel.empty()) {
    w.field("channel", channel);
  }
}

void end_push(JsonWriter& w, bool uni) {
  if (!uni) {
    w.end_object();
  }
  w.end_object();
}


class JsonCodec final : public Codec {
 public:
  ProtocolType type() const override { return ProtocolType::kJson; }

  bool decode_commands(std::string_view frame, std::vector<Command>& out) const override {
    // One trailing newline byte is accepted; any empty line is an error.
    if (!frame.empty() && frame.back() == '\n') {
      frame.remove_suffix(1);
    }
    if (frame.empty()) {
      return false;
    }
    while (true) {
      size_t nl = frame.find('\n');
      std::string_view line = frame.substr(0, nl);
      if (line.empty()) {
        return false;
      }
      Command cmd;
      if (!decode_line(line, cmd)) {
        return false;
      }
      out.push_back(std::move(cmd));
      if (nl == std::string_view::npos) {
        break;
      }
      frame.remove_prefix(nl + 1);
    }
    return true;
  }

  bool decode_connect_request(std::string_view data, ConnectRequest& out) const override {
    if (!valid_json(data)) {
      return false;
    }
    simdjson::padded_string padded(data);
    od::document doc;
    if (tl_od_parser.iterate(padded).get(doc)) {
      return false;
    }
    od::json_type t;
    if (doc.type().get(t)) {
      return false;
    }
    if (t == od::json_type::null) {
      return true;  // `null` is an empty request
    }
    if (t != od::json_type::object) {
      return false;
    }
    od::object obj;
    if (doc.get_object().get(obj)) {
      return false;
    }
    return decode_connect_object(obj, out);
  }

  void encode_error(std::string& out, uint32_t id, const Error& e) const override {
    JsonWriter w(out);
    begin_reply(w, id);
    w.key("error");
    w.begin_object();
    w.field_uint("code", e.code);
    w.field("message", e.message);
    if (e.temporary) {
      w.field_bool("temporary", true);
    }
    w.end_object();
    w.end_object();
  }

  void encode_connect(std::string& out, uint32_t id, const ConnectResult& r) const override {
    JsonWriter w(out);
    begin_reply(w, id);
    w.key("connect");
    write_connect_body(w, r, false);
    w.end_object();
  }

  void encode_subscribe(std::string& out, uint32_t id, const SubscribeResult& r) const override {
    JsonWriter w(out);
    begin_reply(w, id);
    w.key("subscribe");
    write_subscribe_result(w, r);
    w.end_object();
  }

  void encode_empty(std::string& out, uint32_t id, Method m) const override {
    JsonWriter w(out);
    begin_reply(w, id);
    w.key(method_name(m));
    w.begin_object();
    w.end_object();
    w.end_object();
  }

  void encode_presence(std::string& out, uint32_t id, const PresenceResult& r) const override {
    JsonWriter w(out);
    begin_reply(w, id);
    w.key("presence");
    w.begin_object();
    w.key("presence");
    w.begin_object();
    for (const auto& [client, info] : r.presence) {
      w.key_escaped(client);
      (void)write_client_info(w, info);
    }
    w.end_object();
    w.end_object();
    w.end_object();
  }

  void encode_presence_stats(std::string& out, uint32_t id,
                             const PresenceStatsResult& r) const override {
    JsonWriter w(out);
    begin_reply(w, id);
    w.key("presence_stats");
    w.begin_object();
    w.field_uint("num_clients", r.num_clients);
    w.field_uint("num_users", r.num_users);
    w.end_object();
    w.end_object();
  }

  void encode_history(std::string& out, uint32_t id, const HistoryResult& r) const override {
    JsonWriter w(out);
    begin_reply(w, id);
    w.key("history");
    w.begin_object();
    w.key("publications");
    w.begin_array();
    for (const auto& p : r.publications) {
      (void)write_publication(w, *p);
    }
    w.end_array();
    w.field("epoch", r.epoch);
    w.field_uint("offset", r.offset);
    w.end_object();
    w.end_object();
  }

  void encode_rpc(std::string& out, uint32_t id, const RpcResult& r) const override {
    JsonWriter w(out);
    begin_reply(w, id);
    w.key("rpc");
    w.begin_object();
    if (!r.data.empty()) {
      w.field_raw("data", r.data);
    }
    w.end_object();
    w.end_object();
  }

  void encode_refresh(std::string& out, uint32_t id, const RefreshResult& r) const override {
    JsonWriter w(out);
    begin_reply(w, id);
    w.key("refresh");
    w.begin_object();
    if (!r.client.empty()) {
      w.field("client", r.client);
    }
    if (!r.version.empty()) {
      w.field("version", r.version);
    }
    if (r.expires) {
      w.field_bool("expires", true);
    }
    if (r.ttl != 0) {
      w.field_uint("ttl", r.ttl);
    }
    w.end_object();
    w.end_object();
  }

  void encode_sub_refresh(std::string& out, uint32_t id,
                          const SubRefreshResult& r) const override {
    JsonWriter w(out);
    begin_reply(w, id);
    w.key("sub_refresh");
    w.begin_object();
    if (r.expires) {
      w.field_bool("expires", true);
    }
    if (r.ttl != 0) {
      w.field_uint("ttl", r.ttl);
    }
    w.end_object();
    w.end_object();
  }

  void encode_pub(std::string& out, std::string_view channel, const Publication& p,
                  bool uni) const override {
    JsonWriter w(out);
    begin_push(w, channel, uni);
    w.key("pub");
    (void)write_publication(w, p, {.with_epoch = true});
    end_push(w, uni);
  }

  void encode_pub_delta_form(std::string& out, std::string_view channel, const Publication& p,
                             std::string_view data, bool delta, bool uni) const override {
    Publication view;
    view.data.assign(data);
    view.info = p.info;
    view.offset = p.offset;
    view.tags = p.tags;
    view.delta = delta;
    view.epoch = p.epoch;
    JsonWriter w(out);
    begin_push(w, channel, uni);
    w.key("pub");
    (void)write_publication(w, view, {.with_epoch = true, .data_as_string = true});
    end_push(w, uni);
  }

  void encode_join(std::string& out, std::string_view channel, const ClientInfo& info,
                   bool uni) const override {
    JsonWriter w(out);
    begin_push(w, channel, uni);
    w.key("join");
    w.begin_object();
    w.key("info");
    (void)write_client_info(w, info);
    w.end_object();
    end_push(w, uni);
  }

  void encode_leave(std::string& out, std::string_view channel, const ClientInfo& info,
                    bool uni) const override {
    JsonWriter w(out);
    begin_push(w, channel, uni);
    w.key("leave");
    w.begin_object();
    w.key("info");
    (void)write_client_info(w, info);
    w.end_object();
    end_push(w, uni);
  }

  void encode_unsubscribe(std::string& out, std::string_view channel, const Unsubscribe& u,
                          bool uni) const override {
    JsonWriter w(out);
    begin_push(w, channel, uni);
    w.key("unsubscribe");
    w.begin_object();
    if (u.code != 0) {
      w.field_uint("code", u.code);
    }
    if (!u.reason.empty()) {
      w.field("reason", u.reason);
    }
    w.end_object();
    end_push(w, uni);
  }

  void encode_subscribe_push(std::string& out, std::string_view channel, const SubscribePush& s,
                             bool uni) const override {
    JsonWriter w(out);
    begin_push(w, channel, uni);
    w.key("subscribe");
    w.begin_object();
    if (s.recoverable) {
      w.field_bool("recoverable", true);
    }
    if (!s.epoch.empty()) {
      w.field("epoch", s.epoch);
    }
    if (s.offset != 0) {
      w.field_uint("offset", s.offset);
    }
    if (s.positioned) {
      w.field_bool("positioned", true);
    }
    if (!s.data.empty()) {
      w.field_raw("data", s.data);
    }
    w.end_object();
    end_push(w, uni);
  }

  void encode_message(std::string& out, std::string_view data, bool uni) const override {
    JsonWriter w(out);
    begin_push(w, "", uni);
    w.key("message");
    w.begin_object();
    if (!data.empty()) {
      w.field_raw("data", data);
    }
    w.end_object();
    end_push(w, uni);
  }

  void encode_disconnect(std::string& out, const Disconnect& d, bool uni) const override {
    JsonWriter w(out);
    begin_push(w, "", uni);
    w.key("disconnect");
    w.begin_object();
    w.field_uint("code", d.code);
    w.field("reason", d.reason);
    w.end_object();
    end_push(w, uni);
  }

  void encode_refresh_push(std::string& out, const RefreshPush& r, bool uni) const override {
    JsonWriter w(out);
    begin_push(w, "", uni);
    w.key("refresh");
    w.begin_object();
    if (r.expires) {
      w.field_bool("expires", true);
    }
    if (r.ttl != 0) {
      w.field_uint("ttl", r.ttl);
    }
    w.end_object();
    end_push(w, uni);
  }

  void encode_connect_push(std::string& out, const ConnectResult& r) const override {
    JsonWriter w(out);
    w.begin_object();
    w.key("connect");
    write_connect_body(w, r, true);
    w.end_object();
  }

  void encode_ping(std::string& out) const override { out += "{}"; }
};

}  // namespace

const Codec& json_codec() {
  static const JsonCodec codec;
  return codec;
}

}  // namespace gyre::protocol
