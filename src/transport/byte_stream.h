#pragma once

#include <boost/asio/compose.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <array>
#include <memory>
#include <span>

#include "transport/readiness.h"

namespace gyre::tls {
class TlsConnection;  // tls/server_tls.h: OpenSSL stays out of the sessions' headers
}

// A connection's byte stream: plain TCP, or TLS over it (tls::TlsConnection, OpenSSL with
// memory BIOs). Every session (HTTP, WebSocket, HTTP-stream/SSE) reads and writes through it.
// The plain path is the socket's own calls, inline: gather writes stay one writev with no
// copy. TLS encrypts the gathered buffers in the session's one write and keeps the ciphertext
// that the socket did not take (pending_output()) until the socket is writable again.
//
// Non-blocking contract: read_some/write_some never block (the socket is non-blocking);
// would_block means "wait with async_wait and call again". Also an Asio AsyncReadStream /
// AsyncWriteStream (async_read_some/async_write_some) for Beast's parser and asio::async_write;
// a TLS async_write_some completes once its ciphertext is all in the socket.
// Shard-local: lives in its session, on the connection's shard.
namespace gyre::transport {

class ByteStream {
 public:
  // The socket on its io_context's own executor type, not the polymorphic any_io_executor:
  // the socket and the readiness wait an idle connection keeps pending are ~150 bytes smaller
  // (docs/performance.md, "Idle connections"). Listeners accept onto a shard's io_context
  // (acceptor.async_accept(shard.io(), ...) yields this type).
  using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp,
                                                  boost::asio::io_context::executor_type>;
  using executor_type = Socket::executor_type;
  using wait_type = Socket::wait_type;
  using error_code = boost::system::error_code;

  // Plain TCP. (Two constructors, not a defaulted unique_ptr argument: the default would
  // instantiate ~unique_ptr<TlsConnection> where TlsConnection is incomplete; clang refuses.)
  explicit ByteStream(Socket socket);
  ByteStream(Socket socket, std::unique_ptr<tls::TlsConnection> tls);
  // Moves only in Asio mode (an attached Entry is pointed at by the epoll set).
  ByteStream(ByteStream&&) noexcept;
  ByteStream& operator=(ByteStream&&) noexcept;
  ~ByteStream();

  executor_type get_executor() { return socket_.get_executor(); }
  Socket& socket() { return socket_; }
  bool is_tls() const { return tls_ != nullptr; }
  tls::TlsConnection* tls() const { return tls_.get(); }

  // Takes the descriptor out of Asio into the Readiness set of the socket's io_context
  // (attached mode, for good). On failure (epoll refused it) the connection is closed and ec
  // set: the next read fails.
  void attach(error_code& ec);
  bool attached() const { return entry_.fd >= 0; }
  // Attached mode: o->on_ready(d) when `d` is ready (never inside this call; at once, posted,
  // when it signalled since the last read/write that would block, or TLS input is already
  // decrypted). `o` owns this stream; the pending wait keeps it alive until it completes or
  // the stream closes. One wait per direction at a time.
  void wait(Readiness::Dir d, std::shared_ptr<Readiness::Waiter> o);

  size_t read_some(boost::asio::mutable_buffer buf, error_code& ec) {
    if (!tls_) {
      return attached() ? raw_read(buf, ec) : socket_.read_some(buf, ec);
    }
    return tls_read_some(buf, ec);
  }
  size_t write_some(std::span<const boost::asio::const_buffer> bufs, error_code& ec) {
    if (!tls_) {
      return attached() ? raw_write(bufs, ec) : socket_.write_some(bufs, ec);
    }
    return tls_write_some(bufs, ec);
  }
  // TLS ciphertext the socket has not taken yet: wait for wait_write and call write_some (an
  // empty one flushes) until it is gone.
  bool pending_output() const { return tls_ && tls_has_output(); }

  // Readiness wait. For TLS, bytes already received (a whole record decrypted but not
  // returned) complete a read wait at once (posted), since the socket may never signal again.
  template <class Handler>
  void async_wait(wait_type w, Handler&& handler) {
    if (w == wait_type::wait_read && tls_ && tls_buffered_input()) {
      boost::asio::post(socket_.get_executor(),
                        [h = std::forward<Handler>(handler)]() mutable { h(error_code{}); });
      return;
    }
    socket_.async_wait(w, std::forward<Handler>(handler));
  }

  template <class MutableBufferSequence, class Handler>
  auto async_read_some(const MutableBufferSequence& buffers, Handler&& handler) {
    if (!tls_) {
      return socket_.async_read_some(buffers, std::forward<Handler>(handler));
    }
    return boost::asio::async_compose<Handler, void(error_code, size_t)>(
        ReadOp{this, first_mutable(buffers)}, handler, socket_);
  }

  template <class ConstBufferSequence, class Handler>
  auto async_write_some(const ConstBufferSequence& buffers, Handler&& handler) {
    if (!tls_) {
      return socket_.async_write_some(buffers, std::forward<Handler>(handler));
    }
    std::array<boost::asio::const_buffer, 16> iov;
    size_t n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && n < iov.size(); ++it) {
      iov[n++] = boost::asio::const_buffer(*it);
    }
    return boost::asio::async_compose<Handler, void(error_code, size_t)>(
        WriteOp{this, iov, n}, handler, socket_);
  }

  // Best effort close_notify (TLS), then shutdown and close of the socket. Idempotent.
  void close();
  bool is_open() const { return attached() || socket_.is_open(); }

 private:
  template <class B>
  static boost::asio::mutable_buffer first_mutable(const B& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer b(*it);
      if (b.size() != 0) {
        return b;
      }
    }
    return {};
  }

  // TLS read: the handshake and decryption run here; completes with plaintext, an error or
  // EOF. Waits for writability while handshake output is stuck, for readability otherwise.
  struct ReadOp {
    ByteStream* s;
    boost::asio::mutable_buffer buf;
    bool started = false;
    template <class Self>
    void operator()(Self& self, error_code ec = {}) {
      if (ec) {
        self.complete(ec, 0);
        return;
      }
      if (!started) {
        started = true;
        // Never complete inside the initiating call: the first attempt runs from the loop.
        s->async_wait(wait_type::wait_read, std::move(self));
        return;
      }
      size_t n = s->tls_read_some(buf, ec);
      if (ec == boost::asio::error::would_block) {
        s->socket_.async_wait(s->pending_output() ? wait_type::wait_write : wait_type::wait_read,
                              std::move(self));
        return;
      }
      self.complete(ec, n);
    }
  };

  // TLS write: encrypts everything at once, then completes when the socket took it all.
  struct WriteOp {
    ByteStream* s;
    std::array<boost::asio::const_buffer, 16> iov;
    size_t n_iov;
    size_t written = 0;
    bool started = false;
    bool taken = false;  // the plaintext is encrypted (older ciphertext had gone out first)
    template <class Self>
    void operator()(Self& self, error_code ec = {}) {
      const bool first = !started;
      started = true;
      if (!ec) {
        if (!taken) {
          written = s->tls_write_some(std::span(iov.data(), n_iov), ec);
          taken = !ec;
        } else {
          s->flush(ec);
        }
        if (ec == boost::asio::error::would_block) {
          ec = {};
        }
      }
      if (!ec && (!taken || s->pending_output())) {
        s->socket_.async_wait(wait_type::wait_write, std::move(self));
        return;
      }
      const size_t n = ec ? 0 : written;
      if (first) {  // never complete inside the initiating call
        boost::asio::post(s->socket_.get_executor(),
                          [self = std::move(self), ec, n]() mutable { self.complete(ec, n); });
        return;
      }
      self.complete(ec, n);
    }
  };

  // The descriptor's own reads and writes (either mode): recv / sendmsg when attached (and
  // the Entry's ready bits cleared when they run dry), the Asio socket's calls otherwise.
  size_t raw_read(boost::asio::mutable_buffer buf, error_code& ec);
  size_t raw_write(std::span<const boost::asio::const_buffer> bufs, error_code& ec);
  // Direction `d` ran dry (a read or write would block or came back short): the next change
  // of the socket buffer is a new edge, so a wait for `d` must wait for it.
  void ran_dry(Readiness::Dir d) { entry_.ready &= static_cast<uint8_t>(~d); }
  // After a failed recv/sendmsg: true to call again (EINTR); otherwise ec is set, to
  // would_block (and `d` ran dry) or to the error.
  bool retry_raw(Readiness::Dir d, error_code& ec);
  size_t sock_read(boost::asio::mutable_buffer buf, error_code& ec) {
    return attached() ? raw_read(buf, ec) : socket_.read_some(buf, ec);
  }
  size_t sock_write(std::span<const boost::asio::const_buffer> bufs, error_code& ec) {
    return attached() ? raw_write(bufs, ec) : socket_.write_some(bufs, ec);
  }

  bool tls_has_output() const;
  bool tls_buffered_input() const;
  size_t tls_read_some(boost::asio::mutable_buffer buf, error_code& ec);
  size_t tls_write_some(std::span<const boost::asio::const_buffer> bufs, error_code& ec);
  // Sends pending ciphertext; false (ec = would_block) while some is left.
  bool flush(error_code& ec);

  Socket socket_;  // attached mode: released (closed), kept for its executor
  std::unique_ptr<tls::TlsConnection> tls_;  // null: plain TCP (a plain stream adds 8 bytes)
  Readiness::Entry entry_;  // attached mode: the registration (fd >= 0 while open)
};

}  // namespace gyre::transport
