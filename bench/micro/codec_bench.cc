#include <benchmark/benchmark.h>

#include "protocol/codec.h"
#include "transport/ws_frame.h"

namespace {

using gyre::protocol::json_codec;

const std::string kPayload =
    R"({"t":1732800000000000000,"s":12345,"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})";

void BM_JsonEncodePublicationPush(benchmark::State& state) {
  gyre::protocol::Publication pub;
  pub.data = kPayload;
  pub.offset = 42;
  std::string out;
  for (auto _ : state) {
    out.clear();
    json_codec().encode_pub(out, "chat:lobby", pub, false);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_JsonEncodePublicationPush);

void BM_JsonDecodePublishCommand(benchmark::State& state) {
  const std::string frame =
      R"({"publish":{"channel":"chat:lobby","data":)" + kPayload + R"(},"id":7})";
  std::vector<gyre::protocol::Command> cmds;
  for (auto _ : state) {
    cmds.clear();
    bool ok = json_codec().decode_commands(frame, cmds);
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame.size()));
}
BENCHMARK(BM_JsonDecodePublishCommand);

void BM_JsonDecodeConnectAndSubscribe(benchmark::State& state) {
  const std::string frame =
      "{\"connect\":{\"token\":\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9."
      "79CVgMIG_JB921dVUeJDWNJubJojFodH3-XtC_1C408\",\"name\":\"js\"},\"id\":1}\n"
      "{\"subscribe\":{\"channel\":\"chat:lobby\",\"flag\":1},\"id\":2}";
  std::vector<gyre::protocol::Command> cmds;
  for (auto _ : state) {
    cmds.clear();
    bool ok = json_codec().decode_commands(frame, cmds);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_JsonDecodeConnectAndSubscribe);

void BM_WsWriteHeader(benchmark::State& state) {
  uint8_t hdr[gyre::transport::ws::kMaxHeader];
  uint64_t len = 100;
  for (auto _ : state) {
    size_t n = gyre::transport::ws::write_header(hdr, gyre::transport::ws::kText, len);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(hdr);
  }
}
BENCHMARK(BM_WsWriteHeader);

void BM_WsUnmask(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'a');
  const uint8_t mask[4] = {1, 2, 3, 4};
  for (auto _ : state) {
    gyre::transport::ws::unmask(reinterpret_cast<uint8_t*>(data.data()), data.size(), mask);
    benchmark::DoNotOptimize(data.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_WsUnmask)->Arg(128)->Arg(4096);

}  // namespace
