#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.h"
#include "config/config.h"
#include "core/shard.h"
#include "engine/memory_engine.h"
#include "hub/fanout.h"
#include "node/client.h"
#include "node/node.h"
#include "node/transport.h"
#include "protocol/codec.h"

// In-process harness for node::Client (STYLE.md "Component" tests): a real Node and
// MemoryEngine on a ShardSet of one shard whose loop the test thread drives with poll() (no
// threads, no sleeps), the JSON codec, a fake transport that records every message and the
// disconnect, and the shard's SessionClock set to manual so timers move only when a test
// advances it. Shard-local: everything runs on the test thread, which is made shard 0.
namespace gyre::node::testing {

// Records what a client session sends. Shard-local.
class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(TransportInfo info = {"websocket", false, false, true},
                         const protocol::Codec& codec = protocol::json_codec())
      : info_(info), codec_(codec) {}

  const protocol::Codec& codec() const override { return codec_; }
  TransportInfo info() const override { return info_; }
  void send(std::string message) override { messages.push_back(std::move(message)); }
  void send_shared(const std::shared_ptr<const hub::Fanout>& f, hub::Fanout::Form form) override {
    if (form == hub::Fanout::Form::kPlain && codec_.type() == protocol::ProtocolType::kJson) {
      messages.push_back(f->json);  // the shared JSON push, as the WebSocket session sends it
      return;
    }
    if (form == hub::Fanout::Form::kPlain) {
      std::string out;
      const bool uni = info_.unidirectional;
      switch (f->kind) {
        case hub::Fanout::Kind::kPublication:
          codec_.encode_pub(out, f->channel, *f->pub, uni);
          break;
        case hub::Fanout::Kind::kJoin:
          codec_.encode_join(out, f->channel, f->info, uni);
          break;
        case hub::Fanout::Kind::kLeave:
          codec_.encode_leave(out, f->channel, f->info, uni);
          break;
      }
      messages.push_back(std::move(out));
      return;
    }
    std::string out;
    const bool patch = form == hub::Fanout::Form::kDeltaPatch;
    codec_.encode_pub_delta_form(out, f->channel, *f->pub, patch ? f->patch : f->pub->data,
                                 patch, info_.unidirectional);
    messages.push_back(std::move(out));
  }
  void close(const Disconnect& d) override {
    if (!closed) {
      closed = d;
    }
  }
  void connect_failed(uint32_t code, std::string_view message) override {
    failed_code = code;
  }

  std::vector<std::string> messages;
  std::optional<Disconnect> closed;
  std::optional<uint32_t> failed_code;

 private:
  TransportInfo info_;
  const protocol::Codec& codec_;
};

// `s` with every `from` replaced by `to` (ids and epochs are random: tests name them).
inline std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  if (from.empty()) {
    return s;
  }
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// One connection under test: its transport and its session.
struct Conn {
  std::unique_ptr<FakeTransport> transport;
  std::shared_ptr<Client> client;

  // Messages sent since the last call, with the client id replaced by "<client>".
  std::vector<std::string> take() {
    std::vector<std::string> out;
    out.swap(transport->messages);
    for (auto& m : out) {
      m = replace_all(std::move(m), client->id(), "<client>");
    }
    return out;
  }
  // The only message sent since the last take(); fails the test otherwise.
  std::string one() {
    auto all = take();
    EXPECT_EQ(all.size(), 1u) << (all.empty() ? std::string("(none)") : all.back());
    return all.empty() ? std::string() : all.back();
  }
  std::optional<Disconnect> closed() const { return transport->closed; }
};

class ClientTest : public ::testing::Test {
 protected:
  // 2023-11-14T22:13:20Z: the wall time the manual clock starts at.
  static constexpr int64_t kStartUnix = 1700000000;
  static constexpr const char* kSecret = "secret";

  ClientTest() {
    cfg.token.hmac_secret_key = kSecret;
    Shard::set_current(&shards.at(0));
  }
  ~ClientTest() override {
    for (auto& c : conns_) {
      if (!c->client->closed()) {
        c->client->transport_closed();
      }
    }
    run();
    Shard::set_current(nullptr);
  }

  // Builds the node from `cfg` (edit cfg first). Called by connect()/open() when needed.
  void start() {
    if (node) {
      return;
    }
    node = std::make_unique<Node>(shards, engine_override ? *engine_override : engine,
                                  std::make_shared<const config::Config>(cfg));
    // Started at the wheel's origin: deadlines a whole number of ticks away fire exactly
    // when the clock reaches them.
    node->local().clock.set_manual(node->local().wheel.origin(), kStartUnix * 1000);
  }

  // Runs the shard's ready handlers until none is left (engine callbacks, fan-out).
  void run() {
    auto& io = shards.at(0).io();
    for (;;) {
      io.restart();
      if (io.poll() == 0) {
        break;
      }
    }
  }

  // Moves the manual clock and runs the clients due on the shard's timer wheel, as the
  // node's tick does.
  void advance(std::chrono::milliseconds d) {
    start();
    auto& shard = node->local();
    shard.clock.advance(d);
    const auto now = shard.clock.now();
    shard.wheel.advance(now, [now](Client* c) { c->tick(now); });
    run();
  }

  int64_t now_unix() { return node->local().clock.unix_seconds(); }

  Conn& open(TransportInfo info = {"websocket", false, false, true},
             ConnectionRequest request = {},
             const protocol::Codec& codec = protocol::json_codec()) {
    start();
    auto c = std::make_unique<Conn>();
    c->transport = std::make_unique<FakeTransport>(info, codec);
    c->client = std::make_shared<Client>(*node, c->transport.get(), std::move(request));
    c->client->open();
    conns_.push_back(std::move(c));
    return *conns_.back();
  }

  void send(Conn& c, std::string_view frame) {
    c.client->handle_frame(frame);
    run();
  }

  // A connection token signed with kSecret; `claims` is the JSON object body without braces.
  static std::string token(std::string_view claims) {
    return auth::make_hs256_token(kSecret, "{" + std::string(claims) + "}");
  }

  // Opens and connects with a token for `claims`; expects a successful connect reply.
  Conn& connected(std::string_view claims = R"("sub":"42")") {
    Conn& c = open();
    send(c, R"({"id":1,"connect":{"token":")" + token(claims) + R"("}})");
    auto msgs = c.take();
    EXPECT_EQ(msgs.size(), 1u);
    EXPECT_FALSE(msgs.empty() || msgs[0].find(R"("connect":{)") == std::string::npos)
        << (msgs.empty() ? "" : msgs[0]);
    return c;
  }

  // Publishes `data` to `ch` with history (size 10, ttl 300 s) and runs the fan-out.
  uint64_t publish(const std::string& ch, std::string data) {
    protocol::Publication pub;
    pub.data = std::move(data);
    pub.data_is_json = true;
    pub.time = node->local().clock.unix_ms();
    engine::PublishOptions opts;
    opts.history = {10, std::chrono::seconds(300), std::chrono::hours(1)};
    uint64_t offset = 0;
    engine.publish(ch, std::move(pub), std::move(opts),
                   [&](OpResult<engine::StreamPosition> r) {
                     ASSERT_TRUE(r.has_value());
                     offset = r->offset;
                   });
    run();
    return offset;
  }

  // The stream top of `ch`.
  engine::StreamPosition top(const std::string& ch) {
    engine::StreamPosition out;
    engine.history(ch, {}, std::chrono::hours(1),
                   [&](OpResult<engine::HistoryResult> r) {
                     ASSERT_TRUE(r.has_value());
                     out = r->top;
                   });
    run();
    return out;
  }

  config::Config cfg;
  ShardSet shards{1};
  engine::MemoryEngine engine{shards};
  engine::Engine* engine_override = nullptr;  // set before start() to run on another engine
  std::unique_ptr<Node> node;

 private:
  std::vector<std::unique_ptr<Conn>> conns_;
};

// Namespace "chat" with these options added to cfg.
inline config::ChannelOptions& add_namespace(config::Config& cfg, std::string name) {
  cfg.namespaces.push_back({std::move(name), {}});
  return cfg.namespaces.back().options;
}

}  // namespace gyre::node::testing
