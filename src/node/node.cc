#include "node/node.h"

#include <boost/asio/steady_timer.hpp>
#include <unistd.h>

#include "core/random.h"
#include "node/client.h"

namespace gyre::node {

namespace {
// One timer per shard, not per connection; it advances the shard's timer wheel.
constexpr auto kTickPeriod = TimerWheel<Client>::kTick;
}  // namespace

struct Node::Ticker {
  explicit Ticker(Shard& s) : timer(s.io()) {}
  boost::asio::steady_timer timer;
  std::function<void()> arm;
};

Node::Node(ShardSet& shards, engine::Engine& engine, std::shared_ptr<const config::Config> cfg)
    : shards_(shards),
      engine_(engine),
      config_(std::move(cfg)),
      id_(random::uuid_v4()),
      started_at_(clock::now()) {
  conn_verifier_ = std::make_unique<auth::Verifier>(config_->token, config_);
  sub_verifier_ = std::make_unique<auth::Verifier>(
      config_->separate_subscription_token_config ? config_->subscription_token : config_->token,
      config_);
  name_ = config_->name;
  if (name_.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    name_ = std::string(host) + "_" + config_->port;
  }
  for (unsigned i = 0; i < shards_.size(); ++i) {
    shard_state_.push_back(std::make_unique<NodeShard>());
    tickers_.push_back(std::make_unique<Ticker>(shards_.at(i)));
  }
  engine_.set_event_handler(this);
}

Node::~Node() = default;

int64_t Node::uptime_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock::now() - started_at_).count();
}

void Node::start() {
  for (unsigned i = 0; i < shards_.size(); ++i) {
    Ticker* t = tickers_[i].get();
    t->arm = [this, t, i] {
      t->timer.expires_after(kTickPeriod);
      t->timer.async_wait([this, t, i](boost::system::error_code ec) {
        if (ec) {
          return;
        }
        tick(i);
        t->arm();
      });
    };
    shards_.at(i).post([t] { t->arm(); });
  }
}

void Node::tick(unsigned shard) {
  auto now = clock::now();
  // Clients are destroyed only on later loop turns (their transport releases them by post),
  // and a client's tick can close only itself: the raw pointers stay valid here.
  shard_state_[shard]->wheel.advance(now, [now](Client* c) { c->tick(now); });
}

void Node::register_client(Client* c) {
  local().clients.insert(c);
  num_clients_.fetch_add(1, std::memory_order_relaxed);
}

void Node::unregister_client(Client* c) {
  if (local().clients.erase(c) != 0) {
    num_clients_.fetch_sub(1, std::memory_order_relaxed);
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

size_t Node::num_users() const {
  std::lock_guard lock(users_mu_);
  return user_counts_.size();
}

void Node::index_user(Client* c) { local().users.emplace(c->user(), c); }

void Node::unindex_user(Client* c) {
  auto& users = local().users;
  auto [b, e] = users.equal_range(c->user());
  for (auto it = b; it != e; ++it) {
    if (it->second == c) {
      users.erase(it);
      return;
    }
  }
}

void Node::fan_out(std::shared_ptr<const hub::Fanout> f) {
  for (unsigned i = 0; i < shards_.size(); ++i) {
    NodeShard* st = shard_state_[i].get();
    shards_.at(i).post([st, f] { st->hub.broadcast(f); });
  }
}

void Node::handle_publication(const std::string& channel,
                              std::shared_ptr<const protocol::Publication> pub, bool delta,
                              std::shared_ptr<const protocol::Publication> prev) {
  fan_out(hub::make_publication_fanout(channel, std::move(pub), delta, shards_.size(),
                                       std::move(prev)));
}

void Node::handle_join(const std::string& channel, const protocol::ClientInfo& info) {
  fan_out(hub::make_join_fanout(channel, info, shards_.size()));
}

void Node::handle_leave(const std::string& channel, const protocol::ClientInfo& info) {
  fan_out(hub::make_leave_fanout(channel, info, shards_.size()));
}

void Node::for_each_shard(std::function<void(NodeShard&)> op, std::function<void()> done) {
  Shard* origin = Shard::current();
  auto left = std::make_shared<std::atomic<unsigned>>(shards_.size());
  auto shared_op = std::make_shared<std::function<void(NodeShard&)>>(std::move(op));
  auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
  for (unsigned i = 0; i < shards_.size(); ++i) {
    NodeShard* st = shard_state_[i].get();
    shards_.at(i).post([st, left, shared_op, shared_done, origin] {
      (*shared_op)(*st);
      if (left->fetch_sub(1) == 1 && *shared_done) {
        if (origin != nullptr) {
          origin->post([shared_done] { (*shared_done)(); });
        } else {
          (*shared_done)();
        }
      }
    });
  }
}

void Node::shutdown(std::function<void()> done) {
  shutting_down_.store(true, std::memory_order_release);
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
