#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/errors.h"

// Client protocol v2 messages (client-protocol.md §3), as plain C++ values. `bytes` fields
// hold the raw payload: for JSON connections the exact bytes of a JSON value. Field names
// follow the proto names. Immutable value types.
namespace gyre::protocol {

enum class ProtocolType { kJson, kProtobuf };

struct StreamPosition {
  uint64_t offset = 0;
  std::string epoch;
  bool operator==(const StreamPosition&) const = default;
};

struct ClientInfo {
  std::string user;
  std::string client;
  std::string conn_info;  // raw bytes
  std::string chan_info;  // raw bytes
};

struct Publication {
  uint64_t offset = 0;
  std::string data;
  std::optional<ClientInfo> info;
  std::vector<std::pair<std::string, std::string>> tags;  // sorted by key
  bool delta = false;
  int64_t time = 0;  // Unix ms, not sent to clients
  // Set by a producer that already validated `data` as one JSON value (the JSON client
  // protocol, `data` of a JSON API request); false means unknown: checked once at fan-out.
  bool data_is_json = false;
  std::string epoch;  // sent on the publication with offset 1 (client-protocol.md §3.5)
};

// --- requests (client -> server)

struct SubscribeRequest {
  std::string channel;
  std::string token;
  bool recover = false;
  std::string epoch;
  uint64_t offset = 0;
  std::string data;
  bool positioned = false;
  bool recoverable = false;
  bool join_leave = false;
  std::string delta;
  int64_t flag = 0;
  int32_t type = 0;
};

struct ConnectRequest {
  std::string token;
  std::string data;
  std::vector<std::pair<std::string, SubscribeRequest>> subs;
  std::string name;
  std::string version;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct ChannelRequest {
  std::string channel;
};

struct PublishRequest {
  std::string channel;
  std::string data;
};

struct HistoryRequest {
  std::string channel;
  int32_t limit = 0;
  std::optional<StreamPosition> since;
  bool reverse = false;
};

struct RpcRequest {
  std::string data;
  std::string method;
};

struct SendRequest {
  std::string data;
};

struct RefreshRequest {
  std::string token;
};

struct SubRefreshRequest {
  std::string channel;
  std::string token;
};

enum class Method {
  kNone,  // no request field: a pong when id == 0
  kConnect,
  kSubscribe,
  kUnsubscribe,
  kPublish,
  kPresence,
  kPresenceStats,
  kHistory,
  kPing,
  kSend,
  kRpc,
  kRefresh,
  kSubRefresh,
};

// A method's name as centrifuge's protocol.FrameType.String() spells it, which is also the
// key of its request and reply in JSON ("presence_stats", "sub_refresh"); "" for kNone (no
// request field: a pong).
constexpr std::string_view method_name(Method m) {
  switch (m) {
    case Method::kConnect:
      return "connect";
    case Method::kSubscribe:
      return "subscribe";
    case Method::kUnsubscribe:
      return "unsubscribe";
    case Method::kPublish:
      return "publish";
    case Method::kPresence:
      return "presence";
    case Method::kPresenceStats:
      return "presence_stats";
    case Method::kHistory:
      return "history";
    case Method::kPing:
      return "ping";
    case Method::kSend:
      return "send";
    case Method::kRpc:
      return "rpc";
    case Method::kRefresh:
      return "refresh";
    case Method::kSubRefresh:
      return "sub_refresh";
    case Method::kNone:
      break;
  }
  return "";
}

// One Command. Exactly the member matching `method` is meaningful.
struct Command {
  uint32_t id = 0;
  Method method = Method::kNone;
  ConnectRequest connect;
  SubscribeRequest subscribe;
  ChannelRequest channel;  // unsubscribe, presence, presence_stats
  PublishRequest publish;
  HistoryRequest history;
  RpcRequest rpc;
  SendRequest send;
  RefreshRequest refresh;
  SubRefreshRequest sub_refresh;
};

// --- results (server -> client)

struct SubscribeResult {
  bool expires = false;
  uint32_t ttl = 0;
  bool recoverable = false;
  std::string epoch;
  std::vector<std::shared_ptr<const Publication>> publications;
  bool recovered = false;
  uint64_t offset = 0;
  bool positioned = false;
  std::string data;
  bool was_recovering = false;
  bool delta = false;
};

struct ConnectResult {
  std::string client;
  std::string version;
  bool expires = false;
  uint32_t ttl = 0;
  std::string data;
  std::vector<std::pair<std::string, SubscribeResult>> subs;
  uint32_t ping = 0;
  bool pong = false;
  std::string session;
  std::string node;
  int64_t time = 0;
};

struct RefreshResult {
  std::string client;
  std::string version;
  bool expires = false;
  uint32_t ttl = 0;
};

struct SubRefreshResult {
  bool expires = false;
  uint32_t ttl = 0;
};

struct PresenceResult {
  std::vector<std::pair<std::string, ClientInfo>> presence;  // client id -> info
};

struct PresenceStatsResult {
  uint32_t num_clients = 0;
  uint32_t num_users = 0;
};

struct HistoryResult {
  std::vector<std::shared_ptr<const Publication>> publications;
  std::string epoch;
  uint64_t offset = 0;
};

struct RpcResult {
  std::string data;
};

// --- pushes

struct Unsubscribe {
  uint32_t code = 0;
  std::string reason;
};

struct SubscribePush {
  bool recoverable = false;
  std::string epoch;
  uint64_t offset = 0;
  bool positioned = false;
  std::string data;
};

struct RefreshPush {
  bool expires = false;
  uint32_t ttl = 0;
};

}  // namespace gyre::protocol
