#include "node/client.h"

#include <algorithm>
#include <set>

#include "channel/channel.h"
#include "core/random.h"
#include "node/node.h"
#include "protocol/fossil.h"

namespace gyre::node {

using protocol::Command;
using protocol::Method;

namespace {

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

uint32_t ttl_until(int64_t expire_at) {
  int64_t d = expire_at - clock::unix_seconds();
  return d > 0 ? static_cast<uint32_t>(d) : 0;
}

// Namespace options with a token's per-subscription override applied (server-api.md §3.3).
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

}  // namespace

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

void ClientSubscription::deliver(const std::shared_ptr<const hub::Fanout>& f) {
  client->deliver(*this, f);
}

Client::Client(Node& node, Transport* transport, ConnectionRequest request)
    : node_(node),
      transport_(transport),
      codec_(transport->codec()),
      transport_info_(transport->info()),
      cfg_(node.config()),
      request_(std::move(request)),
      id_(random::uuid_v4()) {
  if (transport_info_.emulation || transport_info_.unidirectional) {
    session_ = random::uuid_v4();
  }
}

Client::~Client() = default;

void Client::open() {
  opened_at_ = clock::now();
  node_.register_client(this);
  reschedule();
}

void Client::reschedule() {
  if (closed_) {
    return;
  }
  const auto& cfg = *cfg_;
  clock::TimePoint when = clock::TimePoint::max();
  auto consider = [&when](clock::TimePoint t) {
    if (t != clock::TimePoint{} && t < when) {
      when = t;
    }
  };
  if (!authenticated_ || unusable_) {
    consider(opened_at_ + cfg.client_stale_close_delay);
  } else {
    if (awaiting_pong_) {
      consider(pong_deadline_);
    }
    consider(next_ping_at_);
    consider(next_position_check_);
    consider(next_presence_update_);
    if (expire_at_ > 0 || expiring_subs_ > 0) {
      // Expiries are Unix seconds: convert the earliest to a steady-clock deadline.
      const int64_t unix_now = clock::unix_seconds();
      const auto steady_now = clock::now();
      auto at = [&](int64_t unix_deadline) {
        return steady_now + std::chrono::seconds(std::max<int64_t>(0, unix_deadline - unix_now));
      };
      if (expire_at_ > 0) {
        auto grace =
            std::chrono::duration_cast<std::chrono::seconds>(cfg.client_expired_close_delay);
        consider(at(expire_at_ + grace.count()));
      }
      if (expiring_subs_ > 0) {
        auto grace =
            std::chrono::duration_cast<std::chrono::seconds>(cfg.client_expired_sub_close_delay);
        for (const auto& [ch, sub] : subs_) {
          if (sub->active && sub->expire_at > 0) {
            consider(at(sub->expire_at + grace.count() + 1));
          }
        }
      }
    }
  }
  if (when == clock::TimePoint::max()) {
    node_.local().wheel.cancel(this);
    return;
  }
  node_.local().wheel.schedule(this, when);
}

// ------------------------------------------------------------------- commands

void Client::handle_frame(std::string_view frame) {
  if (closed_) {
    return;
  }
  std::vector<Command> cmds;
  if (!codec_.decode_commands(frame, cmds)) {
    close_with(disconnects::bad_request());
    return;
  }
  if (queue_head_ == queue_.size()) {
    queue_ = std::move(cmds);
    queue_head_ = 0;
  } else {
    for (auto& c : cmds) {
      queue_.push_back(std::move(c));
    }
  }
  process_commands();
}

void Client::connect_unidirectional(protocol::ConnectRequest req) {
  if (closed_) {
    return;
  }
  Command cmd;
  cmd.id = 1;  // never on the wire: the result is a connect push
  cmd.method = Method::kConnect;
  cmd.connect = std::move(req);
  queue_.push_back(std::move(cmd));
  process_commands();
}

void Client::process_commands() {
  while (inflight_ < concurrency_limit() && !closed_ && queue_head_ < queue_.size()) {
    Command cmd = std::move(queue_[queue_head_++]);
    cfg_ = node_.config();  // a SIGHUP reload applies from the next command on
    in_dispatch_ = true;
    dispatch(cmd);
    in_dispatch_ = false;
  }
  if (queue_head_ >= queue_.size() && !queue_.empty()) {
    clear_queue();
  }
}

void Client::park_for_jwks(Command& cmd, std::shared_ptr<const auth::Verifier> verifier,
                           auth::JwksFetch fetch) {
  // The command waits for the key set (at most two 1 s attempts) and is then dispatched
  // again; later commands of this connection wait behind it, keeping their order.
  ++inflight_;
  auto held = std::make_shared<Command>(std::move(cmd));
  node_.fetch_jwks(std::move(verifier), std::move(fetch),
                   [self = shared_from_this(), this, held] {
                     if (closed_) {
                       return;
                     }
                     --inflight_;
                     jwks_replay_ = true;
                     in_dispatch_ = true;
                     dispatch(*held);
                     in_dispatch_ = false;
                     jwks_replay_ = false;
                     process_commands();
                   });
}

size_t Client::concurrency_limit() const {
  // client_concurrency > 1: that many commands of one connection in flight at once (replies
  // may then come out of order, as in Centrifugo). Connect always runs alone.
  if (!authenticated_ || connect_inflight_ || cfg_->client_concurrency <= 1) {
    return 1;
  }
  return static_cast<size_t>(cfg_->client_concurrency);
}

template <class Claims>
std::optional<std::expected<Claims, auth::TokenError>> Client::verify_token(
    Command& cmd, const std::string& token) {
  constexpr bool kConnect = std::is_same_v<Claims, auth::ConnectClaims>;
  const auto& rt = node_.runtime();
  const auto& verifier = kConnect ? rt.connection_verifier : rt.subscription_verifier;
  auth::JwksFetch fetch;
  auth::JwksFetch* slot = jwks_replay_ ? nullptr : &fetch;
  std::expected<Claims, auth::TokenError> r;
  if constexpr (kConnect) {
    r = verifier->verify_connect(token, clock::unix_seconds_f(), slot);
  } else {
    r = verifier->verify_subscribe(token, clock::unix_seconds_f(), slot);
  }
  if (!r && r.error() == auth::TokenError::kKeysNeeded) {
    park_for_jwks(cmd, verifier, std::move(fetch));
    return std::nullopt;
  }
  return r;
}

void Client::finish_command() {
  --inflight_;
  if (!in_dispatch_) {
    process_commands();
  }
}

void Client::send(std::string msg) {
  if (!closed_ && transport_ != nullptr) {
    transport_->send(std::move(msg));
  }
}

void Client::reply_error(uint32_t id, const Error& e) {
  std::string out;
  codec_.encode_error(out, id, e);
  send(std::move(out));
}

void Client::fail(uint32_t id, const Failure& f) {
  if (const auto* e = std::get_if<Error>(&f)) {
    reply_error(id, *e);
  } else {
    close_with(std::get<Disconnect>(f));
  }
}

void Client::dispatch(Command& cmd) {
  // Dispatch rules of client-protocol.md §4.1, in order.
  if (unusable_) {
    close_with(disconnects::bad_request());
    return;
  }
  if (!authenticated_ && cmd.method != Method::kConnect) {
    close_with(disconnects::bad_request());
    return;
  }
  if (cmd.id == 0 && cmd.method != Method::kSend) {
    // A pong. Only valid as the answer to an outstanding ping.
    if (cmd.method != Method::kNone || !awaiting_pong_) {
      close_with(disconnects::bad_request());
      return;
    }
    awaiting_pong_ = false;
    return;
  }
  switch (cmd.method) {
    case Method::kConnect:
      handle_connect(cmd);
      return;
    case Method::kSubscribe:
      handle_subscribe(cmd);
      return;
    case Method::kUnsubscribe:
      handle_unsubscribe(cmd);
      return;
    case Method::kPublish:
      handle_publish(cmd);
      return;
    case Method::kPresence:
      handle_presence(cmd, false);
      return;
    case Method::kPresenceStats:
      handle_presence(cmd, true);
      return;
    case Method::kHistory:
      handle_history(cmd);
      return;
    case Method::kRpc:
      // Centrifugo registers no RPC handler without an RPC proxy (client-protocol.md §4.12).
      reply_error(cmd.id, errors::not_available());
      return;
    case Method::kSend:
      // No message handler: the client must learn its messages are dropped (§4.13).
      close_with(disconnects::not_available());
      return;
    case Method::kRefresh:
      handle_refresh(cmd);
      return;
    case Method::kSubRefresh:
      handle_sub_refresh(cmd);
      return;
    case Method::kPing:
    case Method::kNone:
    default:
      close_with(disconnects::bad_request());
      return;
  }
}

// ------------------------------------------------------------------- connect

void Client::handle_connect(Command& cmd) {
  if (authenticated_) {
    close_with(disconnects::bad_request());
    return;
  }
  const config::Config& cfg = *cfg_;
  auto& req = cmd.connect;
  const uint32_t id = cmd.id;
  auto fail_connect = [&](const Failure& f) {
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
  };

  std::string user;
  std::string info;
  int64_t expire_at = 0;
  bool credentials = false;
  bool may_request_subs = false;
  std::vector<SubscribeParams> subs;
  std::set<std::string> sub_names;

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
    subs.push_back(std::move(p));
  };

  if (!req.token.empty()) {
    auto verified = verify_token<auth::ConnectClaims>(cmd, req.token);
    if (!verified) {
      return;  // parked for a JWKS fetch
    }
    auto& claims = *verified;
    if (!claims) {
      fail_connect(from_token_error(claims.error(), false));
      return;
    }
    if (claims->user.empty() && cfg.disallow_anonymous_connection_tokens) {
      fail_connect(disconnects::permission_denied());
      return;
    }
    user = claims->user;
    info = claims->info;
    expire_at = cfg.client_insecure ? 0 : claims->expires_at();
    for (const auto& [ch, so] : claims->subs) {
      channel::Resolved r;
      if (!channel::resolve(cfg, ch, r)) {
        fail_connect(errors::unknown_channel());
        return;
      }
      add_server_sub(ch, *r.options, &so);
      token_channels_.push_back(ch);
    }
    credentials = true;
    may_request_subs = true;
  } else if (cfg.allow_anonymous_connect_without_token || cfg.client_insecure) {
    credentials = true;
    may_request_subs = true;
  } else if (!cfg.client_user_id_http_header.empty() && !request_.user_id_header.empty()) {
    user = request_.user_id_header;
    credentials = true;
  }
  if (!credentials) {
    fail_connect(disconnects::bad_request());
    return;
  }

  if (cfg.user_subscribe_to_personal && !user.empty()) {
    std::string ch = channel::personal_channel(cfg, user);
    channel::Resolved r;
    if (!channel::resolve(cfg, ch, r)) {
      fail_connect(errors::unknown_channel());
      return;
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
        fail_connect(disconnects::bad_request());
        return;
      }
      const auto& o = *r.options;
      if (r.is_private || o.proxy_subscribe || !o.subscribe_proxy_name.empty() ||
          o.proxy_subscribe_stream || !channel::valid_name(cfg, ch, r)) {
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
  // Recovery positions for server-side subscriptions (client-protocol.md §5.5).
  for (auto& p : subs) {
    for (const auto& [ch, sreq] : req.subs) {
      if (ch == p.channel) {
        p.recover = sreq.recover;
        p.offset = sreq.offset;
        p.epoch = sreq.epoch;
        // Delta for a server-side subscription (client-protocol.md §9.1): same rules as a
        // client subscribe — unknown type 3501, not allowed or not positioned: plain.
        if (!sreq.delta.empty()) {
          if (sreq.delta != "fossil") {
            close_with(disconnects::bad_request());
            return;
          }
          channel::Resolved r;
          if (channel::resolve(cfg, p.channel, r) && (p.positioned || p.recoverable) &&
              std::find(r.options->allowed_delta_types.begin(),
                        r.options->allowed_delta_types.end(),
                        "fossil") != r.options->allowed_delta_types.end()) {
            p.delta = true;
          }
        }
      }
    }
  }

  if (static_cast<int64_t>(subs.size()) > cfg.client_channel_limit) {
    fail_connect(disconnects::channel_limit());
    return;
  }
  if (!node_.acquire_user(user, user.empty() ? 0 : cfg.client_user_connection_limit)) {
    fail_connect(disconnects::connection_limit());
    return;
  }
  user_acquired_ = true;
  user_ = user;
  if (expire_at > 0 && expire_at < clock::unix_seconds()) {
    fail_connect(errors::expired());
    return;
  }

  protocol::ConnectResult result;
  result.client = id_;
  result.version = std::string(Node::kVersion);
  if (expire_at > 0) {
    result.expires = true;
    result.ttl = ttl_until(expire_at);
  }
  if (transport_info_.app_level_ping && cfg.ping_interval.count() > 0) {
    result.ping = static_cast<uint32_t>(cfg.ping_interval.count() / 1000);
    result.pong = !transport_info_.unidirectional && cfg.pong_timeout.count() > 0;
  }
  if (!session_.empty()) {
    result.session = session_;
  }
  if (transport_info_.emulation) {
    result.node = node_.id();
  }
  if (cfg.client_connect_include_server_time) {
    result.time = clock::unix_ms();
  }

  info_ = std::move(info);
  expire_at_ = expire_at;
  authenticated_ = true;
  node_.index_user(this);

  if (subs.empty()) {
    complete_connect(id, std::move(result), {});
    return;
  }

  // Server-side subscriptions run concurrently; the reply waits for all of them.
  struct Pending {
    size_t left;
    std::vector<std::optional<protocol::SubscribeResult>> results;
    std::optional<Failure> failure;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = subs.size();
  pending->results.resize(subs.size());
  ++inflight_;
  connect_inflight_ = true;
  auto self = shared_from_this();
  for (size_t i = 0; i < subs.size(); ++i) {
    start_subscription(subs[i], [self, this, pending, i, id, subs, result](
                                    std::expected<protocol::SubscribeResult, Failure> r) mutable {
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
        for (const auto& p : subs) {
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
      for (size_t k = 0; k < subs.size(); ++k) {
        result.subs.emplace_back(subs[k].channel, std::move(*pending->results[k]));
      }
      complete_connect(id, std::move(result), std::move(subs));
      connect_inflight_ = false;
      finish_command();
    });
  }
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
  } else {
    codec_.encode_connect(out, id, result);
  }
  send(std::move(out));
  for (const auto& p : subs) {
    activate_subscription(p.channel);
  }
  const auto& cfg = *cfg_;
  if (transport_info_.app_level_ping && cfg.ping_interval.count() > 0) {
    // First ping at a random time in [interval/2, interval) spreads reconnecting clients.
    auto interval = cfg.ping_interval.count();
    next_ping_at_ = clock::now() + std::chrono::milliseconds(random::thread_jitter().uniform(interval / 2, interval));
  }
  if (cfg.client_presence_update_interval.count() > 0) {
    next_presence_update_ = clock::now() + cfg.client_presence_update_interval;
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
      ch, [self = shared_from_this(), this](std::expected<engine::PresenceStats, Error> r) {
        if (closed_ || !r || r->num_clients < 2) {
          return;
        }
        node_.for_each_connection(user_, "", "",
                                  [keep = id_](Client& c) {
                                    if (c.id() != keep) {
                                      c.disconnect(disconnects::connection_limit());
                                    }
                                  },
                                  [] {});
      });
}

// ------------------------------------------------------------------- subscriptions

bool Client::resolve_channel(uint32_t id, const std::string& ch, channel::Resolved& out) {
  // Policy checks shared by subscribe, publish, presence and history (server-api.md §5.4, §5.5).
  if (!channel::resolve(*cfg_, ch, out)) {
    reply_error(id, errors::unknown_channel());
    return false;
  }
  if (!channel::valid_name(*cfg_, ch, out)) {
    reply_error(id, errors::bad_request());
    return false;
  }
  return true;
}

bool Client::has_history_access(const config::ChannelOptions& o, bool subscribed) const {
  bool anon_ok = !user_.empty() || o.allow_history_for_anonymous;
  return (o.allow_history_for_client && anon_ok) ||
         (o.allow_history_for_subscriber && subscribed && anon_ok) || cfg_->client_insecure;
}

bool Client::has_presence_access(const config::ChannelOptions& o, bool subscribed) const {
  bool anon_ok = !user_.empty() || o.allow_presence_for_anonymous;
  return (o.allow_presence_for_client && anon_ok) ||
         (o.allow_presence_for_subscriber && subscribed && anon_ok) || cfg_->client_insecure;
}

bool Client::is_subscribed(const std::string& channel) const {
  auto it = subs_.find(channel);
  return it != subs_.end() && it->second->active;
}

void Client::handle_subscribe(Command& cmd) {
  const auto& cfg = *cfg_;
  auto& r = cmd.subscribe;
  const uint32_t id = cmd.id;
  if (r.channel.empty()) {
    close_with(disconnects::bad_request());
    return;
  }
  if (r.type != 0) {
    // Map and shared-poll subscriptions (Centrifugo v6) are not available.
    reply_error(id, errors::not_available());
    return;
  }
  if (!r.delta.empty() && r.delta != "fossil") {
    close_with(disconnects::bad_request());
    return;
  }
  if (static_cast<int64_t>(r.channel.size()) > cfg.channel_max_length) {
    reply_error(id, errors::bad_request());
    return;
  }
  if (subs_.count(r.channel) != 0) {
    reply_error(id, errors::already_subscribed());
    return;
  }
  if (static_cast<int64_t>(subs_.size()) >= cfg.client_channel_limit) {
    reply_error(id, errors::limit_exceeded());
    return;
  }
  channel::Resolved res;
  if (!resolve_channel(id, r.channel, res)) {
    return;
  }
  const auto& o = *res.options;
  bool user_limited = o.allow_user_limited_channels && channel::is_user_limited(cfg, r.channel);

  SubscribeParams p;
  p.channel = r.channel;
  std::optional<auth::SubscribeClaims> claims;
  // Permission order of server-api.md §5.4.
  if (res.is_private && r.token.empty()) {
    reply_error(id, errors::permission_denied());
    return;
  }
  if (!r.token.empty()) {
    auto verified = verify_token<auth::SubscribeClaims>(cmd, r.token);
    if (!verified) {
      return;  // parked for a JWKS fetch
    }
    auto& c = *verified;
    if (!c) {
      fail(id, from_token_error(c.error(), true));
      return;
    }
    if (c->channel != r.channel || c->user != user_ || (!c->client.empty() && c->client != id_)) {
      close_with(disconnects::invalid_token());
      return;
    }
    claims = std::move(*c);
  } else if (user_limited && channel::user_allowed(cfg, r.channel, user_)) {
    // allowed by the user list
  } else if (!user_limited && (o.proxy_subscribe || !o.subscribe_proxy_name.empty() ||
                               o.proxy_subscribe_stream)) {
    // A subscribe proxy decides for this namespace, and none is configured on this node.
    reply_error(id, errors::not_available());
    return;
  } else if (!user_limited && o.allow_subscribe_for_client &&
             (!user_.empty() || o.allow_subscribe_for_anonymous)) {
    // allowed for clients
  } else if (cfg.client_insecure) {
    // insecure mode allows everything not denied above
  } else {
    reply_error(id, errors::permission_denied());
    return;
  }

  apply_options(o, claims ? &claims->override : nullptr, p);
  // The client's optional flags (server-api.md §5.4, end).
  if (r.positioned && (o.allow_positioning || has_history_access(o, true))) {
    p.positioned = true;
  }
  if (r.recoverable && (o.allow_recovery || has_history_access(o, true))) {
    p.recoverable = true;
  }
  if (r.join_leave && o.join_leave && has_presence_access(o, true)) {
    p.push_join_leave = true;
  }
  // Delta: "fossil" allowed by the namespace, on a positioned subscription (the patch base is
  // the stream's previous publication, which positioning guarantees the client has seen).
  // Known but not allowed: silently not negotiated (client-protocol.md §9.1).
  if (r.delta == "fossil" && (p.positioned || p.recoverable) &&
      std::find(o.allowed_delta_types.begin(), o.allowed_delta_types.end(), "fossil") !=
          o.allowed_delta_types.end()) {
    p.delta = true;
  }
  if (claims) {
    p.chan_info = claims->info;
    p.data = claims->data;
    p.expire_at = claims->expires_at();
    if (p.expire_at > 0 && p.expire_at <= clock::unix_seconds()) {
      reply_error(id, errors::expired());
      return;
    }
  }
  p.recover = r.recover;
  p.offset = r.offset;
  p.epoch = r.epoch;
  p.reject_unrecovered = (r.flag & 2) != 0;
  p.meta_ttl = cfg.meta_ttl(o);

  ++inflight_;
  auto self = shared_from_this();
  std::string ch = p.channel;
  start_subscription(std::move(p), [self, this, id, ch](
                                       std::expected<protocol::SubscribeResult, Failure> res) {
    if (closed_) {
      return;
    }
    if (!res) {
      remove_subscription(ch, std::nullopt);
      fail(id, res.error());
    } else {
      std::string out;
      codec_.encode_subscribe(out, id, *res);
      send(std::move(out));
      activate_subscription(ch);
    }
    finish_command();
  });
}

void Client::start_subscription(
    SubscribeParams p, std::function<void(std::expected<protocol::SubscribeResult, Failure>)> done) {
  auto sub = std::make_unique<ClientSubscription>(this, p.channel);
  ClientSubscription* s = sub.get();
  s->server_side = p.server_side;
  s->emit_presence = p.emit_presence;
  s->emit_join_leave = p.emit_join_leave;
  s->push_join_leave = p.push_join_leave;
  s->recoverable = p.recoverable;
  s->positioned = p.positioned || p.recoverable;
  s->delta = p.delta;
  s->expire_at = p.expire_at;
  s->chan_info = p.chan_info;
  s->meta_ttl = p.meta_ttl;
  subs_[p.channel] = std::move(sub);
  // Registered before the engine reads the stream: publications from now on are buffered
  // and released after the reply through the position check (client-protocol.md §5.4).
  node_.local().hub.add(p.channel, s);

  protocol::SubscribeResult base;
  base.was_recovering = p.recover;
  base.delta = p.delta;
  base.data = p.data;
  if (p.expire_at > 0) {
    base.expires = true;
    base.ttl = ttl_until(p.expire_at);
  }
  const bool need_stream = s->positioned;
  const int ops = (p.emit_presence ? 1 : 0) + (need_stream ? 1 : 0);
  if (ops == 0) {
    done(std::move(base));
    return;
  }

  struct State {
    int left;
    bool failed = false;
    engine::HistoryResult hr;
  };
  auto st = std::make_shared<State>();
  st->left = ops;
  auto self = shared_from_this();
  auto finish = [self, this, st, s, p, base, done]() mutable {
    if (closed_) {
      return;
    }
    auto it = subs_.find(p.channel);
    if (it == subs_.end() || it->second.get() != s) {
      done(std::unexpected(Failure(errors::internal())));
      return;
    }
    if (st->failed) {
      done(std::unexpected(Failure(disconnects::server_error())));
      return;
    }
    protocol::SubscribeResult r = std::move(base);
    if (s->positioned) {
      const auto& top = st->hr.top;
      r.positioned = true;
      r.recoverable = s->recoverable;
      r.epoch = top.epoch;
      r.offset = top.offset;
      s->position = top;
      if (s->recoverable && p.recover) {
        const auto& pubs = st->hr.publications;
        bool recovered = false;
        if (p.cache_recovery) {
          // Cache mode: only the latest publication matters (client-protocol.md §5.3 C).
          bool same = p.offset > 0 && p.offset == top.offset && p.epoch == top.epoch;
          if (pubs.empty()) {
            recovered = same;
          } else {
            recovered = pubs.front()->offset == top.offset;
            if (recovered && !same) {
              r.publications = {pubs.front()};
            }
          }
        } else if (!st->hr.epoch_mismatch) {
          recovered = (pubs.empty() && top.offset == p.offset) ||
                      (!pubs.empty() && pubs.front()->offset == p.offset + 1 &&
                       pubs.back()->offset == top.offset);
          if (recovered) {
            r.publications = pubs;
          }
        }
        if (recovered) {
          r.recovered = true;
          r.offset = p.offset;
          if (s->delta && !r.publications.empty()) {
            // client-protocol.md §9.2 rule 5: the first recovered publication is full, each
            // later one a patch against the one before it when that is shorter. The last
            // one is the client's base for live patches.
            delta_chain(r.publications);
            s->delta_ready = true;
          }
        } else if (p.reject_unrecovered) {
          done(std::unexpected(Failure(errors::unrecoverable_position())));
          return;
        }
      }
    }
    done(std::move(r));
  };
  auto step = [st, finish]() mutable {
    if (--st->left == 0) {
      finish();
    }
  };
  if (p.emit_presence) {
    engine::ClientInfo ci{user_, id_, info_, p.chan_info};
    node_.engine().add_presence(p.channel, id_, std::move(ci),
                                [st, step](std::expected<bool, Error> r) mutable {
                                  if (!r) {
                                    st->failed = true;
                                  }
                                  step();
                                });
  }
  if (need_stream) {
    engine::HistoryFilter f;
    if (p.recoverable && p.recover) {
      if (p.cache_recovery) {
        f.limit = 1;
        f.reverse = true;
      } else {
        f.since = protocol::StreamPosition{p.offset, p.epoch};
        int64_t lim = cfg_->client_recovery_max_publication_limit;
        f.limit = lim > 0 ? static_cast<int32_t>(lim) : -1;
      }
    }
    node_.engine().history(p.channel, std::move(f), p.meta_ttl,
                           [st, step](std::expected<engine::HistoryResult, Error> r) mutable {
                             if (!r) {
                               st->failed = true;
                             } else {
                               st->hr = std::move(*r);
                             }
                             step();
                           });
  }
}

void Client::delta_chain(std::vector<std::shared_ptr<const protocol::Publication>>& pubs) const {
  // Patches are computed on the originals; the copies only replace what is sent.
  std::vector<std::shared_ptr<const protocol::Publication>> out;
  out.reserve(pubs.size());
  for (size_t i = 0; i < pubs.size(); ++i) {
    if (i == 0) {
      out.push_back(pubs[i]);
      continue;
    }
    const auto& prev = pubs[i - 1]->data;
    const auto& cur = pubs[i]->data;
    std::string patch = codec_.type() == protocol::ProtocolType::kJson
                            ? protocol::fossil::create_utf8_safe(prev, cur)
                            : protocol::fossil::create(prev, cur);
    if (patch.size() >= cur.size()) {
      out.push_back(pubs[i]);
      continue;
    }
    auto copy = std::make_shared<protocol::Publication>(*pubs[i]);
    copy->data = std::move(patch);
    copy->delta = true;
    out.push_back(std::move(copy));
  }
  pubs = std::move(out);
}

void Client::activate_subscription(const std::string& channel) {
  auto it = subs_.find(channel);
  if (it == subs_.end() || closed_) {
    return;
  }
  ClientSubscription* s = it->second.get();
  s->active = true;
  s->last_position_check = clock::now();
  if (s->positioned && next_position_check_ == clock::TimePoint{}) {
    update_position_check_deadline();
    reschedule();
  }
  if (s->expire_at > 0) {
    ++expiring_subs_;
    reschedule();
  }
  if (s->emit_join_leave) {
    node_.engine().publish_join(channel, engine::ClientInfo{user_, id_, info_, s->chan_info});
  }
  auto buffered = std::move(s->buffer);
  s->buffer.clear();
  for (const auto& f : buffered) {
    deliver(*s, f);
    // A delivery may end the subscription (insufficient state) or the connection.
    auto again = subs_.find(channel);
    if (closed_ || again == subs_.end() || again->second.get() != s) {
      return;
    }
  }
}

void Client::remove_subscription(const std::string& channel_ref,
                                 std::optional<protocol::Unsubscribe> push) {
  const std::string channel = channel_ref;  // may alias the map key erased below
  auto it = subs_.find(channel);
  if (it == subs_.end()) {
    return;
  }
  std::unique_ptr<ClientSubscription> sub = std::move(it->second);
  subs_.erase(it);
  node_.local().hub.remove(channel, sub.get());
  if (sub->emit_presence) {
    node_.engine().remove_presence(channel, id_, nullptr);
  }
  if (sub->active) {
    if (sub->emit_join_leave) {
      node_.engine().publish_leave(channel, engine::ClientInfo{user_, id_, info_, sub->chan_info});
    }
    if (sub->expire_at > 0) {
      --expiring_subs_;
    }
  }
  if (push && !closed_) {
    std::string out;
    codec_.encode_unsubscribe(out, channel, *push, transport_info_.unidirectional);
    send(std::move(out));
  }
}

void Client::insufficient_state(ClientSubscription& sub) {
  if (sub.server_side) {
    close_with(disconnects::insufficient_state());
    return;
  }
  remove_subscription(sub.channel, protocol::Unsubscribe{2500, "insufficient state"});
}

void Client::deliver(ClientSubscription& sub, const std::shared_ptr<const hub::Fanout>& f) {
  if (closed_) {
    return;
  }
  if (!sub.active) {
    sub.buffer.push_back(f);
    return;
  }
  if (f->kind != hub::Fanout::Kind::kPublication) {
    if (!sub.push_join_leave) {
      return;
    }
  } else if (sub.positioned && f->pub->offset > 0) {
    // Live continuity check (client-protocol.md §5.2).
    const auto& pub = *f->pub;
    if (pub.epoch != sub.position.epoch) {
      if (!sub.position.epoch.empty()) {
        insufficient_state(sub);
        return;
      }
      sub.position.epoch = pub.epoch;
    }
    uint64_t next = sub.position.offset + 1;
    if (pub.offset < next) {
      return;  // already covered by the subscribe reply
    }
    if (pub.offset > next) {
      insufficient_state(sub);
      return;
    }
    sub.position.offset = pub.offset;
    // client_channel_position_max_time_lag: a publication delivered too long after it was
    // published means this subscriber's stream is lagging (reference.md §7.2).
    const auto max_lag = cfg_->client_channel_position_max_time_lag.count();
    if (max_lag > 0 && pub.time > 0 && clock::unix_ms() - pub.time > max_lag) {
      insufficient_state(sub);
      return;
    }
  }
  if (codec_.type() == protocol::ProtocolType::kJson && !f->json_compatible) {
    close_with(disconnects::inappropriate_protocol());
    return;
  }
  if (sub.delta && f->kind == hub::Fanout::Kind::kPublication) {
    // The first publication is always full; later ones are patches against the previous
    // publication of the stream, which the position check above proved the client has.
    auto form = sub.delta_ready && !f->patch.empty() ? hub::Fanout::Form::kDeltaPatch
                                                     : hub::Fanout::Form::kDeltaFull;
    sub.delta_ready = true;
    transport_->send_shared(f, form);
    return;
  }
  transport_->send_shared(f);
}

void Client::handle_unsubscribe(Command& cmd) {
  if (cmd.channel.channel.empty()) {
    close_with(disconnects::bad_request());
    return;
  }
  remove_subscription(cmd.channel.channel, std::nullopt);
  std::string out;
  codec_.encode_empty(out, cmd.id, Method::kUnsubscribe);
  send(std::move(out));
}

// ------------------------------------------------------------------- publish, presence, history

void Client::handle_publish(Command& cmd) {
  const auto& cfg = *cfg_;
  auto& r = cmd.publish;
  const uint32_t id = cmd.id;
  if (r.channel.empty() || r.data.empty()) {
    close_with(disconnects::bad_request());
    return;
  }
  channel::Resolved res;
  if (!resolve_channel(id, r.channel, res)) {
    return;
  }
  const auto& o = *res.options;
  if (o.proxy_publish || !o.publish_proxy_name.empty() || o.proxy_subscribe_stream) {
    reply_error(id, errors::not_available());
    return;
  }
  auto sub_it = subs_.find(r.channel);
  bool subscribed = sub_it != subs_.end() && sub_it->second->active;
  bool anon_ok = !user_.empty() || o.allow_publish_for_anonymous;
  bool allowed = (o.allow_publish_for_client && anon_ok) ||
                 (o.allow_publish_for_subscriber && subscribed && anon_ok) || cfg.client_insecure;
  if (!allowed) {
    reply_error(id, errors::permission_denied());
    return;
  }
  protocol::Publication pub;
  pub.data = std::move(r.data);
  // A JSON command's data is a JSON value of the validated frame.
  pub.data_is_json = codec_.type() == protocol::ProtocolType::kJson;
  pub.info = protocol::ClientInfo{user_, id_, info_,
                                  subscribed ? sub_it->second->chan_info : std::string()};
  pub.time = clock::unix_ms();
  engine::PublishOptions opts;
  if (o.history_enabled()) {
    opts.history = {o.history_size, o.history_ttl, cfg.meta_ttl(o)};
  }
  opts.delta = o.delta_publish;
  ++inflight_;
  auto self = shared_from_this();
  node_.engine().publish(r.channel, std::move(pub), std::move(opts),
                         [self, this, id](std::expected<engine::StreamPosition, Error> res) {
                           if (closed_) {
                             return;
                           }
                           if (!res) {
                             reply_error(id, res.error());
                           } else {
                             std::string out;
                             codec_.encode_empty(out, id, Method::kPublish);
                             send(std::move(out));
                           }
                           finish_command();
                         });
}

void Client::handle_presence(Command& cmd, bool stats) {
  const std::string& ch = cmd.channel.channel;
  const uint32_t id = cmd.id;
  if (ch.empty()) {
    close_with(disconnects::bad_request());
    return;
  }
  channel::Resolved res;
  if (!resolve_channel(id, ch, res)) {
    return;
  }
  if (!res.options->presence) {
    reply_error(id, errors::not_available());
    return;
  }
  if (!has_presence_access(*res.options, is_subscribed(ch))) {
    reply_error(id, errors::permission_denied());
    return;
  }
  ++inflight_;
  auto self = shared_from_this();
  if (stats) {
    node_.engine().presence_stats(ch, [self, this, id](std::expected<engine::PresenceStats, Error> r) {
      if (closed_) {
        return;
      }
      if (!r) {
        reply_error(id, r.error());
      } else {
        std::string out;
        codec_.encode_presence_stats(out, id, {r->num_clients, r->num_users});
        send(std::move(out));
      }
      finish_command();
    });
    return;
  }
  node_.engine().presence(
      ch, [self, this, id](
              std::expected<std::vector<std::pair<std::string, protocol::ClientInfo>>, Error> r) {
        if (closed_) {
          return;
        }
        if (!r) {
          reply_error(id, r.error());
        } else {
          std::string out;
          codec_.encode_presence(out, id, protocol::PresenceResult{std::move(*r)});
          send(std::move(out));
        }
        finish_command();
      });
}

void Client::handle_history(Command& cmd) {
  const auto& cfg = *cfg_;
  auto& r = cmd.history;
  const uint32_t id = cmd.id;
  if (r.channel.empty()) {
    close_with(disconnects::bad_request());
    return;
  }
  int64_t max = cfg.client_history_max_publication_limit;
  if (max > 0 && (r.limit < 0 || r.limit > max)) {
    r.limit = static_cast<int32_t>(max);
  }
  channel::Resolved res;
  if (!resolve_channel(id, r.channel, res)) {
    return;
  }
  const auto& o = *res.options;
  if (!o.history_enabled()) {
    reply_error(id, errors::not_available());
    return;
  }
  if (!has_history_access(o, is_subscribed(r.channel))) {
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
  node_.engine().history(r.channel, std::move(f), cfg.meta_ttl(o),
                         [self, this, id](std::expected<engine::HistoryResult, Error> res) {
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
                             send(std::move(out));
                           }
                           finish_command();
                         });
}

// ------------------------------------------------------------------- refresh

void Client::handle_refresh(Command& cmd) {
  const auto& cfg = *cfg_;
  const uint32_t id = cmd.id;
  if (cmd.refresh.token.empty()) {
    close_with(disconnects::bad_request());
    return;
  }
  auto verified = verify_token<auth::ConnectClaims>(cmd, cmd.refresh.token);
  if (!verified) {
    return;  // parked for a JWKS fetch
  }
  auto& claims = *verified;
  if (!claims) {
    switch (claims.error()) {
      case auth::TokenError::kExpired:
        close_with(disconnects::expired());
        return;
      case auth::TokenError::kInvalid:
        close_with(disconnects::invalid_token());
        return;
      case auth::TokenError::kUnknownChannel:
        reply_error(id, errors::unknown_channel());
        return;
      default:
        reply_error(id, errors::internal());
        return;
    }
  }
  if (claims->user != user_) {
    close_with(disconnects::invalid_token());
    return;
  }
  // A change of the token's server-side channels is resolved by a reconnect (3010).
  std::set<std::string> now_set(token_channels_.begin(), token_channels_.end());
  std::set<std::string> new_set;
  for (const auto& [ch, so] : claims->subs) {
    new_set.insert(ch);
  }
  if (now_set != new_set) {
    close_with(disconnects::insufficient_state());
    return;
  }
  int64_t exp = cfg.client_insecure ? 0 : claims->expires_at();
  protocol::RefreshResult rr;
  rr.client = id_;
  rr.version = std::string(Node::kVersion);
  if (exp > 0) {
    if (exp <= clock::unix_seconds()) {
      reply_error(id, errors::expired());
      return;
    }
    rr.expires = true;
    rr.ttl = ttl_until(exp);
  }
  expire_at_ = exp;
  if (!claims->info.empty()) {
    info_ = claims->info;
  }
  reschedule();
  std::string out;
  codec_.encode_refresh(out, id, rr);
  send(std::move(out));
}

void Client::handle_sub_refresh(Command& cmd) {
  auto& r = cmd.sub_refresh;
  const uint32_t id = cmd.id;
  if (r.channel.empty()) {
    close_with(disconnects::bad_request());
    return;
  }
  auto it = subs_.find(r.channel);
  if (it == subs_.end() || !it->second->active) {
    reply_error(id, errors::permission_denied());
    return;
  }
  if (r.token.empty()) {
    reply_error(id, errors::bad_request());
    return;
  }
  auto verified = verify_token<auth::SubscribeClaims>(cmd, r.token);
  if (!verified) {
    return;  // parked for a JWKS fetch
  }
  auto& claims = *verified;
  if (!claims) {
    if (claims.error() == auth::TokenError::kExpired) {
      // Stricter than the reference quirk (docs/compatibility.md): the SDK gets a new token.
      reply_error(id, errors::token_expired());
    } else if (claims.error() == auth::TokenError::kInternal) {
      reply_error(id, errors::internal());
    } else {
      close_with(disconnects::invalid_token());
    }
    return;
  }
  if (claims->channel != r.channel || claims->user != user_ ||
      (!claims->client.empty() && claims->client != id_)) {
    close_with(disconnects::invalid_token());
    return;
  }
  int64_t exp = claims->expires_at();
  protocol::SubRefreshResult res;
  if (exp > 0) {
    if (exp <= clock::unix_seconds()) {
      reply_error(id, errors::expired());
      return;
    }
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
  if (!claims->info.empty()) {
    sub.chan_info = claims->info;
  }
  reschedule();
  std::string out;
  codec_.encode_sub_refresh(out, id, res);
  send(std::move(out));
}

// ------------------------------------------------------------------- server API operations

void Client::api_subscribe(SubscribeParams p) {
  if (closed_ || !authenticated_ || subs_.count(p.channel) != 0) {
    return;
  }
  std::string ch = p.channel;
  std::string data = p.data;
  auto self = shared_from_this();
  start_subscription(std::move(p), [self, this, ch, data](
                                       std::expected<protocol::SubscribeResult, Failure> res) {
    if (closed_) {
      return;
    }
    if (!res) {
      remove_subscription(ch, std::nullopt);
      if (const auto* d = std::get_if<Disconnect>(&res.error())) {
        close_with(*d);
      }
      return;
    }
    protocol::SubscribePush push;
    push.recoverable = res->recoverable;
    push.epoch = res->epoch;
    push.offset = res->offset;
    push.positioned = res->positioned;
    push.data = data;
    std::string out;
    codec_.encode_subscribe_push(out, ch, push, transport_info_.unidirectional);
    send(std::move(out));
    for (const auto& pub : res->publications) {
      std::string msg;
      codec_.encode_pub(msg, ch, *pub, transport_info_.unidirectional);
      send(std::move(msg));
    }
    activate_subscription(ch);
  });
}

void Client::api_unsubscribe(const std::string& channel) {
  if (closed_ || subs_.count(channel) == 0) {
    return;
  }
  remove_subscription(channel, protocol::Unsubscribe{2000, "server unsubscribe"});
}

void Client::api_refresh(bool expired, int64_t expire_at, const std::string& info) {
  if (closed_ || !authenticated_) {
    return;
  }
  int64_t now = clock::unix_seconds();
  if (expired || (expire_at > 0 && expire_at <= now)) {
    close_with(disconnects::expired());
    return;
  }
  protocol::RefreshPush push;
  if (expire_at > 0) {
    expire_at_ = expire_at;
    if (!info.empty()) {
      info_ = info;
    }
    push.expires = true;
    push.ttl = ttl_until(expire_at);
  } else {
    expire_at_ = 0;
  }
  reschedule();
  std::string out;
  codec_.encode_refresh_push(out, push, transport_info_.unidirectional);
  send(std::move(out));
}

// ------------------------------------------------------------------- lifecycle

void Client::tick(clock::TimePoint now) {
  run_timers(now);
  reschedule();
}

void Client::run_timers(clock::TimePoint now) {
  if (closed_) {
    return;
  }
  const auto& cfg = *cfg_;
  if (!authenticated_ || unusable_) {
    if (now - opened_at_ >= cfg.client_stale_close_delay) {
      close_with(disconnects::stale());
    }
    return;
  }
  if (awaiting_pong_ && now >= pong_deadline_) {
    close_with(disconnects::no_pong());
    return;
  }
  if (next_ping_at_ != clock::TimePoint{} && now >= next_ping_at_) {
    std::string out;
    codec_.encode_ping(out);
    send(std::move(out));
    if (!transport_info_.unidirectional && cfg.pong_timeout.count() > 0 && !awaiting_pong_) {
      awaiting_pong_ = true;
      pong_deadline_ = now + cfg.pong_timeout;
    }
    next_ping_at_ = now + cfg.ping_interval;
  }
  if (next_presence_update_ != clock::TimePoint{} && now >= next_presence_update_) {
    // client_presence_update_interval: presence entries are re-added so that engines with a
    // presence TTL (global_presence_ttl) keep them while the client is here.
    for (const auto& [ch, sub] : subs_) {
      if (sub->active && sub->emit_presence) {
        node_.engine().add_presence(ch, id_, engine::ClientInfo{user_, id_, info_, sub->chan_info},
                                    [](std::expected<bool, Error>) {});
      }
    }
    next_presence_update_ = now + cfg.client_presence_update_interval;
  }
  if (next_position_check_ != clock::TimePoint{} && now >= next_position_check_) {
    check_positions(now);
    if (closed_) {
      return;
    }
  }
  int64_t unix_now = 0;
  if (expire_at_ > 0 || expiring_subs_ > 0) {
    unix_now = clock::unix_seconds();
  }
  if (expire_at_ > 0) {
    auto grace = std::chrono::duration_cast<std::chrono::seconds>(cfg.client_expired_close_delay);
    if (unix_now >= expire_at_ + grace.count()) {
      close_with(disconnects::expired());
      return;
    }
  }
  if (expiring_subs_ > 0) {
    auto grace =
        std::chrono::duration_cast<std::chrono::seconds>(cfg.client_expired_sub_close_delay);
    std::vector<std::string> expired;
    for (const auto& [ch, s] : subs_) {
      if (s->active && s->expire_at > 0 && unix_now > s->expire_at + grace.count()) {
        if (s->server_side) {
          close_with(disconnects::subscription_expired());
          return;
        }
        expired.push_back(ch);
      }
    }
    for (const auto& ch : expired) {
      remove_subscription(ch, protocol::Unsubscribe{2501, "subscription expired"});
    }
  }
}

void Client::update_position_check_deadline() {
  const auto delay = cfg_->client_channel_position_check_delay;
  next_position_check_ = {};
  if (delay.count() <= 0) {
    return;
  }
  for (const auto& [ch, s] : subs_) {
    if (s->active && s->positioned) {
      auto at = s->last_position_check + delay;
      if (next_position_check_ == clock::TimePoint{} || at < next_position_check_) {
        next_position_check_ = at;
      }
    }
  }
}

void Client::check_positions(clock::TimePoint now) {
  const auto delay = cfg_->client_channel_position_check_delay;
  for (auto& [ch, sp] : subs_) {
    ClientSubscription* s = sp.get();
    if (!s->active || !s->positioned || s->position_check_pending ||
        now - s->last_position_check < delay) {
      continue;
    }
    s->last_position_check = now;
    s->position_check_pending = true;
    engine::HistoryFilter top_only;  // limit 0: just the stream top
    node_.engine().history(
        ch, top_only, s->meta_ttl,
        [self = shared_from_this(), this, s, channel = ch](
            std::expected<engine::HistoryResult, Error> r) {
          auto it = subs_.find(channel);
          if (closed_ || it == subs_.end() || it->second.get() != s) {
            return;
          }
          s->position_check_pending = false;
          if (!r) {
            return;  // checked again next period (as Centrifugo does on engine errors)
          }
          const auto& top = r->top;
          if (top.epoch == s->position.epoch && s->position.offset >= top.offset) {
            s->position_check_failures = 0;
            return;
          }
          // One miss is allowed: a publication may be on its way to this shard.
          if (++s->position_check_failures >= 2) {
            insufficient_state(*s);
          }
        });
  }
  update_position_check_deadline();
}

void Client::disconnect(const Disconnect& d) { close_with(d); }

void Client::close_with(const Disconnect& d) {
  if (closed_) {
    return;
  }
  closed_ = true;
  clear_queue();
  if (transport_ != nullptr) {
    transport_->close(d);
  }
  cleanup();
}

void Client::transport_closed() {
  closed_ = true;
  clear_queue();
  transport_ = nullptr;
  cleanup();
}

void Client::cleanup() {
  if (cleaned_) {
    return;
  }
  cleaned_ = true;
  while (!subs_.empty()) {
    remove_subscription(subs_.begin()->first, std::nullopt);
  }
  if (authenticated_) {
    node_.unindex_user(this);
  }
  if (user_acquired_) {
    node_.release_user(user_);
    user_acquired_ = false;
  }
  node_.local().wheel.cancel(this);
  node_.unregister_client(this);
}

}  // namespace gyre::node
