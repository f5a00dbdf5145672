#include "engine/memory_engine.h"

#include <boost/asio/steady_timer.hpp>

namespace gyre::engine {

// One shard's share of the engine: the streams, presence and idempotency keys of the
// channels homed on it, and its expiry timer. Shard-local.
struct MemoryEngine::ShardState {
  explicit ShardState(Shard& s) : timer(s.io()) {}
  MemoryStreams streams;
  MemoryPresence presence;
  IdempotencyCache idempotency;
  boost::asio::steady_timer timer;
  bool stopped = false;
};

MemoryEngine::MemoryEngine(ShardSet& shards)
    : shards_(shards),
      state_(shards, [&shards](unsigned i) { return std::make_unique<ShardState>(shards.at(i)); }) {}

MemoryEngine::~MemoryEngine() = default;

void MemoryEngine::start() {
  state_.invoke_on_all([this](ShardState& st) { arm(st); });
}

void MemoryEngine::arm(ShardState& st) {
  // History TTL expiry is checked every second, as Centrifugo's memory engine does.
  st.timer.expires_after(std::chrono::seconds(1));
  st.timer.async_wait([this, &st](boost::system::error_code ec) {
    if (ec || st.stopped) {
      return;
    }
    st.streams.expire(now());
    arm(st);
  });
}

void MemoryEngine::stop() {
  state_.invoke_on_all([](ShardState& st) {
    st.stopped = true;
    st.timer.cancel();
  });
}

void MemoryEngine::expire(std::function<void()> done) {
  state_.invoke_on_all([this](ShardState& st) { st.streams.expire(now()); }, std::move(done));
}

template <typename T, typename Op>
void MemoryEngine::on_home(const std::string& channel, Op op, Callback<T> done,
                           Answer answer) {
  const unsigned home = shards_.home_index(channel);
  if (answer == Answer::kLater && state_.is_local(home)) {
    // The operation runs here and now; its answer waits for the next handler: callers of
    // these methods may iterate their own state around the call (engine.h contract).
    OpResult<T> result = op(state_.local());
    if (done) {
      run_later([done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
      });
    }
    return;
  }
  state_.submit_to(home, std::move(op),
                   [done = std::move(done)](OpResult<T> result) mutable {
                     if (done) {
                       done(std::move(result));
                     }
                   });
}

void MemoryEngine::publish(std::string channel, Publication pub, PublishOptions opts,
                           Callback<StreamPosition> done) {
  auto op = [this, channel, pub = std::move(pub),
             opts = std::move(opts)](ShardState& st) mutable -> OpResult<StreamPosition> {
    const auto now = this->now();
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
  on_home<StreamPosition>(channel, std::move(op), std::move(done), Answer::kInline);
}

void MemoryEngine::publish_join(std::string channel, ClientInfo info) {
  state_.post_to(shards_.home_index(channel),
                 [this, channel = std::move(channel), info = std::move(info)](ShardState&) {
                   if (handler_ != nullptr) {
                     handler_->handle_join(channel, info);
                   }
                 });
}

void MemoryEngine::publish_leave(std::string channel, ClientInfo info) {
  state_.post_to(shards_.home_index(channel),
                 [this, channel = std::move(channel), info = std::move(info)](ShardState&) {
                   if (handler_ != nullptr) {
                     handler_->handle_leave(channel, info);
                   }
                 });
}

void MemoryEngine::history(std::string channel, HistoryFilter filter, Duration meta_ttl,
                           Callback<HistoryResult> done) {
  auto op = [this, channel, filter = std::move(filter),
             meta_ttl](ShardState& st) -> OpResult<HistoryResult> {
    return st.streams.get(channel, filter, meta_ttl, now());
  };
  on_home<HistoryResult>(channel, std::move(op), std::move(done), Answer::kLater);
}

void MemoryEngine::remove_history(std::string channel, Callback<bool> done) {
  auto op = [channel](ShardState& st) -> OpResult<bool> {
    st.streams.remove(channel);
    return true;
  };
  on_home<bool>(channel, std::move(op), std::move(done), Answer::kLater);
}

void MemoryEngine::add_presence(std::string channel, std::string client_id, ClientInfo info,
                                Callback<bool> done) {
  auto op = [channel, client_id = std::move(client_id),
             info = std::move(info)](ShardState& st) mutable -> OpResult<bool> {
    st.presence.add(channel, client_id, std::move(info));
    return true;
  };
  on_home<bool>(channel, std::move(op), std::move(done), Answer::kLater);
}

void MemoryEngine::remove_presence(std::string channel, std::string client_id,
                                   std::string /*user_id*/, Callback<bool> done) {
  auto op = [channel, client_id = std::move(client_id)](ShardState& st)
      -> OpResult<bool> {
    st.presence.remove(channel, client_id);
    return true;
  };
  on_home<bool>(channel, std::move(op), std::move(done), Answer::kLater);
}

void MemoryEngine::presence(std::string channel,
                            Callback<std::vector<std::pair<std::string, ClientInfo>>> done) {
  auto op = [channel](ShardState& st)
      -> OpResult<std::vector<std::pair<std::string, ClientInfo>>> {
    return st.presence.get(channel);
  };
  on_home<std::vector<std::pair<std::string, ClientInfo>>>(channel, std::move(op),
                                                           std::move(done), Answer::kLater);
}

void MemoryEngine::presence_stats(std::string channel, Callback<PresenceStats> done) {
  auto op = [channel](ShardState& st) -> OpResult<PresenceStats> {
    return st.presence.stats(channel);
  };
  on_home<PresenceStats>(channel, std::move(op), std::move(done), Answer::kLater);
}

}  // namespace gyre::engine
