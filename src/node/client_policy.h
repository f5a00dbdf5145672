#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/jwt.h"
#include "channel/channel.h"
#include "config/config.h"
#include "core/errors.h"
#include "protocol/types.h"

// Centrifugo's policy layer for client sessions (server-api.md §3, §5): who may connect, which
// server-side subscriptions a connection gets, who may subscribe, publish, read presence and
// history, and what a refresh may change. Pure functions of the configuration, the request,
// the verified token claims and the time: no session, node or engine state, so they hold
// nothing and may run on any thread. Their one side effect is the refusal's log line (as
// Centrifugo's handler writes it, with the Subject's client and user). Session mechanics
// (queues, replies, timers, token verification with its JWKS fetches) stay in Client, as
// centrifuge's client.go stays apart from Centrifugo's handler.
namespace gyre::node {

// How a command fails: an Error is a reply, a Disconnect ends the connection.
using Failure = std::variant<Error, Disconnect>;

// Options of a subscription being created (client subscribe, token subs, API subscribe).
struct SubscribeParams {
  std::string channel;
  bool server_side = false;
  bool emit_presence = false;
  bool emit_join_leave = false;
  bool push_join_leave = false;
  bool positioned = false;
  bool recoverable = false;
  bool cache_recovery = false;  // force_recovery_mode: cache
  bool delta = false;           // fossil delta negotiated
  int64_t expire_at = 0;
  bool server_refresh = false;  // the namespace refreshes expiry via the sub refresh proxy
  std::string chan_info;
  std::string data;  // reply/push data
  // Recovery input.
  bool recover = false;
  uint64_t offset = 0;
  std::string epoch;
  bool reject_unrecovered = false;
  config::Duration meta_ttl{0};
};

// The disconnect a failed unidirectional connect is conveyed with (reference.md §1.9):
// client_connect_code_to_unidirectional_disconnect transforms first (when enabled), then
// errors 109/110 -> 3005, 111 -> 3013, 103 -> 3507, anything else -> 3004.
Disconnect unidirectional_connect_disconnect(const config::Config& cfg, const Error& e);

namespace policy {

// Who is asking: the connection's user ("" = anonymous) and client id.
struct Subject {
  std::string_view user;
  std::string_view client;
};

// A token verification failure as a connect (subscription = false) or subscribe failure:
// expired 109, unknown channel 102, internal 100; an invalid token is a 3500 disconnect on
// connect and a 103 error on subscribe (server-api.md §3.5).
Failure from_token_error(auth::TokenError e, bool subscription);

// Namespace options with a token's per-subscription override applied (server-api.md §3.3).
void apply_options(const config::ChannelOptions& o, const auth::SubscribeOptionOverride* ov,
                   SubscribeParams& p);

// --- connect (server-api.md §3.1, §5.3)

struct ConnectPlan {
  std::string user;
  std::string info;
  int64_t expire_at = 0;  // Unix seconds, 0 = never
  // Server-side subscriptions in order: token subs/channels, the personal channel, then the
  // connect request's `subs` the client could subscribe to by itself. Recovery positions and
  // delta come from the request.
  std::vector<SubscribeParams> subs;
  std::vector<std::string> token_channels;  // the token's server-side channels (refresh)
};

struct ConnectRefusal {
  Failure failure;
  // An unknown delta type in the request's subs: the connection just closes with 3501 (also
  // on unidirectional transports, without their connect-failure conversion).
  bool close_only = false;
};

// The credentials and server-side subscriptions of a connect. `claims`: the verified token,
// null when the request has none. `user_id_header`: value of client_user_id_http_header.
// `proxied`: the claims come from the connect proxy, where an empty user is accepted
// whatever disallow_anonymous_connection_tokens says (that option is about tokens).
// `admin_channel`: the admin live tail's channel (ConnectionRequest::admin_channel); without
// a token such a connect is anonymous with that one server-side subscription.
// Checks the channel limit; the user connection limit and expiry are checked by the caller
// (they need node state and come after it, in Centrifugo's order).
std::expected<ConnectPlan, ConnectRefusal> plan_connect(const config::Config& cfg,
                                                        const protocol::ConnectRequest& req,
                                                        const auth::ConnectClaims* claims,
                                                        std::string_view user_id_header,
                                                        bool proxied = false,
                                                        std::string_view admin_channel = {});

// --- subscribe (server-api.md §5.4)

// The checks of a client subscribe that come before its token is verified: malformed request
// (3501), type (108), length (107), already subscribed (105), channel limit (106), namespace
// (102), name (107), private channel without token (103). Returns the resolved channel. Each
// refusal writes centrifuge's (or Centrifugo's) info line naming it, with `who`'s fields.
std::expected<channel::Resolved, Failure> check_subscribe(const config::Config& cfg,
                                                          const protocol::SubscribeRequest& r,
                                                          size_t num_subs, bool already,
                                                          Subject who);

// What a subscribe proxy granted (server-api.md §4.6): channel info, reply data, expiry and
// per-subscriber option overrides.
struct ProxyGrant {
  std::string info;
  std::string data;
  int64_t expire_at = 0;
  auth::SubscribeOptionOverride override;
};

// Whether the namespace's subscribe proxy decides a subscribe without a token: not for
// user-limited channels (server-api.md §4.6; private channels never get here without a token).
bool subscribe_proxy_decides(const config::Config& cfg, const protocol::SubscribeRequest& r,
                             const channel::Resolved& res);

// The rest of the permission order, with the request's token claims when it had a token
// (verified already), or what the subscribe proxy granted: the subscription's parameters,
// or the failure.
std::expected<SubscribeParams, Failure> authorize_subscribe(
    const config::Config& cfg, const protocol::SubscribeRequest& r, const channel::Resolved& res,
    Subject who, const auth::SubscribeClaims* claims, int64_t now_unix,
    const ProxyGrant* grant = nullptr);

// --- publish, presence, history (server-api.md §5.5)

bool history_allowed(const config::Config& cfg, const config::ChannelOptions& o,
                     std::string_view user, bool subscribed);
bool presence_allowed(const config::Config& cfg, const config::ChannelOptions& o,
                      std::string_view user, bool subscribed);
// nullopt: allowed; else 108 (a publish proxy decides) or 103.
std::optional<Error> check_publish(const config::Config& cfg, const config::ChannelOptions& o,
                                   std::string_view user, bool subscribed);

// --- refresh (client-protocol.md §4.10, §4.11)

// What a refresh grants: the new expiry (0 = never) and info ("" = keep the current one).
struct RefreshGrant {
  int64_t expire_at = 0;
  std::string info;
};

// Connection refresh: the token must be valid, of the same user and with the same server-side
// channels (else 3010: a reconnect resolves it), and not already expired (110).
std::expected<RefreshGrant, Failure> check_refresh(
    const config::Config& cfg, const std::expected<auth::ConnectClaims, auth::TokenError>& claims,
    std::string_view user, const std::vector<std::string>& token_channels, int64_t now_unix);

// Subscription refresh: the token must be valid and for this channel, user and client.
std::expected<RefreshGrant, Failure> check_sub_refresh(
    const std::expected<auth::SubscribeClaims, auth::TokenError>& claims, std::string_view channel,
    Subject who, int64_t now_unix);

}  // namespace policy
}  // namespace gyre::node
