#include "api/executor.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <map>
#include <chrono>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/glob.h"
#include "core/log.h"
#include "channel/channel.h"
#include "core/base64.h"
#include "core/clock.h"
#include "core/sharded.h"
#include "node/client.h"
#include "node/cluster.h"
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

// A float64 as Go's encoding/json writes it: shortest round-trip digits, plain notation for
// 1e-6 <= |v| < 1e21, else exponent notation with "e-07" shortened to "e-7". False for NaN
// and infinities, which Go refuses to encode.
bool append_go_float(std::string& out, double v) {
  if (!std::isfinite(v)) {
    return false;
  }
  if (v == 0) {
    out += '0';
    return true;
  }
  // The shortest round-trip digits, from the scientific form "-d.ddde+XX".
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  const bool negative = sci.front() == '-';
  if (negative) {
    sci.remove_prefix(1);
  }
  const size_t e_pos = sci.find('e');
  int exponent = 0;
  std::from_chars(sci.data() + e_pos + (sci[e_pos + 1] == '+' ? 2 : 1), sci.data() + sci.size(),
                  exponent);
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') {
      digits += c;
    }
  }
  if (negative) {
    out += '-';
  }
  const double a = std::fabs(v);
  if (a < 1e-6 || a >= 1e21) {
    // Go: 'e' format, at least two exponent digits, then "e-07" shortened to "e-7".
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += exponent < 0 ? "e-" : "e+";
    const int ae = exponent < 0 ? -exponent : exponent;
    if (ae < 10 && exponent >= 0) {
      out += '0';
    }
    out += std::to_string(ae);
    return true;
  }
  // Go: 'f' format with the shortest digits, zero-padded (9223372036854775808 is written
  // 9223372036854776000).
  const int point = exponent + 1;  // digits before the decimal point
  const int n = static_cast<int>(digits.size());
  if (point <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-point), '0');
    out += digits;
  } else if (point >= n) {
    out += digits;
    out.append(static_cast<size_t>(point - n), '0');
  } else {
    out.append(digits, 0, static_cast<size_t>(point));
    out += '.';
    out.append(digits, static_cast<size_t>(point));
  }
  return true;
}

// centrifuge's subscription source of server API subscriptions (Centrifugo subsource.ServerAPI).
constexpr uint32_t kSubscribeSourceServerApi = 10;

// After the local part of a user action: sends `cmd` to the other nodes when the node is in
// a cluster (as centrifuge's Node.Subscribe/Unsubscribe/Disconnect/Refresh do after the local
// hub), then answers {} — or error 100 when the broker did not take the command.
std::function<void()> then_cluster(node::Node& node, node::control::Command cmd,
                                   OutcomeCallback done) {
  return [&node, cmd = std::move(cmd), done = std::move(done)]() mutable {
    node::Cluster* cluster = node.cluster();
    if (cluster == nullptr) {
      done(empty_result());
      return;
    }
    cluster->broadcast(std::move(cmd), [done = std::move(done)](OpResult<bool> r) mutable {
      if (!r) {
        done(std::unexpected(api_errors::internal()));
        return;
      }
      done(empty_result());
    });
  };
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

// Centrifugo's API handlers log their errors (error level, fields in zerolog's sorted order);
// an invalid b64data is answered without a line, as there.
void Executor::publish(PublishRequest r, OutcomeCallback done) const {
  if (r.channel.empty()) {
    logging::error("channel required for publish");
    return done(std::unexpected(api_errors::bad_request()));
  }
  auto payload = payload_of(r.data, r.b64data);
  if (payload && payload->empty()) {
    logging::error("data required for publish");
  }
  if (!payload || payload->empty()) {
    return done(std::unexpected(api_errors::bad_request()));
  }
  publish_one(r.channel, *payload, false, PublishArgs::of(r), std::move(done));
}

void Executor::publish_one(const std::string& channel, const std::string& payload, bool broadcast,
                           const PublishArgs& args, OutcomeCallback done) const {
  if (channel.empty()) {
    logging::error("channel can not be blank in broadcast");
    return done(std::unexpected(api_errors::bad_request()));
  }
  auto cfg = node_.config();
  const auto* o = lookup(*cfg, channel);
  if (o == nullptr) {
    if (broadcast) {
      logging::error("can't find namespace for channel", {{"channel", channel}});
    }
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
      [done = std::move(done), channel, broadcast](OpResult<protocol::StreamPosition> res) {
        if (!res) {
          logging::error(broadcast ? "error publishing data to channel during broadcast"
                                   : "error publishing data to channel",
                         {{"channel", channel}, {"error", res.error().message}});
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
    logging::error("channels required for broadcast");
    return done(std::unexpected(api_errors::bad_request()));
  }
  auto payload = payload_of(r.data, r.b64data);
  if (payload && payload->empty()) {
    logging::error("data required for broadcast");
  }
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
    publish_one(r.channels[i], *payload, true, args, [st, i](Outcome o) {
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
  node::control::Command cmd;
  if (node_.cluster() != nullptr) {
    auto& m = cmd.subscribe.emplace();
    m.user = r.user;
    m.channel = p.channel;
    m.emit_presence = p.emit_presence;
    m.emit_join_leave = p.emit_join_leave;
    m.push_join_leave = p.push_join_leave;
    m.position = p.positioned;
    m.recover = p.recoverable;
    m.expire_at = p.expire_at;
    m.channel_info = p.chan_info;
    m.data = p.data;
    m.client = r.client;
    m.session = r.session;
    if (r.recover_since) {
      m.recover_since = node::control::StreamPosition{p.offset, p.epoch};
    }
    m.source = kSubscribeSourceServerApi;
  }
  node_.for_each_connection(
      std::move(r.user), std::move(r.client), std::move(r.session),
      [p = std::move(p)](node::Client& c) { c.api_subscribe(p); },
      then_cluster(node_, std::move(cmd), std::move(done)));
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
  node::control::Command cmd;
  if (node_.cluster() != nullptr) {
    // Centrifugo's API sends the default server unsubscribe (2000, "server unsubscribe").
    cmd.unsubscribe = node::control::Unsubscribe{r.channel, r.user, r.client, r.session,
                                                 2000, "server unsubscribe"};
  }
  node_.for_each_connection(
      std::move(r.user), std::move(r.client), std::move(r.session),
      [ch = std::move(r.channel)](node::Client& c) { c.api_unsubscribe(ch); },
      then_cluster(node_, std::move(cmd), std::move(done)));
}

void Executor::disconnect(DisconnectRequest r, OutcomeCallback done) const {
  Disconnect d = r.disconnect ? *r.disconnect : disconnects::force_no_reconnect();
  node::control::Command cmd;
  if (node_.cluster() != nullptr) {
    auto& m = cmd.disconnect.emplace();
    m.user = r.user;
    m.whitelist = r.whitelist;
    m.code = d.code;
    m.reason = d.reason;
    m.client = r.client;
    m.session = r.session;
  }
  node_.for_each_connection(
      std::move(r.user), std::move(r.client), std::move(r.session),
      [d = std::move(d), whitelist = std::move(r.whitelist)](node::Client& c) {
        if (std::find(whitelist.begin(), whitelist.end(), c.id()) != whitelist.end()) {
          return;
        }
        c.disconnect(d);
      },
      then_cluster(node_, std::move(cmd), std::move(done)));
}

void Executor::refresh(RefreshRequest r, OutcomeCallback done) const {
  node::control::Command cmd;
  if (node_.cluster() != nullptr) {
    cmd.refresh = node::control::Refresh{r.user,      r.client, r.expired,
                                         r.expire_at, r.info,   r.session};
  }
  node_.for_each_connection(
      std::move(r.user), std::move(r.client), std::move(r.session),
      [expired = r.expired, expire_at = r.expire_at, info = std::move(r.info)](node::Client& c) {
        c.api_refresh(expired, expire_at, info);
      },
      then_cluster(node_, std::move(cmd), std::move(done)));
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
  node::Node* node = &node_;
  // Centrifugo runs the channels API as a node survey (op "channels"), even on one node:
  // node_action_count{action="survey"} and node_survey_duration_seconds{op="channels"}.
  if (auto* m = node_.metrics()) {
    m->inc(metrics::ids().node_action_count, {"survey"});
  }
  const auto started = std::chrono::steady_clock::now();
  node_.channel_counts([node, started, pattern = std::move(r.pattern), glob = std::move(glob),
                        done = std::move(done)](std::map<std::string, uint64_t> local) mutable {
    // nullptr: a failed survey, error 100 as Centrifugo's.
    auto finish = [node, started, glob = std::move(glob), done = std::move(done)](
                      const std::map<std::string, uint64_t>* counts) {
      if (auto* m = node->metrics()) {
        std::chrono::duration<double> d = std::chrono::steady_clock::now() - started;
        m->observe(metrics::ids().node_survey_duration_seconds, {"channels"}, d.count());
      }
      if (counts == nullptr) {
        done(std::unexpected(api_errors::internal()));
        return;
      }
      const auto& merged = *counts;
      std::string out;
      JsonWriter w(out);
      w.begin_object();
      w.key("channels");
      w.begin_object();
      for (const auto& [name, n] : merged) {  // sorted keys, as Go encodes maps
        if (glob && !glob->match(name)) {
          continue;
        }
        w.key_escaped(name);
        w.begin_object();
        w.field_uint("num_clients", n);
        w.end_object();
      }
      w.end_object();
      w.end_object();
      done(Outcome(std::move(out)));
    };
    node::Cluster* cluster = node->cluster();
    if (cluster == nullptr) {
      finish(&local);
      return;
    }
    // Centrifugo's channels survey: every other node answers with its own counts.
    cluster->survey(
        std::string(node::control::kChannelsOp), node::control::encode_channels_request(pattern),
        "",
        [local = std::move(local), finish = std::move(finish)](
            OpResult<node::Cluster::SurveyResults> res) mutable {
          if (!res) {
            return finish(nullptr);
          }
          for (const auto& [uid, answer] : *res) {
            auto counts = answer.code == 0
                              ? node::control::decode_channels_result(answer.data)
                              : std::nullopt;
            if (!counts) {
              logging::error("error calling channels",
                             {{"error", "undecodable answer"}, {"node", uid}, {"code", answer.code}});
              return finish(nullptr);
            }
            for (const auto& [name, n] : *counts) {
              local[name] += n;
            }
          }
          finish(&local);
        });
  });
}

void Executor::info(OutcomeCallback done) const {
  node::Node* node = &node_;
  node_.stats([node, done = std::move(done)](node::Node::Stats s) mutable {
    auto write = [node, s, done = std::move(done)](
                     const std::optional<node::control::Metrics>& own,
                     const std::vector<node::control::NodeInfo>& peers) {
      std::string out;
      bool encodable = true;
      JsonWriter w(out);
      // A node's metrics snapshot, as Centrifugo's API writes it (items: Go's sorted map keys).
      auto write_metrics = [&w, &encodable](const node::control::Metrics& m) {
        std::string num;
        encodable = encodable && append_go_float(num, m.interval);
        w.key("metrics");
        w.begin_object();
        w.field_raw("interval", num);
        w.key("items");
        w.begin_object();
        for (const auto& [k, v] : m.items) {
          num.clear();
          encodable = encodable && append_go_float(num, v);
          w.key_escaped(k);
          w.raw(num.empty() ? "0" : num);
        }
        w.end_object();
        w.end_object();
      };
      w.begin_object();
      w.key("nodes");
      w.begin_array();
      w.begin_object();
      w.field("uid", node->id());
      w.field("name", node->name());
      w.field("version", node::Node::kVersion);
      w.field_uint("num_clients", s.num_clients);
      w.field_uint("num_users", s.num_users);
      w.field_uint("num_channels", s.num_channels);
      if (int64_t up = node->uptime_seconds(); up > 0) {
        w.field_uint("uptime", static_cast<uint64_t>(up));
      }
      if (own) {
        write_metrics(*own);
      }
      w.field_uint("num_subs", s.num_subs);
      w.end_object();
      for (const auto& p : peers) {
        w.begin_object();
        w.field("uid", p.uid);
        w.field("name", p.name);
        w.field("version", p.version);
        w.field_uint("num_clients", p.num_clients);
        w.field_uint("num_users", p.num_users);
        w.field_uint("num_channels", p.num_channels);
        if (p.uptime > 0) {
          w.field_uint("uptime", p.uptime);
        }
        if (p.metrics) {
          write_metrics(*p.metrics);
        }
        w.field_uint("num_subs", p.num_subs);
        w.end_object();
      }
      w.end_array();
      w.end_object();
      if (!encodable) {
        done(std::unexpected(api_errors::unencodable()));
        return;
      }
      done(Outcome(std::move(out)));
    };
    node::Cluster* cluster = node->cluster();
    if (cluster == nullptr) {
      write(std::nullopt, {});
      return;
    }
    cluster->own_metrics([cluster, write = std::move(write)](
                             std::optional<node::control::Metrics> own) mutable {
      cluster->peers([own = std::move(own), write = std::move(write)](
                         std::vector<node::control::NodeInfo> peers) mutable {
        write(own, peers);
      });
    });
  });
}

void Executor::rpc(RpcRequest r, OutcomeCallback done) const {
  // OSS registers no server-side RPC extensions (server-api.md §1.7.13).
  done(        std::unexpected(r.method.empty() ? api_errors::bad_request() : api_errors::not_found()));
}

}  // namespace gyre::api
