#include "transport/readiness.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "transport/byte_stream.h"

namespace gyre::transport {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// A readiness owner as a session is one: it owns its ByteStream, and a pending wait holds it.
struct TestOwner : Readiness::Waiter, std::enable_shared_from_this<TestOwner> {
  TestOwner(ByteStream s, int* destroyed) : stream(std::move(s)), destroyed(destroyed) {}
  ~TestOwner() {
    if (destroyed != nullptr) {
      ++*destroyed;
    }
  }
  void on_ready(Readiness::Dir d) override {
    calls.push_back(d);
    if (hook) {
      hook(d);
    }
  }
  void wait(Readiness::Dir d) { stream.wait(d, shared_from_this()); }

  ByteStream stream;
  int* destroyed;
  std::vector<Readiness::Dir> calls;
  std::function<void(Readiness::Dir)> hook;
};

class ReadinessTest : public ::testing::Test {
 protected:
  ~ReadinessTest() override {
    for (int fd : peers_) {
      ::close(fd);
    }
  }

  // A connected socket pair: ours attached (a ByteStream in the set), the peer's descriptor.
  std::shared_ptr<TestOwner> make(int& peer, int* destroyed = nullptr) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    ByteStream::Socket s(io_);
    s.assign(asio::ip::tcp::v4(), fds[0]);
    auto o = std::make_shared<TestOwner>(ByteStream(std::move(s)), destroyed);
    error_code ec;
    o->stream.attach(ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(o->stream.attached());
    peer = fds[1];
    peers_.push_back(fds[1]);
    return o;
  }

  static void put(int fd, std::string_view s) {
    ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }

  // Runs handlers until `done` or the loop has nothing left to wait for; the bound only
  // keeps a broken build from hanging the suite.
  void run_until(const std::function<bool()>& done) {
    for (int i = 0; i < 1000 && !done(); ++i) {
      io_.run_one_for(std::chrono::milliseconds(10));
    }
  }

  std::string read_all(TestOwner& o) {
    std::string got;
    char buf[256];
    for (;;) {
      error_code ec;
      size_t n = o.stream.read_some(asio::buffer(buf), ec);
      if (ec) {
        EXPECT_EQ(ec, asio::error::would_block);
        return got;
      }
      got.append(buf, n);
    }
  }

  asio::io_context io_;
  std::vector<int> peers_;
};

TEST_F(ReadinessTest, AttachedDescriptorIsRegisteredAndLeavesTheSetOnClose) {
  int peer = -1;
  auto o = make(peer);
  EXPECT_EQ(Readiness::of(io_).size(), 1u);
  o->stream.close();
  EXPECT_FALSE(o->stream.attached());
  EXPECT_FALSE(o->stream.is_open());
  EXPECT_EQ(Readiness::of(io_).size(), 0u);
  char c;
  EXPECT_EQ(::read(peer, &c, 1), 0);  // the peer sees EOF
}

TEST_F(ReadinessTest, ReadinessIsDispatchedToTheWaitingOwner) {
  int peer = -1;
  auto o = make(peer);
  o->wait(Readiness::kRead);
  io_.poll();
  EXPECT_TRUE(o->calls.empty());  // nothing to read yet
  put(peer, "hello");
  run_until([&] { return !o->calls.empty(); });
  ASSERT_EQ(o->calls, std::vector<Readiness::Dir>{Readiness::kRead});
  EXPECT_EQ(read_all(*o), "hello");
  // Data after the read ran dry is a new edge: the next wait completes again.
  o->wait(Readiness::kRead);
  put(peer, "again");
  run_until([&] { return o->calls.size() == 2; });
  EXPECT_EQ(o->calls.size(), 2u);
  EXPECT_EQ(read_all(*o), "again");
}

TEST_F(ReadinessTest, ReadinessSeenWithoutAWaiterCompletesTheNextWaitButNotInsideTheCall) {
  int peer = -1;
  auto o = make(peer);
  put(peer, "x");
  io_.poll();  // harvested with no wait pending: remembered
  EXPECT_TRUE(o->calls.empty());
  o->wait(Readiness::kRead);
  EXPECT_TRUE(o->calls.empty());  // never inside the call
  io_.poll();
  EXPECT_EQ(o->calls, std::vector<Readiness::Dir>{Readiness::kRead});
  EXPECT_EQ(read_all(*o), "x");
}

TEST_F(ReadinessTest, APendingWaitKeepsItsOwnerAliveAndCloseReleasesItWithoutACall) {
  int destroyed = 0;
  int peer = -1;
  auto o = make(peer, &destroyed);
  TestOwner* raw = o.get();
  o->wait(Readiness::kRead);
  o.reset();
  io_.poll();
  EXPECT_EQ(destroyed, 0);  // the wait holds it, as an Asio handler holds a session
  raw->stream.close();      // e.g. from its own timer
  EXPECT_EQ(destroyed, 0);  // released after the current handler, not inside close()
  io_.poll();
  EXPECT_EQ(destroyed, 1);
}

TEST_F(ReadinessTest, ADescriptorClosedWhileItsEventIsPendingIsNotDispatched) {
  // Two ready descriptors harvested in one batch; whichever owner is called first closes the
  // other one and drops the test's reference to it (as a disconnect of another connection
  // would). The other is never called, and is freed only after the batch.
  int destroyed = 0;
  int pa = -1;
  int pb = -1;
  auto a = make(pa, &destroyed);
  auto b = make(pb, &destroyed);
  std::shared_ptr<TestOwner> keep_a = a;
  std::shared_ptr<TestOwner> keep_b = b;
  TestOwner* ra = a.get();
  TestOwner* rb = b.get();
  ra->hook = [&](Readiness::Dir) {
    rb->stream.close();
    keep_b.reset();
  };
  rb->hook = [&](Readiness::Dir) {
    ra->stream.close();
    keep_a.reset();
  };
  a->wait(Readiness::kRead);
  b->wait(Readiness::kRead);
  a.reset();
  b.reset();
  put(pa, "1");
  put(pb, "2");
  run_until([&] { return destroyed == 1; });
  io_.poll();
  EXPECT_EQ(destroyed, 1);
  TestOwner* survivor = keep_a ? ra : rb;
  ASSERT_TRUE(keep_a || keep_b);
  EXPECT_EQ(survivor->calls.size(), 1u);
  EXPECT_EQ(Readiness::of(io_).size(), 1u);
  survivor->hook = nullptr;
}

TEST_F(ReadinessTest, WriteReadinessAfterTheSendBufferFilled) {
  int peer = -1;
  auto o = make(peer);
  std::string chunk(64 * 1024, 'z');
  size_t sent = 0;
  for (;;) {
    error_code ec;
    const asio::const_buffer b = asio::buffer(chunk);
    size_t n = o->stream.write_some(std::span(&b, 1), ec);
    if (ec) {
      ASSERT_EQ(ec, asio::error::would_block);
      break;
    }
    sent += n;
  }
  ASSERT_GT(sent, 0u);
  o->wait(Readiness::kWrite);
  io_.poll();
  EXPECT_TRUE(o->calls.empty());  // still full
  std::vector<char> buf(1 << 16);
  size_t drained = 0;
  while (drained < sent) {
    ssize_t n = ::read(peer, buf.data(), buf.size());
    ASSERT_GT(n, 0);
    drained += static_cast<size_t>(n);
  }
  run_until([&] { return !o->calls.empty(); });
  EXPECT_EQ(o->calls, std::vector<Readiness::Dir>{Readiness::kWrite});
}

TEST_F(ReadinessTest, MoreReadyDescriptorsThanOneBatchAreAllDispatched) {
  constexpr int kCount = 300;  // over the 256-event batch
  std::vector<std::shared_ptr<TestOwner>> owners;
  std::vector<int> peers;
  for (int i = 0; i < kCount; ++i) {
    int p = -1;
    owners.push_back(make(p));
    peers.push_back(p);
    owners.back()->wait(Readiness::kRead);
  }
  io_.poll();
  for (int p : peers) {
    put(p, "m");
  }
  auto called = [&] {
    int n = 0;
    for (auto& o : owners) {
      n += o->calls.empty() ? 0 : 1;
    }
    return n;
  };
  run_until([&] { return called() == kCount; });
  EXPECT_EQ(called(), kCount);
  for (auto& o : owners) {
    EXPECT_EQ(o->calls.size(), 1u);
  }
}

TEST_F(ReadinessTest, ShutdownDropsPendingWaitsWithoutCallingThem) {
  int destroyed = 0;
  int calls = 0;
  auto io = std::make_unique<asio::io_context>();
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  peers_.push_back(fds[1]);
  ByteStream::Socket s(*io);
  s.assign(asio::ip::tcp::v4(), fds[0]);
  auto o = std::make_shared<TestOwner>(ByteStream(std::move(s)), &destroyed);
  error_code ec;
  o->stream.attach(ec);
  ASSERT_FALSE(ec);
  o->hook = [&](Readiness::Dir) { ++calls; };
  o->wait(Readiness::kRead);
  o.reset();
  io->poll();
  EXPECT_EQ(destroyed, 0);
  put(fds[1], "late");
  io.reset();  // shutdown first (ShardSet::discard_pending), then the services go
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(calls, 0);
  // The descriptor was closed with its owner (unread input: the peer sees a reset, not EOF).
  char c;
  EXPECT_EQ(::read(peers_.back(), &c, 1), -1);
  EXPECT_EQ(errno, ECONNRESET);
}

TEST_F(ReadinessTest, AWaitOnAClosedStreamCallsTheOwnerSoItsNextReadFails) {
  int peer = -1;
  auto o = make(peer);
  o->stream.close();
  o->wait(Readiness::kRead);
  EXPECT_TRUE(o->calls.empty());
  io_.poll();
  ASSERT_EQ(o->calls, std::vector<Readiness::Dir>{Readiness::kRead});
  char buf[4];
  error_code ec;
  o->stream.read_some(asio::buffer(buf), ec);
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace gyre::transport
