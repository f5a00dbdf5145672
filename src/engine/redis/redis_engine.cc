#include "engine/redis/redis_engine.h"

#include <charconv>
#include <optional>
#include <unordered_set>

#include "core/log.h"
#include "core/random.h"
#include "engine/redis/redis_sharding.h"

namespace gyre::engine::redis {

namespace {

// Centrifuge sends subscriptions in batches of at most 512 channels (reference.md §7).
constexpr size_t kSubscribeBatch = 512;
// Reading a stream back after a PUB/SUB reconnect: tries while the command connection is
// down, and the pause between them (publications of the channel wait meanwhile).
constexpr int kVerifyAttempts = 20;
constexpr std::chrono::milliseconds kVerifyRetry{100};

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Moves a stream to a new epoch when it is still in the old one. KEYS: meta. ARGV: old
// epoch, new epoch. Returns the stream's epoch afterwards ("" without a meta key: the next
// publication starts a new stream anyway). The field is the one Centrifugo's scripts read.
constexpr std::string_view kChangeEpoch = R"lua(
local e = redis.call("hget", KEYS[1], "e")
if e == ARGV[1] then
  redis.call("hset", KEYS[1], "e", ARGV[2])
  return ARGV[2]
end
if not e then
  return ""
end
return e
)lua";

// The stream's epoch, top offset and the publication at one offset ("" when not there).
// KEYS: stream, meta. ARGV: offset.
constexpr std::string_view kStreamEntryAt = R"lua(
local m = redis.call("hmget", KEYS[2], "e", "s")
local d = ""
local entry = redis.call("xrange", KEYS[1], ARGV[1], ARGV[1])
if #entry > 0 then
  local fields = entry[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == "d" then
      d = fields[i + 1]
      break
    end
  end
end
return {m[1] or "", m[2] or "0", d}
)lua";

// Integer replies of the scripts arrive as integers (Lua numbers) or strings (values read
// back from a hash).
bool to_u64(const Reply& r, uint64_t& out) {
  if (r.type == Reply::Type::kInteger) {
    out = static_cast<uint64_t>(r.integer);
    return r.integer >= 0;
  }
  if (r.type == Reply::Type::kString || r.type == Reply::Type::kStatus) {
    auto [p, ec] = std::from_chars(r.str.data(), r.str.data() + r.str.size(), out);
    return ec == std::errc{} && p == r.str.data() + r.str.size();
  }
  if (r.type == Reply::Type::kNil) {
    out = 0;
    return true;
  }
  return false;
}

// A failed Redis call answers the caller with error 100, as Centrifugo does.
template <typename T>
void fail(const Callback<T>& done, std::string_view what, std::string_view why) {
  logging::debug("redis command error", {{"command", what}, {"error", why}});
  if (done) {
    done(std::unexpected(errors::internal()));
  }
}

// Posts `fn` to `origin`, or runs it at once outside the shards.
template <typename F>
void answer(Shard* origin, F&& fn) {
  if (origin != nullptr) {
    origin->post(std::forward<F>(fn));
  } else {
    std::forward<F>(fn)();
  }
}

// Parses the flat [client, info, client, info, ...] of HGETALL.
bool parse_presence(const Reply& r, std::vector<std::pair<std::string, ClientInfo>>& out) {
  if (r.type != Reply::Type::kArray || r.elements.size() % 2 != 0) {
    return false;
  }
  out.reserve(r.elements.size() / 2);
  for (size_t i = 0; i < r.elements.size(); i += 2) {
    ClientInfo info;
    if (!decode_client_info(r.elements[i + 1].str, info)) {
      return false;
    }
    out.emplace_back(r.elements[i].str, std::move(info));
  }
  return true;
}

}  // namespace

RedisEngine::RedisEngine(ShardSet& shards, RedisEngineOptions opts)
    : shards_(shards),
      opts_(std::move(opts)),
      keys_(opts_.prefix, opts_.cluster),
      state_(shards, [this, &shards](unsigned i) {
        auto st = std::make_unique<ShardState>();
        const size_t n = opts_.shards.size();
        for (size_t rs = 0; rs < n; ++rs) {
          // Names tell Redis shards apart only when there are several.
          std::string suffix = n > 1 ? " (redis shard " + std::to_string(rs) + ")" : "";
          if (opts_.cluster) {
            st->clusters.push_back(std::make_shared<ClusterClient>(
                shards.at(i).io(), opts_.shards[rs], opts_.shards[rs].endpoints,
                "shard " + std::to_string(i) + suffix));
          } else {
            st->conns.push_back(std::make_shared<Connection>(
                shards.at(i).io(), opts_.shards[rs], "shard " + std::to_string(i) + suffix));
          }
          if (i == 0) {
            auto ps = std::make_unique<PubSub>();
            ps->redis_shard = rs;
            ps->io_timeout = opts_.shards[rs].io_timeout;
            ps->confirm_timer = std::make_unique<boost::asio::steady_timer>(shards.at(i).io());
            ps->conn = std::make_shared<Connection>(shards.at(i).io(), opts_.shards[rs],
                                                    "pubsub" + suffix);
            st->pubsubs.push_back(std::move(ps));
            std::shared_ptr<Connection> watcher;
            if (const auto& sentinel = opts_.shards[rs].sentinel) {
              ConnectionOptions w;
              w.endpoints = sentinel->addresses;
              w.user = sentinel->user;
              w.password = sentinel->password;
              w.client_name = sentinel->client_name;
              w.tls = sentinel->tls;
              w.connect_timeout = opts_.shards[rs].connect_timeout;
              w.io_timeout = opts_.shards[rs].io_timeout;
              watcher = std::make_shared<Connection>(shards.at(i).io(), std::move(w),
                                                     "sentinel watch" + suffix);
            }
            st->sentinel_watchers.push_back(std::move(watcher));
          }
        }
        return st;
      }) {}

RedisEngine::~RedisEngine() = default;

void RedisEngine::start() {
  for (unsigned i = 0; i < state_.size(); ++i) {
    state_.post_to(i, [this](ShardState& st) {
      for (auto& conn : st.conns) {
        conn->start();
      }
      for (auto& cluster : st.clusters) {
        cluster->start();
      }
      for (auto& p : st.pubsubs) {
        PubSub& ps = *p;
        ps.conn->set_push_handler([this, &ps](const Reply& r) { on_push(ps, r); });
        ps.conn->on_ready([this, &ps] { pubsub_ready(ps); });
        ps.conn->on_lost([this, &ps] { pubsub_lost(ps); });
        ps.conn->start();
      }
      for (size_t rs = 0; rs < st.sentinel_watchers.size(); ++rs) {
        Connection* w = st.sentinel_watchers[rs].get();
        if (w == nullptr) {
          continue;
        }
        w->set_push_handler([this, rs](const Reply& r) { on_sentinel_push(rs, r); });
        w->on_ready([w] { w->push_command({"SUBSCRIBE", "+switch-master"}); });
        w->start();
      }
    });
  }
}

void RedisEngine::on_sentinel_push(size_t rs, const Reply& r) {
  // ["message", "+switch-master", "<name> <old ip> <old port> <new ip> <new port>"]
  if (r.elements.size() != 3 || r.elements[0].str != "message" ||
      r.elements[1].str != "+switch-master") {
    return;
  }
  const std::string& data = r.elements[2].str;
  if (data.substr(0, data.find(' ')) != opts_.shards[rs].sentinel->master_name) {
    return;
  }
  logging::info("redis Sentinel switched the master: reconnecting", {{"switch_master", data}});
  for (unsigned i = 0; i < state_.size(); ++i) {
    state_.post_to(i, [rs](ShardState& st) {
      st.conns[rs]->reset("+switch-master");
      if (!st.pubsubs.empty()) {
        st.pubsubs[rs]->conn->reset("+switch-master");
      }
    });
  }
}

void RedisEngine::stop() {
  for (unsigned i = 0; i < state_.size(); ++i) {
    state_.invoke_on(i, [](ShardState& st) {
      for (auto& conn : st.conns) {
        conn->stop();
      }
      for (auto& cluster : st.clusters) {
        cluster->stop();
      }
      for (auto& w : st.sentinel_watchers) {
        if (w) {
          w->stop();
        }
      }
      for (auto& ps : st.pubsubs) {
        ps->stopped = true;
        for (auto& timer : ps->verify_timers) {
          timer->cancel();
        }
        ps->verify_timers.clear();
        ps->confirm_timer->cancel();
        ps->conn->stop();
      }
    });
  }
}

size_t RedisEngine::redis_shard_of(std::string_view channel) const {
  const size_t n = opts_.shards.size();
  return n > 1 ? static_cast<size_t>(consistent_index(channel, static_cast<int>(n))) : 0;
}

void RedisEngine::run(size_t rs, std::vector<std::string> argv, ReplyCallback done) {
  auto exec = [rs](ShardState& st, std::vector<std::string> argv, ReplyCallback done) {
    if (!st.clusters.empty()) {
      st.clusters[rs]->command(std::move(argv), std::move(done));
    } else {
      st.conns[rs]->command(argv, std::move(done));
    }
  };
  if (ShardState* st = state_.local_if_any()) {
    exec(*st, std::move(argv), std::move(done));
    return;
  }
  state_.post_to(0, [exec, argv = std::move(argv), done = std::move(done)](ShardState& st) mutable {
    exec(st, std::move(argv), std::move(done));
  });
}

void RedisEngine::eval(size_t rs, ScriptCall call, ReplyCallback done) {
  auto argv = call.evalsha_argv();
  run(rs, std::move(argv), [this, rs, call = std::move(call),
                            done = std::move(done)](std::expected<Reply, std::string> r) mutable {
    if (r && r->is_error() && r->str.starts_with("NOSCRIPT")) {
      // Not loaded yet (or Redis restarted / SCRIPT FLUSH): EVAL runs and caches it.
      run(rs, call.eval_argv(), std::move(done));
      return;
    }
    done(std::move(r));
  });
}

void RedisEngine::publish(std::string channel, Publication pub, PublishOptions opts,
                          Callback<StreamPosition> done) {
  Publication wire;
  wire.data = std::move(pub.data);
  wire.info = std::move(pub.info);
  wire.tags = std::move(pub.tags);
  wire.time = pub.time;
  if (!opts.history.enabled()) {
    // Without history the delta flag travels in the Publication itself (centrifuge does so).
    wire.delta = opts.delta;
    std::string bytes = encode_publication(wire);
    auto reply = [done = std::move(done)](std::expected<Reply, std::string> r) {
      if (!r || r->is_error()) {
        fail(done, "publish", r ? r->str : r.error());
        return;
      }
      done(StreamPosition{0, ""});
    };
    if (opts.idempotency_key.empty()) {
      run(redis_shard_of(channel), {"PUBLISH", keys_.client_channel(channel), std::move(bytes)},
          std::move(reply));
    } else {
      eval(redis_shard_of(channel), publish_idempotent_call(keys_, channel, bytes, opts.idempotency_key),
           std::move(reply));
    }
    return;
  }
  std::string bytes = encode_publication(wire);
  eval(redis_shard_of(channel),
       opts_.use_lists ? publish_history_list_call(keys_, channel, bytes, opts, unix_now())
                       : publish_history_call(keys_, channel, bytes, opts, unix_now()),
       [done = std::move(done)](std::expected<Reply, std::string> r) {
         if (!r || r->is_error()) {
           fail(done, "publish", r ? r->str : r.error());
           return;
         }
         uint64_t offset = 0;
         if (r->type != Reply::Type::kArray || r->elements.size() < 2 ||
             !to_u64(r->elements[0], offset)) {
           fail(done, "publish", "unexpected reply");
           return;
         }
         done(StreamPosition{offset, r->elements[1].str});
       });
}

void RedisEngine::publish_join(std::string channel, ClientInfo info) {
  run(redis_shard_of(channel), {"PUBLISH", keys_.client_channel(channel), join_message(info)},
      [](std::expected<Reply, std::string> r) {
        if (!r || r->is_error()) {
          logging::debug("error publishing join", {{"error", r ? r->str : r.error()}});
        }
      });
}

void RedisEngine::publish_leave(std::string channel, ClientInfo info) {
  run(redis_shard_of(channel), {"PUBLISH", keys_.client_channel(channel), leave_message(info)},
      [](std::expected<Reply, std::string> r) {
        if (!r || r->is_error()) {
          logging::debug("error publishing leave", {{"error", r ? r->str : r.error()}});
        }
      });
}

void RedisEngine::history(std::string channel, HistoryFilter filter, Duration meta_ttl,
                          Callback<HistoryResult> done) {
  if (opts_.use_lists) {
    history_list(std::move(channel), filter, meta_ttl, std::move(done));
    return;
  }
  auto since = filter.since;
  eval(redis_shard_of(channel), history_call(keys_, channel, filter, meta_ttl, unix_now()),
       [done = std::move(done), since](std::expected<Reply, std::string> r) {
         if (!r || r->is_error()) {
           fail(done, "history", r ? r->str : r.error());
           return;
         }
         HistoryResult out;
         if (r->type != Reply::Type::kArray || r->elements.size() < 2 ||
             !to_u64(r->elements[0], out.top.offset)) {
           fail(done, "history", "unexpected reply");
           return;
         }
         out.top.epoch = r->elements[1].str;
         if (since && !since->epoch.empty() && since->epoch != out.top.epoch) {
           out.epoch_mismatch = true;
           done(std::move(out));
           return;
         }
         if (r->elements.size() > 2 && r->elements[2].type == Reply::Type::kArray) {
           for (const Reply& e : r->elements[2].elements) {
             // [ "<offset>-0", [ "d", <Publication>, ... ] ]
             if (e.type != Reply::Type::kArray || e.elements.size() != 2) {
               fail(done, "history", "unexpected stream entry");
               return;
             }
             const std::string& id = e.elements[0].str;
             auto dash = id.find('-');
             uint64_t offset = 0;
             auto [p, ec] = std::from_chars(id.data(), id.data() + dash, offset);
             if (dash == std::string::npos || ec != std::errc{} || p != id.data() + dash) {
               fail(done, "history", "unexpected stream id " + id);
               return;
             }
             const auto& fields = e.elements[1].elements;
             const std::string* data = nullptr;
             for (size_t i = 0; i + 1 < fields.size(); i += 2) {
               if (fields[i].str == "d") {
                 data = &fields[i + 1].str;
                 break;
               }
             }
             auto pub = std::make_shared<Publication>();
             if (data == nullptr || !decode_publication(*data, *pub)) {
               fail(done, "history", "undecodable stream entry " + id);
               return;
             }
             pub->offset = offset;
             pub->epoch = out.top.epoch;
             out.publications.push_back(std::move(pub));
           }
         }
         done(std::move(out));
       });
}

void RedisEngine::history_list(std::string channel, HistoryFilter filter, Duration meta_ttl,
                               Callback<HistoryResult> done) {
  eval(redis_shard_of(channel), history_list_call(keys_, channel, filter, meta_ttl, unix_now()),
       [done = std::move(done), filter](std::expected<Reply, std::string> r) {
         if (!r || r->is_error()) {
           fail(done, "history", r ? r->str : r.error());
           return;
         }
         HistoryResult out;
         if (r->type != Reply::Type::kArray || r->elements.size() < 2 ||
             !(r->elements[0].is_nil() || to_u64(r->elements[0], out.top.offset))) {
           fail(done, "history", "unexpected reply");
           return;
         }
         out.top.epoch = r->elements[1].str;
         const auto& since = filter.since;
         if (since && !since->epoch.empty() && since->epoch != out.top.epoch) {
           out.epoch_mismatch = true;
           done(std::move(out));
           return;
         }
         if (r->elements.size() > 2 && r->elements[2].type == Reply::Type::kArray) {
           std::vector<std::shared_ptr<const Publication>> pubs;
           const auto& items = r->elements[2].elements;
           pubs.reserve(items.size());
           // Newest first in the list: oldest first here.
           for (auto it = items.rbegin(); it != items.rend(); ++it) {
             auto framed = parse_p1(it->str);
             auto pub = std::make_shared<Publication>();
             if (!framed || !decode_publication(framed->second, *pub)) {
               fail(done, "history", "malformed list entry");
               return;
             }
             pub->offset = framed->first;
             pub->epoch = out.top.epoch;
             pubs.push_back(std::move(pub));
           }
           out.publications = filter_list_history(std::move(pubs), filter, out.top);
         }
         done(std::move(out));
       });
}

void RedisEngine::remove_history(std::string channel, Callback<bool> done) {
  run(redis_shard_of(channel), {"DEL", opts_.use_lists ? keys_.list(channel) : keys_.stream(channel)}, [done = std::move(done)](std::expected<Reply, std::string> r) {
    if (!r || r->is_error()) {
      fail(done, "remove_history", r ? r->str : r.error());
      return;
    }
    if (done) {
      done(true);
    }
  });
}

void RedisEngine::add_presence(std::string channel, std::string client_id, ClientInfo info,
                               Callback<bool> done) {
  eval(redis_shard_of(channel),
       presence_add_call(keys_, channel, client_id, info, opts_.presence_ttl, unix_now(),
                         opts_.presence_user_mapping),
       [done = std::move(done)](std::expected<Reply, std::string> r) {
         if (!r || r->is_error()) {
           fail(done, "add_presence", r ? r->str : r.error());
           return;
         }
         if (done) {
           done(true);
         }
       });
}

void RedisEngine::remove_presence(std::string channel, std::string client_id,
                                  std::string user_id, Callback<bool> done) {
  eval(redis_shard_of(channel),
       presence_remove_call(keys_, channel, client_id, user_id, opts_.presence_user_mapping),
       [done = std::move(done)](std::expected<Reply, std::string> r) {
         if (!r || r->is_error()) {
           fail(done, "remove_presence", r ? r->str : r.error());
           return;
         }
         if (done) {
           done(true);
         }
       });
}

void RedisEngine::presence(std::string channel,
                           Callback<std::vector<std::pair<std::string, ClientInfo>>> done) {
  eval(redis_shard_of(channel), presence_get_call(keys_, channel, unix_now()),
       [done = std::move(done)](std::expected<Reply, std::string> r) {
         std::vector<std::pair<std::string, ClientInfo>> out;
         if (!r || r->is_error() || !parse_presence(*r, out)) {
           fail(done, "presence", r ? r->str : r.error());
           return;
         }
         done(std::move(out));
       });
}

void RedisEngine::presence_stats(std::string channel, Callback<PresenceStats> done) {
  if (opts_.presence_user_mapping) {
    eval(redis_shard_of(channel), presence_stats_call(keys_, channel, unix_now()),
         [done = std::move(done)](std::expected<Reply, std::string> r) {
           uint64_t clients = 0;
           uint64_t users = 0;
           if (!r || r->is_error() || r->type != Reply::Type::kArray ||
               r->elements.size() != 2 || !to_u64(r->elements[0], clients) ||
               !to_u64(r->elements[1], users)) {
             fail(done, "presence_stats", r ? (r->is_error() ? r->str : "unexpected reply")
                                            : r.error());
             return;
           }
           done(PresenceStats{static_cast<uint32_t>(clients), static_cast<uint32_t>(users)});
         });
    return;
  }
  // Without the user mapping (global_redis_presence_user_mapping) centrifuge computes the
  // stats from the full presence, as here.
  eval(redis_shard_of(channel), presence_get_call(keys_, channel, unix_now()),
       [done = std::move(done)](std::expected<Reply, std::string> r) {
         std::vector<std::pair<std::string, ClientInfo>> out;
         if (!r || r->is_error() || !parse_presence(*r, out)) {
           fail(done, "presence_stats", r ? r->str : r.error());
           return;
         }
         std::unordered_set<std::string> users;
         for (const auto& [client, info] : out) {
           users.insert(info.user);
         }
         done(PresenceStats{static_cast<uint32_t>(out.size()),
                            static_cast<uint32_t>(users.size())});
       });
}

// ------------------------------------------------------------------ control

void RedisEngine::enable_control(std::string node_id) {
  control_channel_ = keys_.prefix() + ".control";
  node_channel_ = keys_.prefix() + ".node." + node_id;
}

void RedisEngine::publish_control(std::string data, std::string to_node, Callback<bool> done) {
  std::string ch = to_node.empty() ? control_channel_ : keys_.prefix() + ".node." + to_node;
  // Every node subscribes the control channels on every Redis shard (as centrifuge does), so
  // a message published on Redis shard 0 reaches each node exactly once.
  run(0, {"PUBLISH", std::move(ch), std::move(data)},
      [done = std::move(done)](std::expected<Reply, std::string> r) {
        if (!r || r->is_error()) {
          fail(done, "publish_control", r ? r->str : r.error());
          return;
        }
        if (done) {
          done(true);
        }
      });
}

// ------------------------------------------------------------------ PUB/SUB (shard 0)

void RedisEngine::subscribe(std::string channel, Callback<bool> done) {
  Shard* origin = Shard::current();
  const size_t rs = redis_shard_of(channel);
  state_.invoke_on(0, [this, rs, channel = std::move(channel), origin,
                       done = std::move(done)](ShardState& st) mutable {
    pubsub_subscribe(*st.pubsubs[rs], channel, origin, std::move(done));
  });
}

void RedisEngine::unsubscribe(std::string channel) {
  const size_t rs = redis_shard_of(channel);
  state_.invoke_on(0, [this, rs, channel = std::move(channel)](ShardState& st) {
    pubsub_unsubscribe(*st.pubsubs[rs], channel);
  });
}

void RedisEngine::pubsub_subscribe(PubSub& ps, const std::string& channel, Shard* origin,
                                   Callback<bool> done) {
  auto [it, inserted] = ps.channels.try_emplace(channel);
  Subscription& sub = it->second;
  ++sub.refs;
  if (sub.confirmed) {
    answer(origin, [done = std::move(done)] { done(true); });
    return;
  }
  if (ps.conn->down()) {
    // Counted all the same: the balancing unsubscribe() comes when the client lets go, and
    // a reconnect resubscribes every counted channel.
    answer(origin, [done = std::move(done)] { done(std::unexpected(errors::internal())); });
    return;
  }
  sub.waiters.emplace_back(origin, std::move(done));
  if (inserted && ps.conn->ready()) {
    sub.sent = true;
    sub.sent_at = std::chrono::steady_clock::now();
    ps.ops.emplace_back(true, keys_.client_channel(channel));
    pubsub_flush_later(ps);
  }
  // While connecting, pubsub_ready() subscribes every counted channel.
}

void RedisEngine::pubsub_unsubscribe(PubSub& ps, const std::string& channel) {
  auto it = ps.channels.find(channel);
  if (it == ps.channels.end() || --it->second.refs > 0) {
    return;
  }
  for (auto& [origin, done] : it->second.waiters) {
    answer(origin, [done = std::move(done)] { done(std::unexpected(errors::internal())); });
  }
  if (it->second.sent && !it->second.confirmed) {
    ++ps.stale_confirmations[channel];
  }
  ps.channels.erase(it);
  if (ps.conn->ready()) {
    ps.ops.emplace_back(false, keys_.client_channel(channel));
    pubsub_flush_later(ps);
  }
}

void RedisEngine::pubsub_flush_later(PubSub& ps) {
  if (ps.flush_posted) {
    return;
  }
  ps.flush_posted = true;
  // Everything (un)subscribed during this turn of shard 0's loop goes out together.
  state_.post_to(0, [this, rs = ps.redis_shard](ShardState& st) {
    pubsub_flush(*st.pubsubs[rs]);
  });
}

void RedisEngine::pubsub_flush(PubSub& ps) {
  ps.flush_posted = false;
  auto ops = std::move(ps.ops);
  ps.ops.clear();
  if (!ps.conn->ready()) {
    return;  // pubsub_ready() resubscribes from ps.channels
  }
  // Runs of the same kind, in order, at most kSubscribeBatch channels per command.
  size_t i = 0;
  while (i < ops.size()) {
    const bool sub = ops[i].first;
    std::vector<std::string> argv{sub ? "SUBSCRIBE" : "UNSUBSCRIBE"};
    while (i < ops.size() && ops[i].first == sub && argv.size() <= kSubscribeBatch) {
      argv.push_back(std::move(ops[i].second));
      ++i;
    }
    ps.conn->push_command(argv);
  }
  pubsub_arm_confirm_deadline(ps);
}

void RedisEngine::pubsub_arm_confirm_deadline(PubSub& ps) {
  if (ps.confirm_armed) {
    return;
  }
  std::optional<std::chrono::steady_clock::time_point> earliest;
  for (const auto& [channel, sub] : ps.channels) {
    if (sub.sent && !sub.confirmed && (!earliest || sub.sent_at < *earliest)) {
      earliest = sub.sent_at;
    }
  }
  if (!earliest) {
    return;
  }
  ps.confirm_armed = true;
  ps.confirm_timer->expires_at(*earliest + ps.io_timeout);
  ps.confirm_timer->async_wait([this, &ps](boost::system::error_code ec) {
    if (ec) {
      return;  // cancelled: the engine is stopping (ps may be gone)
    }
    ps.confirm_armed = false;
    pubsub_check_confirmations(ps);
  });
}

void RedisEngine::pubsub_check_confirmations(PubSub& ps) {
  if (!ps.conn->ready()) {
    return;  // pubsub_ready() subscribes again and re-arms
  }
  const auto now = std::chrono::steady_clock::now();
  size_t overdue = 0;
  for (const auto& [channel, sub] : ps.channels) {
    if (sub.sent && !sub.confirmed && sub.sent_at + ps.io_timeout <= now) {
      ++overdue;
    }
  }
  if (overdue > 0) {
    ps.conn->reset(fmt::format("{} SUBSCRIBE(s) not confirmed within redis_io_timeout", overdue));
    return;
  }
  pubsub_arm_confirm_deadline(ps);
}

void RedisEngine::pubsub_ready(PubSub& ps) {
  ps.ops.clear();
  ps.stale_confirmations.clear();
  for (auto& [channel, sub] : ps.channels) {
    sub.confirmed = false;
    sub.sent = true;
    sub.sent_at = std::chrono::steady_clock::now();
    ps.ops.emplace_back(true, keys_.client_channel(channel));
  }
  if (!control_channel_.empty()) {
    ps.ops.emplace_back(true, control_channel_);
    ps.ops.emplace_back(true, node_channel_);
  }
  if (!ps.channels.empty()) {
    logging::info("redis PUB/SUB resubscribing to channels", {{"num_channels", ps.channels.size()}});
  }
  pubsub_flush(ps);
}

void RedisEngine::pubsub_lost(PubSub& ps) {
  ps.ops.clear();
  ps.stale_confirmations.clear();
  for (auto& [channel, sub] : ps.channels) {
    sub.confirmed = false;
    sub.sent = false;
    for (auto& [origin, done] : sub.waiters) {
      answer(origin, [done = std::move(done)] { done(std::unexpected(errors::internal())); });
    }
    sub.waiters.clear();
  }
}

void RedisEngine::on_push(PubSub& ps, const Reply& r) {
  const std::string& kind = r.elements[0].str;
  if (kind == "message" && r.elements.size() == 3) {
    if (!control_channel_.empty() &&
        (r.elements[1].str == control_channel_ || r.elements[1].str == node_channel_)) {
      if (handler_ != nullptr) {
        handler_->handle_control(r.elements[2].str);
      }
      return;
    }
    deliver_message(&ps, r.elements[1].str, r.elements[2].str);
    return;
  }
  if (kind == "subscribe" && r.elements.size() >= 2) {
    auto channel = keys_.channel_of(r.elements[1].str);
    if (!channel) {
      return;
    }
    if (auto stale = ps.stale_confirmations.find(*channel);
        stale != ps.stale_confirmations.end()) {
      if (--stale->second == 0) {
        ps.stale_confirmations.erase(stale);
      }
      return;  // for an entry erased meanwhile; its UNSUBSCRIBE is queued behind
    }
    auto it = ps.channels.find(*channel);
    if (it == ps.channels.end()) {
      return;
    }
    it->second.confirmed = true;
    for (auto& [origin, done] : it->second.waiters) {
      answer(origin, [done = std::move(done)] { done(true); });
    }
    it->second.waiters.clear();
    if (auto& c = it->second.continuity; c && c->begin_verify()) {
      // Subscribed again after a lost connection: publications made meanwhile never came,
      // and the server may be another one (failover). Check the stream still holds what
      // was seen last before delivering more.
      verify_continuity(ps, *channel, 0);
    }
  }
  // "unsubscribe" confirmations need nothing.
}

bool RedisEngine::handle_message(std::string_view pubsub_channel, std::string_view data) {
  return deliver_message(nullptr, pubsub_channel, data);
}

bool RedisEngine::deliver_message(PubSub* ps, std::string_view pubsub_channel,
                                  std::string_view data) {
  auto channel = keys_.channel_of(pubsub_channel);
  auto m = parse_pubsub_message(data);
  if (!channel || !m) {
    logging::error("error handling client message", {{"error", "malformed PUB/SUB message"},
                                                     {"pubsub_channel", pubsub_channel},
                                                     {"size", data.size()}});
    return false;
  }
  if (handler_ == nullptr) {
    return true;
  }
  switch (m->type) {
    case PubSubMessage::Type::kPublication: {
      auto pub = std::make_shared<Publication>();
      if (!decode_publication(m->payload, *pub)) {
        logging::error("error handling client message",
                       {{"error", "undecodable publication"}, {"pubsub_channel", pubsub_channel}});
        return false;
      }
      if (pub->offset == 0) {
        pub->offset = m->offset;
      }
      pub->epoch = std::string(m->epoch);
      // Without history the delta flag rides in the Publication; it is not the client's.
      bool delta = m->delta || pub->delta;
      pub->delta = false;
      std::shared_ptr<Publication> prev;
      if (m->delta && !m->prev_payload.empty()) {
        auto p = std::make_shared<Publication>();
        // With redis_use_lists centrifuge's delta base is the list head as stored, framed.
        std::string_view prev_bytes = m->prev_payload;
        if (auto framed = parse_p1(prev_bytes)) {
          prev_bytes = framed->second;
        }
        if (!decode_publication(prev_bytes, *p)) {
          logging::error("error handling client message",
                         {{"error", "undecodable previous publication"},
                          {"pubsub_channel", pubsub_channel}});
          return false;
        }
        p->offset = pub->offset > 0 ? pub->offset - 1 : 0;
        p->epoch = pub->epoch;
        prev = std::move(p);
      }
      StreamContinuity::Held h{std::move(pub), delta, std::move(prev),
                               StreamContinuity::hash_of(m->payload)};
      if (ps != nullptr && !check_continuity(*ps, *channel, h)) {
        return true;  // held until the stream's epoch changed
      }
      handler_->handle_publication(*channel, std::move(h.pub), h.delta, std::move(h.prev));
      return true;
    }
    case PubSubMessage::Type::kJoin:
    case PubSubMessage::Type::kLeave: {
      ClientInfo info;
      if (!decode_client_info(m->payload, info)) {
        logging::error("error handling client message",
                       {{"error", "undecodable join/leave"}, {"pubsub_channel", pubsub_channel}});
        return false;
      }
      if (m->type == PubSubMessage::Type::kJoin) {
        handler_->handle_join(*channel, info);
      } else {
        handler_->handle_leave(*channel, info);
      }
      return true;
    }
  }
  return false;
}

bool RedisEngine::check_continuity(PubSub& ps, const std::string& channel,
                                   StreamContinuity::Held& h) {
  auto it = ps.channels.find(channel);
  if (it == ps.channels.end() || h.pub->offset == 0) {
    return true;
  }
  auto& c = it->second.continuity;
  if (!c) {
    c = std::make_unique<StreamContinuity>();
  }
  const uint64_t offset = h.pub->offset;
  switch (c->on_publication(h)) {
    case StreamContinuity::Verdict::kDeliver:
      return true;
    case StreamContinuity::Verdict::kHold:
      return false;
    case StreamContinuity::Verdict::kChangeEpoch:
      logging::warn("stream lost publications (failover or restart): moving it to a new epoch",
                    {{"channel", channel},
                     {"offset", offset},
                     {"previous_offset", c->offset()},
                     {"epoch", c->epoch()}});
      change_epoch(ps, channel, c->epoch());
      return false;
  }
  return true;
}

void RedisEngine::verify_continuity(PubSub& ps, const std::string& channel, int attempt) {
  const StreamContinuity& c = *ps.channels.at(channel).continuity;
  run(ps.redis_shard,
      {"EVAL", std::string(kStreamEntryAt), "2", keys_.stream(channel), keys_.stream_meta(channel),
       std::to_string(c.offset())},
      [this, &ps, channel, attempt](std::expected<Reply, std::string> r) {
        auto it = ps.channels.find(channel);
        if (it == ps.channels.end() || !it->second.continuity) {
          return;  // no local subscriber any more
        }
        if (ps.stopped) {
          return;
        }
        if (!r && attempt < kVerifyAttempts) {
          // The command connection may still be moving to the new server: ask again soon
          // (the publications wait meanwhile).
          auto timer = std::make_shared<boost::asio::steady_timer>(shards_.at(0).io());
          ps.verify_timers.push_back(timer);
          timer->expires_after(kVerifyRetry);
          timer->async_wait([this, &ps, channel, attempt, timer](boost::system::error_code ec) {
            if (ec) {
              return;  // cancelled: the engine is stopping
            }
            std::erase(ps.verify_timers, timer);
            auto again = ps.channels.find(channel);
            if (ps.stopped || again == ps.channels.end() || !again->second.continuity) {
              return;
            }
            verify_continuity(ps, channel, attempt + 1);
          });
          return;
        }
        const StreamContinuity& c = *it->second.continuity;
        uint64_t top = 0;
        bool lost = false;
        if (r && r->type == Reply::Type::kArray && r->elements.size() == 3 &&
            to_u64(r->elements[1], top)) {
          lost = c.lost(r->elements[0].str, top, r->elements[2].str);
        } else {
          // Cannot tell: deliver as it comes (the positioning checks still apply).
          logging::warn("error checking the stream after a PUB/SUB reconnect",
                        {{"channel", channel}, {"error", r ? r->str : r.error()}});
        }
        if (lost) {
          logging::warn(
              "stream no longer holds the last seen publication (failover or restart): moving it "
              "to a new epoch",
              {{"channel", channel}, {"offset", c.offset()}, {"epoch", c.epoch()}});
          change_epoch(ps, channel, c.epoch());
          return;
        }
        release_held(ps, channel, "", "");
      });
}

void RedisEngine::change_epoch(PubSub& ps, const std::string& channel,
                               const std::string& old_epoch) {
  // Centrifugo's epochs are Unix seconds; any string is a valid epoch to its nodes.
  std::string next = std::to_string(unix_now());
  if (next == old_epoch) {
    next += random::letters(4);
  }
  run(ps.redis_shard,
      {"EVAL", std::string(kChangeEpoch), "1", keys_.stream_meta(channel), old_epoch, next},
      [this, &ps, channel, old_epoch, next](std::expected<Reply, std::string> r) {
        // Back on shard 0 (run() uses the calling shard's connection).
        std::string epoch = next;
        if (r && r->type == Reply::Type::kString && !r->str.empty()) {
          epoch = r->str;
        } else if (!r || r->is_error()) {
          // The subscribers get insufficient state all the same; their resubscription
          // reads the stream again.
          logging::warn("error changing the stream epoch",
                        {{"channel", channel}, {"error", r ? r->str : r.error()}});
        }
        release_held(ps, channel, old_epoch, epoch);
      });
}

void RedisEngine::release_held(PubSub& ps, const std::string& channel,
                               const std::string& old_epoch, const std::string& epoch) {
  auto it = ps.channels.find(channel);
  if (it == ps.channels.end() || !it->second.continuity) {
    return;  // no local subscriber any more
  }
  auto held = it->second.continuity->release(old_epoch, epoch);
  // Delivery may end subscriptions (and erase this entry): nothing of it is used below.
  for (auto& h : held) {
    if (handler_ != nullptr) {
      handler_->handle_publication(channel, std::move(h.pub), h.delta, std::move(h.prev));
    }
  }
}

void RedisEngine::check_health(std::function<void(bool)> done) {
  state_.submit_to(
      0,
      [](ShardState& s) {
        // Every Redis shard: its command path (a connection, or the cluster client) and its
        // PUB/SUB connection.
        for (const auto& conn : s.conns) {
          if (conn && !conn->ready()) {
            return false;
          }
        }
        for (const auto& cluster : s.clusters) {
          if (cluster && !cluster->ready()) {
            return false;
          }
        }
        for (const auto& ps : s.pubsubs) {
          if (!ps || !ps->conn || !ps->conn->ready()) {
            return false;
          }
        }
        return !s.conns.empty() || !s.clusters.empty();
      },
      std::move(done));
}

}  // namespace gyre::engine::redis
