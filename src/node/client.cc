// Session mechanics of a client (centrifuge's client.go): the command queue and dispatch,
// replies, token verification with JWKS parking, timers (ping/pong, stale, expiry, position
// checks) and the close/cleanup path. Policy decisions are in client_policy.cc, command
// handlers in client_commands.cc, subscription lifecycle and delivery in
// client_subscriptions.cc.
#include "node/client.h"

#include <algorithm>

#include "core/log.h"
#include "core/prefetch.h"
#include "core/random.h"
#include "node/node.h"

namespace gyre::node {

using protocol::Command;
using protocol::Method;

void ClientSubscription::deliver(const std::shared_ptr<const hub::Fanout>& f) {
  client->deliver(*this, f);
}

void ClientSubscription::prefetch(unsigned stage) const {
  if (stage == 0) {
    client->prefetch_object();
  } else {
    client->prefetch_transport(stage - 1);
  }
}

// deliver() reads the first four lines (the transport, codec, flags and the subscription
// table with its inline first subscription); the timers and command state after them not.
void Client::prefetch_object() const { core::prefetch_lines(this, std::min<size_t>(sizeof(Client), 256)); }

void Client::prefetch_transport(unsigned stage) const {
  if (closed_ || transport_ == nullptr) {
    return;  // deliver() does not touch the transport either: it may be gone
  }
  if (stage == 0) {
    // The transport's object, read without a virtual call (its vtable pointer is in the
    // memory being fetched); five lines cover a WebSocket session.
    constexpr size_t kTransportBytes = 320;
    core::prefetch_lines(transport_, kTransportBytes);
  } else {
    transport_->prefetch_output();
  }
}

const std::string& ClientSubscription::chan_info() const {
  static const std::string kEmpty;
  return chan_info_ ? *chan_info_ : kEmpty;
}

void ClientSubscription::set_chan_info(std::string info) {
  if (info.empty()) {
    chan_info_.reset();
  } else {
    chan_info_ = std::make_unique<std::string>(std::move(info));
  }
}

void ClientSubscription::buffer_push(const std::shared_ptr<const hub::Fanout>& f) {
  if (!buffer_) {
    buffer_ = std::make_unique<std::vector<std::shared_ptr<const hub::Fanout>>>();
  }
  buffer_->push_back(f);
}

std::vector<std::shared_ptr<const hub::Fanout>> ClientSubscription::take_buffer() {
  std::vector<std::shared_ptr<const hub::Fanout>> out;
  if (buffer_) {
    out = std::move(*buffer_);
    buffer_.reset();
  }
  return out;
}

Client::Client(Node& node, Transport* transport, ConnectionRequest request)
    : node_(node),
      transport_(transport),
      codec_(transport->codec()),
      transport_info_(transport->info()),
      cfg_(node.config()) {
  const std::string id = random::uuid_v4();
  static_assert(kIdSize == 36);  // random::uuid_v4's length
  std::copy_n(id.data(), std::min(id.size(), id_.size()), id_.data());
  if (!request.empty()) {
    cold().request = std::move(request);
  }
  if (transport_info_.emulation || transport_info_.unidirectional) {
    cold().session = random::uuid_v4();
  }
  transport_slot_ = static_cast<uint8_t>(transport_slot(transport_info_.name));
}

Client::~Client() = default;

Client::Cold& Client::cold() {
  if (!cold_) {
    cold_ = std::make_unique<Cold>();
  }
  return *cold_;
}

const Client::Cold& Client::cold_view() const {
  static const Cold kEmpty;
  return cold_ ? *cold_ : kEmpty;
}

void Client::set_info(std::string info) {
  if (cold_ || !info.empty()) {
    cold().info = std::move(info);
  }
}

void Client::set_meta(std::string meta) {
  if (cold_ || !meta.empty()) {
    cold().meta = std::move(meta);
  }
}

const SessionClock& Client::clock() const { return node_.local().clock; }

uint32_t Client::ttl_until(int64_t expire_at) const {
  int64_t d = expire_at - clock().unix_seconds();
  return d > 0 ? static_cast<uint32_t>(d) : 0;
}

void Client::open() {
  opened_at_ = clock().now();
  // centrifuge's per-connection debug lines (fields in zerolog's sorted order); at info level
  // they cost a level check.
  logging::debug("client connection established",
                 {{"client", this->id()}, {"transport", transport_info_.name}});
  node_.register_client(this);
  count(metrics::ids().transport_connect_count, {transport_info_.name});
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
      const int64_t unix_now = clock().unix_seconds();
      const auto steady_now = clock().now();
      auto at = [&](int64_t unix_deadline) {
        return steady_now + std::chrono::seconds(std::max<int64_t>(0, unix_deadline - unix_now));
      };
      if (expire_at_ > 0 && proxy::refresh_proxy(cfg) != nullptr) {
        if (!refresh_inflight_) {
          consider(at(expire_at_));  // server-side refresh through the proxy
        }
      } else if (expire_at_ > 0) {
        auto grace =
            std::chrono::duration_cast<std::chrono::seconds>(cfg.client_expired_close_delay);
        consider(at(expire_at_ + grace.count()));
      }
      if (expiring_subs_ > 0) {
        auto grace =
            std::chrono::duration_cast<std::chrono::seconds>(cfg.client_expired_sub_close_delay);
        for (const auto& [ch, sub] : subs_) {
          if (sub->active && sub->expire_at > 0 && !sub->refresh_inflight) {
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
  // Each command's own bytes, as centrifuge's decoders see them: a JSON line, or a Protobuf
  // message after its varint length.
  const bool json = codec_.type() == protocol::ProtocolType::kJson;
  size_t pos = 0;
  for (const auto& c : cmds) {
    size_t size = frame.size();
    if (cmds.size() > 1 && json) {
      while (pos < frame.size() && frame[pos] == '\n') {
        ++pos;
      }
      size_t end = frame.find('\n', pos);
      end = end == std::string_view::npos ? frame.size() : end;
      size = end - pos;
      pos = end;
    } else if (!json) {
      uint64_t len = 0;
      int shift = 0;
      while (pos < frame.size() && shift < 64) {
        auto b = static_cast<uint8_t>(frame[pos++]);
        len |= static_cast<uint64_t>(b & 0x7f) << shift;
        shift += 7;
        if ((b & 0x80) == 0) {
          break;
        }
      }
      size = static_cast<size_t>(std::min<uint64_t>(len, frame.size() - pos));
      pos += size;
    }
    command_started(c, size);
  }
  if (!queue_) {
    queue_ = std::make_unique<CommandQueue>(CommandQueue{std::move(cmds), 0});
  } else {
    for (auto& c : cmds) {
      queue_->items.push_back(std::move(c));
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
  started_ = CommandStart{cmd.id, Method::kConnect, clock().now()};
  if (!queue_) {
    queue_ = std::make_unique<CommandQueue>();
  }
  queue_->items.push_back(std::move(cmd));
  process_commands();
}

void Client::process_commands() {
  while (inflight_ < concurrency_limit() && !closed_ && queue_ &&
         queue_->head < queue_->items.size()) {
    Command cmd = std::move(queue_->items[queue_->head++]);
    cfg_ = node_.config();  // a SIGHUP reload applies from the next command on
    in_dispatch_ = true;
    dispatch(cmd);
    in_dispatch_ = false;
  }
  if (queue_ && queue_->head >= queue_->items.size()) {
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
    r = verifier->verify_connect(token, clock().unix_seconds_f(), slot);
  } else {
    r = verifier->verify_subscribe(token, clock().unix_seconds_f(), slot);
  }
  if (!r && r.error() == auth::TokenError::kKeysNeeded) {
    park_for_jwks(cmd, verifier, std::move(fetch));
    return std::nullopt;
  }
  return r;
}

// Used by the handlers of client_commands.cc.
template std::optional<std::expected<auth::ConnectClaims, auth::TokenError>>
Client::verify_token<auth::ConnectClaims>(Command& cmd, const std::string& token);
template std::optional<std::expected<auth::SubscribeClaims, auth::TokenError>>
Client::verify_token<auth::SubscribeClaims>(Command& cmd, const std::string& token);

void Client::finish_command() {
  --inflight_;
  if (!in_dispatch_) {
    process_commands();
  }
}

void Client::send(std::string msg, std::string_view frame_type) {
  if (!closed_ && transport_ != nullptr) {
    if (auto* m = node_.metrics()) {
      const auto& mid = metrics::ids();
      m->inc(mid.transport_messages_sent, {"_", frame_type, transport_info_.name});
      m->inc(mid.transport_messages_sent_size, {"_", frame_type, transport_info_.name},
             msg.size());
    }
    transport_->send(std::move(msg));
  }
}

namespace {
// centrifuge's protocol.FrameType.String() of a command: the method's name; "unknown" for a
// command with no request (kNone; a pong is counted as "client_pong" by the caller) or one
// protocol v2 has no frame for (kPing).
std::string_view frame_type_of(Method m) {
  return m == Method::kNone || m == Method::kPing ? std::string_view("unknown")
                                                  : protocol::method_name(m);
}
}  // namespace

void Client::count(metrics::FamilyId family, std::initializer_list<std::string_view> labels,
                   uint64_t by) {
  if (auto* m = node_.metrics()) {
    m->inc(family, labels, by);
  }
}

void Client::command_started(const Command& cmd, size_t size) {
  // A pong is an empty command with id 0 (client-protocol.md §4.2).
  std::string_view type =
      cmd.id == 0 && cmd.method == Method::kNone ? "client_pong" : frame_type_of(cmd.method);
  if (auto* m = node_.metrics()) {
    const auto& mid = metrics::ids();
    m->inc(mid.transport_messages_received, {"_", type, transport_info_.name});
    m->inc(mid.transport_messages_received_size, {"_", type, transport_info_.name}, size);
  }
  if (cmd.id == 0) {
    return;
  }
  CommandStart st{cmd.id, cmd.method, clock().now()};
  if (started_.id == 0) {
    started_ = st;
  } else {
    if (!more_started_) {
      more_started_ = std::make_unique<std::vector<CommandStart>>();
    }
    more_started_->push_back(st);
  }
}

Method Client::command_replied(uint32_t id) {
  CommandStart st;
  if (id == 0) {
    return Method::kNone;
  }
  if (started_.id == id) {
    st = started_;
    started_ = {};
    if (more_started_) {
      started_ = more_started_->front();
      more_started_->erase(more_started_->begin());
    }
  } else {
    if (!more_started_) {
      return Method::kNone;
    }
    auto it = std::find_if(more_started_->begin(), more_started_->end(),
                           [id](const CommandStart& c) { return c.id == id; });
    if (it == more_started_->end()) {
      return Method::kNone;
    }
    st = *it;
    more_started_->erase(it);
  }
  if (more_started_ && more_started_->empty()) {
    more_started_.reset();  // an idle connection holds no storage
  }
  if (auto* m = node_.metrics()) {
    std::chrono::duration<double> d = clock().now() - st.started;
    m->observe(metrics::ids().client_command_duration_seconds, {frame_type_of(st.method)},
               d.count());
  }
  return st.method;
}

void Client::reply(uint32_t id, std::string msg) {
  send(std::move(msg), frame_type_of(command_replied(id)));
}

void Client::reply_error(uint32_t id, const Error& e) {
  std::string out;
  codec_.encode_error(out, id, e);
  Method m = command_replied(id);
  count(metrics::ids().client_num_reply_errors, {std::to_string(e.code), frame_type_of(m)});
  // centrifuge's line for every error reply; its `command` and `reply` fields are Go's %v of
  // the protobuf messages, Gyre names the command's method instead.
  logging::info("client command error", {{"client", this->id()},
                                         {"code", e.code},
                                         {"command", frame_type_of(m)},
                                         {"error", e.message},
                                         {"user", user_}});
  send(std::move(out), frame_type_of(m));
}

void Client::fail(uint32_t id, const Failure& f) {
  if (const auto* e = std::get_if<Error>(&f)) {
    reply_error(id, *e);
  } else {
    const auto& d = std::get<Disconnect>(f);
    if (d.code != 3000) {
      logging::info("disconnect after handling command",
                    {{"client", this->id()}, {"reason", d.reason}, {"user", user_}});
    }
    close_with(d);
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
    if (auto* m = node_.metrics()) {
      // The ping went out pong_timeout before the deadline.
      std::chrono::duration<double> d = clock().now() - (pong_deadline_ - cfg_->pong_timeout);
      m->observe(metrics::ids().client_ping_pong_duration_seconds, {transport_info_.name},
                 std::max(0.0, d.count()));
    }
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
      handle_rpc(cmd);
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
    send(std::move(out), "server_ping");
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
        node_.engine().add_presence(sub->channel, id_string(),
                                    engine::ClientInfo{user_, id_string(), cold_view().info,
                                                       sub->chan_info()},
                                    [](OpResult<bool>) {});
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
    unix_now = clock().unix_seconds();
  }
  if (expire_at_ > 0 && proxy::refresh_proxy(cfg) != nullptr) {
    if (!refresh_inflight_ && unix_now >= expire_at_) {
      refresh_via_proxy();
      if (closed_) {
        return;
      }
    }
  } else if (expire_at_ > 0) {
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
    std::vector<std::string> to_refresh;
    for (const auto& [ch, s] : subs_) {
      if (s->active && s->expire_at > 0 && unix_now > s->expire_at + grace.count()) {
        if (s->server_refresh) {
          if (!s->refresh_inflight) {
            to_refresh.emplace_back(ch);
          }
          continue;
        }
        if (s->server_side) {
          // Given to the sub refresh proxy when there is one (Centrifugo v5.4.9); the
          // connection is closed otherwise (sub_refresh_via_proxy).
          if (!s->refresh_inflight) {
            to_refresh.emplace_back(ch);
          }
          continue;
        }
        expired.emplace_back(ch);
      }
    }
    for (const auto& ch : expired) {
      remove_subscription(ch, protocol::Unsubscribe{2501, "subscription expired"});
    }
    for (const auto& ch : to_refresh) {
      sub_refresh_via_proxy(ch);
      if (closed_) {
        return;
      }
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
        s->channel, top_only, s->meta_ttl,
        [self = shared_from_this(), this, s, channel = s->channel](
            OpResult<engine::HistoryResult> r) {
          auto it = subs_.find(channel);
          if (closed_ || it == subs_.end() || it->second.get() != s) {
            return;
          }
          s->position_check_pending = false;
          if (!r) {
            return;  // checked again next period (as Centrifugo does on engine errors)
          }
          const auto& top = r->top;
          if (top.epoch == s->position.epoch && s->position.offset == top.offset) {
            s->position_check_failures = 0;
            return;
          }
          if (top.epoch == s->position.epoch && s->position.offset > top.offset) {
            // The stream lost what this subscriber saw (a failover to a replica without the
            // last writes, a restart from an older snapshot): its offsets will be reused.
            // Centrifugo requires equality too.
            insufficient_state(*s);
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
  // centrifuge logs and counts every server-side close but 3000 (connection closed).
  if (d.code != 3000) {
    logging::debug("closing client connection",
                   {{"client", this->id()}, {"reason", d.reason}, {"user", user_}});
    count(metrics::ids().client_num_server_disconnects, {std::to_string(d.code)});
  }
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
  if (logging::enabled(logging::Level::debug)) {
    logging::debug("client connection completed",
                   {{"client", this->id()},
                    {"duration", logging::go_duration(clock().now() - opened_at_)},
                    {"transport", transport_info_.name}});
  }
  started_ = {};
  more_started_.reset();
  while (!subs_.empty()) {
    remove_subscription(subs_.begin()->second->channel, std::nullopt);
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
