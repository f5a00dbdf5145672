#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "hub/hub.h"

namespace {

struct CountingSubscriber final : gyre::hub::Subscriber {
  void deliver(const std::shared_ptr<const gyre::hub::Fanout>& f) override {
    ++count;
    bytes += f->json.size();
  }
  uint64_t count = 0;
  uint64_t bytes = 0;
};

// Hub lookup + one virtual deliver per subscriber: the per-shard part of a fan-out.
void BM_HubBroadcast(benchmark::State& state) {
  gyre::hub::Hub hub;
  std::vector<CountingSubscriber> subs(static_cast<size_t>(state.range(0)));
  for (auto& s : subs) {
    hub.add("chat:lobby", &s);
  }
  auto pub = std::make_shared<gyre::protocol::Publication>();
  pub->data = R"({"text":"hello"})";
  auto f = gyre::hub::make_publication_fanout("chat:lobby", pub, false);
  for (auto _ : state) {
    hub.broadcast(f);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_HubBroadcast)->Arg(1000)->Arg(5000);

// Per publication, on the channel's home shard: JSON check + the one JSON encoding.
// Args: data size in bytes; whether the producer already proved data is JSON
// (Publication::data_is_json: JSON clients and the JSON API) or the check must run.
void BM_MakePublicationFanout(benchmark::State& state) {
  auto pub = std::make_shared<gyre::protocol::Publication>();
  const auto size = static_cast<size_t>(state.range(0));
  pub->data = R"({"t":1732800000000000000,"s":12345,"p":")" + std::string(size > 40 ? size - 40 : 1, 'x') + R"("})";
  pub->data_is_json = state.range(1) != 0;
  pub->offset = 10;
  for (auto _ : state) {
    auto f = gyre::hub::make_publication_fanout("chat:lobby", pub, false);
    benchmark::DoNotOptimize(f.get());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * pub->data.size()));
}
BENCHMARK(BM_MakePublicationFanout)
    ->ArgNames({"bytes", "known_json"})
    ->Args({80, 0})
    ->Args({80, 1})
    ->Args({1024, 0})
    ->Args({1024, 1})
    ->Args({16384, 0})
    ->Args({16384, 1});

}  // namespace
