#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/errors.h"
#include "protocol/types.h"

// Server API request objects (server-api.md §1.6, §1.7) and their JSON decoding with Go
// encoding/json semantics (§0.1): unknown keys ignored, keys matched ASCII
// case-insensitively, strict scalar types, `null` leaves the default, duplicate keys: the
// last wins. Raw-JSON fields (§0.2) keep the exact bytes of the value; "" means absent, and a
// literal `null` is captured as the 4 bytes `null`. Plain values; decoding is thread-safe
// (thread-local parsers).
namespace gyre::api {

// The 13 OSS methods (the batch key precedence of §1.7.14 is a different order; see
// decode_batch).
enum class Method {
  kPublish,
  kBroadcast,
  kSubscribe,
  kUnsubscribe,
  kDisconnect,
  kPresence,
  kPresenceStats,
  kHistory,
  kHistoryRemove,
  kChannels,
  kInfo,
  kRpc,
  kRefresh,
};

// "publish", "presence_stats", ...: route suffix and batch reply key.
std::string_view method_name(Method m);
// Inverse of method_name (exact, lower case); nullopt for anything else, including "batch".
std::optional<Method> method_from_name(std::string_view name);

struct PublishRequest {
  std::string channel;
  std::string data;  // raw JSON
  std::string b64data;
  bool skip_history = false;
  std::map<std::string, std::string> tags;
  std::string idempotency_key;
  bool delta = false;
};

struct BroadcastRequest {
  std::vector<std::string> channels;
  std::string data;  // raw JSON
  std::string b64data;
  bool skip_history = false;
  std::map<std::string, std::string> tags;
  std::string idempotency_key;
  bool delta = false;
};

// SubscribeOptionOverride: each BoolValue overrides when present ({} means false).
struct SubscribeOverride {
  std::optional<bool> presence;
  std::optional<bool> join_leave;
  std::optional<bool> force_recovery;
  std::optional<bool> force_positioning;
  std::optional<bool> force_push_join_leave;
};

struct SubscribeRequest {
  std::string user;
  std::string channel;
  int64_t expire_at = 0;
  std::string info;  // raw JSON
  std::string b64info;
  std::string client;
  std::string session;
  std::string data;  // raw JSON
  std::string b64data;
  std::optional<protocol::StreamPosition> recover_since;
  std::optional<SubscribeOverride> override_;
};

struct UnsubscribeRequest {
  std::string user;
  std::string channel;
  std::string client;
  std::string session;
};

struct DisconnectRequest {
  std::string user;
  std::string client;
  std::string session;
  std::vector<std::string> whitelist;
  std::optional<Disconnect> disconnect;
};

struct RefreshRequest {
  std::string user;
  std::string client;
  std::string session;
  bool expired = false;
  int64_t expire_at = 0;
  std::string info;  // raw JSON
};

// presence, presence_stats, history_remove.
struct ChannelRequest {
  std::string channel;
};

struct HistoryRequest {
  std::string channel;
  int32_t limit = 0;
  std::optional<protocol::StreamPosition> since;
  bool reverse = false;
};

struct ChannelsRequest {
  std::string pattern;
};

struct InfoRequest {};

struct RpcRequest {
  std::string method;
  std::string params;  // raw JSON
};

using AnyRequest =
    std::variant<PublishRequest, BroadcastRequest, SubscribeRequest, UnsubscribeRequest,
                 DisconnectRequest, RefreshRequest, ChannelRequest, HistoryRequest,
                 ChannelsRequest, InfoRequest, RpcRequest>;

// Decodes the request object of `m` from one JSON document (an object or `null`). Returns
// nullopt when the document is not valid JSON or does not fit the request type.
[[nodiscard]] std::optional<AnyRequest> decode_request(Method m, std::string_view json);

// One command of POST <prefix>/batch: the first method key present in precedence order, or
// none (-> reply error 104).
struct BatchCommand {
  std::optional<Method> method;
  AnyRequest request;
};

struct BatchRequest {
  std::vector<BatchCommand> commands;
  bool parallel = false;
};

[[nodiscard]] std::optional<BatchRequest> decode_batch(std::string_view json);

// One command of the legacy stream (§1.4). `method` is the MethodType enum value (absent:
// 0 = publish). `params` is raw JSON ("" = absent).
struct LegacyCommand {
  uint32_t id = 0;
  int32_t method = 0;
  std::string params;
};

// Decodes one JSON value of the legacy stream. nullopt -> the whole request fails with 400
// (syntax error, type mismatch, unknown method name).
[[nodiscard]] std::optional<LegacyCommand> decode_legacy_command(std::string_view json);

// The handled MethodType values 0..12 (13 is unused); nullopt for 13, 14..32 (PRO) and
// unknown numbers.
std::optional<Method> method_from_enum(int32_t value);

}  // namespace gyre::api
