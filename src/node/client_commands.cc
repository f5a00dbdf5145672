// Command handlers of a client session: each checks its request with the policy of
// client_policy.h, then runs the engine operation and replies.
#include "node/client.h"

#include "channel/channel.h"
#include "core/log.h"
#include "core/random.h"
#include "node/cluster.h"
#include "node/node.h"

namespace gyre::node {

using protocol::Command;
using protocol::Method;

// ------------------------------------------------------------------- connect

void Client::handle_connect(Command& cmd) {
  if (authenticated_) {
    close_with(disconnects::bad_request());
    return;
  }
  const config::Config& cfg = *cfg_;
  auto& req = cmd.connect;
  const uint32_t id = cmd.id;

  std::optional<auth::ConnectClaims> claims;
  if (!req.token.empty()) {
    auto verified = verify_token<auth::ConnectClaims>(cmd, req.token);
    if (!verified) {
      return;  // parked for a JWKS fetch
    }
    if (!*verified) {
      // Centrifugo's lines (its `error` is the JWT library's whole message).
      if (verified->error() == auth::TokenError::kInvalid) {
        logging::info("invalid connection token",
                      {{"client", this->id()}, {"error", "invalid token"}});
      } else if (verified->error() == auth::TokenError::kInternal) {
        logging::error("internal server error",
                       {{"client", this->id()}, {"error", "internal error"}});
      }
      fail_connect(id, policy::from_token_error(verified->error(), false));
      return;
    }
    claims = std::move(**verified);
  } else if (auto p = proxy::connect_proxy(cfg); p && cold_view().request.admin_channel.empty()) {
    // A token always wins; without one the connect proxy decides (server-api.md §4.4).
    connect_via_proxy(cmd, *p);
    return;
  }
  continue_connect(id, req, claims ? &*claims : nullptr, false, {});
}

void Client::continue_connect(uint32_t id, const protocol::ConnectRequest& req,
                              const auth::ConnectClaims* claims, bool proxied,
                              std::string reply_data) {
  const config::Config& cfg = *cfg_;
  auto planned = policy::plan_connect(cfg, req, claims, cold_view().request.user_id_header,
                                      proxied, cold_view().request.admin_channel);
  if (!planned) {
    if (planned.error().close_only) {
      close_with(std::get<Disconnect>(planned.error().failure));
    } else {
      fail_connect(id, planned.error().failure);
    }
    return;
  }
  policy::ConnectPlan& plan = *planned;
  if (cold_ || !plan.token_channels.empty()) {
    cold().token_channels = std::move(plan.token_channels);
  }
  const std::string& user = plan.user;
  // Connections are counted per user only under a limit (the anonymous user has none).
  const int64_t user_limit = user.empty() ? 0 : cfg.client_user_connection_limit;
  if (user_limit > 0) {
    if (!node_.acquire_user(user, user_limit)) {
      logging::info("limit of connections for user reached",
                    {{"client", this->id()}, {"limit", user_limit}, {"user", user}});
      fail_connect(id, disconnects::connection_limit());
      return;
    }
    user_acquired_ = true;
  }
  user_ = user;
  const int64_t expire_at = plan.expire_at;
  if (expire_at > 0 && expire_at < clock().unix_seconds()) {
    logging::info("connection expiration must be greater than now",
                  {{"client", this->id()}, {"user", user_}});
    fail_connect(id, errors::expired());
    return;
  }

  protocol::ConnectResult result;
  result.client = this->id();
  result.version = std::string(Node::kVersion);
  result.data = std::move(reply_data);
  // With a refresh proxy the expiry is handled server-side: the client is not told
  // (server-api.md §4.4).
  if (expire_at > 0 && proxy::refresh_proxy(cfg) == nullptr) {
    result.expires = true;
    result.ttl = ttl_until(expire_at);
  }
  if (transport_info_.app_level_ping && cfg.ping_interval.count() > 0) {
    result.ping = static_cast<uint32_t>(cfg.ping_interval.count() / 1000);
    result.pong = !transport_info_.unidirectional && cfg.pong_timeout.count() > 0;
  }
  if (!cold_view().session.empty()) {
    result.session = cold_view().session;
  }
  if (transport_info_.emulation) {
    result.node = node_.id();
  }
  if (cfg.client_connect_include_server_time) {
    result.time = clock().unix_ms();
  }

  set_info(std::move(plan.info));
  if (claims != nullptr) {
    set_meta(claims->meta);
  }
  expire_at_ = expire_at;
  authenticated_ = true;
  logging::debug("client authenticated", {{"client", this->id()}, {"user", user_}});
  node_.index_user(this);

  if (plan.subs.empty()) {
    complete_connect(id, std::move(result), {});
    return;
  }

  // Server-side subscriptions run concurrently; the reply waits for all of them. The plan
  // and the result are shared by the callbacks (one copy, not one per subscription).
  struct Pending {
    size_t left;
    std::vector<SubscribeParams> subs;
    protocol::ConnectResult result;
    std::vector<std::optional<protocol::SubscribeResult>> results;
    std::optional<Failure> failure;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = plan.subs.size();
  pending->subs = std::move(plan.subs);
  pending->result = std::move(result);
  pending->results.resize(pending->subs.size());
  ++inflight_;
  connect_inflight_ = true;
  auto self = shared_from_this();
  for (size_t i = 0; i < pending->subs.size(); ++i) {
    start_subscription(pending->subs[i], [self, this, pending, i, id](SubscribeOutcome r) {
      if (r) {
        pending->results[i] = std::move(*r);
      } else if (!pending->failure) {
        pending->failure = r.error();
      }
      if (--pending->left != 0) {
        return;
      }
      if (closed_) {
        return;
      }
      if (pending->failure) {
        for (const auto& p : pending->subs) {
          remove_subscription(p.channel, std::nullopt);
        }
        authenticated_ = false;
        node_.unindex_user(this);
        if (transport_info_.unidirectional) {
          fail_unidirectional_connect(*pending->failure);
          finish_command();
          return;
        }
        if (std::holds_alternative<Error>(*pending->failure)) {
          unusable_ = true;
          clear_queue();
        }
        fail(id, *pending->failure);
        connect_inflight_ = false;
        finish_command();
        return;
      }
      auto& subs = pending->subs;
      pending->result.subs.reserve(subs.size());
      for (size_t k = 0; k < subs.size(); ++k) {
        pending->result.subs.emplace_back(subs[k].channel, std::move(*pending->results[k]));
      }
      complete_connect(id, std::move(pending->result), std::move(subs));
      connect_inflight_ = false;
      finish_command();
    });
  }
}

void Client::fail_connect(uint32_t id, const Failure& f) {
  if (transport_info_.unidirectional) {
    fail_unidirectional_connect(f);
    return;
  }
  if (std::holds_alternative<Error>(f)) {
    // The connection is unusable after a connect error; the rest of the frame is dropped.
    unusable_ = true;
    clear_queue();
  }
  fail(id, f);
}

void Client::fail_unidirectional_connect(const Failure& f) {
  // No reply exists on unidirectional transports: an Error becomes a disconnect push.
  if (const auto* e = std::get_if<Error>(&f)) {
    if (transport_ != nullptr) {
      transport_->connect_failed(e->code, e->message);
    }
    close_with(unidirectional_connect_disconnect(*cfg_, *e));
    return;
  }
  const auto& d = std::get<Disconnect>(f);
  if (transport_ != nullptr) {
    transport_->connect_failed(d.code, d.reason);
  }
  close_with(d);
}

void Client::complete_connect(uint32_t id, protocol::ConnectResult result,
                              std::vector<SubscribeParams> subs) {
  std::string out;
  if (transport_info_.unidirectional) {
    codec_.encode_connect_push(out, result);
    command_replied(id);
    send(std::move(out), "push_connect");
  } else {
    codec_.encode_connect(out, id, result);
    reply(id, std::move(out));
  }
  for (const auto& p : subs) {
    activate_subscription(p.channel);
  }
  const auto& cfg = *cfg_;
  if (transport_info_.app_level_ping && cfg.ping_interval.count() > 0) {
    // First ping at a random time in [interval/2, interval) spreads reconnecting clients.
    auto interval = cfg.ping_interval.count();
    next_ping_at_ = clock().now() + std::chrono::milliseconds(
                                        random::thread_jitter().uniform(interval / 2, interval));
  }
  if (cfg.client_presence_update_interval.count() > 0) {
    next_presence_update_ = clock().now() + cfg.client_presence_update_interval;
  }
  reschedule();
  if (cfg.user_personal_single_connection && cfg.user_subscribe_to_personal && !user_.empty()) {
    enforce_single_connection();
  }
}

void Client::enforce_single_connection() {
  // reference.md §7.7: once this connection is in the personal channel's presence, two or
  // more clients there mean older connections of the user exist: they get 3504 (best effort,
  // once). Runs outside any lock, so concurrent connects cannot deadlock (centrifuge #515).
  std::string ch = channel::personal_channel(*cfg_, user_);
  node_.engine().presence_stats(
      ch, [self = shared_from_this(), this](OpResult<engine::PresenceStats> r) {
        if (closed_ || !r || r->num_clients < 2) {
          return;
        }
        node_.for_each_connection(user_, "", "",
                                  [keep = id_string()](Client& c) {
                                    if (c.id() != keep) {
                                      c.disconnect(disconnects::connection_limit());
                                    }
                                  },
                                  [] {});
        // The user's connections on other nodes: centrifuge's disconnect with a whitelist.
        if (Cluster* cluster = node_.cluster()) {
          control::Command cmd;
          auto& d = cmd.disconnect.emplace();
          d.user = user_;
          d.whitelist.push_back(id_string());
          d.code = disconnects::connection_limit().code;
          d.reason = disconnects::connection_limit().reason;
          cluster->broadcast(std::move(cmd), [](OpResult<bool>) {});
        }
      });
}

// ------------------------------------------------------------------- subscriptions
bool Client::resolve_channel(uint32_t id, const std::string& ch, channel::Resolved& out,
                             std::string_view unknown_line) {
  // Policy checks shared by publish, presence and history (server-api.md §5.5), with
  // Centrifugo's info lines.
  if (!channel::resolve(*cfg_, ch, out)) {
    log_refusal(unknown_line, ch);
    reply_error(id, errors::unknown_channel());
    return false;
  }
  if (!channel::valid_name(*cfg_, ch, out)) {
    log_refusal("invalid channel name", ch);
    reply_error(id, errors::bad_request());
    return false;
  }
  return true;
}

void Client::log_refusal(std::string_view message, std::string_view channel) const {
  logging::info(message, {{"channel", channel}, {"client", id()}, {"user", user_}});
}

void Client::log_bad_request(std::string_view message) const {
  logging::info(message, {{"client", id()}, {"user", user_}});
}

bool Client::is_subscribed(const std::string& channel) const {
  auto it = subs_.find(channel);
  return it != subs_.end() && it->second->active;
}

void Client::handle_subscribe(Command& cmd) {
  const auto& cfg = *cfg_;
  auto& r = cmd.subscribe;
  const uint32_t id = cmd.id;
  auto res = policy::check_subscribe(cfg, r, subs_.size(), subs_.count(r.channel) != 0,
                                     policy::Subject{user_, this->id()});
  if (!res) {
    fail(id, res.error());
    return;
  }
  std::optional<auth::SubscribeClaims> claims;
  if (!r.token.empty()) {
    auto verified = verify_token<auth::SubscribeClaims>(cmd, r.token);
    if (!verified) {
      return;  // parked for a JWKS fetch
    }
    if (!*verified) {
      // Centrifugo's lines (its `error` is the JWT library's whole message after "invalid
      // token: "; Gyre's verifier does not keep one).
      if (verified->error() == auth::TokenError::kInvalid) {
        logging::info("invalid subscription token",
                      {{"client", this->id()}, {"error", "invalid token"}, {"user", user_}});
      } else if (verified->error() == auth::TokenError::kInternal) {
        logging::error("error verifying subscription token",
                       {{"client", this->id()}, {"error", "internal error"}, {"user", user_}});
      }
      fail(id, policy::from_token_error(verified->error(), true));
      return;
    }
    claims = std::move(**verified);
  }
  if (!claims && policy::subscribe_proxy_decides(cfg, r, *res)) {
    subscribe_via_proxy(cmd, *proxy::subscribe_proxy(cfg, *res->options));
    return;
  }
  auto params = policy::authorize_subscribe(cfg, r, *res, policy::Subject{user_, this->id()},
                                            claims ? &*claims : nullptr, clock().unix_seconds());
  if (!params) {
    fail(id, params.error());
    return;
  }
  subscribe_authorized(id, std::move(*params));
}

void Client::subscribe_authorized(uint32_t id, SubscribeParams params) {
  ++inflight_;
  auto self = shared_from_this();
  std::string ch = params.channel;
  start_subscription(std::move(params), [self, this, id, ch](SubscribeOutcome res) {
    if (closed_) {
      return;
    }
    if (!res) {
      remove_subscription(ch, std::nullopt);
      fail(id, res.error());
    } else {
      std::string out;
      codec_.encode_subscribe(out, id, *res);
      reply(id, std::move(out));
      activate_subscription(ch);
    }
    finish_command();
  });
}

void Client::handle_unsubscribe(Command& cmd) {
  if (cmd.channel.channel.empty()) {
    log_bad_request("channel required for unsubscribe");
    close_with(disconnects::bad_request());
    return;
  }
  remove_subscription(cmd.channel.channel, std::nullopt);
  std::string out;
  codec_.encode_empty(out, cmd.id, Method::kUnsubscribe);
  reply(cmd.id, std::move(out));
}

// ------------------------------------------------------------------- publish, presence, history

void Client::handle_publish(Command& cmd) {
  const auto& cfg = *cfg_;
  auto& r = cmd.publish;
  const uint32_t id = cmd.id;
  if (r.channel.empty() || r.data.empty()) {
    log_bad_request("channel and data required for publish");
    close_with(disconnects::bad_request());
    return;
  }
  channel::Resolved res;
  if (!resolve_channel(id, r.channel, res, "publish to unknown channel")) {
    return;
  }
  const auto& o = *res.options;
  auto sub_it = subs_.find(r.channel);
  bool subscribed = sub_it != subs_.end() && sub_it->second->active;
  if (auto p = proxy::publish_proxy(cfg, o)) {
    // The publish proxy decides; allow_publish_* are not consulted (server-api.md §4.7).
    publish_via_proxy(cmd, *p);
    return;
  }
  if (auto refused = policy::check_publish(cfg, o, user_, subscribed)) {
    log_refusal(refused->code == errors::permission_denied().code
                    ? "attempt to publish without sufficient permission"
                    : "publish proxy not enabled",
                r.channel);
    reply_error(id, *refused);
    return;
  }
  // A JSON command's data is a JSON value of the validated frame.
  publish_now(id, r.channel, std::move(r.data), codec_.type() == protocol::ProtocolType::kJson,
              false);
}

void Client::publish_now(uint32_t id, const std::string& channel, std::string data,
                         bool data_is_json, bool skip_history) {
  const auto& cfg = *cfg_;
  channel::Resolved res;
  if (!channel::resolve(cfg, channel, res)) {
    reply_error(id, errors::unknown_channel());  // the config changed meanwhile
    return;
  }
  const auto& o = *res.options;
  auto sub_it = subs_.find(channel);
  bool subscribed = sub_it != subs_.end() && sub_it->second->active;
  protocol::Publication pub;
  pub.data = std::move(data);
  pub.data_is_json = data_is_json;
  pub.info = protocol::ClientInfo{user_, id_string(), cold_view().info,
                                  subscribed ? sub_it->second->chan_info() : std::string()};
  pub.time = clock().unix_ms();
  engine::PublishOptions opts;
  if (o.history_enabled() && !skip_history) {
    opts.history = {o.history_size, o.history_ttl, cfg.meta_ttl(o)};
  }
  opts.delta = o.delta_publish;
  ++inflight_;
  auto self = shared_from_this();
  count(metrics::ids().node_messages_sent_count, {"publication"});
  node_.engine().publish(channel, std::move(pub), std::move(opts),
                         [self, this, id](OpResult<engine::StreamPosition> res) {
                           if (closed_) {
                             return;
                           }
                           if (!res) {
                             reply_error(id, res.error());
                           } else {
                             std::string out;
                             codec_.encode_empty(out, id, Method::kPublish);
                             reply(id, std::move(out));
                           }
                           finish_command();
                         });
}

void Client::handle_presence(Command& cmd, bool stats) {
  const std::string& ch = cmd.channel.channel;
  const uint32_t id = cmd.id;
  if (ch.empty()) {
    log_bad_request(stats ? "channel required for presence stats"
                          : "channel required for presence");
    close_with(disconnects::bad_request());
    return;
  }
  channel::Resolved res;
  if (!resolve_channel(id, ch, res,
                       stats ? "presence stats for unknown channel"
                             : "presence for unknown channel")) {
    return;
  }
  if (!res.options->presence) {
    reply_error(id, errors::not_available());
    return;
  }
  if (!policy::presence_allowed(*cfg_, *res.options, user_, is_subscribed(ch))) {
    log_refusal(stats ? "attempt to call presence stats without sufficient permission"
                      : "attempt to call presence without sufficient permission",
                ch);
    reply_error(id, errors::permission_denied());
    return;
  }
  ++inflight_;
  auto self = shared_from_this();
  if (stats) {
    using Stats = OpResult<engine::PresenceStats>;
    count(metrics::ids().node_action_count, {"presence_stats"});
    node_.engine().presence_stats(ch, [self, this, id](Stats r) {
      if (closed_) {
        return;
      }
      if (!r) {
        reply_error(id, r.error());
      } else {
        std::string out;
        codec_.encode_presence_stats(out, id, {r->num_clients, r->num_users});
        reply(id, std::move(out));
      }
      finish_command();
    });
    return;
  }
  count(metrics::ids().node_action_count, {"presence"});
  node_.engine().presence(
      ch, [self, this, id](
              OpResult<std::vector<std::pair<std::string, protocol::ClientInfo>>> r) {
        if (closed_) {
          return;
        }
        if (!r) {
          reply_error(id, r.error());
        } else {
          std::string out;
          codec_.encode_presence(out, id, protocol::PresenceResult{std::move(*r)});
          reply(id, std::move(out));
        }
        finish_command();
      });
}

void Client::handle_history(Command& cmd) {
  const auto& cfg = *cfg_;
  auto& r = cmd.history;
  const uint32_t id = cmd.id;
  if (r.channel.empty()) {
    log_bad_request("channel required for history");
    close_with(disconnects::bad_request());
    return;
  }
  int64_t max = cfg.client_history_max_publication_limit;
  if (max > 0 && (r.limit < 0 || r.limit > max)) {
    r.limit = static_cast<int32_t>(max);
  }
  channel::Resolved res;
  if (!resolve_channel(id, r.channel, res, "history for unknown channel")) {
    return;
  }
  const auto& o = *res.options;
  if (!o.history_enabled()) {
    reply_error(id, errors::not_available());
    return;
  }
  if (!policy::history_allowed(cfg, o, user_, is_subscribed(r.channel))) {
    log_refusal("attempt to call history without sufficient permission", r.channel);
    reply_error(id, errors::permission_denied());
    return;
  }
  if (r.reverse && r.since && r.since->offset == 0) {
    reply_error(id, errors::bad_request());
    return;
  }
  engine::HistoryFilter f;
  f.since = r.since;
  f.limit = r.limit;
  f.reverse = r.reverse;
  ++inflight_;
  auto self = shared_from_this();
  count(metrics::ids().node_action_count, {"history"});
  node_.engine().history(r.channel, std::move(f), cfg.meta_ttl(o),
                         [self, this, id](OpResult<engine::HistoryResult> res) {
                           if (closed_) {
                             return;
                           }
                           if (!res) {
                             reply_error(id, res.error());
                           } else if (res->epoch_mismatch) {
                             reply_error(id, errors::unrecoverable_position());
                           } else {
                             protocol::HistoryResult hr;
                             hr.publications = std::move(res->publications);
                             hr.epoch = res->top.epoch;
                             hr.offset = res->top.offset;
                             std::string out;
                             codec_.encode_history(out, id, hr);
                             reply(id, std::move(out));
                           }
                           finish_command();
                         });
}

// ------------------------------------------------------------------- refresh

void Client::handle_refresh(Command& cmd) {
  const uint32_t id = cmd.id;
  if (cmd.refresh.token.empty()) {
    log_bad_request("client token required to refresh");
    close_with(disconnects::bad_request());
    return;
  }
  auto verified = verify_token<auth::ConnectClaims>(cmd, cmd.refresh.token);
  if (!verified) {
    return;  // parked for a JWKS fetch
  }
  // Centrifugo's lines for a refused refresh token (its `error` is the JWT library's message).
  if (!*verified && verified->error() == auth::TokenError::kInvalid) {
    logging::info("invalid refresh token",
                  {{"client", this->id()}, {"error", "invalid token"}, {"user", user_}});
  } else if (!*verified && verified->error() == auth::TokenError::kInternal) {
    logging::error("error verifying refresh token",
                   {{"client", this->id()}, {"error", "internal error"}, {"user", user_}});
  } else if (*verified && (*verified)->user != user_) {
    logging::info("refresh token user mismatch",
                  {{"client", this->id()}, {"tokenUser", (*verified)->user}, {"user", user_}});
  }
  auto grant =
      policy::check_refresh(*cfg_, *verified, user_, cold_view().token_channels,
                            clock().unix_seconds());
  if (!grant) {
    fail(id, grant.error());
    return;
  }
  protocol::RefreshResult rr;
  rr.client = this->id();
  rr.version = std::string(Node::kVersion);
  if (grant->expire_at > 0) {
    rr.expires = true;
    rr.ttl = ttl_until(grant->expire_at);
  }
  expire_at_ = grant->expire_at;
  if (!grant->info.empty()) {
    set_info(std::move(grant->info));
  }
  reschedule();
  std::string out;
  codec_.encode_refresh(out, id, rr);
  reply(id, std::move(out));
}

void Client::handle_sub_refresh(Command& cmd) {
  auto& r = cmd.sub_refresh;
  const uint32_t id = cmd.id;
  if (r.channel.empty()) {
    log_bad_request("channel required for sub refresh");
    close_with(disconnects::bad_request());
    return;
  }
  auto it = subs_.find(r.channel);
  if (it == subs_.end() || !it->second->active) {
    reply_error(id, errors::permission_denied());
    return;
  }
  if (it->second->server_refresh) {
    // Server-side refresh through the sub refresh proxy: the client may not refresh.
    log_bad_request("server-side sub refresh expected");
    close_with(disconnects::bad_request());
    return;
  }
  if (r.token.empty()) {
    log_refusal("subscription refresh token required", r.channel);
    reply_error(id, errors::bad_request());
    return;
  }
  auto verified = verify_token<auth::SubscribeClaims>(cmd, r.token);
  if (!verified) {
    return;  // parked for a JWKS fetch
  }
  auto grant = policy::check_sub_refresh(*verified, r.channel,
                                         policy::Subject{user_, this->id()},
                                         clock().unix_seconds());
  if (!grant) {
    fail(id, grant.error());
    return;
  }
  const int64_t exp = grant->expire_at;
  protocol::SubRefreshResult res;
  if (exp > 0) {
    res.expires = true;
    res.ttl = ttl_until(exp);
  }
  ClientSubscription& sub = *it->second;
  if (sub.expire_at > 0 && exp == 0) {
    --expiring_subs_;
  } else if (sub.expire_at == 0 && exp > 0) {
    ++expiring_subs_;
  }
  sub.expire_at = exp;
  if (!grant->info.empty()) {
    sub.set_chan_info(std::move(grant->info));
  }
  reschedule();
  std::string out;
  codec_.encode_sub_refresh(out, id, res);
  reply(id, std::move(out));
}

void Client::api_refresh(bool expired, int64_t expire_at, const std::string& info) {
  if (closed_ || !authenticated_) {
    return;
  }
  int64_t now = clock().unix_seconds();
  if (expired || (expire_at > 0 && expire_at <= now)) {
    close_with(disconnects::expired());
    return;
  }
  protocol::RefreshPush push;
  if (expire_at > 0) {
    expire_at_ = expire_at;
    if (!info.empty()) {
      set_info(info);
    }
    push.expires = true;
    push.ttl = ttl_until(expire_at);
  } else {
    expire_at_ = 0;
  }
  reschedule();
  std::string out;
  codec_.encode_refresh_push(out, push, transport_info_.unidirectional);
  send(std::move(out), "push_refresh");
}

}  // namespace gyre::node

