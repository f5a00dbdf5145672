#include "engine/redis/redis_cluster.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "engine/redis/redis_codec.h"

namespace gyre::engine::redis {
namespace {

// Expected slots from Redis 7.0 CLUSTER KEYSLOT.
TEST(RedisCluster, KeySlotIsCrc16OfTheHashTag) {
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("123456789"), 12739);  // CRC16/XMODEM check value 0x31C3 % 16384
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("foo{}{bar}"), 8363);  // an empty tag: the whole key is hashed
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("foo{{bar}}zap"), 4015);  // the tag is "{bar"
  EXPECT_EQ(key_slot("centrifugo.stream.{chat:1}"), 11659);
  EXPECT_EQ(key_slot("chat:1"), 11659);
}

TEST(RedisCluster, RoutingKeyIsTheFirstScriptKey) {
  EXPECT_EQ(routing_key({"EVALSHA", "abc", "2", "k1", "k2", "a"}), "k1");
  EXPECT_EQ(routing_key({"EVAL", "return 1", "0"}), "return 1");
  EXPECT_EQ(routing_key({"PUBLISH", "centrifugo.client.x", "m"}), "centrifugo.client.x");
  EXPECT_EQ(routing_key({"DEL", "k"}), "k");
}

TEST(RedisCluster, KeysAreHashTaggedInClusterModeAsCentrifuge) {
  RedisKeys k("centrifugo", true);
  EXPECT_EQ(k.stream("chat:1"), "centrifugo.stream.{chat:1}");
  EXPECT_EQ(k.stream_meta("chat:1"), "centrifugo.stream.meta.{chat:1}");
  EXPECT_EQ(k.result("chat:1", "key"), "centrifugo.result.{chat:1}.key");
  EXPECT_EQ(k.presence_data("chat:1"), "centrifugo.presence.data.{chat:1}");
  EXPECT_EQ(k.presence_expire("chat:1"), "centrifugo.presence.expire.{chat:1}");
  EXPECT_EQ(k.client_channel("chat:1"), "centrifugo.client.chat:1");
  EXPECT_EQ(k.channel_of("centrifugo.client.chat:1"), "chat:1");
  RedisKeys plain("centrifugo");
  EXPECT_EQ(plain.stream("chat:1"), "centrifugo.stream.chat:1");
}

// A fake cluster node on a loopback port: answers CLUSTER SLOTS with `slots_reply` (raw
// RESP), anything else with +OK; counts CLUSTER SLOTS and open connections.
class FakeNode {
 public:
  explicit FakeNode(boost::asio::io_context& io)
      : acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::string slots_reply;
  int slots_calls = 0;
  int open = 0;
  int closed = 0;

 private:
  struct Conn {
    boost::asio::ip::tcp::socket sock;
    std::string in;
    std::array<char, 4096> buf{};
  };
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) {
        return;
      }
      ++open;
      auto c = std::make_shared<Conn>(Conn{std::move(s), {}, {}});
      read(c);
      accept();
    });
  }
  void read(std::shared_ptr<Conn> c) {
    c->sock.async_read_some(boost::asio::buffer(c->buf), [this, c](boost::system::error_code ec,
                                                                   size_t n) {
      if (ec) {
        --open;
        ++closed;
        return;
      }
      c->in.append(c->buf.data(), n);
      std::string out;
      for (;;) {
        std::vector<std::string> argv;
        size_t used = parse(c->in, argv);
        if (used == 0) {
          break;
        }
        c->in.erase(0, used);
        if (argv.size() == 2 && argv[0] == "CLUSTER" && argv[1] == "SLOTS") {
          ++slots_calls;
          out += slots_reply;
        } else {
          out += "+OK\r\n";
        }
      }
      auto data = std::make_shared<std::string>(std::move(out));
      boost::asio::async_write(c->sock, boost::asio::buffer(*data),
                               [data](boost::system::error_code, size_t) {});
      read(c);
    });
  }
  // One RESP array of bulk strings from the front of `in`: bytes used, 0 if incomplete.
  static size_t parse(const std::string& in, std::vector<std::string>& argv) {
    size_t pos = 0;
    auto line = [&](std::string& out) {
      auto eol = in.find("\r\n", pos);
      if (eol == std::string::npos) {
        return false;
      }
      out = in.substr(pos, eol - pos);
      pos = eol + 2;
      return true;
    };
    std::string l;
    if (!line(l) || l.empty() || l[0] != '*') {
      return 0;
    }
    int n = std::stoi(l.substr(1));
    for (int i = 0; i < n; ++i) {
      if (!line(l) || l.empty() || l[0] != '$') {
        return 0;
      }
      size_t len = std::stoul(l.substr(1));
      if (in.size() < pos + len + 2) {
        return 0;
      }
      argv.push_back(in.substr(pos, len));
      pos += len + 2;
    }
    return pos;
  }
  boost::asio::ip::tcp::acceptor acceptor_;
};

// CLUSTER SLOTS: every slot on 127.0.0.1:`port`.
std::string all_slots_on(int port) {
  std::string p = std::to_string(port);
  return "*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:" + p + "\r\n";
}

// Runs `io` until `done` holds (bounded: a stuck client fails the test, it never hangs).
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(RedisCluster, SlotMapIsRefreshedOnATimerAndDroppedNodesAreClosed) {
  boost::asio::io_context io;
  FakeNode x(io);
  FakeNode y(io);
  x.slots_reply = all_slots_on(x.port());
  y.slots_reply = all_slots_on(y.port());
  ConnectionOptions base;
  auto client = std::make_shared<ClusterClient>(io, base, std::vector<Endpoint>{{"127.0.0.1", x.port()}},
                                                "test", std::chrono::milliseconds(20));
  client->start();
  const std::string at_x = "127.0.0.1:" + std::to_string(x.port());
  const std::string at_y = "127.0.0.1:" + std::to_string(y.port());
  ASSERT_TRUE(run_until(io, [&] { return client->node_of(0) == at_x && client->ready(); }));
  EXPECT_EQ(client->node_of(16383), at_x);

  // The cluster moves every slot to Y (a failover) while no command runs: only the timer can
  // tell the client.
  x.slots_reply = all_slots_on(y.port());
  const uint64_t before = client->refreshes();
  ASSERT_TRUE(run_until(io, [&] { return client->node_of(0) == at_y; }));
  EXPECT_GT(client->refreshes(), before);
  EXPECT_EQ(client->node_of(12182), at_y);
  // The connection to X (serving nothing now) is closed after the refresh that dropped it;
  // Y's is opened by the next command and makes the client ready.
  ASSERT_TRUE(run_until(io, [&] { return x.closed >= 1; }));
  bool answered = false;
  client->command({"GET", "foo"}, [&](std::expected<Reply, std::string> r) {
    answered = true;
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->str, "OK");
  });
  ASSERT_TRUE(run_until(io, [&] { return answered && client->ready(); }));
  EXPECT_GE(y.open, 1);

  // Without a timer (interval 0) nothing is asked after the first map.
  FakeNode z(io);
  z.slots_reply = all_slots_on(z.port());
  auto lazy = std::make_shared<ClusterClient>(io, base, std::vector<Endpoint>{{"127.0.0.1", z.port()}},
                                              "lazy", std::chrono::milliseconds(0));
  lazy->start();
  ASSERT_TRUE(run_until(io, [&] { return lazy->refreshes() == 1 && client->refreshes() > before + 3; }));
  EXPECT_EQ(z.slots_calls, 1);
  client->stop();
  lazy->stop();
  io.run_for(std::chrono::milliseconds(20));
}

}  // namespace
}  // namespace gyre::engine::redis
