#pragma once

#include <array>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "auth/jwt.h"
#include "channel/channel.h"
#include "core/clock.h"
#include "core/errors.h"
#include "hub/hub.h"
#include "metrics/registry.h"
#include "node/client_policy.h"
#include "node/session_clock.h"
#include "node/subscription_table.h"
#include "node/timer_wheel.h"
#include "node/transport.h"
#include "proxy/http_proxy.h"
#include "protocol/types.h"

// A client session: the protocol state machine of one connection (client-protocol.md §4).
// Shard-local: it lives on the shard of its connection and every method runs there. Owned by
// its transport through a shared_ptr; engine callbacks hold it alive and check closed()
// first. Its methods are spread over client.cc (queue, dispatch, replies, timers, close),
// client_commands.cc (command handlers) and client_subscriptions.cc (subscription lifecycle
// and delivery); the decisions they apply are the pure functions of client_policy.h and
// recovery.h. Time is read only through the shard's SessionClock (NodeShard::clock).
namespace gyre::node {

class Node;
class Client;

// One subscription of a client. Registered in the shard's hub as a subscriber. Members that
// are empty on most subscriptions (channel info, pushes buffered before the reply) are
// allocated when used, and the flags are packed: every idle connection holds one of these
// (docs/performance.md "Idle connections").
class ClientSubscription final : public hub::Subscriber {
 public:
  ClientSubscription(Client* c, std::string ch) : client(c), channel(std::move(ch)) {}
  void deliver(const std::shared_ptr<const hub::Fanout>& f) override;
  void prefetch(unsigned stage) const override;

  // Channel info (from the subscription token, the subscribe proxy or the API).
  const std::string& chan_info() const;
  void set_chan_info(std::string info);
  // Pushes that arrived before the subscribe reply: queued until activation.
  void buffer_push(const std::shared_ptr<const hub::Fanout>& f);
  std::vector<std::shared_ptr<const hub::Fanout>> take_buffer();

  Client* client;
  std::string channel;
  protocol::StreamPosition position;
  clock::TimePoint last_position_check{};
  config::Duration meta_ttl{0};
  int64_t expire_at = 0;  // Unix seconds, 0 = never
  int32_t position_check_failures = 0;  // consecutive; one is tolerated (a publication in flight)
  bool position_check_pending : 1 = false;
  // Expiry refreshed server-side through the sub refresh proxy (server-api.md §4.8): the
  // client got no ttl and may not send sub_refresh.
  bool server_refresh : 1 = false;
  bool refresh_inflight : 1 = false;  // a sub refresh proxy call is out
  bool server_side : 1 = false;
  bool active : 1 = false;        // subscribe reply sent; pushes flow
  bool emit_presence : 1 = false;
  bool emit_join_leave : 1 = false;
  bool push_join_leave : 1 = false;
  bool positioned : 1 = false;
  bool recoverable : 1 = false;
  bool delta : 1 = false;        // fossil delta negotiated (client-protocol.md §9)
  bool delta_ready : 1 = false;  // the client holds a base: patches may be sent

 private:
  std::unique_ptr<std::string> chan_info_;  // null = empty
  std::unique_ptr<std::vector<std::shared_ptr<const hub::Fanout>>> buffer_;  // null = empty
};

// What the HTTP request that opened the connection told us.
struct ConnectionRequest {
  std::string user_id_header;  // value of client_user_id_http_header, if configured
  // Headers named in proxy_http_headers (names lower-cased), forwarded to every proxy call
  // of the connection (server-api.md §4.2).
  proxy::Headers headers;
  // Gyre's admin live tail (docs/operations.md): set only by the admin listener for a
  // WebSocket it authorised with the admin token. The connection needs no token, is
  // anonymous, and is subscribed server-side to this one channel (namespace permissions and
  // the connect proxy do not apply: the admin may read any channel through /admin/api too).
  std::string admin_channel;

  // Nothing to keep: the client then allocates no cold part for it. Every field above counts.
  bool empty() const {
    return user_id_header.empty() && headers.empty() && admin_channel.empty();
  }
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(Node& node, Transport* transport, ConnectionRequest request);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Registers the session on its shard and starts the stale timer.
  void open();
  // One inbound transport frame (several commands). Bad frames close with 3501.
  void handle_frame(std::string_view frame);
  // Unidirectional transports: the ConnectRequest the client opened with (client-protocol.md
  // §8.3). The result goes out as a connect push; a failure as a disconnect.
  void connect_unidirectional(protocol::ConnectRequest req);
  // The transport is gone (peer closed, I/O error, or after close()). Cleans up once.
  void transport_closed();
  // Server-initiated disconnect.
  void disconnect(const Disconnect& d);
  // Housekeeping from the shard tick.
  void tick(clock::TimePoint now);

  // --- server API operations (run on this client's shard)
  void api_subscribe(SubscribeParams params);
  void api_unsubscribe(const std::string& channel);
  void api_refresh(bool expired, int64_t expire_at, const std::string& info);

  void deliver(ClientSubscription& sub, const std::shared_ptr<const hub::Fanout>& f);
  // Prefetch hints of a broadcast (ClientSubscription::prefetch): this object's memory; then
  // the transport object's (stage 0) and its output queue's (stage 1).
  void prefetch_object() const;
  void prefetch_transport(unsigned stage) const;

  TimerWheelHandle& wheel_handle() { return wheel_handle_; }
  // Position in its shard's client registry (NodeShard::clients); -1 when not registered.
  int32_t& registry_index() { return registry_index_; }

  // The client id, a UUID (kIdSize characters), held inline: as a std::string it was a heap
  // block per connection.
  static constexpr size_t kIdSize = 36;
  std::string_view id() const { return {id_.data(), id_.size()}; }
  const std::string& user() const { return user_; }
  const std::string& session() const { return cold_view().session; }
  bool authenticated() const { return authenticated_; }
  bool closed() const { return closed_; }

 private:
  struct PendingFrame;
  void process_commands();
  void dispatch(protocol::Command& cmd);
  void finish_command();  // an async command completed: continue with the queue
  // Verifies a connection (ConnectClaims) or subscription (SubscribeClaims) token of `cmd`.
  // nullopt: its JWKS key is being fetched and `cmd` will be dispatched again afterwards.
  template <class Claims>
  std::optional<std::expected<Claims, auth::TokenError>> verify_token(protocol::Command& cmd,
                                                                      const std::string& token);
  // JWKS: the token's key must be fetched first; replays `cmd` when the fetch is done.
  void park_for_jwks(protocol::Command& cmd, std::shared_ptr<const auth::Verifier> verifier,
                     auth::JwksFetch fetch);
  void reply_error(uint32_t id, const Error& e);
  void fail(uint32_t id, const Failure& f);
  // Queues a message of centrifuge frame type `frame_type` ("push_unsubscribe", ...),
  // counted in centrifugo_transport_messages_sent{,_size}.
  void send(std::string msg, std::string_view frame_type);
  // Queues the reply to command `id`: its frame type is the command's method, and the
  // command's duration is observed.
  void reply(uint32_t id, std::string msg);

  // --- metrics: commands waiting for their reply (centrifuge's per-command accounting)
  struct CommandStart {
    uint32_t id = 0;
    protocol::Method method = protocol::Method::kNone;
    clock::TimePoint started{};
  };
  // A command read: counted in transport_messages_received; remembered until its reply.
  void command_started(const protocol::Command& cmd, size_t size);
  // The command `id` is answered now: observes its duration in
  // centrifugo_client_command_duration_seconds and returns its method (kNone if unknown).
  protocol::Method command_replied(uint32_t id);
  void count(metrics::FamilyId family, std::initializer_list<std::string_view> labels,
             uint64_t by = 1);
  // A fan-out push queued in `form`: counted in transport_messages_sent (bytes only for the
  // JSON forms, whose size is known here; Protobuf frames are built by the transport).
  void count_push(const hub::Fanout& f, hub::Fanout::Form form);

  void handle_connect(protocol::Command& cmd);
  // The connect after credentials are known: `claims` from a token or the connect proxy (null
  // when there are none), `reply_data` for the connect reply (connect proxy `data`).
  void continue_connect(uint32_t id, const protocol::ConnectRequest& req,
                        const auth::ConnectClaims* claims, bool proxied, std::string reply_data);
  // Connect proxy (server-api.md §4.4) for a tokenless connect; later commands wait behind it.
  void connect_via_proxy(protocol::Command& cmd, const proxy::ProxyConfig& p);
  void handle_rpc(protocol::Command& cmd);
  // Refresh proxy (server-api.md §4.5): the connection reached its expiry.
  void refresh_via_proxy();
  // Sub refresh proxy (server-api.md §4.8): subscription `channel` passed its expiry and
  // client_expired_sub_close_delay.
  void sub_refresh_via_proxy(const std::string& channel);
  // Subscribe after the permission checks passed: creates the subscription and replies.
  void subscribe_authorized(uint32_t id, SubscribeParams params);
  // Subscribe proxy (server-api.md §4.6) for a tokenless subscribe in a proxied namespace.
  void subscribe_via_proxy(protocol::Command& cmd, const proxy::ProxyConfig& p);
  // Publishes `data` to `channel` as this client and replies (history unless skipped).
  void publish_now(uint32_t id, const std::string& channel, std::string data, bool data_is_json,
                   bool skip_history);
  // Publish proxy (server-api.md §4.7): the backend may replace the data or skip history.
  void publish_via_proxy(protocol::Command& cmd, const proxy::ProxyConfig& p);
  // Who calls, for proxy request bodies.
  proxy::Caller proxy_caller() const;
  // POSTs `body` to proxy `p` with the connection's forwarded headers; `done` runs on this
  // shard unless the session closed meanwhile (then the answer is dropped).
  // `type` ("connect", "refresh", "subscribe", "publish", "rpc") labels the proxy metrics.
  void post_to_proxy(const proxy::ProxyConfig& p, std::string_view type, std::string body,
                     std::function<void(proxy::HttpResponse)> done);
  void handle_subscribe(protocol::Command& cmd);
  void handle_unsubscribe(protocol::Command& cmd);
  void handle_publish(protocol::Command& cmd);
  void handle_presence(protocol::Command& cmd, bool stats);
  void handle_history(protocol::Command& cmd);
  void handle_refresh(protocol::Command& cmd);
  void handle_sub_refresh(protocol::Command& cmd);

  // A failed connect: an Error replies and makes the connection unusable, a Disconnect
  // closes it; unidirectional transports convert both (fail_unidirectional_connect).
  void fail_connect(uint32_t id, const Failure& f);
  void fail_unidirectional_connect(const Failure& f);
  void complete_connect(uint32_t id, protocol::ConnectResult result,
                        std::vector<SubscribeParams> subs);
  // user_personal_single_connection: disconnects the user's other connections (3504).
  void enforce_single_connection();

  // Creates the subscription, registers it (buffering), runs presence + position/recovery
  // on the engine, then calls `done`. The caller sends the reply and then calls
  // activate_subscription (or drop_subscription on failure).
  using SubscribeOutcome = std::expected<protocol::SubscribeResult, Failure>;
  void start_subscription(SubscribeParams p, std::function<void(SubscribeOutcome)> done);
  void activate_subscription(const std::string& channel);
  // Removes a subscription: hub, presence, leave. `push` sends an unsubscribe push.
  void remove_subscription(const std::string& channel, std::optional<protocol::Unsubscribe> push);
  void insufficient_state(ClientSubscription& sub);

  // Resolves a channel for a client command: replies 102 (unknown namespace) or 107 (invalid
  // name) and returns false when it cannot be used.
  // `unknown_line`: Centrifugo's info line when the channel has no namespace ("publish to
  // unknown channel", ...).
  bool resolve_channel(uint32_t id, const std::string& ch, channel::Resolved& out,
                       std::string_view unknown_line);
  // Centrifugo's info line for a refused command on `channel` (fields channel, client, user).
  void log_refusal(std::string_view message, std::string_view channel) const;
  // centrifuge's info line before a 3501 bad-request disconnect (fields client, user).
  void log_bad_request(std::string_view message) const;
  bool is_subscribed(const std::string& channel) const;
  void close_with(const Disconnect& d);
  void cleanup();
  // The shard's clock: every "now" of the session comes from it.
  const SessionClock& clock() const;
  // Whole seconds from now until `expire_at` (Unix seconds), 0 when past.
  uint32_t ttl_until(int64_t expire_at) const;
  // Puts the client on the shard's timer wheel at its earliest deadline.
  void reschedule();
  void run_timers(clock::TimePoint now);
  // client_channel_position_check_delay: compares positioned subscriptions with the stream
  // top (reference.md §7.2) and ends those that fell behind (2500 / 3010).
  void check_positions(clock::TimePoint now);
  void update_position_check_deadline();

  // Connection state that is empty on most connections, allocated when a member gets a value
  // (bytes per idle connection are tracked: docs/performance.md "Idle connections").
  struct Cold {
    ConnectionRequest request;
    std::string session;  // emulation and unidirectional transports only
    std::string info;
    std::string meta;  // connection meta (raw JSON) from the token or the connect proxy
    std::vector<std::string> token_channels;  // server-side channels from the token
  };
  // The cold part for writing (allocated on first use).
  Cold& cold();
  // The cold part for reading: an empty one when none is allocated.
  const Cold& cold_view() const;
  void set_info(std::string info);
  void set_meta(std::string meta);

  Node& node_;
  Transport* transport_;
  const protocol::Codec& codec_;
  TransportInfo transport_info_;
  std::shared_ptr<const config::Config> cfg_;
  std::unique_ptr<Cold> cold_;

  std::string id_string() const { return std::string(id()); }

  std::array<char, kIdSize> id_;
  std::string user_;
  // Flags as bit-fields: with them the client fits a 336-byte heap block with its
  // make_shared control block (docs/performance.md "Idle connections").
  bool authenticated_ : 1 = false;
  bool unusable_ : 1 = false;
  bool closed_ : 1 = false;
  bool cleaned_ : 1 = false;
  bool user_acquired_ : 1 = false;
  bool connect_inflight_ : 1 = false;
  bool refresh_inflight_ : 1 = false;  // a refresh proxy call is out
  bool in_dispatch_ : 1 = false;
  bool jwks_replay_ : 1 = false;  // verifying again after a JWKS fetch: a missing key is invalid
  bool awaiting_pong_ : 1 = false;
  uint8_t transport_slot_ = 0;  // node::transport_slot(transport_info_.name); in the padding
  int32_t registry_index_ = -1;
  int64_t expire_at_ = 0;  // Unix seconds, 0 = never

  // Keyed by a view of the subscription's own channel string (one copy of the name); the
  // first subscription is held inline (subscription_table.h).
  SubscriptionTable<ClientSubscription> subs_;
  uint32_t expiring_subs_ = 0;
  uint32_t inflight_ = 0;  // async commands not finished yet

  // Commands read but not yet dispatched: [head, size) of `items`. Null when drained, so an
  // idle connection holds no command storage (8 bytes).
  struct CommandQueue {
    std::vector<protocol::Command> items;
    size_t head = 0;
  };
  std::unique_ptr<CommandQueue> queue_;
  void clear_queue() { queue_.reset(); }
  size_t concurrency_limit() const;

  clock::TimePoint opened_at_;
  clock::TimePoint next_ping_at_{};
  clock::TimePoint pong_deadline_{};
  clock::TimePoint next_position_check_{};
  clock::TimePoint next_presence_update_{};  // {} = no positioned subscription
  TimerWheelHandle wheel_handle_;
  // Commands waiting for their reply: the first inline (id 0 = none; one at a time by
  // default), more (allocated only then) with batched frames or client_concurrency > 1.
  // Cleared when the connection closes. 24 bytes per connection in all.
  CommandStart started_;
  std::unique_ptr<std::vector<CommandStart>> more_started_;
};

}  // namespace gyre::node
