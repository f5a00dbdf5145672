// Subscription lifecycle of a client session: creation (presence, stream read and the
// recovery decision of recovery.h), activation after the reply, removal, live delivery with
// its continuity checks, and the server API's subscribe/unsubscribe.
#include "node/client.h"

#include "core/log.h"
#include "node/node.h"
#include "node/recovery.h"

namespace gyre::node {

void Client::start_subscription(SubscribeParams p, std::function<void(SubscribeOutcome)> done) {
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
  s->server_refresh = p.server_refresh && !p.server_side;
  s->set_chan_info(p.chan_info);
  s->meta_ttl = p.meta_ttl;
  subs_.erase(p.channel);  // the key views the subscription's string: never reassign in place
  subs_.emplace(std::string_view(s->channel), std::move(sub));
  // Registered before the engine reads the stream: publications from now on are buffered
  // and released after the reply through the position check (client-protocol.md §5.4).
  node_.local().hub.add(p.channel, s);
  count(metrics::ids().node_action_count, {"add_subscription"});

  protocol::SubscribeResult base;
  base.was_recovering = p.recover;
  base.delta = p.delta;
  base.data = p.data;
  if (p.expire_at > 0 && !s->server_refresh) {
    base.expires = true;
    base.ttl = ttl_until(p.expire_at);
  }
  const bool need_stream = s->positioned;
  // A remote broker (Redis) must deliver the channel here before the stream is read.
  const bool track = node_.engine().tracks_subscriptions();
  const int others = (p.emit_presence ? 1 : 0) + (need_stream ? 1 : 0);
  const int ops = others + (track ? 1 : 0);
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
  recovery::Request rq;
  rq.positioned = s->positioned;
  rq.recoverable = p.recoverable;
  rq.recover = p.recover;
  rq.offset = p.offset;
  rq.epoch = p.epoch;
  rq.cache_mode = p.cache_recovery;
  rq.reject_unrecovered = p.reject_unrecovered;
  auto self = shared_from_this();
  auto finish = [self, this, st, s, channel = p.channel, rq, base, done]() mutable {
    if (closed_) {
      return;
    }
    auto it = subs_.find(channel);
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
      s->position = top;
      recovery::Decision d = recovery::decide(st->hr, rq);
      if (d.unrecoverable) {
        done(std::unexpected(Failure(errors::unrecoverable_position())));
        return;
      }
      r.offset = d.offset;
      r.recovered = d.recovered;
      if (rq.recover) {
        count(metrics::ids().client_recover, {d.recovered ? "yes" : "no"});
      }
      r.publications = std::move(d.publications);
      if (r.recovered && s->delta && !r.publications.empty()) {
        // client-protocol.md §9.2 rule 5; the last one is the client's base for live patches.
        r.publications = recovery::delta_chain(
            r.publications, codec_.type() == protocol::ProtocolType::kJson);
        s->delta_ready = true;
      }
    }
    done(std::move(r));
  };
  auto step = [st, finish]() mutable {
    if (--st->left == 0) {
      finish();
    }
  };
  auto launch = [this, p, rq, st, step, need_stream]() mutable {
    if (p.emit_presence) {
      count(metrics::ids().node_action_count, {"add_presence"});
      engine::ClientInfo ci{user_, id_string(), cold_view().info, p.chan_info};
      node_.engine().add_presence(p.channel, id_string(), std::move(ci),
                                  [st, step](OpResult<bool> r) mutable {
                                    if (!r) {
                                      st->failed = true;
                                    }
                                    step();
                                  });
    }
    if (need_stream) {
      count(metrics::ids().node_action_count, {rq.recover ? "history_recover" : "history_stream_top"});
      engine::HistoryFilter f =
          recovery::history_filter(rq, cfg_->client_recovery_max_publication_limit);
      node_.engine().history(p.channel, std::move(f), p.meta_ttl,
                             [st, step](OpResult<engine::HistoryResult> r) mutable {
                               if (!r) {
                                 st->failed = true;
                               } else {
                                 st->hr = std::move(*r);
                               }
                               step();
                             });
    }
  };
  if (!track) {
    launch();
    return;
  }
  node_.engine().subscribe(
      p.channel, [self, this, s, channel = p.channel, others, st, step,
                  launch](OpResult<bool> r) mutable {
        auto it = subs_.find(channel);
        if (!r || closed_ || it == subs_.end() || it->second.get() != s) {
          st->failed = true;
          st->left -= others;
          step();
          return;
        }
        step();
        launch();
      });
}

void Client::activate_subscription(const std::string& channel) {
  auto it = subs_.find(channel);
  if (it == subs_.end() || closed_) {
    return;
  }
  ClientSubscription* s = it->second.get();
  s->active = true;
  logging::debug("client subscribed to channel",
                 {{"channel", channel}, {"client", this->id()}, {"user", user_}});
  s->last_position_check = clock().now();
  if (s->positioned && next_position_check_ == clock::TimePoint{}) {
    update_position_check_deadline();
    reschedule();
  }
  if (s->expire_at > 0) {
    ++expiring_subs_;
    reschedule();
  }
  if (s->emit_join_leave) {
    count(metrics::ids().node_messages_sent_count, {"join"});
    node_.engine().publish_join(
        channel, engine::ClientInfo{user_, id_string(), cold_view().info, s->chan_info()});
  }
  auto buffered = s->take_buffer();
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
  logging::debug("client unsubscribed from channel",
                 {{"channel", channel}, {"client", this->id()}, {"user", user_}});
  node_.local().hub.remove(channel, sub.get());
  count(metrics::ids().node_action_count, {"remove_subscription"});
  if (node_.engine().tracks_subscriptions()) {
    node_.engine().unsubscribe(channel);
  }
  if (sub->emit_presence) {
    count(metrics::ids().node_action_count, {"remove_presence"});
    node_.engine().remove_presence(channel, id_string(), user_, nullptr);
  }
  if (sub->active) {
    if (sub->emit_join_leave) {
      count(metrics::ids().node_messages_sent_count, {"leave"});
      node_.engine().publish_leave(
          channel, engine::ClientInfo{user_, id_string(), cold_view().info, sub->chan_info()});
    }
    if (sub->expire_at > 0) {
      --expiring_subs_;
    }
  }
  if (push && !closed_) {
    std::string out;
    codec_.encode_unsubscribe(out, channel, *push, transport_info_.unidirectional);
    count(metrics::ids().client_num_server_unsubscribes, {std::to_string(push->code)});
    send(std::move(out), "push_unsubscribe");
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
    sub.buffer_push(f);
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
    if (max_lag > 0 && pub.time > 0 && clock().unix_ms() - pub.time > max_lag) {
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
    count_push(*f, form);
    transport_->send_shared(f, form);
    return;
  }
  count_push(*f, hub::Fanout::Form::kPlain);
  transport_->send_shared(f);
}

void Client::count_push(const hub::Fanout& f, hub::Fanout::Form form) {
  static constexpr std::string_view kTypes[] = {"push_publication", "push_join", "push_leave"};
  const auto kind = static_cast<size_t>(f.kind);
  // The JSON push is {"push":{...}}; unidirectional transports send the bare Push inside.
  constexpr size_t kWrapper = sizeof(R"({"push":})") - 1;
  uint64_t bytes = 0;
  if (codec_.type() == protocol::ProtocolType::kJson && form == hub::Fanout::Form::kPlain) {
    bytes = transport_info_.unidirectional && f.json.size() > kWrapper ? f.json.size() - kWrapper
                                                                        : f.json.size();
  }
  if (transport_slot_ >= kOtherTransport) {
    count(metrics::ids().transport_messages_sent, {"_", kTypes[kind], transport_info_.name});
    count(metrics::ids().transport_messages_sent_size, {"_", kTypes[kind], transport_info_.name},
          bytes);
    return;
  }
  auto& slot = node_.local().push_series[kind][transport_slot_];
  if (slot.count == nullptr) {
    auto& m = node_.local().metrics;
    slot.count = &m.at(metrics::ids().transport_messages_sent,
                       {"_", kTypes[kind], transport_info_.name});
    slot.bytes = &m.at(metrics::ids().transport_messages_sent_size,
                       {"_", kTypes[kind], transport_info_.name});
  }
  ++slot.count->count;
  slot.bytes->count += bytes;
}

// ------------------------------------------------------------------- server API operations

void Client::api_subscribe(SubscribeParams p) {
  if (closed_ || !authenticated_ || subs_.count(p.channel) != 0) {
    return;
  }
  std::string ch = p.channel;
  std::string data = p.data;
  auto self = shared_from_this();
  start_subscription(std::move(p), [self, this, ch, data](SubscribeOutcome res) {
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
    send(std::move(out), "push_subscribe");
    for (const auto& pub : res->publications) {
      std::string msg;
      codec_.encode_pub(msg, ch, *pub, transport_info_.unidirectional);
      send(std::move(msg), "push_publication");
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

}  // namespace gyre::node
