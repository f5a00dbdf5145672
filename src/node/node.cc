#include "node/node.h"

#include <algorithm>

#include <boost/asio/steady_timer.hpp>
#include <unistd.h>

#include "core/host.h"
#include "core/log.h"
#include "core/random.h"
#include "node/client.h"
#include "node/cluster.h"

namespace gyre::node {

namespace {
// One timer per shard, not per connection; it advances the shard's timer wheel.
constexpr auto kTickPeriod = TimerWheel<Client>::kTick;

// The proxy series Centrifugo v5.4.9 shows at zero from the start (each of its proxy handlers
// resolves its label values when it is built, before any call): centrifugo_proxy_*
// {protocol="http",type} for every proxy kind in use (default mode and the v6 shape), and in
// granular mode for the connect and refresh proxies, plus centrifugo_granular_proxy_*
// {name,type} for every proxy name a channel option (top level or namespace) or an rpc
// namespace refers to. Labels as client_proxy.cc observes them.
void precreate_proxy_series(metrics::ShardMetrics& m, const config::Config& cfg) {
  const auto& ids = metrics::ids();
  auto plain = [&](std::string_view type) {
    m.at(ids.proxy_duration_seconds, {"http", type});
    m.at(ids.proxy_duration_seconds_histogram, {"http", type});
    m.at(ids.proxy_errors, {"http", type});
  };
  auto granular = [&](std::string_view name, std::string_view type) {
    if (!name.empty()) {
      m.at(ids.granular_proxy_duration_seconds, {name, type});
      m.at(ids.granular_proxy_duration_seconds_histogram, {name, type});
      m.at(ids.granular_proxy_errors, {name, type});
    }
  };
  using Kind = config::ResolvedProxies::Kind;
  const auto& r = cfg.proxies_resolved;
  if (!cfg.granular_proxy_mode) {
    // v5 default mode and v6: the unnamed proxy of each kind.
    static constexpr std::pair<Kind, std::string_view> kKinds[] = {
        {Kind::kConnect, "connect"},     {Kind::kRefresh, "refresh"},
        {Kind::kSubscribe, "subscribe"}, {Kind::kPublish, "publish"},
        {Kind::kSubRefresh, "sub_refresh"}, {Kind::kRpc, "rpc"}};
    for (const auto& [kind, type] : kKinds) {
      if (r.by_kind[kind]) {
        plain(type);
      }
    }
    if (!cfg.v6_proxies) {
      return;
    }
  } else {
    if (!cfg.connect_proxy_name.empty()) {
      plain("connect");
    }
    if (!cfg.refresh_proxy_name.empty()) {
      plain("refresh");
    }
  }
  // Named proxies: granular mode creates the series of every name a channel option or an rpc
  // namespace refers to; the v6 shape those of the proxies[] items an option switches on by
  // name (client_proxy.cc counts them as v5 granular mode does).
  const bool every_name = cfg.granular_proxy_mode;
  auto channel = [&](const config::ChannelOptions& o) {
    if (every_name || o.proxy_subscribe) {
      granular(o.subscribe_proxy_name, "subscribe");
    }
    if (every_name || o.proxy_publish) {
      granular(o.publish_proxy_name, "publish");
    }
    if (every_name || o.proxy_sub_refresh) {
      granular(o.sub_refresh_proxy_name, "sub_refresh");
    }
  };
  channel(cfg.channel);
  for (const auto& ns : cfg.namespaces) {
    channel(ns.options);
  }
  if (every_name || cfg.v6_rpc_proxy_enabled) {
    granular(cfg.rpc_proxy_name, "rpc");
  }
  for (const auto& ns : r.rpc_namespaces) {
    if (every_name || ns.proxy_enabled) {
      granular(ns.rpc_proxy_name, "rpc");
    }
  }
}
}  // namespace

// The shard's housekeeping timer. Shard-local.
struct Node::Ticker {
  explicit Ticker(Shard& s) : timer(s.io()) {}
  boost::asio::steady_timer timer;
};

size_t transport_slot(std::string_view name) {
  for (size_t i = 0; i < kOtherTransport; ++i) {
    if (kCountedTransports[i] == name) {
      return i;
    }
  }
  return kOtherTransport;
}

Runtime Node::make_runtime(std::shared_ptr<const config::Config> cfg) {
  Runtime r;
  r.connection_verifier = std::make_shared<auth::Verifier>(cfg->token, cfg);
  r.subscription_verifier = std::make_shared<auth::Verifier>(
      cfg->separate_subscription_token_config ? cfg->subscription_token : cfg->token, cfg);
  r.config = std::move(cfg);
  return r;
}

Node::Node(ShardSet& shards, engine::Engine& engine, std::shared_ptr<const config::Config> cfg)
    : shards_(shards),
      engine_(engine),
      runtime_(make_runtime(std::move(cfg))),
      id_(random::uuid_v4()),
      started_at_(clock::now()),
      state_(shards,
             [this](unsigned) {
               auto st = std::make_unique<NodeShard>();
               st->runtime = runtime_;
               metrics::precreate(st->metrics);
               precreate_proxy_series(st->metrics, *runtime_.config);
               return st;
             }),
      tickers_(shards, [&shards](unsigned i) { return std::make_unique<Ticker>(shards.at(i)); }) {
  name_ = runtime_.config->name;
  if (name_.empty()) {
    name_ = hostname() + "_" + runtime_.config->port;
  }
  engine_.set_event_handler(this);
  if (engine_.supports_control()) {
    engine_.enable_control(id_);
    cluster_ = std::make_unique<Cluster>(*this);
  }
}

Node::~Node() = default;

const Runtime& Node::runtime() const {
  if (const NodeShard* st = state_.local_if_any()) {
    return st->runtime;
  }
  return runtime_;
}

void Node::reload(Runtime next) {
  // Called on one shard (the signal handler's) or before start; the node-wide copy is read
  // only off-shard, so writing it here races with no reader.
  runtime_ = next;
  for_each_shard([next](NodeShard& s) { s.runtime = next; }, [] {});
}

void Node::http_post(proxy::HttpRequest req, std::function<void(proxy::HttpResponse)> done) {
  if (!http_post_) {
    run_later([done = std::move(done)] { done(proxy::HttpResponse{0, "no HTTP client"}); });
    return;
  }
  http_post_(std::move(req), std::move(done));
}

void Node::fetch_jwks(std::shared_ptr<const auth::Verifier> verifier, auth::JwksFetch fetch,
                      std::function<void()> done) {
  unsigned shard = Shard::current()->id();
  auto key = std::make_pair(verifier.get(), fetch.kid);
  {
    std::lock_guard lock(jwks_mu_);
    auto& waiting = jwks_waiting_[key];
    waiting.emplace_back(shard, std::move(done));
    if (waiting.size() > 1) {
      return;  // a fetch for this kid is in flight; it will run `done`
    }
  }
  if (!http_get_) {
    // No HTTP client (unit tests): nothing can be fetched; the token stays unverifiable.
    jwks_attempt(std::move(verifier), std::move(fetch), 0);
    return;
  }
  // Centrifugo: 1 s timeout, 2 attempts.
  jwks_attempt(std::move(verifier), std::move(fetch), 2);
}

void Node::jwks_attempt(std::shared_ptr<const auth::Verifier> verifier, auth::JwksFetch fetch,
                        int attempts_left) {
  auto finish = [this, verifier, fetch] {
    std::vector<std::pair<unsigned, std::function<void()>>> waiting;
    {
      std::lock_guard lock(jwks_mu_);
      auto it = jwks_waiting_.find(std::make_pair(verifier.get(), fetch.kid));
      if (it != jwks_waiting_.end()) {
        waiting = std::move(it->second);
        jwks_waiting_.erase(it);
      }
    }
    for (auto& [shard, fn] : waiting) {
      // Queued even on this shard: `fn` re-dispatches a parked command, which must not run
      // inside the dispatch that parked it (no HTTP client: the fetch fails at once).
      state_.post_to(shard, [fn = std::move(fn)](NodeShard&) { fn(); });
    }
  };
  if (attempts_left <= 0) {
    finish();
    return;
  }
  http_get_(fetch.url, std::chrono::milliseconds(1000),
            [this, verifier, fetch, attempts_left, finish](int status, std::string body) {
              if (status != 200) {
                logging::warn("error fetching JWKS",
                              {{"url", fetch.url},
                               {"error", status == 0 ? body
                                                     : "unexpected HTTP status code: " +
                                                           std::to_string(status)}});
                jwks_attempt(verifier, fetch, attempts_left - 1);
                return;
              }
              if (!verifier->store_jwks(fetch, body)) {
                logging::warn("no usable key in the JWK Set", {{"url", fetch.url}, {"kid", fetch.kid}});
              }
              finish();
            });
}

int64_t Node::uptime_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock::now() - started_at_).count();
}

void Node::start() {
  // Called before the loops run: each shard arms its own timer on its thread.
  tickers_.invoke_on_all([this](Ticker& t) { arm(t); });
  if (cluster_) {
    cluster_->start();
  }
}

void Node::handle_control(std::string data) {
  if (cluster_) {
    cluster_->handle(std::move(data));
  }
}

void Node::stats(std::function<void(Stats)> done) {
  struct Slot {
    uint64_t num_subs = 0;
    uint64_t num_channels = 0;
    uint64_t num_users = 0;
    std::vector<std::string> names;  // only with several shards (distinct count)
    std::vector<std::string> users;  // the same
  };
  const bool many = shards_.size() > 1;
  state_.map_reduce(
      [many](NodeShard& st) {
        Slot s;
        s.num_subs = st.hub.num_subscriptions();
        s.num_channels = st.hub.num_channels();
        s.num_users = shard_users(st, many ? &s.users : nullptr);
        if (many) {
          st.hub.for_each_channel(
              [&s](const std::string& name, size_t) { s.names.push_back(name); });
        }
        return s;
      },
      std::vector<Slot>{}, [](std::vector<Slot> acc, Slot s) {
        acc.push_back(std::move(s));
        return acc;
      },
      [this, many, done = std::move(done)](std::vector<Slot> slots) {
        Stats out;
        out.num_clients = num_clients();
        std::unordered_set<std::string_view> distinct;
        std::unordered_set<std::string_view> users;
        for (const auto& s : slots) {
          out.num_subs += s.num_subs;
          out.num_channels += s.num_channels;
          out.num_users += s.num_users;
          distinct.insert(s.names.begin(), s.names.end());
          users.insert(s.users.begin(), s.users.end());
        }
        if (many) {
          out.num_channels = distinct.size();
          out.num_users = users.size();
        }
        done(out);
      });
}

void Node::channel_counts(std::function<void(std::map<std::string, uint64_t>)> done) {
  using Counts = std::vector<std::pair<std::string, uint64_t>>;
  state_.map_reduce(
      [](NodeShard& st) {
        Counts mine;
        st.hub.for_each_channel([&mine](const std::string& name, size_t n) {
          if (n > 0) {
            mine.emplace_back(name, n);
          }
        });
        return mine;
      },
      std::map<std::string, uint64_t>{},
      [](std::map<std::string, uint64_t> acc, Counts c) {
        for (auto& [name, n] : c) {
          acc[name] += n;
        }
        return acc;
      },
      std::move(done));
}

void Node::arm(Ticker& t) {
  t.timer.expires_after(kTickPeriod);
  t.timer.async_wait([this, &t](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    tick();
    arm(t);
  });
}

void Node::tick() {
  auto now = local().clock.now();
  // Clients are destroyed only on later loop turns (their transport releases them by post),
  // and a client's tick can close only itself: the raw pointers stay valid here.
  local().wheel.advance(now, [now](Client* c) { c->tick(now); });
}

void Node::register_client(Client* c) {
  auto& clients = local().clients;
  if (c->registry_index() >= 0) {
    return;
  }
  c->registry_index() = static_cast<int32_t>(clients.size());
  clients.push_back(c);
  num_clients_.fetch_add(1, std::memory_order_relaxed);
  local().metrics.inc(metrics::ids().node_action_count, {"add_client"});
}

void Node::unregister_client(Client* c) {
  auto& clients = local().clients;
  const int32_t i = c->registry_index();
  if (i >= 0 && static_cast<size_t>(i) < clients.size() && clients[static_cast<size_t>(i)] == c) {
    Client* last = clients.back();
    clients[static_cast<size_t>(i)] = last;
    last->registry_index() = i;
    clients.pop_back();
    c->registry_index() = -1;
    num_clients_.fetch_sub(1, std::memory_order_relaxed);
    local().metrics.inc(metrics::ids().node_action_count, {"remove_client"});
  }
}

bool Node::acquire_user(const std::string& user, int64_t limit) {
  std::lock_guard lock(users_mu_);
  int64_t& n = user_counts_[user];
  if (limit > 0 && n >= limit) {
    if (n == 0) {
      user_counts_.erase(user);
    }
    return false;
  }
  ++n;
  return true;
}

void Node::release_user(const std::string& user) {
  std::lock_guard lock(users_mu_);
  auto it = user_counts_.find(user);
  if (it != user_counts_.end() && --it->second <= 0) {
    user_counts_.erase(it);
  }
}

size_t Node::shard_users(const NodeShard& st, std::vector<std::string>* names) {
  if (names != nullptr) {
    st.users.for_each_user([names](std::string_view u) { names->emplace_back(u); });
  }
  return st.users.distinct_users();
}

void Node::index_user(Client* c) { local().users.insert(c); }

void Node::unindex_user(Client* c) { local().users.erase(c); }

void Node::fan_out(std::shared_ptr<const hub::Fanout> f) {
  // Other shards get a post each; the home shard (the caller) broadcasts inline, last.
  state_.invoke_on_all([f = std::move(f)](NodeShard& st) {
    if (f->kind != hub::Fanout::Kind::kPublication) {
      st.hub.broadcast(f);
      return;
    }
    // centrifugo_node_broadcast_duration_seconds: once per publication per node, as
    // centrifuge's hub observes it (only when the node has subscribers): from the Fanout's
    // creation until the last shard has delivered its part, observed by that shard. The
    // release of each shard's decrement makes its `delivered` visible to the last one.
    const auto& b = f->broadcast;
    if (st.hub.broadcast(f)) {
      b.delivered.store(true, std::memory_order_relaxed);
    }
    if (b.pending.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
        b.delivered.load(std::memory_order_relaxed)) {
      std::chrono::duration<double> d = std::chrono::steady_clock::now() - b.started;
      st.metrics.observe(metrics::ids().node_broadcast_duration_seconds, {}, d.count());
    }
  });
}

void Node::handle_publication(const std::string& channel,
                              std::shared_ptr<const protocol::Publication> pub, bool delta,
                              std::shared_ptr<const protocol::Publication> prev) {
  if (auto* m = metrics()) {
    m->inc(metrics::ids().node_messages_received_count, {"publication"});
    // From publishing (the publication's time) to its arrival here, once per publication.
    if (pub->time > 0) {
      auto lag_ms = clock::unix_ms() - pub->time;
      m->observe(metrics::ids().node_pub_sub_lag_seconds, {},
                 static_cast<double>(lag_ms < 0 ? -lag_ms : lag_ms) / 1000);
    }
  }
  fan_out(hub::make_publication_fanout(channel, std::move(pub), delta, shards_.size(),
                                       std::move(prev)));
}

void Node::handle_join(const std::string& channel, const protocol::ClientInfo& info) {
  if (auto* m = metrics()) {
    m->inc(metrics::ids().node_messages_received_count, {"join"});
  }
  fan_out(hub::make_join_fanout(channel, info, shards_.size()));
}

void Node::handle_leave(const std::string& channel, const protocol::ClientInfo& info) {
  if (auto* m = metrics()) {
    m->inc(metrics::ids().node_messages_received_count, {"leave"});
  }
  fan_out(hub::make_leave_fanout(channel, info, shards_.size()));
}

void Node::collect_metrics(std::function<void(metrics::Snapshot)> done) {
  struct Part {
    metrics::Snapshot values;
    uint64_t num_subs = 0;
    uint64_t num_users = 0;             // with one shard
    std::vector<std::string> channels;
    std::vector<std::string> users;     // only with several shards (distinct count)
  };
  const bool many = shards_.size() > 1;
  state_.map_reduce(
      [many](NodeShard& st) {
        Part p;
        p.values = st.metrics.snapshot();
        p.num_subs = st.hub.num_subscriptions();
        p.num_users = shard_users(st, many ? &p.users : nullptr);
        st.hub.for_each_channel(
            [&p](const std::string& name, size_t) { p.channels.push_back(name); });
        return p;
      },
      Part{},
      [](Part acc, Part p) {
        acc.values.merge(std::move(p.values));
        acc.num_subs += p.num_subs;
        acc.num_users += p.num_users;
        acc.channels.insert(acc.channels.end(), std::make_move_iterator(p.channels.begin()),
                            std::make_move_iterator(p.channels.end()));
        acc.users.insert(acc.users.end(), std::make_move_iterator(p.users.begin()),
                         std::make_move_iterator(p.users.end()));
        return acc;
      },
      [this, many, done = std::move(done)](Part all) {
        // A channel subscribed on several shards counts once, as in the info API.
        std::sort(all.channels.begin(), all.channels.end());
        auto distinct = std::unique(all.channels.begin(), all.channels.end());
        if (many) {  // a user connected on several shards counts once too
          std::sort(all.users.begin(), all.users.end());
          all.num_users = static_cast<uint64_t>(
              std::unique(all.users.begin(), all.users.end()) - all.users.begin());
        }
        const auto& reg = metrics::registry();
        const auto& id = metrics::ids();
        auto& v = all.values;
        v.at(reg, id.node_num_clients, {}).value = static_cast<double>(num_clients());
        v.at(reg, id.node_num_users, {}).value = static_cast<double>(all.num_users);
        v.at(reg, id.node_num_subscriptions, {}).value = static_cast<double>(all.num_subs);
        v.at(reg, id.node_num_channels, {}).value =
            static_cast<double>(distinct - all.channels.begin());
        v.at(reg, id.node_num_nodes, {}).value = 1;  // one node: no node discovery yet
        v.at(reg, id.node_build, {kVersion}).value = 1;
        v.at(reg, id.gyre_shards, {}).value = static_cast<double>(shards_.size());
        done(std::move(v));
      });
}

void Node::for_each_connection(std::string user, std::string client, std::string session,
                              std::function<void(Client&)> act, std::function<void()> done) {
  for_each_shard(
      [user = std::move(user), client = std::move(client), session = std::move(session),
       act = std::move(act)](NodeShard& st) {
        std::vector<std::shared_ptr<Client>> matched;
        st.users.for_each(user, [&](Client* c) {
          if ((!client.empty() && c->id() != client) ||
              (!session.empty() && c->session() != session)) {
            return;
          }
          matched.push_back(c->shared_from_this());
        });
        for (auto& c : matched) {
          act(*c);
        }
      },
      std::move(done));
}

void Node::for_each_shard(std::function<void(NodeShard&)> op, std::function<void()> done) {
  state_.invoke_on_all(std::move(op), std::move(done));
}

void Node::shutdown(std::function<void()> done) {
  shutting_down_.store(true, std::memory_order_release);
  if (cluster_) {
    // The other nodes forget this one at once (Shutdown command). `done` waits for that
    // PUBLISH too (Redis answers, or the command fails by redis_io_timeout), so the loops do
    // not stop with the message still unwritten; the clients are disconnected meanwhile.
    auto left = std::make_shared<std::atomic<int>>(2);
    auto both = [left, done = std::move(done)]() mutable {
      if (left->fetch_sub(1, std::memory_order_acq_rel) == 1) {
        done();
      }
    };
    done = both;
    cluster_->stop(std::move(both));
  }
  for_each_shard(
      [](NodeShard& st) {
        std::vector<std::shared_ptr<Client>> clients;
        for (Client* c : st.clients) {
          clients.push_back(c->shared_from_this());
        }
        for (auto& c : clients) {
          c->disconnect(disconnects::shutdown());
        }
      },
      std::move(done));
}

}  // namespace gyre::node
