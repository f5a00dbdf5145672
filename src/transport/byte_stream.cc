#include "transport/byte_stream.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <string>

#include "tls/server_tls.h"

namespace gyre::transport {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
// Ciphertext read scratch and the gather buffer TLS records are cut from: per-thread scratch
// that holds nothing between calls (docs/architecture.md, "Left as thread_local").
thread_local std::array<char, 16 * 1024> t_cipher_in;
thread_local std::string t_plain_out;
constexpr size_t kRecordPlaintext = 16 * 1024;  // one full TLS record

// The first bytes of a connection are an HTTP/1.x request line, not a TLS record (as Go's
// crypto/tls RecordHeaderError check in net/http: the five bytes of a method).
bool plain_http_request(std::string_view first) {
  if (first.size() < 5) {
    return false;
  }
  std::string_view h = first.substr(0, 5);
  return h == "GET /" || h == "HEAD " || h == "POST " || h == "PUT /" || h == "OPTIO";
}
}  // namespace

ByteStream::ByteStream(Socket socket) : socket_(std::move(socket)) {}

ByteStream::ByteStream(Socket socket, std::unique_ptr<tls::TlsConnection> tls)
    : socket_(std::move(socket)), tls_(std::move(tls)) {
  if (tls_) {
    error_code ec;
    socket_.non_blocking(true, ec);
  }
}

ByteStream::ByteStream(ByteStream&& o) noexcept
    : socket_(std::move(o.socket_)), tls_(std::move(o.tls_)) {
  assert(!o.attached() && o.entry_.prev == nullptr);
}

ByteStream& ByteStream::operator=(ByteStream&& o) noexcept {
  assert(!attached() && !o.attached() && o.entry_.prev == nullptr);
  socket_ = std::move(o.socket_);
  tls_ = std::move(o.tls_);
  return *this;
}

ByteStream::~ByteStream() {
  if (attached()) {
    // No wait can be pending: it would hold the stream's owner.
    auto w = Readiness::remove(entry_);
  }
}

void ByteStream::attach(error_code& ec) {
  ec = {};
  if (attached()) {
    return;
  }
  auto& set = Readiness::of(socket_.get_executor().context());
  int fd = socket_.release(ec);
  if (ec) {
    socket_.close(ec);
    ec = asio::error::make_error_code(asio::error::bad_descriptor);
    return;
  }
  // Asio leaves O_NONBLOCK as it set it; set it here anyway: a blocking recv would stop the
  // shard.
  int on = 1;
  if (::ioctl(fd, FIONBIO, &on) != 0 || !set.add(entry_, fd)) {
    ec = error_code(errno, asio::error::get_system_category());
    ::close(fd);
  }
}

void ByteStream::wait(Readiness::Dir d, std::shared_ptr<Readiness::Waiter> o) {
  if (!attached()) {
    // Closed (or never attached): the owner's next read or write fails, as a wait on a
    // closed Asio socket completes with an error.
    asio::post(socket_.get_executor(), [o = std::move(o), d] { o->on_ready(d); });
    return;
  }
  if (d == Readiness::kRead && tls_ && tls_buffered_input()) {
    // A whole record decrypted but not returned: the socket may never signal again.
    entry_.ready |= Readiness::kRead;
  }
  if (!Readiness::wait(entry_, d, o)) {
    asio::post(socket_.get_executor(), [o = std::move(o), d] { o->on_ready(d); });
  }
}

bool ByteStream::retry_raw(Readiness::Dir d, error_code& ec) {
  if (errno == EINTR) {
    return true;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    ran_dry(d);
    ec = asio::error::would_block;
    return false;
  }
  ec = error_code(errno, asio::error::get_system_category());
  return false;
}

size_t ByteStream::raw_read(asio::mutable_buffer buf, error_code& ec) {
  ec = {};
  if (buf.size() == 0) {
    return 0;
  }
  for (;;) {
    ssize_t n = ::recv(entry_.fd, buf.data(), buf.size(), 0);
    if (n > 0) {
      if (static_cast<size_t>(n) < buf.size()) {
        // The receive queue was emptied: more data is a new edge.
        ran_dry(Readiness::kRead);
      }
      return static_cast<size_t>(n);
    }
    if (n == 0) {
      ec = asio::error::eof;
      return 0;
    }
    if (!retry_raw(Readiness::kRead, ec)) {
      return 0;
    }
  }
}

size_t ByteStream::raw_write(std::span<const asio::const_buffer> bufs, error_code& ec) {
  ec = {};
  constexpr size_t kMaxIov = 256;  // the rest goes with the next call
  std::array<iovec, kMaxIov> iov;
  size_t n_iov = 0;
  size_t total = 0;
  for (const auto& b : bufs) {
    if (n_iov == kMaxIov) {
      break;
    }
    if (b.size() == 0) {
      continue;
    }
    iov[n_iov].iov_base = const_cast<void*>(b.data());
    iov[n_iov].iov_len = b.size();
    total += b.size();
    ++n_iov;
  }
  if (total == 0) {
    return 0;
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = n_iov;
  for (;;) {
    ssize_t n = ::sendmsg(entry_.fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) {
      if (static_cast<size_t>(n) < total) {
        // The send buffer is full: the kernel signals when it has room again.
        ran_dry(Readiness::kWrite);
      }
      return static_cast<size_t>(n);
    }
    if (!retry_raw(Readiness::kWrite, ec)) {
      return 0;
    }
  }
}

bool ByteStream::tls_has_output() const { return tls_->has_output(); }

bool ByteStream::tls_buffered_input() const { return tls_->has_buffered_input(); }

bool ByteStream::flush(error_code& ec) {
  while (tls_->has_output()) {
    std::string_view out = tls_->output();
    const asio::const_buffer b = asio::buffer(out.data(), out.size());
    size_t n = sock_write(std::span(&b, 1), ec);
    if (ec) {
      if (ec == asio::error::try_again) {
        ec = asio::error::would_block;
      }
      return false;
    }
    tls_->consume_output(n);
  }
  return true;
}

size_t ByteStream::tls_read_some(asio::mutable_buffer buf, error_code& ec) {
  ec = {};
  for (;;) {
    size_t n = 0;
    auto st = tls_->read(static_cast<char*>(buf.data()), buf.size(), n);
    error_code fec;
    flush(fec);  // handshake replies, alerts; what the socket does not take stays pending
    switch (st) {
      case tls::TlsConnection::Status::kOk:
        return n;
      case tls::TlsConnection::Status::kClosed:
        ec = asio::error::eof;
        return 0;
      case tls::TlsConnection::Status::kError:
        ec = asio::error::make_error_code(asio::error::connection_aborted);
        return 0;
      case tls::TlsConnection::Status::kWantRead:
        if (tls_->acme_validation() && tls_->handshake_done()) {
          ec = asio::error::eof;  // RFC 8737 §3: the validation is the handshake only
          return 0;
        }
        break;
    }
    if (fec && fec != asio::error::would_block) {
      ec = fec;
      return 0;
    }
    auto& in = t_cipher_in;
    size_t got = sock_read(asio::buffer(in.data(), in.size()), ec);
    if (ec) {
      if (ec == asio::error::try_again) {
        ec = asio::error::would_block;
      }
      return 0;
    }
    if (!tls_->received() && plain_http_request(std::string_view(in.data(), got))) {
      // Go's net/http answers a plain HTTP request on a TLS port so (server.go, "Client sent
      // an HTTP request to an HTTPS server"); best effort, the connection then closes.
      static constexpr std::string_view kReply =
          "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
      error_code wec;
      const asio::const_buffer b = asio::buffer(kReply);
      sock_write(std::span(&b, 1), wec);
      ec = asio::error::make_error_code(asio::error::connection_aborted);
      return 0;
    }
    tls_->feed(in.data(), got);
  }
}

size_t ByteStream::tls_write_some(std::span<const asio::const_buffer> bufs, error_code& ec) {
  ec = {};
  if (!flush(ec)) {
    return 0;  // older ciphertext first: nothing of `bufs` is taken
  }
  // Small buffers (WebSocket frame headers, chunk sizes) are joined so that a TLS record
  // carries many of them; large ones are encrypted in place.
  size_t total = 0;
  auto& join = t_plain_out;
  join.clear();
  auto put = [&](const char* p, size_t n) {
    if (tls_->write(p, n) != tls::TlsConnection::Status::kOk) {
      ec = asio::error::make_error_code(asio::error::connection_aborted);
      return false;
    }
    return true;
  };
  for (const auto& b : bufs) {
    const char* p = static_cast<const char*>(b.data());
    size_t n = b.size();
    total += n;
    if (join.size() + n <= kRecordPlaintext) {
      join.append(p, n);
      continue;
    }
    if (!join.empty()) {
      size_t fill = kRecordPlaintext - join.size();
      join.append(p, fill);
      p += fill;
      n -= fill;
      if (!put(join.data(), join.size())) {
        return 0;
      }
      join.clear();
    }
    if (n >= kRecordPlaintext) {
      size_t whole = n - n % kRecordPlaintext;
      if (!put(p, whole)) {
        return 0;
      }
      p += whole;
      n -= whole;
    }
    join.append(p, n);
  }
  if (!join.empty() && !put(join.data(), join.size())) {
    return 0;
  }
  if (join.capacity() > 4 * kRecordPlaintext) {
    std::string().swap(join);
  }
  error_code fec;
  flush(fec);
  if (fec && fec != asio::error::would_block) {
    ec = fec;
    return 0;
  }
  return total;
}

void ByteStream::close() {
  error_code ec;
  if (tls_ && is_open()) {
    tls_->shutdown();
    flush(ec);
  }
  if (attached()) {
    ::shutdown(entry_.fd, SHUT_RDWR);
    if (auto w = Readiness::remove(entry_)) {
      // The caller may be the owner itself: released after the current handler, as Asio
      // completes a cancelled wait later.
      asio::post(socket_.get_executor(), [w = std::move(w)] {});
    }
    return;
  }
  socket_.shutdown(Socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace gyre::transport
