#include "transport/byte_stream.h"

#include <array>
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

ByteStream::ByteStream(ByteStream&&) noexcept = default;
ByteStream& ByteStream::operator=(ByteStream&&) noexcept = default;
ByteStream::~ByteStream() = default;

bool ByteStream::tls_has_output() const { return tls_->has_output(); }

bool ByteStream::tls_buffered_input() const { return tls_->has_buffered_input(); }

bool ByteStream::flush(error_code& ec) {
  while (tls_->has_output()) {
    std::string_view out = tls_->output();
    size_t n = socket_.write_some(asio::buffer(out.data(), out.size()), ec);
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
    size_t got = socket_.read_some(asio::buffer(in.data(), in.size()), ec);
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
      socket_.write_some(asio::buffer(kReply), wec);
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
  if (tls_ && socket_.is_open()) {
    tls_->shutdown();
    flush(ec);
  }
  socket_.shutdown(Socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace gyre::transport
