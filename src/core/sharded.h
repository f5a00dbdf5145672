#pragma once

#include <atomic>
#include <cassert>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/shard.h"

// Sharded<T>: one T per shard, reached one way (Seastar's sharded<T>). Each T lives on its
// shard and is touched only by that shard's thread; the Sharded object itself is immutable
// after construction and may be used from any thread. Work crosses shards through
// invoke_on / submit_to / invoke_on_all / map_reduce, which run inline when the caller is
// already on the target shard and post otherwise: with one shard nothing is ever posted.
//
// Re-entrancy: because same-shard calls run inline, a callback may run before the call that
// scheduled it returns. Callers that hold iterators or references into shard state across
// such a call must tolerate that (see hub::Hub::broadcast), or use post_to() to queue the
// work behind the current handler on purpose.
namespace gyre {

// Runs `fn` on `target`: inline when the calling thread is target's (or target is null:
// outside shard threads there is no loop to return to), otherwise posted to it.
template <class F>
void run_on(Shard* target, F&& fn) {
  if (target == nullptr || target == Shard::current()) {
    std::forward<F>(fn)();
  } else {
    target->post(std::forward<F>(fn));
  }
}

// Runs `fn` after the handler now running on the calling shard (never inline on a shard
// thread; inline outside shard threads). For contracts that promise "later, on this shard".
template <class F>
void run_later(F&& fn) {
  if (Shard* s = Shard::current()) {
    s->post(std::forward<F>(fn));
  } else {
    std::forward<F>(fn)();
  }
}

namespace sharded_detail {
// Whether a completion callback should be called: an empty std::function means "none".
template <class D>
bool is_set(const D&) {
  return true;
}
template <class Sig>
bool is_set(const std::function<Sig>& f) {
  return static_cast<bool>(f);
}
}  // namespace sharded_detail

template <class T>
class Sharded {
 public:
  // Builds one T per shard of `shards` with make(shard_id) -> std::unique_ptr<T>, on the
  // calling thread (startup: before the shard loops run).
  template <class Make>
    requires std::is_invocable_r_v<std::unique_ptr<T>, Make&, unsigned>
  Sharded(ShardSet& shards, Make&& make) : shards_(shards) {
    items_.reserve(shards.size());
    for (unsigned i = 0; i < shards.size(); ++i) {
      items_.push_back(make(i));
    }
  }
  Sharded(const Sharded&) = delete;
  Sharded& operator=(const Sharded&) = delete;

  unsigned size() const { return static_cast<unsigned>(items_.size()); }
  ShardSet& shards() const { return shards_; }

  // The calling shard's T. Only on a shard thread of this set.
  T& local() {
    T* t = local_if_any();
    assert(t != nullptr && "Sharded::local() outside the set's shard threads");
    return *t;
  }
  // The calling shard's T, or null outside the set's shard threads (startup, CLI, tests).
  T* local_if_any() {
    Shard* s = Shard::current();
    if (s == nullptr || s->id() >= items_.size() || s != &shards_.at(s->id())) {
      return nullptr;
    }
    return items_[s->id()].get();
  }
  const T* local_if_any() const { return const_cast<Sharded*>(this)->local_if_any(); }
  // The T of shard `i`. For startup, shutdown and tests; at run time only shard i may touch it.
  T& at(unsigned i) {
    assert(i < items_.size());
    return *items_[i];
  }
  // True when the calling thread is shard `i` of this set.
  bool is_local(unsigned i) const {
    Shard* s = Shard::current();
    return s != nullptr && i < items_.size() && s == &shards_.at(i);
  }

  // Runs fn(T&) on shard `shard`: inline when already there, else posted (FIFO from any one
  // posting thread).
  template <class F>
  void invoke_on(unsigned shard, F&& fn) {
    if (is_local(shard)) {
      fn(*items_[shard]);
      return;
    }
    post_to(shard, std::forward<F>(fn));
  }

  // Queues fn(T&) on shard `shard` even when already there: it runs after the current handler.
  template <class F>
  void post_to(unsigned shard, F&& fn) {
    T* t = items_[shard].get();
    shards_.at(shard).post([t, fn = std::forward<F>(fn)]() mutable { fn(*t); });
  }

  // Runs r = fn(T&) on shard `shard`, then done(r) on the calling shard (on `shard` itself
  // when called outside shard threads). Entirely inline when the caller is on `shard`;
  // otherwise one post there and one post back. `fn` returning void calls done().
  template <class F, class Done>
  void submit_to(unsigned shard, F&& fn, Done&& done) {
    using R = std::invoke_result_t<F&, T&>;
    if (is_local(shard)) {
      if constexpr (std::is_void_v<R>) {
        fn(*items_[shard]);
        done();
      } else {
        done(fn(*items_[shard]));
      }
      return;
    }
    Shard* origin = Shard::current();
    post_to(shard, [origin, fn = std::forward<F>(fn), done = std::forward<Done>(done)](
                       T& t) mutable {
      if constexpr (std::is_void_v<R>) {
        fn(t);
        run_on(origin, std::move(done));
      } else {
        run_on(origin, [done = std::move(done), r = fn(t)]() mutable { done(std::move(r)); });
      }
    });
  }

  // Runs fn(T&) on every shard. The other shards' calls are posted first, then the calling
  // shard's runs inline. `fn` is copied once per other shard.
  template <class F>
  void invoke_on_all(F&& fn) {
    unsigned here = size();
    for (unsigned i = 0; i < size(); ++i) {
      if (is_local(i)) {
        here = i;
        continue;
      }
      post_to(i, fn);
    }
    if (here < size()) {
      fn(*items_[here]);
    }
  }

  // Runs fn(T&) on every shard, then done() on the calling shard once all have run (inline
  // when the last one ran there). `fn` is shared by the shards and may run on several at
  // once: it must not mutate its captures. An empty std::function `done` is not called.
  template <class F, class Done>
  void invoke_on_all(F&& fn, Done&& done) {
    struct State {
      State(unsigned n, std::decay_t<F> f, std::decay_t<Done> d, Shard* o)
          : left(n), fn(std::move(f)), done(std::move(d)), origin(o) {}
      std::atomic<unsigned> left;
      std::decay_t<F> fn;
      std::decay_t<Done> done;
      Shard* origin;
    };
    auto st = std::make_shared<State>(size(), std::forward<F>(fn), std::forward<Done>(done),
                                      Shard::current());
    invoke_on_all([st](T& t) {
      st->fn(t);
      if (st->left.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
          sharded_detail::is_set(st->done)) {
        run_on(st->origin, [st] { st->done(); });
      }
    });
  }

  // Runs mapper(T&) on every shard, folds the results in shard order on the calling shard
  // (acc = reducer(std::move(acc), value)) and calls done(acc) there. `mapper` may run on
  // several shards at once: it must not mutate its captures.
  template <class Mapper, class R, class Reducer, class Done>
  void map_reduce(Mapper&& mapper, R initial, Reducer&& reducer, Done&& done) {
    using V = std::decay_t<std::invoke_result_t<Mapper&, T&>>;
    struct State {
      State(unsigned n, std::decay_t<Mapper> m, R a, std::decay_t<Reducer> r,
            std::decay_t<Done> d, Shard* o)
          : left(n),
            values(n),
            mapper(std::move(m)),
            acc(std::move(a)),
            reducer(std::move(r)),
            done(std::move(d)),
            origin(o) {}
      std::atomic<unsigned> left;
      std::vector<std::optional<V>> values;
      std::decay_t<Mapper> mapper;
      R acc;
      std::decay_t<Reducer> reducer;
      std::decay_t<Done> done;
      Shard* origin;
    };
    auto st = std::make_shared<State>(size(), std::forward<Mapper>(mapper), std::move(initial),
                                      std::forward<Reducer>(reducer), std::forward<Done>(done),
                                      Shard::current());
    // Each shard writes only its own slot; the last one (acq_rel) sees them all and folds
    // them on the origin (inline when that is where it ran).
    auto step = [st](unsigned i, T& t) {
      st->values[i].emplace(st->mapper(t));
      if (st->left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        run_on(st->origin, [st] {
          for (auto& v : st->values) {
            st->acc = st->reducer(std::move(st->acc), std::move(*v));
          }
          st->done(std::move(st->acc));
        });
      }
    };
    unsigned here = size();
    for (unsigned i = 0; i < size(); ++i) {
      if (is_local(i)) {
        here = i;
        continue;
      }
      post_to(i, [step, i](T& t) { step(i, t); });
    }
    if (here < size()) {
      step(here, *items_[here]);
    }
  }

 private:
  ShardSet& shards_;
  std::vector<std::unique_ptr<T>> items_;
};

}  // namespace gyre
