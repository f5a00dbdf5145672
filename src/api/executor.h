#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api/requests.h"
#include "core/errors.h"
#include "core/op_result.h"

namespace gyre::node {
class Node;
}

// Executes decoded server API requests against the node (server-api.md §1.7), independent of
// framing: the HTTP endpoints, /batch, the legacy stream (and later gRPC) wrap its outcomes.
// Shard-local use: execute() is called on a shard thread and `done` runs exactly once on that
// same shard — inline (before execute() returns) when the work completes on this shard (a
// publish homed here with gomaxprocs 1 posts nothing), else when the other shard's answer
// arrives. Callers that chain commands (/batch, the legacy stream) loop instead of recursing.
// The Executor itself is immutable and may be shared.
namespace gyre::api {

// Server API error codes and exact messages (§1.5).
namespace api_errors {
inline Error internal() { return {100, "internal server error", false}; }
inline Error unknown_channel() { return {102, "unknown channel", false}; }
inline Error not_found() { return {104, "not found", false}; }
inline Error bad_request() { return {107, "bad request", false}; }
inline Error not_available() { return {108, "not available", false}; }
inline Error unrecoverable_position() { return {112, "unrecoverable position", false}; }
// Not an API error code: the result holds a stored raw-JSON payload that is not JSON, so it
// cannot be encoded and the whole response is HTTP 500 (§0.2), as Go's encoder fails there.
inline Error unencodable() { return {0, "result is not encodable", false}; }
inline bool is_unencodable(const Error& e) { return e.code == 0; }
}  // namespace api_errors

// The result of one method call (core/op_result.h): the encoded result object, or an API
// error (api_errors::unencodable() for a result that cannot be encoded).
using Outcome = OpResult<std::string>;
using OutcomeCallback = OpCallback<std::string>;

class Executor {
 public:
  explicit Executor(node::Node& node) : node_(node) {}

  // `req` must hold the request type of `m` (as decode_request returns it).
  void execute(Method m, AnyRequest req, OutcomeCallback done) const;

 private:
  void run(Method m, AnyRequest req, OutcomeCallback done) const;
  void publish(PublishRequest r, OutcomeCallback done) const;
  void broadcast(BroadcastRequest r, OutcomeCallback done) const;
  void subscribe(SubscribeRequest r, OutcomeCallback done) const;
  void unsubscribe(UnsubscribeRequest r, OutcomeCallback done) const;
  void disconnect(DisconnectRequest r, OutcomeCallback done) const;
  void refresh(RefreshRequest r, OutcomeCallback done) const;
  void presence(ChannelRequest r, OutcomeCallback done) const;
  void presence_stats(ChannelRequest r, OutcomeCallback done) const;
  void history(HistoryRequest r, OutcomeCallback done) const;
  void history_remove(ChannelRequest r, OutcomeCallback done) const;
  // centrifugo_node_action_count{action} on the calling shard.
  void count_action(std::string_view action) const;
  void channels(ChannelsRequest r, OutcomeCallback done) const;
  void info(OutcomeCallback done) const;
  void rpc(RpcRequest r, OutcomeCallback done) const;

  // Publishes `payload` to one channel with publish's checks from the namespace lookup on
  // (§1.7.1 steps 4-8); shared by publish and broadcast.
  struct PublishArgs {
    bool skip_history = false;
    std::vector<std::pair<std::string, std::string>> tags;
    std::string idempotency_key;
    bool delta = false;
    bool data_is_json = false;  // see Publication::data_is_json

    // From a PublishRequest or a BroadcastRequest. Their `data` is raw JSON validated with
    // the request (requests.h); b64data decodes to any bytes.
    template <class Request>
    static PublishArgs of(const Request& r) {
      return {r.skip_history, {r.tags.begin(), r.tags.end()}, r.idempotency_key, r.delta,
              r.b64data.empty()};
    }
  };
  // `broadcast`: an item of a broadcast (Centrifugo's log lines say so).
  void publish_one(const std::string& channel, const std::string& payload, bool broadcast,
                   const PublishArgs& args, OutcomeCallback done) const;

  node::Node& node_;
};

}  // namespace gyre::api
