#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/codec.h"
#include "protocol/protobuf_wire.h"

// Protobuf client protocol (client-protocol.md §2.3): proto3 binary encoding of the messages in
// centrifugal/protocol client.proto (§3), written by hand because it is the hot path. Field
// numbers below are those of client.proto; each message's fields are written in ascending
// number order, defaults omitted, sub-messages always written when set.
namespace gyre::protocol {
namespace {

using pb::Field;
using pb::for_each_field;
using pb::kLen;
using pb::kVarint;
using pb::put_bool;
using pb::put_bytes;
using pb::put_bytes_always;
using pb::put_int;
using pb::put_message;
using pb::put_uint;
using pb::read;
using pb::Sink;

// ---------------------------------------------------------------- decoding

// A known field this server does not use: only its wire type is checked.
bool expect(const Field& f, pb::WireType type) { return f.type == type; }

// A sub-message field decoded into `out` (merging, as proto does when a field repeats).
template <typename T>
bool read_message(const Field& f, bool (*decode)(std::string_view, T&), T& out) {
  return f.type == kLen && decode(f.bytes, out);
}

bool decode_empty(std::string_view m) {
  return for_each_field(m, [](const Field&) { return true; });
}

// Map fields: a later entry with the same key replaces the earlier one (proto map semantics).
template <typename V>
void put_entry(std::vector<std::pair<std::string, V>>& map, std::string key, V value) {
  for (auto& [k, v] : map) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  map.emplace_back(std::move(key), std::move(value));
}

bool decode_subscribe(std::string_view m, SubscribeRequest& r) {
  return for_each_field(m, [&](const Field& f) {
    switch (f.number) {
      case 1:
        return read(f, r.channel);
      case 2:
        return read(f, r.token);
      case 3:
        return read(f, r.recover);
      case 6:
        return read(f, r.epoch);
      case 7:
        return read(f, r.offset);
      case 8:
        return read(f, r.data);
      case 9:
        return read(f, r.positioned);
      case 10:
        return read(f, r.recoverable);
      case 11:
        return read(f, r.join_leave);
      case 12:
        return read(f, r.delta);
      case 13:  // tf: FilterNode, tags filters are not supported
        return expect(f, kLen);
      case 14:
        return read(f, r.flag);
      case 15:
        return read(f, r.type);
      case 16:  // phase
      case 18:  // limit
      case 19:  // asc
        return expect(f, kVarint);
      case 17:  // cursor
        return expect(f, kLen);
      default:
        return true;
    }
  });
}

bool decode_sub_entry(std::string_view m, ConnectRequest& r) {
  std::string channel;
  SubscribeRequest sub;
  bool ok = for_each_field(m, [&](const Field& f) {
    switch (f.number) {
      case 1:
        return read(f, channel);
      case 2:
        return read_message(f, decode_subscribe, sub);
      default:
        return true;
    }
  });
  if (!ok) {
    return false;
  }
  sub.channel = channel;  // the map key names the channel, as in the JSON codec
  put_entry(r.subs, std::move(channel), std::move(sub));
  return true;
}

bool decode_header_entry(std::string_view m, ConnectRequest& r) {
  std::string key;
  std::string value;
  bool ok = for_each_field(m, [&](const Field& f) {
    switch (f.number) {
      case 1:
        return read(f, key);
      case 2:
        return read(f, value);
      default:
        return true;
    }
  });
  if (!ok) {
    return false;
  }
  put_entry(r.headers, std::move(key), std::move(value));
  return true;
}

bool decode_connect(std::string_view m, ConnectRequest& r) {
  return for_each_field(m, [&](const Field& f) {
    switch (f.number) {
      case 1:
        return read(f, r.token);
      case 2:
        return read(f, r.data);
      case 3:
        return read_message(f, decode_sub_entry, r);
      case 4:
        return read(f, r.name);
      case 5:
        return read(f, r.version);
      case 6:
        return read_message(f, decode_header_entry, r);
      case 7:  // flag
        return expect(f, kVarint);
      case 8:  // dict
      case 9:  // profile
        return expect(f, kLen);
      default:
        return true;
    }
  });
}

bool decode_channel(std::string_view m, ChannelRequest& r) {
  return for_each_field(m, [&](const Field& f) {
    return f.number == 1 ? read(f, r.channel) : true;
  });
}

bool decode_publish(std::string_view m, PublishRequest& r) {
  return for_each_field(m, [&](const Field& f) {
    switch (f.number) {
      case 1:
        return read(f, r.channel);
      case 2:
        return read(f, r.data);
      case 3:  // type
      case 5:  // removed
        return expect(f, kVarint);
      case 4:  // key
        return expect(f, kLen);
      default:
        return true;
    }
  });
}

bool decode_stream_position(std::string_view m, StreamPosition& sp) {
  return for_each_field(m, [&](const Field& f) {
    switch (f.number) {
      case 1:
        return read(f, sp.offset);
      case 2:
        return read(f, sp.epoch);
      default:
        return true;
    }
  });
}

bool decode_history(std::string_view m, HistoryRequest& r) {
  return for_each_field(m, [&](const Field& f) {
    switch (f.number) {
      case 1:
        return read(f, r.channel);
      case 7:
        return read(f, r.limit);
      case 8:
        if (!r.since) {
          r.since.emplace();
        }
        return read_message(f, decode_stream_position, *r.since);
      case 9:
        return read(f, r.reverse);
      default:
        return true;
    }
  });
}

bool decode_rpc(std::string_view m, RpcRequest& r) {
  return for_each_field(m, [&](const Field& f) {
    switch (f.number) {
      case 1:
        return read(f, r.data);
      case 2:
        return read(f, r.method);
      default:
        return true;
    }
  });
}

bool decode_send(std::string_view m, SendRequest& r) {
  return for_each_field(m, [&](const Field& f) { return f.number == 1 ? read(f, r.data) : true; });
}

bool decode_refresh(std::string_view m, RefreshRequest& r) {
  return for_each_field(m,
                        [&](const Field& f) { return f.number == 1 ? read(f, r.token) : true; });
}

bool decode_sub_refresh(std::string_view m, SubRefreshRequest& r) {
  return for_each_field(m, [&](const Field& f) {
    switch (f.number) {
      case 1:
        return read(f, r.channel);
      case 2:
        return read(f, r.token);
      case 3:  // type
        return expect(f, kVarint);
      case 4:  // track
      case 5:  // untrack
        return expect(f, kLen);
      default:
        return true;
    }
  });
}

// A request sub-message counts as set even when empty (length 0): proto3 message fields have
// explicit presence.
bool decode_command(std::string_view m, Command& cmd) {
  uint32_t present = 0;
  bool ok = for_each_field(m, [&](const Field& f) {
    switch (f.number) {
      case 1:
        return read(f, cmd.id);
      case 4:
        present |= request_bit(Method::kConnect);
        return read_message(f, decode_connect, cmd.connect);
      case 5:
        present |= request_bit(Method::kSubscribe);
        return read_message(f, decode_subscribe, cmd.subscribe);
      case 6:
        present |= request_bit(Method::kUnsubscribe);
        return read_message(f, decode_channel, cmd.channel);
      case 7:
        present |= request_bit(Method::kPublish);
        return read_message(f, decode_publish, cmd.publish);
      case 8:
        present |= request_bit(Method::kPresence);
        return read_message(f, decode_channel, cmd.channel);
      case 9:
        present |= request_bit(Method::kPresenceStats);
        return read_message(f, decode_channel, cmd.channel);
      case 10:
        present |= request_bit(Method::kHistory);
        return read_message(f, decode_history, cmd.history);
      case 11:
        present |= request_bit(Method::kPing);
        return f.type == kLen && decode_empty(f.bytes);
      case 12:
        present |= request_bit(Method::kSend);
        return read_message(f, decode_send, cmd.send);
      case 13:
        present |= request_bit(Method::kRpc);
        return read_message(f, decode_rpc, cmd.rpc);
      case 14:
        present |= request_bit(Method::kRefresh);
        return read_message(f, decode_refresh, cmd.refresh);
      case 15:
        present |= request_bit(Method::kSubRefresh);
        return read_message(f, decode_sub_refresh, cmd.sub_refresh);
      default:
        return true;
    }
  });
  if (!ok) {
    return false;
  }
  cmd.method = first_request(present);
  return true;
}

// ---------------------------------------------------------------- encoding

// Reply field numbers (client.proto `Reply`).
constexpr uint32_t kReplyId = 1;
constexpr uint32_t kReplyError = 2;
constexpr uint32_t kReplyPush = 4;
constexpr uint32_t kReplyConnect = 5;
constexpr uint32_t kReplySubscribe = 6;
constexpr uint32_t kReplyUnsubscribe = 7;
constexpr uint32_t kReplyPublish = 8;
constexpr uint32_t kReplyPresence = 9;
constexpr uint32_t kReplyPresenceStats = 10;
constexpr uint32_t kReplyHistory = 11;
constexpr uint32_t kReplyPing = 12;
constexpr uint32_t kReplyRpc = 13;
constexpr uint32_t kReplyRefresh = 14;
constexpr uint32_t kReplySubRefresh = 15;

// Push field numbers (client.proto `Push`).
constexpr uint32_t kPushChannel = 2;
constexpr uint32_t kPushPub = 4;
constexpr uint32_t kPushJoin = 5;
constexpr uint32_t kPushLeave = 6;
constexpr uint32_t kPushUnsubscribe = 7;
constexpr uint32_t kPushMessage = 8;
constexpr uint32_t kPushSubscribe = 9;
constexpr uint32_t kPushConnect = 10;
constexpr uint32_t kPushDisconnect = 11;
constexpr uint32_t kPushRefresh = 12;

template <Sink S>
void write_client_info(S& s, const ClientInfo& i) {
  put_bytes(s, 1, i.user);
  put_bytes(s, 2, i.client);
  put_bytes(s, 3, i.conn_info);
  put_bytes(s, 4, i.chan_info);
}

// Map entries always carry key and value, as Go's generated marshalers write them.
template <Sink S>
void write_publication(S& s, const Publication& p, bool with_epoch) {
  put_bytes(s, 4, p.data);
  if (p.info) {
    put_message(s, 5, [&](auto& w) { write_client_info(w, *p.info); });
  }
  put_uint(s, 6, p.offset);
  for (const auto& [k, v] : p.tags) {
    put_message(s, 7, [&](auto& w) {
      put_bytes_always(w, 1, k);
      put_bytes_always(w, 2, v);
    });
  }
  put_bool(s, 8, p.delta);
  // `time` (9) is not sent to clients; the epoch rides on offset 1 of a pub push only (§3.5).
  if (with_epoch && p.offset == 1) {
    put_bytes(s, 14, p.epoch);
  }
}

template <Sink S>
void write_publications(S& s, uint32_t field,
                        const std::vector<std::shared_ptr<const Publication>>& pubs) {
  for (const auto& p : pubs) {
    put_message(s, field, [&](auto& w) { write_publication(w, *p, false); });
  }
}

template <Sink S>
void write_subscribe_result(S& s, const SubscribeResult& r) {
  put_bool(s, 1, r.expires);
  put_uint(s, 2, r.ttl);
  put_bool(s, 3, r.recoverable);
  put_bytes(s, 6, r.epoch);
  write_publications(s, 7, r.publications);
  put_bool(s, 8, r.recovered);
  put_uint(s, 9, r.offset);
  put_bool(s, 10, r.positioned);
  put_bytes(s, 11, r.data);
  put_bool(s, 12, r.was_recovering);
  put_bool(s, 13, r.delta);
}

template <Sink S>
void write_subs(S& s, uint32_t field,
                const std::vector<std::pair<std::string, SubscribeResult>>& subs) {
  for (const auto& [ch, sub] : subs) {
    put_message(s, field, [&](auto& w) {
      put_bytes_always(w, 1, ch);
      put_message(w, 2, [&](auto& v) { write_subscribe_result(v, sub); });
    });
  }
}

// ConnectResult (reply).
template <Sink S>
void write_connect_result(S& s, const ConnectResult& r) {
  put_bytes(s, 1, r.client);
  put_bytes(s, 2, r.version);
  put_bool(s, 3, r.expires);
  put_uint(s, 4, r.ttl);
  put_bytes(s, 5, r.data);
  write_subs(s, 6, r.subs);
  put_uint(s, 7, r.ping);
  put_bool(s, 8, r.pong);
  put_bytes(s, 9, r.session);
  put_bytes(s, 10, r.node);
  put_int(s, 11, r.time);
}

// Connect (push, unidirectional): the same values, numbered differently.
template <Sink S>
void write_connect_push(S& s, const ConnectResult& r) {
  put_bytes(s, 1, r.client);
  put_bytes(s, 2, r.version);
  put_bytes(s, 3, r.data);
  write_subs(s, 4, r.subs);
  put_bool(s, 5, r.expires);
  put_uint(s, 6, r.ttl);
  put_uint(s, 7, r.ping);
  put_bool(s, 8, r.pong);
  put_bytes(s, 9, r.session);
  put_bytes(s, 10, r.node);
  put_int(s, 11, r.time);
}

// Appends Reply{id, <field>: body}. The result is written even when empty (§2.3).
template <typename Body>
void append_reply(std::string& out, uint32_t id, uint32_t field, Body&& body) {
  pb::append_message(out, [&](auto& w) {
    put_uint(w, kReplyId, id);
    put_message(w, field, body);
  });
}

// Appends Push{channel, <field>: body}, wrapped in Reply{push} unless `uni`.
template <typename Body>
void append_push(std::string& out, std::string_view channel, uint32_t field, bool uni,
                 Body&& body) {
  auto push = [&](auto& w) {
    put_bytes(w, kPushChannel, channel);
    put_message(w, field, body);
  };
  if (uni) {
    pb::append_message(out, push);
  } else {
    pb::append_message(out, [&](auto& w) { put_message(w, kReplyPush, push); });
  }
}

uint32_t reply_field(Method m) {
  switch (m) {
    case Method::kConnect:
      return kReplyConnect;
    case Method::kSubscribe:
      return kReplySubscribe;
    case Method::kUnsubscribe:
      return kReplyUnsubscribe;
    case Method::kPublish:
      return kReplyPublish;
    case Method::kPresence:
      return kReplyPresence;
    case Method::kPresenceStats:
      return kReplyPresenceStats;
    case Method::kHistory:
      return kReplyHistory;
    case Method::kRpc:
      return kReplyRpc;
    case Method::kRefresh:
      return kReplyRefresh;
    case Method::kSubRefresh:
      return kReplySubRefresh;
    default:
      return kReplyPing;
  }
}

class ProtobufCodec final : public Codec {
 public:
  ProtocolType type() const override { return ProtocolType::kProtobuf; }

  // The frame is a concatenation of varint-length-prefixed Commands (protobufjs
  // encodeDelimited). A zero length is an empty Command, i.e. a pong.
  bool decode_commands(std::string_view frame, std::vector<Command>& out) const override {
    if (frame.empty()) {
      return false;
    }
    pb::Reader r(frame);
    while (!r.empty()) {
      std::string_view message;
      if (!r.bytes(message)) {
        return false;
      }
      Command cmd;
      if (!decode_command(message, cmd)) {
        return false;
      }
      out.push_back(std::move(cmd));
    }
    return true;
  }

  bool decode_connect_request(std::string_view data, ConnectRequest& out) const override {
    return decode_connect(data, out);
  }

  void encode_error(std::string& out, uint32_t id, const Error& e) const override {
    append_reply(out, id, kReplyError, [&](auto& w) {
      put_uint(w, 1, e.code);
      put_bytes(w, 2, e.message);
      put_bool(w, 3, e.temporary);
    });
  }

  void encode_connect(std::string& out, uint32_t id, const ConnectResult& r) const override {
    append_reply(out, id, kReplyConnect, [&](auto& w) { write_connect_result(w, r); });
  }

  void encode_subscribe(std::string& out, uint32_t id, const SubscribeResult& r) const override {
    append_reply(out, id, kReplySubscribe, [&](auto& w) { write_subscribe_result(w, r); });
  }

  void encode_empty(std::string& out, uint32_t id, Method m) const override {
    append_reply(out, id, reply_field(m), [](auto&) {});
  }

  void encode_presence(std::string& out, uint32_t id, const PresenceResult& r) const override {
    append_reply(out, id, kReplyPresence, [&](auto& w) {
      for (const auto& [client, info] : r.presence) {
        put_message(w, 1, [&](auto& e) {
          put_bytes_always(e, 1, client);
          put_message(e, 2, [&](auto& v) { write_client_info(v, info); });
        });
      }
    });
  }

  void encode_presence_stats(std::string& out, uint32_t id,
                             const PresenceStatsResult& r) const override {
    append_reply(out, id, kReplyPresenceStats, [&](auto& w) {
      put_uint(w, 1, r.num_clients);
      put_uint(w, 2, r.num_users);
    });
  }

  void encode_history(std::string& out, uint32_t id, const HistoryResult& r) const override {
    append_reply(out, id, kReplyHistory, [&](auto& w) {
      write_publications(w, 1, r.publications);
      put_bytes(w, 2, r.epoch);
      put_uint(w, 3, r.offset);
    });
  }

  void encode_rpc(std::string& out, uint32_t id, const RpcResult& r) const override {
    append_reply(out, id, kReplyRpc, [&](auto& w) { put_bytes(w, 1, r.data); });
  }

  void encode_refresh(std::string& out, uint32_t id, const RefreshResult& r) const override {
    append_reply(out, id, kReplyRefresh, [&](auto& w) {
      put_bytes(w, 1, r.client);
      put_bytes(w, 2, r.version);
      put_bool(w, 3, r.expires);
      put_uint(w, 4, r.ttl);
    });
  }

  void encode_sub_refresh(std::string& out, uint32_t id,
                          const SubRefreshResult& r) const override {
    append_reply(out, id, kReplySubRefresh, [&](auto& w) {
      put_bool(w, 1, r.expires);
      put_uint(w, 2, r.ttl);
    });
  }

  void encode_pub(std::string& out, std::string_view channel, const Publication& p,
                  bool uni) const override {
    append_push(out, channel, kPushPub, uni, [&](auto& w) { write_publication(w, p, true); });
  }

  void encode_pub_delta_form(std::string& out, std::string_view channel, const Publication& p,
                             std::string_view data, bool delta, bool uni) const override {
    Publication copy = p;
    copy.data.assign(data);
    copy.delta = delta;
    encode_pub(out, channel, copy, uni);
  }

  void encode_join(std::string& out, std::string_view channel, const ClientInfo& info,
                   bool uni) const override {
    append_push(out, channel, kPushJoin, uni, [&](auto& w) {
      put_message(w, 1, [&](auto& v) { write_client_info(v, info); });
    });
  }

  void encode_leave(std::string& out, std::string_view channel, const ClientInfo& info,
                    bool uni) const override {
    append_push(out, channel, kPushLeave, uni, [&](auto& w) {
      put_message(w, 1, [&](auto& v) { write_client_info(v, info); });
    });
  }

  void encode_unsubscribe(std::string& out, std::string_view channel, const Unsubscribe& u,
                          bool uni) const override {
    append_push(out, channel, kPushUnsubscribe, uni, [&](auto& w) {
      put_uint(w, 2, u.code);
      put_bytes(w, 3, u.reason);
    });
  }

  void encode_subscribe_push(std::string& out, std::string_view channel, const SubscribePush& s,
                             bool uni) const override {
    append_push(out, channel, kPushSubscribe, uni, [&](auto& w) {
      put_bool(w, 1, s.recoverable);
      put_bytes(w, 4, s.epoch);
      put_uint(w, 5, s.offset);
      put_bool(w, 6, s.positioned);
      put_bytes(w, 7, s.data);
    });
  }

  void encode_message(std::string& out, std::string_view data, bool uni) const override {
    append_push(out, "", kPushMessage, uni, [&](auto& w) { put_bytes(w, 1, data); });
  }

  void encode_disconnect(std::string& out, const Disconnect& d, bool uni) const override {
    append_push(out, "", kPushDisconnect, uni, [&](auto& w) {
      put_uint(w, 1, d.code);
      put_bytes(w, 2, d.reason);
    });
  }

  void encode_refresh_push(std::string& out, const RefreshPush& r, bool uni) const override {
    append_push(out, "", kPushRefresh, uni, [&](auto& w) {
      put_bool(w, 1, r.expires);
      put_uint(w, 2, r.ttl);
    });
  }

  void encode_connect_push(std::string& out, const ConnectResult& r) const override {
    append_push(out, "", kPushConnect, true, [&](auto& w) { write_connect_push(w, r); });
  }

  // An empty Reply (or Push): zero bytes; the transport's length prefix makes it 0x00.
  void encode_ping(std::string&) const override {}
};

}  // namespace

const Codec& protobuf_codec() {
  static const ProtobufCodec codec;
  return codec;
}

}  // namespace gyre::protocol
