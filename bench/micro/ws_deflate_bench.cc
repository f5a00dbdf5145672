#include <benchmark/benchmark.h>

#include <string>

#include "transport/ws_deflate.h"

namespace {

// A JSON push of about `size` bytes, shaped like a publication.
std::string push_of_size(size_t size) {
  std::string s = R"({"push":{"channel":"chat:lobby","pub":{"data":{"user":"alice","text":")";
  while (s.size() + 8 < size) {
    s += "hello, world ";
  }
  s += R"("}}}})";
  return s;
}

// The fan-out's compression cost: paid once per publication, shard and frame form (the
// compressed frame is shared by every compressing subscriber of the shard), never per
// subscriber. Level 1 is Centrifugo's default.
void BM_DeflatePush(benchmark::State& state) {
  std::string in = push_of_size(static_cast<size_t>(state.range(0)));
  std::string out;
  for (auto _ : state) {
    out.clear();
    gyre::transport::ws::deflate_message(out, in, 1);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(in.size()));
  state.counters["ratio"] = static_cast<double>(out.size()) / static_cast<double>(in.size());
}
BENCHMARK(BM_DeflatePush)->Arg(100)->Arg(1024)->Arg(16384);

// Per compressed client message: inflate with the size limit.
void BM_InflateCommand(benchmark::State& state) {
  std::string in = push_of_size(static_cast<size_t>(state.range(0)));
  std::string z;
  gyre::transport::ws::deflate_message(z, in, 1);
  std::string out;
  for (auto _ : state) {
    auto r = gyre::transport::ws::inflate_message(out, z, 65536);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(in.size()));
}
BENCHMARK(BM_InflateCommand)->Arg(100)->Arg(1024)->Arg(16384);

}  // namespace
