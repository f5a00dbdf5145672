#include "engine/memory_engine.h"

#include <boost/asio/steady_timer.hpp>

namespace gyre::engine {

struct MemoryEngine::ShardState {
  explicit ShardState(Shard& s) : timer(s.io()) {}
  MemoryStreams streams;
  MemoryPresence presence;
  IdempotencyCache idempotency;
  boost::asio::steady_timer timer;
  std::function<void()> tick;
  bool stopped = false;
};

MemoryEngine::MemoryEngine(ShardSet& shards) : shards_(shards) {
  for (unsigned i = 0; i < shards_.size(); ++i) {
    state_.push_back(std::make_unique<ShardState>(shards_.at(i)));
  }
}

MemoryEngine::~MemoryEngine() = default;

void MemoryEngine::start() {
  for (unsigned i = 0; i < shards_.size(); ++i) {
    ShardState* st = state_[i].get();
    // History TTL expiry is checked every second, as Centrifugo's memory engine does.
    st->tick = [st] {
      st->timer.expires_after(std::chrono::seconds(1));
      st->timer.async_wait([st](boost::system::error_code ec) {
        if (ec || st->stopped) {
          return;
        }
        st->streams.expire(std::chrono::steady_clock::now());
        st->tick();
      });
    };
    shards_.at(i).post([st] { st->tick(); });
  }
}

void MemoryEngine::stop() {
  for (unsigned i = 0; i < shards_.size(); ++i) {
    ShardState* st = state_[i].get();
    shards_.at(i).post([st] {
      st->stopped = true;
      st->timer.cancel();
    });
  }
}

template <typename T, typename Op>
void MemoryEngine::on_home(const std::string& channel, Op op, Callback<T> done) {
  Shard* origin = Shard::current();
  unsigned home = shards_.home_index(channel);
  ShardState* st = state_[home].get();
  shards_.at(home).post([st, op = std::move(op), done = std::move(done), origin]() mutable {
    std::expected<T, Error> result = op(*st);
    if (!done) {
      return;
    }
    if (origin == nullptr) {
      done(std::move(result));
      return;
    }
    origin->post([done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  });
}

void MemoryEngine::publish(std::string channel, Publication pub, PublishOptions opts,
                           Callback<StreamPosition> done) {
  auto op = [this, channel, pub = std::move(pub),
             opts = std::move(opts)](ShardState& st) mutable -> std::expected<StreamPosition, Error> {
    auto now = std::chrono::steady_clock::now();
    if (!opts.idempotency_key.empty()) {
      if (const auto* cached = st.idempotency.find(channel, opts.idempotency_key, now)) {
        return *cached;
      }
    }
    std::shared_ptr<const Publication> stored;
    std::shared_ptr<const Publication> prev;
    StreamPosition sp;
    if (opts.history.enabled()) {
      if (opts.delta) {
        prev = st.streams.last(channel);
      }
      stored = st.streams.add(channel, std::move(pub), opts.history, now);
      if (prev && (prev->offset + 1 != stored->offset || prev->epoch != stored->epoch)) {
        prev.reset();
      }
      sp = {stored->offset, stored->epoch};
    } else {
      stored = std::make_shared<const Publication>(std::move(pub));
    }
    if (!opts.idempotency_key.empty()) {
      st.idempotency.put(channel, opts.idempotency_key, sp, now);
    }
    if (handler_ != nullptr) {
      handler_->handle_publication(channel, std::move(stored), opts.delta, std::move(prev));
    }
    return sp;
  };
  on_home<StreamPosition>(channel, std::move(op), std::move(done));
}

void MemoryEngine::publish_join(std::string channel, ClientInfo info) {
  unsigned home = shards_.home_index(channel);
  shards_.at(home).post([this, channel = std::move(channel), info = std::move(info)] {
    if (handler_ != nullptr) {
      handler_->handle_join(channel, info);
    }
  });
}

void MemoryEngine::publish_leave(std::string channel, ClientInfo info) {
  unsigned home = shards_.home_index(channel);
  shards_.at(home).post([this, channel = std::move(channel), info = std::move(info)] {
    if (handler_ != nullptr) {
      handler_->handle_leave(channel, info);
    }
  });
}

void MemoryEngine::history(std::string channel, HistoryFilter filter, Duration meta_ttl,
                           Callback<HistoryResult> done) {
  auto op = [channel, filter = std::move(filter),
             meta_ttl](ShardState& st) -> std::expected<HistoryResult, Error> {
    return st.streams.get(channel, filter, meta_ttl, std::chrono::steady_clock::now());
  };
  on_home<HistoryResult>(channel, std::move(op), std::move(done));
}

void MemoryEngine::remove_history(std::string channel, Callback<bool> done) {
  auto op = [channel](ShardState& st) -> std::expected<bool, Error> {
    st.streams.remove(channel);
    return true;
  };
  on_home<bool>(channel, std::move(op), std::move(done));
}

void MemoryEngine::add_presence(std::string channel, std::string client_id, ClientInfo info,
                                Callback<bool> done) {
  auto op = [channel, client_id = std::move(client_id),
             info = std::move(info)](ShardState& st) mutable -> std::expected<bool, Error> {
    st.presence.add(channel, client_id, std::move(info));
    return true;
  };
  on_home<bool>(channel, std::move(op), std::move(done));
}

void MemoryEngine::remove_presence(std::string channel, std::string client_id,
                                   Callback<bool> done) {
  auto op = [channel, client_id = std::move(client_id)](ShardState& st)
      -> std::expected<bool, Error> {
    st.presence.remove(channel, client_id);
    return true;
  };
  on_home<bool>(channel, std::move(op), std::move(done));
}

void MemoryEngine::presence(std::string channel,
                            Callback<std::vector<std::pair<std::string, ClientInfo>>> done) {
  auto op = [channel](ShardState& st)
      -> std::expected<std::vector<std::pair<std::string, ClientInfo>>, Error> {
    return st.presence.get(channel);
  };
  on_home<std::vector<std::pair<std::string, ClientInfo>>>(channel, std::move(op),
                                                           std::move(done));
}

void MemoryEngine::presence_stats(std::string channel, Callback<PresenceStats> done) {
  auto op = [channel](ShardState& st) -> std::expected<PresenceStats, Error> {
    return st.presence.stats(channel);
  };
  on_home<PresenceStats>(channel, std::move(op), std::move(done));
}

}  // namespace gyre::engine
