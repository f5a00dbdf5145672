#include "tls/acme_http_listener.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.h"

namespace gyre::tls {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
}

struct AcmeHttpListener::State {
  asio::io_context& io;
  const Autocert& autocert;
  std::optional<tcp::acceptor> acceptor;
  bool stopped = false;

  State(asio::io_context& io_, const Autocert& a) : io(io_), autocert(a) {}

  static asio::awaitable<void> serve(std::shared_ptr<State> self, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      stream.expires_after(std::chrono::seconds(30));
      http::request_parser<http::string_body> parser;
      parser.header_limit(8 * 1024);
      parser.body_limit(64 * 1024);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
      if (ec) {
        if (ec != http::error::end_of_stream && ec != asio::error::eof &&
            ec != beast::error::timeout && ec != asio::error::connection_reset) {
          // A malformed request: 400 as Go's server, then close.
          http::response<http::string_body> bad{http::status::bad_request, 11};
          bad.set(http::field::content_type, "text/plain; charset=utf-8");
          bad.set(http::field::connection, "close");
          bad.body() = "400 Bad Request";
          bad.prepare_payload();
          co_await http::async_write(stream, bad, tuple_awaitable);
        }
        break;
      }
      auto& req = parser.get();
      Http01Answer a = self->autocert.http01(std::string_view(req.method_string()),
                                             std::string_view(req[http::field::host]),
                                             std::string_view(req.target()));
      http::response<http::string_body> res{static_cast<http::status>(a.status), req.version()};
      res.set(http::field::content_type, a.status == 200 ? "text/plain"
                                         : a.status == 302 ? "text/html; charset=utf-8"
                                                           : "text/plain; charset=utf-8");
      if (a.status != 200 && a.status != 302) {
        res.set("X-Content-Type-Options", "nosniff");
      }
      if (!a.location.empty()) {
        res.set(http::field::location, a.location);
      }
      res.body() = std::move(a.body);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      if (req.method() == http::verb::head) {
        res.body().clear();  // Content-Length stays that of the GET answer
      }
      auto [wec, wn] = co_await http::async_write(stream, res, tuple_awaitable);
      if (wec || !res.keep_alive() || self->stopped) {
        break;
      }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  static asio::awaitable<void> accept(std::shared_ptr<State> self) {
    while (!self->stopped && self->acceptor) {
      auto [ec, socket] = co_await self->acceptor->async_accept(tuple_awaitable);
      if (ec) {
        if (ec == asio::error::operation_aborted || self->stopped) {
          co_return;
        }
        continue;  // EMFILE and the like: keep serving
      }
      asio::co_spawn(self->io, serve(self, std::move(socket)), asio::detached);
    }
  }
};

AcmeHttpListener::AcmeHttpListener(asio::io_context& io, const Autocert& autocert)
    : state_(std::make_shared<State>(io, autocert)) {}

AcmeHttpListener::~AcmeHttpListener() { stop(); }

std::expected<uint16_t, std::string> AcmeHttpListener::listen(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) {
    return std::unexpected("tls_autocert_http_addr " + addr + ": missing port");
  }
  std::string host = addr.substr(0, colon);
  std::string port = addr.substr(colon + 1);
  if (host.starts_with('[') && host.ends_with(']')) {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    return std::unexpected("tls_autocert_http_addr " + addr + ": bad port");
  }
  tcp::endpoint ep(tcp::v6(), static_cast<uint16_t>(std::stoul(port)));
  if (!host.empty()) {
    // Start-up only: a blocking resolve of the configured host.
    tcp::resolver resolver(state_->io);
    auto results = resolver.resolve(host, port, tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return std::unexpected("tls_autocert_http_addr " + addr + ": " +
                             (ec ? ec.message() : std::string("no address")));
    }
    ep = results.begin()->endpoint();
  }
  tcp::acceptor acc(state_->io);
  acc.open(ep.protocol(), ec);
  if (!ec && host.empty()) {
    acc.set_option(asio::ip::v6_only(false), ec);  // ":80" = IPv4 and IPv6, as Go
  }
  if (!ec) {
    acc.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    acc.bind(ep, ec);
  }
  if (!ec) {
    acc.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return std::unexpected("tls_autocert_http_addr " + addr + ": " + ec.message());
  }
  uint16_t bound = acc.local_endpoint().port();
  state_->acceptor.emplace(std::move(acc));
  asio::co_spawn(state_->io, State::accept(state_), asio::detached);
  logging::info("serving ACME http_01 challenge", {{"address", addr}});
  return bound;
}

void AcmeHttpListener::stop() {
  asio::post(state_->io, [s = state_] {
    s->stopped = true;
    if (s->acceptor) {
      boost::system::error_code ec;
      s->acceptor->close(ec);
    }
  });
}

}  // namespace gyre::tls
