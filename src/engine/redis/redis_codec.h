#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/types.h"

// What Gyre writes to and reads from Redis, byte for byte as Centrifugo v5.4.9 (centrifuge
// v0.33 RedisBroker / RedisPresenceManager) so that Gyre and Centrifugo nodes can share one
// Redis: key and PUB/SUB channel names, the protobuf Publication and ClientInfo of
// github.com/centrifugal/protocol (client.proto), and the PUB/SUB message framing. Pure
// functions and immutable values: callable from any thread.
namespace gyre::engine::redis {

// Names under one prefix (redis_prefix, "centrifugo" by default). In Redis Cluster mode the
// channel in every key is a hash tag (P.stream.{ch}, P.result.{ch}.<key>, ...) so that the
// keys of one channel share a slot, as centrifuge does; PUB/SUB channels stay untagged (a
// cluster PUBLISH reaches every node). Immutable.
class RedisKeys {
 public:
  explicit RedisKeys(std::string prefix, bool cluster = false)
      : prefix_(std::move(prefix)), cluster_(cluster) {}
  const std::string& prefix() const { return prefix_; }
  bool cluster() const { return cluster_; }
  // PUB/SUB channel of a channel's publications, joins and leaves: P.client.<ch>.
  std::string client_channel(std::string_view ch) const {
    std::string s;
    s.reserve(prefix_.size() + 8 + ch.size());
    s.append(prefix_).append(".client.").append(ch);
    return s;
  }
  // The channel name from a P.client.<ch> PUB/SUB channel, nullopt for other channels.
  std::optional<std::string> channel_of(std::string_view pubsub_channel) const;
  std::string stream(std::string_view ch) const { return cat(".stream.", ch); }
  std::string stream_meta(std::string_view ch) const { return cat(".stream.meta.", ch); }
  // redis_use_lists: history in a LIST (newest first) and its meta hash.
  std::string list(std::string_view ch) const { return cat(".list.", ch); }
  std::string list_meta(std::string_view ch) const { return cat(".list.meta.", ch); }
  std::string result(std::string_view ch, std::string_view idempotency_key) const {
    return cat(".result.", ch) + "." + std::string(idempotency_key);
  }
  std::string presence_data(std::string_view ch) const { return cat(".presence.data.", ch); }
  std::string presence_expire(std::string_view ch) const {
    return cat(".presence.expire.", ch);
  }
  std::string presence_user_expire(std::string_view ch) const {
    return cat(".presence.user.expire.", ch);
  }
  std::string presence_user_clients(std::string_view ch) const {
    return cat(".presence.user.clients.", ch);
  }
  std::string control() const { return prefix_ + ".control"; }

 private:
  std::string cat(std::string_view mid, std::string_view ch) const {
    std::string s;
    s.reserve(prefix_.size() + mid.size() + ch.size() + 2);
    s.append(prefix_).append(mid);
    if (cluster_) {
      s.append("{").append(ch).append("}");
    } else {
      s.append(ch);
    }
    return s;
  }
  std::string prefix_;
  bool cluster_ = false;
};

// protobuf Publication {data=4, info=5, offset=6, tags=7, delta=8, time=9} as centrifuge
// marshals it (MarshalVT: fields in number order, defaults omitted, map entries in the
// order given — Gyre keeps tags sorted by key).
std::string encode_publication(const protocol::Publication& p);
[[nodiscard]] bool decode_publication(std::string_view bytes, protocol::Publication& out);
std::string encode_client_info(const protocol::ClientInfo& i);
[[nodiscard]] bool decode_client_info(std::string_view bytes, protocol::ClientInfo& out);

// A message read from P.client.<ch>, split as centrifuge's extractPushData does:
//   "__p1:<offset>:<epoch>__<Publication>"  publication stored in history
//   "__d1:<offset>:<epoch>:<len>:<prev>:<len>:<Publication>"  same, with the previous one
//   "__j__<ClientInfo>" / "__l__<ClientInfo>"  join / leave
//   "<Publication>"  publication without history (its own `delta` field carries the flag)
struct PubSubMessage {
  enum class Type { kPublication, kJoin, kLeave };
  Type type = Type::kPublication;
  std::string_view payload;  // the protobuf bytes (a view into the message)
  uint64_t offset = 0;
  std::string_view epoch;
  bool delta = false;
  std::string_view prev_payload;  // __d1: only; empty when there is no previous publication
};
[[nodiscard]] std::optional<PubSubMessage> parse_pubsub_message(std::string_view data);

// The PUB/SUB bodies Gyre publishes itself (the __p1:/__d1: ones are built by the Lua script).
std::string join_message(const protocol::ClientInfo& info);
std::string leave_message(const protocol::ClientInfo& info);

}  // namespace gyre::engine::redis
