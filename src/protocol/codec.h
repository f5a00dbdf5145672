#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "protocol/types.h"

// Encoding of the client protocol (client-protocol.md §2): JSON now, Protobuf with the
// transports issue. A Codec is stateless and immutable: thread-safe.
//
// Every encode_* appends exactly ONE message, unframed, to `out`. Framing (newline joins,
// varint prefixes, WebSocket headers) belongs to the transport.
namespace gyre::protocol {

// A Command may carry several requests; Centrifuge acts on the first present in this order
// (client-protocol.md §4.1.6). Decoders collect `request_bit(method)` for every request they
// see and pick the method with first_request().
constexpr uint32_t request_bit(Method m) { return 1u << static_cast<uint32_t>(m); }
constexpr Method first_request(uint32_t present) {
  constexpr Method kOrder[] = {
      Method::kConnect, Method::kPing,    Method::kSubscribe, Method::kUnsubscribe,
      Method::kPublish, Method::kPresence, Method::kPresenceStats, Method::kHistory,
      Method::kRpc,     Method::kSend,    Method::kRefresh,   Method::kSubRefresh,
  };
  for (Method m : kOrder) {
    if (present & request_bit(m)) {
      return m;
    }
  }
  return Method::kNone;
}

class Codec {
 public:
  virtual ~Codec() = default;
  virtual ProtocolType type() const = 0;

  // Decodes one inbound transport frame. Returns false on any decode error, an empty frame
  // or an empty line (-> disconnect 3501). `out` receives the commands in order.
  virtual bool decode_commands(std::string_view frame, std::vector<Command>& out) const = 0;
  // Decodes a bare ConnectRequest (unidirectional transports). `null` is an empty request.
  virtual bool decode_connect_request(std::string_view data, ConnectRequest& out) const = 0;

  // --- replies to commands (Reply{id, <result>} or Reply{id, error})
  virtual void encode_error(std::string& out, uint32_t id, const Error& e) const = 0;
  virtual void encode_connect(std::string& out, uint32_t id, const ConnectResult& r) const = 0;
  virtual void encode_subscribe(std::string& out, uint32_t id, const SubscribeResult& r) const = 0;
  virtual void encode_empty(std::string& out, uint32_t id, Method m) const = 0;  // unsubscribe, publish
  virtual void encode_presence(std::string& out, uint32_t id, const PresenceResult& r) const = 0;
  virtual void encode_presence_stats(std::string& out, uint32_t id,
                                     const PresenceStatsResult& r) const = 0;
  virtual void encode_history(std::string& out, uint32_t id, const HistoryResult& r) const = 0;
  virtual void encode_rpc(std::string& out, uint32_t id, const RpcResult& r) const = 0;
  virtual void encode_refresh(std::string& out, uint32_t id, const RefreshResult& r) const = 0;
  virtual void encode_sub_refresh(std::string& out, uint32_t id,
                                  const SubRefreshResult& r) const = 0;

  // --- pushes. `uni` = bare Push (unidirectional transports); otherwise Reply{push}.
  virtual void encode_pub(std::string& out, std::string_view channel, const Publication& p,
                          bool uni) const = 0;
  // A publication on a delta-negotiated subscription (client-protocol.md §9.3): `data` is
  // either the full payload or a fossil patch (`delta` true). JSON writes it as a JSON string.
  virtual void encode_pub_delta_form(std::string& out, std::string_view channel,
                                     const Publication& p, std::string_view data, bool delta,
                                     bool uni) const = 0;
  virtual void encode_join(std::string& out, std::string_view channel, const ClientInfo& info,
                           bool uni) const = 0;
  virtual void encode_leave(std::string& out, std::string_view channel, const ClientInfo& info,
                            bool uni) const = 0;
  virtual void encode_unsubscribe(std::string& out, std::string_view channel,
                                  const Unsubscribe& u, bool uni) const = 0;
  virtual void encode_subscribe_push(std::string& out, std::string_view channel,
                                     const SubscribePush& s, bool uni) const = 0;
  virtual void encode_message(std::string& out, std::string_view data, bool uni) const = 0;
  virtual void encode_disconnect(std::string& out, const Disconnect& d, bool uni) const = 0;
  virtual void encode_refresh_push(std::string& out, const RefreshPush& r, bool uni) const = 0;
  virtual void encode_connect_push(std::string& out, const ConnectResult& r) const = 0;
  // A ping: empty Reply (bidirectional) or empty Push (unidirectional); `{}` in JSON.
  virtual void encode_ping(std::string& out) const = 0;
};

const Codec& json_codec();
// proto3 binary encoding (client-protocol.md §2.3). Messages are unframed like JSON ones; the
// transport prefixes each with its varint length.
const Codec& protobuf_codec();

// Whether `data` is one complete JSON document (syntax, string escapes, UTF-8, at most 1023
// nested arrays/objects as simdjson's DOM allows), judged as Go's encoding/json judges it:
// every number matching the JSON grammar is valid, however large (`1e400`, integers beyond 64 bits), as in Centrifugo, which keeps
// `data` as json.RawMessage. simdjson's DOM parser validates first (fast path); only when it
// refuses a number does a grammar-only walk decide. Empty input is invalid. Used to refuse
// non-JSON payloads to JSON connections (3506) and to validate raw JSON fields.
// Defined in json_raw.cc.
bool valid_json(std::string_view data);

}  // namespace gyre::protocol
