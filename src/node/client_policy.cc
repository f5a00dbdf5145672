#include "node/client_policy.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "core/log.h"
#include "proxy/http_proxy.h"

namespace gyre::node {

Disconnect unidirectional_connect_disconnect(const config::Config& cfg, const Error& e) {
  const auto& t = cfg.client_connect_code_to_unidirectional_disconnect;
  if (t.enabled) {
    for (const auto& tr : t.transforms) {
      if (tr.code == e.code) {
        return Disconnect{tr.to_code, tr.to_reason};
      }
    }
  }
  switch (e.code) {
    case 109:  // token expired
    case 110:  // expired
      return disconnects::expired();
    case 111:
      return disconnects::too_many_requests();
    case 103:
      return disconnects::permission_denied();
    default:
      return disconnects::server_error();
  }
}

namespace policy {

namespace {

bool fossil_allowed(const config::ChannelOptions& o) {
  return std::find(o.allowed_delta_types.begin(), o.allowed_delta_types.end(), "fossil") !=
         o.allowed_delta_types.end();
}

bool proxied_subscribe(const config::ChannelOptions& o) {
  return o.proxy_subscribe || !o.subscribe_proxy_name.empty() || o.proxy_subscribe_stream;
}

// A subscription token must name this channel, this user and (when it names one) this client.
// Centrifugo's lines for a mismatch (fields in zerolog's sorted order); `prefix` is "" for a
// subscribe, "sub refresh " for a sub refresh (the client line has no prefix in either).
bool token_binds(const auth::SubscribeClaims& claims, std::string_view channel, Subject who,
                 std::string_view prefix) {
  if (claims.channel != channel) {
    logging::info(std::string(prefix) + "token channel mismatch", {{"channel", channel},
                                                                  {"client", who.client},
                                                                  {"tokenChannel", claims.channel},
                                                                  {"user", who.user}});
    return false;
  }
  if (claims.user != who.user) {
    logging::info(std::string(prefix) + "token user mismatch", {{"channel", channel},
                                                               {"client", who.client},
                                                               {"tokenUser", claims.user},
                                                               {"user", who.user}});
    return false;
  }
  if (!claims.client.empty() && claims.client != who.client) {
    logging::info("token client mismatch",
                  {{"channel", channel}, {"client", who.client}, {"user", who.user}});
    return false;
  }
  return true;
}

}  // namespace

Failure from_token_error(auth::TokenError e, bool subscription) {
  switch (e) {
    case auth::TokenError::kExpired:
      return errors::token_expired();
    case auth::TokenError::kUnknownChannel:
      return errors::unknown_channel();
    case auth::TokenError::kInternal:
      return errors::internal();
    case auth::TokenError::kInvalid:
    default:
      if (subscription) {
        return errors::permission_denied();
      }
      return disconnects::invalid_token();
  }
}

void apply_options(const config::ChannelOptions& o, const auth::SubscribeOptionOverride* ov,
                   SubscribeParams& p) {
  p.emit_presence = o.presence;
  p.emit_join_leave = o.join_leave;
  p.push_join_leave = o.force_push_join_leave;
  p.positioned = o.force_positioning;
  p.recoverable = o.force_recovery;
  if (ov != nullptr) {
    p.emit_presence = ov->presence.value_or(p.emit_presence);
    p.emit_join_leave = ov->join_leave.value_or(p.emit_join_leave);
    p.push_join_leave = ov->force_push_join_leave.value_or(p.push_join_leave);
    p.positioned = ov->force_positioning.value_or(p.positioned);
    p.recoverable = ov->force_recovery.value_or(p.recoverable);
  }
  p.cache_recovery = o.force_recovery_mode == "cache";
}

std::expected<ConnectPlan, ConnectRefusal> plan_connect(const config::Config& cfg,
                                                        const protocol::ConnectRequest& req,
                                                        const auth::ConnectClaims* claims,
                                                        std::string_view user_id_header,
                                                        bool proxied,
                                                        std::string_view admin_channel) {
  auto refuse = [](Failure f) { return std::unexpected(ConnectRefusal{std::move(f), false}); };
  ConnectPlan plan;
  bool credentials = false;
  bool may_request_subs = false;
  std::set<std::string, std::less<>> sub_names;

  auto add_server_sub = [&](const std::string& ch, const config::ChannelOptions& o,
                            const auth::SubscribeOptions* so) {
    if (!sub_names.insert(ch).second) {
      return;
    }
    SubscribeParams p;
    p.channel = ch;
    p.server_side = true;
    apply_options(o, so != nullptr ? &so->override : nullptr, p);
    if (so != nullptr) {
      p.chan_info = so->info;
      p.data = so->data;
    }
    p.meta_ttl = cfg.meta_ttl(o);
    plan.subs.push_back(std::move(p));
  };

  if (claims != nullptr) {
    if (!proxied && claims->user.empty() && cfg.disallow_anonymous_connection_tokens) {
      return refuse(disconnects::permission_denied());
    }
    plan.user = claims->user;
    plan.info = claims->info;
    plan.expire_at = cfg.client_insecure ? 0 : claims->expires_at();
    for (const auto& [ch, so] : claims->subs) {
      channel::Resolved r;
      if (!channel::resolve(cfg, ch, r)) {
        return refuse(errors::unknown_channel());
      }
      add_server_sub(ch, *r.options, &so);
      plan.token_channels.push_back(ch);
    }
    credentials = true;
    may_request_subs = true;
  } else if (!admin_channel.empty()) {
    // The admin live tail (ConnectionRequest::admin_channel): anonymous, one server-side
    // subscription, nothing requested by the client.
    std::string ch(admin_channel);
    channel::Resolved r;
    if (!channel::resolve(cfg, ch, r)) {
      return refuse(errors::unknown_channel());
    }
    add_server_sub(ch, *r.options, nullptr);
    credentials = true;
  } else if (cfg.allow_anonymous_connect_without_token || cfg.client_insecure) {
    credentials = true;
    may_request_subs = true;
  } else if (!cfg.client_user_id_http_header.empty() && !user_id_header.empty()) {
    plan.user = std::string(user_id_header);
    credentials = true;
  }
  if (!credentials) {
    return refuse(disconnects::bad_request());
  }
  const std::string& user = plan.user;

  if (cfg.user_subscribe_to_personal && !user.empty()) {
    std::string ch = channel::personal_channel(cfg, user);
    channel::Resolved r;
    if (!channel::resolve(cfg, ch, r)) {
      return refuse(errors::unknown_channel());
    }
    add_server_sub(ch, *r.options, nullptr);
  }

  // Channels the client asks for in connect `subs` (server-api.md §5.3): only those it could
  // subscribe to by itself; others are dropped silently.
  if (may_request_subs) {
    for (const auto& [ch, sreq] : req.subs) {
      if (sub_names.count(ch) != 0) {
        continue;
      }
      channel::Resolved r;
      if (!channel::resolve(cfg, ch, r)) {
        return refuse(disconnects::bad_request());
      }
      const auto& o = *r.options;
      if (r.is_private || proxied_subscribe(o) || !channel::valid_name(cfg, ch, r)) {
        continue;
      }
      bool user_limited = o.allow_user_limited_channels && channel::is_user_limited(cfg, ch);
      bool allowed = false;
      if (user_limited) {
        allowed = !user.empty() && channel::user_allowed(cfg, ch, user);
      } else {
        allowed = o.allow_subscribe_for_client &&
                  (!user.empty() || o.allow_subscribe_for_anonymous);
      }
      if (allowed) {
        add_server_sub(ch, o, nullptr);
      }
    }
  }

  // Recovery positions for server-side subscriptions (client-protocol.md §5.5), looked up
  // once per channel: connects with many server-side subscriptions stay linear.
  std::unordered_map<std::string_view, std::vector<const protocol::SubscribeRequest*>> asked;
  for (const auto& [ch, sreq] : req.subs) {
    asked[ch].push_back(&sreq);
  }
  for (auto& p : plan.subs) {
    auto it = asked.find(p.channel);
    if (it == asked.end()) {
      continue;
    }
    for (const protocol::SubscribeRequest* sreq : it->second) {
      p.recover = sreq->recover;
      p.offset = sreq->offset;
      p.epoch = sreq->epoch;
      // Delta for a server-side subscription (client-protocol.md §9.1): same rules as a
      // client subscribe — unknown type 3501, not allowed or not positioned: plain.
      if (!sreq->delta.empty()) {
        if (sreq->delta != "fossil") {
          return std::unexpected(ConnectRefusal{disconnects::bad_request(), true});
        }
        channel::Resolved r;
        if (channel::resolve(cfg, p.channel, r) && (p.positioned || p.recoverable) &&
            fossil_allowed(*r.options)) {
          p.delta = true;
        }
      }
    }
  }

  if (static_cast<int64_t>(plan.subs.size()) > cfg.client_channel_limit) {
    return refuse(disconnects::channel_limit());
  }
  return plan;
}

std::expected<channel::Resolved, Failure> check_subscribe(const config::Config& cfg,
                                                          const protocol::SubscribeRequest& r,
                                                          size_t num_subs, bool already,
                                                          Subject who) {
  // Each refusal has centrifuge's (or Centrifugo's) info line, fields in zerolog's sorted order.
  const std::string_view ch = r.channel;
  auto refused = [&](std::string_view message, Failure f) {
    logging::info(message, {{"channel", ch}, {"client", who.client}, {"user", who.user}});
    return std::unexpected(std::move(f));
  };
  if (r.channel.empty()) {
    logging::info("channel required for subscribe", {{"client", who.client}, {"user", who.user}});
    return std::unexpected(disconnects::bad_request());
  }
  if (r.type != 0) {
    // Map and shared-poll subscriptions (Centrifugo v6) are not available.
    return std::unexpected(errors::not_available());
  }
  if (!r.delta.empty() && r.delta != "fossil") {
    if (logging::enabled(logging::Level::info)) {
      logging::info("unknown delta type in subscribe request: " + r.delta,
                    {{"client", who.client}, {"user", who.user}});
    }
    return std::unexpected(disconnects::bad_request());
  }
  if (static_cast<int64_t>(r.channel.size()) > cfg.channel_max_length) {
    logging::info("channel too long", {{"channel", ch},
                                       {"client", who.client},
                                       {"max", cfg.channel_max_length},
                                       {"user", who.user}});
    return std::unexpected(errors::bad_request());
  }
  if (already) {
    return refused("client already subscribed on channel", errors::already_subscribed());
  }
  if (static_cast<int64_t>(num_subs) >= cfg.client_channel_limit) {
    logging::info(
        "maximum limit of channels per client reached",
        {{"client", who.client}, {"limit", cfg.client_channel_limit}, {"user", who.user}});
    return std::unexpected(errors::limit_exceeded());
  }
  channel::Resolved res;
  if (!channel::resolve(cfg, r.channel, res)) {
    return refused("subscribe unknown channel", errors::unknown_channel());
  }
  if (!channel::valid_name(cfg, r.channel, res)) {
    return refused("invalid channel name", errors::bad_request());
  }
  // Permission order of server-api.md §5.4 starts here: a private channel needs a token.
  if (res.is_private && r.token.empty()) {
    logging::warn("attempt to subscribe on private channel without token",
                  {{"channel", ch}, {"client", who.client}, {"user", who.user}});
    return std::unexpected(errors::permission_denied());
  }
  return res;
}

bool subscribe_proxy_decides(const config::Config& cfg, const protocol::SubscribeRequest& r,
                             const channel::Resolved& res) {
  const auto& o = *res.options;
  if (!r.token.empty() || !proxy::subscribe_proxy(cfg, o)) {
    return false;
  }
  return !(o.allow_user_limited_channels && channel::is_user_limited(cfg, r.channel));
}

std::expected<SubscribeParams, Failure> authorize_subscribe(
    const config::Config& cfg, const protocol::SubscribeRequest& r, const channel::Resolved& res,
    Subject who, const auth::SubscribeClaims* claims, int64_t now_unix, const ProxyGrant* grant) {
  const auto& o = *res.options;
  bool user_limited = o.allow_user_limited_channels && channel::is_user_limited(cfg, r.channel);
  if (claims != nullptr) {
    if (!token_binds(*claims, r.channel, who, "")) {
      return std::unexpected(disconnects::invalid_token());
    }
  } else if (user_limited && channel::user_allowed(cfg, r.channel, who.user)) {
    // allowed by the user list
  } else if (!user_limited && proxied_subscribe(o)) {
    if (grant == nullptr) {
      // A subscribe proxy decides for this namespace, and none is configured on this node.
      logging::info(o.proxy_subscribe_stream ? "stream proxy not enabled"
                                             : "subscribe proxy not enabled",
                    {{"channel", r.channel}, {"client", who.client}, {"user", who.user}});
      return std::unexpected(errors::not_available());
    }
    // allowed by the subscribe proxy
  } else if (!user_limited && o.allow_subscribe_for_client &&
             (!who.user.empty() || o.allow_subscribe_for_anonymous)) {
    // allowed for clients
  } else if (cfg.client_insecure) {
    // insecure mode allows everything not denied above
  } else {
    logging::info("attempt to subscribe without sufficient permission",
                  {{"channel", r.channel}, {"client", who.client}, {"user", who.user}});
    return std::unexpected(errors::permission_denied());
  }

  SubscribeParams p;
  p.channel = r.channel;
  apply_options(o, claims != nullptr  ? &claims->override
                   : grant != nullptr ? &grant->override
                                      : nullptr,
                p);
  // The client's optional flags (server-api.md §5.4, end).
  if (r.positioned && (o.allow_positioning || history_allowed(cfg, o, who.user, true))) {
    p.positioned = true;
  }
  if (r.recoverable && (o.allow_recovery || history_allowed(cfg, o, who.user, true))) {
    p.recoverable = true;
  }
  if (r.join_leave && o.join_leave && presence_allowed(cfg, o, who.user, true)) {
    p.push_join_leave = true;
  }
  // Delta: "fossil" allowed by the namespace, on a positioned subscription (the patch base is
  // the stream's previous publication, which positioning guarantees the client has seen).
  // Known but not allowed: silently not negotiated (client-protocol.md §9.1).
  if (r.delta == "fossil" && (p.positioned || p.recoverable) && fossil_allowed(o)) {
    p.delta = true;
  }
  if (claims != nullptr) {
    p.chan_info = claims->info;
    p.data = claims->data;
    p.expire_at = claims->expires_at();
    if (p.expire_at > 0 && p.expire_at <= now_unix) {
      return std::unexpected(errors::expired());
    }
  }
  if (grant != nullptr) {
    p.chan_info = grant->info;
    p.data = grant->data;
    p.expire_at = grant->expire_at > 0 ? grant->expire_at : 0;
  }
  // Centrifugo: ClientSideRefresh is off in a namespace with a sub refresh proxy, whatever
  // granted the subscription (server-api.md §4.8).
  p.server_refresh = proxy::server_side_sub_refresh(o);
  p.recover = r.recover;
  p.offset = r.offset;
  p.epoch = r.epoch;
  p.reject_unrecovered = (r.flag & 2) != 0;
  p.meta_ttl = cfg.meta_ttl(o);
  return p;
}

bool history_allowed(const config::Config& cfg, const config::ChannelOptions& o,
                     std::string_view user, bool subscribed) {
  bool anon_ok = !user.empty() || o.allow_history_for_anonymous;
  return (o.allow_history_for_client && anon_ok) ||
         (o.allow_history_for_subscriber && subscribed && anon_ok) || cfg.client_insecure;
}

bool presence_allowed(const config::Config& cfg, const config::ChannelOptions& o,
                      std::string_view user, bool subscribed) {
  bool anon_ok = !user.empty() || o.allow_presence_for_anonymous;
  return (o.allow_presence_for_client && anon_ok) ||
         (o.allow_presence_for_subscriber && subscribed && anon_ok) || cfg.client_insecure;
}

std::optional<Error> check_publish(const config::Config& cfg, const config::ChannelOptions& o,
                                   std::string_view user, bool subscribed) {
  if (o.proxy_publish || !o.publish_proxy_name.empty() || o.proxy_subscribe_stream) {
    // The publish proxy decides (the caller asks it when configured), else 108.
    return errors::not_available();
  }
  bool anon_ok = !user.empty() || o.allow_publish_for_anonymous;
  bool allowed = (o.allow_publish_for_client && anon_ok) ||
                 (o.allow_publish_for_subscriber && subscribed && anon_ok) || cfg.client_insecure;
  if (!allowed) {
    return errors::permission_denied();
  }
  return std::nullopt;
}

std::expected<RefreshGrant, Failure> check_refresh(
    const config::Config& cfg, const std::expected<auth::ConnectClaims, auth::TokenError>& claims,
    std::string_view user, const std::vector<std::string>& token_channels, int64_t now_unix) {
  if (!claims) {
    switch (claims.error()) {
      case auth::TokenError::kExpired:
        return std::unexpected(disconnects::expired());
      case auth::TokenError::kInvalid:
        return std::unexpected(disconnects::invalid_token());
      case auth::TokenError::kUnknownChannel:
        return std::unexpected(errors::unknown_channel());
      default:
        return std::unexpected(errors::internal());
    }
  }
  if (claims->user != user) {
    return std::unexpected(disconnects::invalid_token());
  }
  // A change of the token's server-side channels is resolved by a reconnect (3010).
  std::set<std::string_view> now_set(token_channels.begin(), token_channels.end());
  std::set<std::string_view> new_set;
  for (const auto& [ch, so] : claims->subs) {
    new_set.insert(ch);
  }
  if (now_set != new_set) {
    return std::unexpected(disconnects::insufficient_state());
  }
  RefreshGrant g;
  g.expire_at = cfg.client_insecure ? 0 : claims->expires_at();
  if (g.expire_at > 0 && g.expire_at <= now_unix) {
    return std::unexpected(errors::expired());
  }
  g.info = claims->info;
  return g;
}

std::expected<RefreshGrant, Failure> check_sub_refresh(
    const std::expected<auth::SubscribeClaims, auth::TokenError>& claims, std::string_view channel,
    Subject who, int64_t now_unix) {
  // Centrifugo's lines for a refused sub refresh token (fields in zerolog's sorted order; its
  // `error` is the JWT library's whole message, Gyre's verifier does not keep one).
  if (!claims) {
    if (claims.error() == auth::TokenError::kExpired) {
      // Stricter than the reference quirk (docs/compatibility.md): the SDK gets a new token.
      return std::unexpected(errors::token_expired());
    }
    if (claims.error() == auth::TokenError::kInternal) {
      logging::error("error verifying subscription refresh token",
                     {{"client", who.client}, {"error", "internal error"}, {"user", who.user}});
      return std::unexpected(errors::internal());
    }
    logging::info("invalid subscription refresh token",
                  {{"client", who.client}, {"error", "invalid token"}, {"user", who.user}});
    return std::unexpected(disconnects::invalid_token());
  }
  if (claims->channel.empty()) {
    logging::info("sub refresh empty channel",
                  {{"client", who.client}, {"tokenChannel", claims->channel}, {"user", who.user}});
    return std::unexpected(disconnects::invalid_token());
  }
  if (!token_binds(*claims, channel, who, "sub refresh ")) {
    return std::unexpected(disconnects::invalid_token());
  }
  RefreshGrant g;
  g.expire_at = claims->expires_at();
  if (g.expire_at > 0 && g.expire_at <= now_unix) {
    return std::unexpected(errors::expired());
  }
  g.info = claims->info;
  return g;
}

}  // namespace policy
}  // namespace gyre::node
