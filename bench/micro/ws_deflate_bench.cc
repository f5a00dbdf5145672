#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>
#include <vector>

#include "hub/fanout.h"
#include "transport/websocket_session.h"
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

namespace {

namespace asio = boost::asio;

// Connected loopback TCP pairs: the server ends go to WebSocketSessions, the client ends are
// drained between iterations.
struct SessionSet {
  explicit SessionSet(size_t n, bool deflate) {
    gyre::Shard::set_current(&shards.at(0));  // this thread is the only shard
    asio::ip::tcp::acceptor acc(io, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    gyre::transport::WebSocketOptions opts;
    opts.deflate = deflate;
    opts.queue_max_size = int64_t{1} << 40;
    for (size_t i = 0; i < n; ++i) {
      asio::ip::tcp::socket client(io);
      client.connect(acc.local_endpoint());
      gyre::transport::ByteStream::Socket server = acc.accept(io);
      client.non_blocking(true);
      peers.push_back(std::move(client));
      sessions.push_back(
          std::make_shared<gyre::transport::WebSocketSession>(
              gyre::transport::ByteStream(std::move(server)), opts));
    }
  }
  void drain() {
    gyre::transport::WebSocketSession::flush_dirty();
    static char buf[1 << 16];
    for (auto& p : peers) {
      boost::system::error_code ec;
      while (p.read_some(asio::buffer(buf), ec) > 0 && !ec) {
      }
    }
  }
  ~SessionSet() {
    sessions.clear();
    gyre::Shard::set_current(nullptr);
  }
  gyre::ShardSet shards{1};
  gyre::transport::WebSocketShards ws_shards{shards};
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> peers;
  std::vector<std::shared_ptr<gyre::transport::WebSocketSession>> sessions;
};

// The per-shard part of a fan-out as the transport does it: one publication queued on 1,000
// sessions. Plain: frame once, then a pointer per subscriber. Deflate: frame and compress once,
// then the same pointer per subscriber; the difference is one compression per publication
// (~5 us), i.e. a few ns per delivery at 1,000 subscribers. Flushing (writev) is not timed.
void BM_WsSendShared(benchmark::State& state) {
  const bool deflate = state.range(0) != 0;
  SessionSet set(1000, deflate);
  gyre::transport::WebSocketSession::set_loop_driven_flush(true);  // on the set's shard
  auto pub = std::make_shared<gyre::protocol::Publication>();
  pub->data = R"({"t":1732800000000000000,"s":12345,"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})";
  for (auto _ : state) {
    auto f = gyre::hub::make_publication_fanout("chat:lobby", pub, false);
    for (auto& s : set.sessions) {
      s->send_shared(f, gyre::hub::Fanout::Form::kPlain);
    }
    state.PauseTiming();
    f.reset();
    set.drain();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1000);
}
BENCHMARK(BM_WsSendShared)->Arg(0)->Arg(1)->ArgName("deflate");

}  // namespace
