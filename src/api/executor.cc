#include "api/executor.h"

#include <algorithm>
#include <map>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/glob.h"
#include "channel/channel.h"
#include "core/base64.h"
#include "core/clock.h"
#include "core/sharded.h"
#include "node/client.h"
#include "node/node.h"
#include "protocol/codec.h"
#include "protocol/json_entities.h"
#include "protocol/json_writer.h"

namespace gyre::api {
namespace {

using protocol::JsonWriter;

const config::ChannelOptions* lookup(const config::Config& cfg, const std::string& ch) {
  channel::Resolved r;
  if (!channel::resolve(cfg, ch, r)) {
    return nullptr;
  }
  return r.options;
}

// Publications as the server API writes them (Go's encoding/json over Centrifugo's API
// types): raw JSON compacted, tags sorted, no delta flag or epoch.
constexpr protocol::PublicationJson kApiPublication{.raw = protocol::RawJson::kCompact,
                                                   .delta_flag = false,
                                                   .sorted_tags = true};

Outcome empty_result() { return Outcome("{}"); }

// Index of `st` among the node's shards.
unsigned shard_index(node::Node& node, const node::NodeShard& st) {
  for (unsigned i = 0; i < node.shards().size(); ++i) {
    if (&node.shard_state(i) == &st) {
      return i;
    }
  }
  return 0;
}

}  // namespace

void Executor::execute(Method m, AnyRequest req, OutcomeCallback done) const {
  // centrifugo_api_command_duration_seconds{,_histogram}: from the decoded request to the
  // result, per method, as Centrifugo's handlers observe it (every batch item included).
  if (node_.metrics() == nullptr) {
    run(m, std::move(req), std::move(done));
    return;
  }
  auto started = clock::now();
  node::Node* node = &node_;
  run(m, std::move(req), [node, m, started, done = std::move(done)](Outcome o) {
    if (auto* mt = node->metrics()) {
      std::chrono::duration<double> d = clock::now() - started;
      const auto& id = metrics::ids();
      mt->observe(id.api_command_duration_seconds, {method_name(m), "http"}, d.count());
      mt->observe(id.api_command_duration_seconds_histogram, {method_name(m), "http"},
                  d.count());
    }
    done(std::move(o));
  });
}

void Executor::count_action(std::string_view action) const {
  if (auto* m = node_.metrics()) {
    m->inc(metrics::ids().node_action_count, {action});
  }
}

void Executor::run(Method m, AnyRequest req, OutcomeCallback done) const {
  switch (m) {
    case Method::kPublish:
      return publish(std::get<PublishRequest>(std::move(req)), std::move(done));
    case Method::kBroadcast:
      return broadcast(std::get<BroadcastRequest>(std::move(req)), std::move(done));
    case Method::kSubscribe:
      return subscribe(std::get<SubscribeRequest>(std::move(req)), std::move(done));
    case Method::kUnsubscribe:
      return unsubscribe(std::get<UnsubscribeRequest>(std::move(req)), std::move(done));
    case Method::kDisconnect:
      return disconnect(std::get<DisconnectRequest>(std::move(req)), std::move(done));
    case Method::kRefresh:
      return refresh(std::get<RefreshRequest>(std::move(req)), std::move(done));
    case Method::kPresence:
      return presence(std::get<ChannelRequest>(std::move(req)), std::move(done));
    case Method::kPresenceStats:
      return presence_stats(std::get<ChannelRequest>(std::move(req)), std::move(done));
    case Method::kHistory:
      return history(std::get<HistoryRequest>(std::move(req)), std::move(done));
    case Method::kHistoryRemove:
      return history_remove(std::get<ChannelRequest>(std::move(req)), std::move(done));
    case Method::kChannels:
      return channels(std::get<ChannelsRequest>(std::move(req)), std::move(done));
    case Method::kInfo:
      return info(std::move(done));
    case Method::kRpc:
      return rpc(std::get<RpcRequest>(std::move(req)), std::move(done));
  }
}

// ------------------------------------------------------------------ publish, broadcast

namespace {

// b64data wins over data when non-empty (§1.7.1 step 2). nullopt: invalid base64.
std::optional<std::string> payload_of(std::string& data, const std::string& b64data) {
  if (!b64data.empty()) {
    return base64::decode_std(b64data);
  }
  return std::move(data);
}

}  // namespace

void Executor::publish(PublishRequest r, OutcomeCallback done) const {
  if (r.channel.empty()) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  auto payload = payload_of(r.data, r.b64data);
  if (!payload || payload->empty()) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  publish_one(r.channel, *payload, PublishArgs::of(r), std::move(done));
}

void Executor::publish_one(const std::string& channel, const std::string& payload,
                           const PublishArgs& args, OutcomeCallback done) const {
  if (channel.empty()) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  auto cfg = node_.config();
  const auto* o = lookup(*cfg, channel);
  if (o == nullptr) {
    return done(std::unexpected(api_errors::unknown_channel()));
  }
  protocol::Publication pub;
  pub.data = payload;
  pub.data_is_json = args.data_is_json;
  pub.tags = args.tags;  // sorted: built from a std::map
  pub.time = clock::unix_ms();
  engine::PublishOptions opts;
  if (!args.skip_history) {
    opts.history = {o->history_size, o->history_ttl, cfg->meta_ttl(*o)};
  } else {
    opts.history.meta_ttl = cfg->meta_ttl(*o);
  }
  opts.idempotency_key = args.idempotency_key;
  opts.delta = args.delta || o->delta_publish;
  if (auto* m = node_.metrics()) {
    m->inc(metrics::ids().node_messages_sent_count, {"publication"});
  }
  node_.engine().publish(
      channel, std::move(pub), std::move(opts),
      [done = std::move(done)](OpResult<protocol::StreamPosition> res) {
        if (!res) {
          return done(std::unexpected(api_errors::internal()));
        }
        std::string out;
        JsonWriter w(out);
        w.begin_object();
        if (res->offset > 0) {
          w.field_uint("offset", res->offset);
        }
        if (!res->epoch.empty()) {
          w.field("epoch", res->epoch);
        }
        w.end_object();
        done(Outcome(std::move(out)));
      });
}

void Executor::broadcast(BroadcastRequest r, OutcomeCallback done) const {
  if (r.channels.empty()) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  auto payload = payload_of(r.data, r.b64data);
  if (!payload || payload->empty()) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  PublishArgs args = PublishArgs::of(r);
  // Items complete on this shard, in any order; the responses keep the channels' order.
  struct State {
    std::vector<Outcome> items;
    size_t left;
    OutcomeCallback done;
  };
  auto st = std::make_shared<State>(
      State{std::vector<Outcome>(r.channels.size()), r.channels.size(), std::move(done)});
  for (size_t i = 0; i < r.channels.size(); ++i) {
    publish_one(r.channels[i], *payload, args, [st, i](Outcome o) {
      st->items[i] = std::move(o);
      if (--st->left != 0) {
        return;
      }
      std::string out;
      JsonWriter w(out);
      w.begin_object();
      w.key("responses");
      w.begin_array();
      for (const auto& item : st->items) {
        w.begin_object();
        if (!item) {
          w.key("error");
          w.begin_object();
          w.field_uint("code", item.error().code);
          w.field("message", item.error().message);
          w.end_object();
        } else {
          w.field_raw("result", *item);
        }
        w.end_object();
      }
      w.end_array();
      w.end_object();
      st->done(Outcome(std::move(out)));
    });
  }
}

// ------------------------------------------------------------------ live connections

void Executor::subscribe(SubscribeRequest r, OutcomeCallback done) const {
  if (r.channel.empty()) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  auto cfg = node_.config();
  const auto* o = lookup(*cfg, r.channel);
  if (o == nullptr) {
    return done(std::unexpected(api_errors::unknown_channel()));
  }
  node::SubscribeParams p;
  p.channel = r.channel;
  p.server_side = true;
  p.emit_presence = o->presence;
  p.emit_join_leave = o->join_leave;
  p.push_join_leave = o->force_push_join_leave;
  p.positioned = o->force_positioning;
  p.recoverable = o->force_recovery;
  // Reference: force_recovery_mode is not passed to API subscriptions (stream recovery).
  if (r.override_) {
    const auto& ov = *r.override_;
    p.emit_presence = ov.presence.value_or(p.emit_presence);
    p.emit_join_leave = ov.join_leave.value_or(p.emit_join_leave);
    p.push_join_leave = ov.force_push_join_leave.value_or(p.push_join_leave);
    p.positioned = ov.force_positioning.value_or(p.positioned);
    p.recoverable = ov.force_recovery.value_or(p.recoverable);
  }
  // The reference ignores b64info/b64data; decoding them is the documented behaviour and a
  // compatible superset (server-api.md §1.7.3).
  auto info = payload_of(r.info, r.b64info);
  auto data = payload_of(r.data, r.b64data);
  if (!info || !data) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  p.chan_info = std::move(*info);
  p.data = std::move(*data);
  p.expire_at = r.expire_at;
  if (r.recover_since) {
    p.recover = true;
    p.offset = r.recover_since->offset;
    p.epoch = r.recover_since->epoch;
  }
  p.meta_ttl = cfg->meta_ttl(*o);
  node_.for_each_connection(
      std::move(r.user), std::move(r.client), std::move(r.session),
      [p = std::move(p)](node::Client& c) { c.api_subscribe(p); },
      [done = std::move(done)] { done(empty_result()); });
}

void Executor::unsubscribe(UnsubscribeRequest r, OutcomeCallback done) const {
  if (r.channel.empty()) {
    // v5.4.9 only emits a stray push with an empty channel; a no-op is the recommended
    // equivalent (server-api.md §1.7.4).
    return done(empty_result());
  }
  if (lookup(*node_.config(), r.channel) == nullptr) {
    return done(std::unexpected(api_errors::unknown_channel()));
  }
  node_.for_each_connection(
      std::move(r.user), std::move(r.client), std::move(r.session),
      [ch = std::move(r.channel)](node::Client& c) { c.api_unsubscribe(ch); },
      [done = std::move(done)] { done(empty_result()); });
}

void Executor::disconnect(DisconnectRequest r, OutcomeCallback done) const {
  Disconnect d = r.disconnect ? *r.disconnect : disconnects::force_no_reconnect();
  node_.for_each_connection(
      std::move(r.user), std::move(r.client), std::move(r.session),
      [d = std::move(d), whitelist = std::move(r.whitelist)](node::Client& c) {
        if (std::find(whitelist.begin(), whitelist.end(), c.id()) != whitelist.end()) {
          return;
        }
        c.disconnect(d);
      },
      [done = std::move(done)] { done(empty_result()); });
}

void Executor::refresh(RefreshRequest r, OutcomeCallback done) const {
  node_.for_each_connection(
      std::move(r.user), std::move(r.client), std::move(r.session),
      [expired = r.expired, expire_at = r.expire_at, info = std::move(r.info)](node::Client& c) {
        c.api_refresh(expired, expire_at, info);
      },
      [done = std::move(done)] { done(empty_result()); });
}

// ------------------------------------------------------------------ presence, history

void Executor::presence(ChannelRequest r, OutcomeCallback done) const {
  if (r.channel.empty()) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  const auto* o = lookup(*node_.config(), r.channel);
  if (o == nullptr) {
    return done(std::unexpected(api_errors::unknown_channel()));
  }
  if (!o->presence) {
    return done(std::unexpected(api_errors::not_available()));
  }
  count_action("presence");
  node_.engine().presence(
      r.channel,
      [done = std::move(done)](
          OpResult<std::vector<std::pair<std::string, protocol::ClientInfo>>> res) {
        if (!res) {
          return done(std::unexpected(api_errors::internal()));
        }
        auto entries = std::move(*res);
        std::sort(entries.begin(), entries.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        std::string out;
        JsonWriter w(out);
        w.begin_object();
        w.key("presence");
        w.begin_object();
        for (const auto& [client, info] : entries) {
          w.key_escaped(client);
          if (!protocol::write_client_info(w, info, protocol::RawJson::kCompact)) {
            return done(std::unexpected(api_errors::unencodable()));
          }
        }
        w.end_object();
        w.end_object();
        done(Outcome(std::move(out)));
      });
}

void Executor::presence_stats(ChannelRequest r, OutcomeCallback done) const {
  if (r.channel.empty()) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  const auto* o = lookup(*node_.config(), r.channel);
  if (o == nullptr) {
    return done(std::unexpected(api_errors::unknown_channel()));
  }
  if (!o->presence) {
    return done(std::unexpected(api_errors::not_available()));
  }
  count_action("presence_stats");
  node_.engine().presence_stats(
      r.channel, [done = std::move(done)](OpResult<engine::PresenceStats> res) {
        if (!res) {
          return done(std::unexpected(api_errors::internal()));
        }
        std::string out;
        JsonWriter w(out);
        w.begin_object();
        w.field_uint("num_clients", res->num_clients);
        w.field_uint("num_users", res->num_users);
        w.end_object();
        done(Outcome(std::move(out)));
      });
}

void Executor::history(HistoryRequest r, OutcomeCallback done) const {
  if (r.channel.empty()) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  auto cfg = node_.config();
  const auto* o = lookup(*cfg, r.channel);
  if (o == nullptr) {
    return done(std::unexpected(api_errors::unknown_channel()));
  }
  if (!o->history_enabled()) {
    return done(std::unexpected(api_errors::not_available()));
  }
  if (r.reverse && r.since && r.since->offset == 0) {
    // Reference quirk: the library's "bad request" is mapped to 100 (server-api.md §1.7.9).
    return done(std::unexpected(api_errors::internal()));
  }
  engine::HistoryFilter filter;
  filter.since = r.since;
  filter.limit = r.limit;
  filter.reverse = r.reverse;
  count_action("history");
  node_.engine().history(
      r.channel, filter, cfg->meta_ttl(*o),
      [done = std::move(done)](OpResult<engine::HistoryResult> res) {
        if (!res) {
          return done(std::unexpected(api_errors::internal()));
        }
        if (res->epoch_mismatch) {
          return done(std::unexpected(api_errors::unrecoverable_position()));
        }
        std::string out;
        JsonWriter w(out);
        w.begin_object();
        w.key("publications");
        w.begin_array();
        for (const auto& pub : res->publications) {
          if (!protocol::write_publication(w, *pub, kApiPublication)) {
            return done(std::unexpected(api_errors::unencodable()));
          }
        }
        w.end_array();
        w.field("epoch", res->top.epoch);
        w.field_uint("offset", res->top.offset);
        w.end_object();
        done(Outcome(std::move(out)));
      });
}

void Executor::history_remove(ChannelRequest r, OutcomeCallback done) const {
  if (r.channel.empty()) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  const auto* o = lookup(*node_.config(), r.channel);
  if (o == nullptr) {
    return done(std::unexpected(api_errors::unknown_channel()));
  }
  if (!o->history_enabled()) {
    return done(std::unexpected(api_errors::not_available()));
  }
  count_action("history_remove");
  node_.engine().remove_history(r.channel,
                                [done = std::move(done)](OpResult<bool> res) {
                                  if (!res) {
                                    return done(std::unexpected(api_errors::internal()));
                                  }
                                  done(empty_result());
                                });
}

// ------------------------------------------------------------------ channels, info, rpc

void Executor::channels(ChannelsRequest r, OutcomeCallback done) const {
  std::optional<Glob> glob;
  if (!r.pattern.empty()) {
    glob = Glob::compile(r.pattern);
    if (!glob) {
      return done(std::unexpected(api_errors::internal()));
    }
  }
  using Counts = std::vector<std::pair<std::string, size_t>>;
  auto slots = std::make_shared<std::vector<Counts>>(node_.shards().size());
  node::Node* node = &node_;
  node_.for_each_shard(
      [slots, node](node::NodeShard& st) {
        Counts& mine = (*slots)[shard_index(*node, st)];
        st.hub.for_each_channel([&mine](const std::string& name, size_t n) {
          if (n > 0) {
            mine.emplace_back(name, n);
          }
        });
      },
      [slots, glob = std::move(glob), done = std::move(done)] {
        std::map<std::string, uint64_t> merged;  // sorted keys, as Go encodes maps
        for (const auto& counts : *slots) {
          for (const auto& [name, n] : counts) {
            if (!glob || glob->match(name)) {
              merged[name] += n;
            }
          }
        }
        std::string out;
        JsonWriter w(out);
        w.begin_object();
        w.key("channels");
        w.begin_object();
        for (const auto& [name, n] : merged) {
          w.key_escaped(name);
          w.begin_object();
          w.field_uint("num_clients", n);
          w.end_object();
        }
        w.end_object();
        w.end_object();
        done(Outcome(std::move(out)));
      });
}

void Executor::info(OutcomeCallback done) const {
  struct Slot {
    size_t num_channels = 0;
    size_t num_subs = 0;
    std::vector<std::string> names;  // only with several shards (distinct count)
  };
  auto slots = std::make_shared<std::vector<Slot>>(node_.shards().size());
  node::Node* node = &node_;
  bool many = node_.shards().size() > 1;
  node_.for_each_shard(
      [slots, node, many](node::NodeShard& st) {
        Slot& s = (*slots)[shard_index(*node, st)];
        s.num_channels = st.hub.num_channels();
        s.num_subs = st.hub.num_subscriptions();
        if (many) {
          st.hub.for_each_channel(
              [&s](const std::string& name, size_t) { s.names.push_back(name); });
        }
      },
      [slots, node, many, done = std::move(done)] {
        uint64_t num_subs = 0;
        uint64_t num_channels = 0;
        std::unordered_set<std::string_view> distinct;
        for (const auto& s : *slots) {
          num_subs += s.num_subs;
          num_channels += s.num_channels;
          distinct.insert(s.names.begin(), s.names.end());
        }
        if (many) {
          num_channels = distinct.size();
        }
        std::string out;
        JsonWriter w(out);
        w.begin_object();
        w.key("nodes");
        w.begin_array();
        w.begin_object();
        w.field("uid", node->id());
        w.field("name", node->name());
        w.field("version", node::Node::kVersion);
        w.field_uint("num_clients", node->num_clients());
        w.field_uint("num_users", node->num_users());
        w.field_uint("num_channels", num_channels);
        if (int64_t up = node->uptime_seconds(); up > 0) {
          w.field_uint("uptime", static_cast<uint64_t>(up));
        }
        w.field_uint("num_subs", num_subs);
        w.end_object();
        w.end_array();
        w.end_object();
        done(Outcome(std::move(out)));
      });
}

void Executor::rpc(RpcRequest r, OutcomeCallback done) const {
  // OSS registers no server-side RPC extensions (server-api.md §1.7.13).
  done(        std::unexpected(r.method.empty() ? api_errors::bad_request() : api_errors::not_found()));
}

}  // namespace gyre::api
