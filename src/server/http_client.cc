#include "server/http_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include <memory>

namespace gyre::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr uint64_t kBodyLimit = 4ull * 1024 * 1024;

// One TLS client context per thread (contexts are not cheap; shards never share one).
asio::ssl::context& tls_context() {
  thread_local asio::ssl::context ctx = [] {
    asio::ssl::context c(asio::ssl::context::tls_client);
    c.set_default_verify_paths();
    c.set_verify_mode(asio::ssl::verify_peer);
    return c;
  }();
  return ctx;
}

template <class Stream>
asio::awaitable<HttpResult> exchange(Stream& stream, const ParsedUrl& u) {
  http::request<http::empty_body> req{http::verb::get, u.target, 11};
  req.set(http::field::host, u.host);
  req.set(http::field::user_agent, "gyre");
  req.set(http::field::accept, "application/json");
  req.set(http::field::connection, "close");
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  auto res = parser.release();
  co_return HttpResult{static_cast<int>(res.result_int()), std::move(res.body())};
}

asio::awaitable<HttpResult> get(ParsedUrl u, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  beast::tcp_stream tcp_stream(ex);
  tcp_stream.expires_after(timeout);
  auto endpoints = co_await resolver.async_resolve(u.host, u.port, asio::use_awaitable);
  if (!u.tls) {
    co_await tcp_stream.async_connect(endpoints, asio::use_awaitable);
    co_return co_await exchange(tcp_stream, u);
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), tls_context());
  if (SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str()) != 1) {
    co_return HttpResult{0, "TLS: cannot set SNI host name"};
  }
  stream.set_verify_callback(asio::ssl::host_name_verification(u.host));
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  co_return co_await exchange(stream, u);
}

}  // namespace

bool parse_url(std::string_view url, ParsedUrl& out) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    out.tls = false;
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return false;
  }
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);  // userinfo is not sent
  }
  std::string_view host = authority;
  std::string_view port = out.tls ? "443" : "80";
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return false;
      }
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || port.empty() ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  out.host = std::string(host);
  out.port = std::string(port);
  out.target = target.empty() ? "/" : std::string(target.starts_with('?') ? "/" : "") +
                                          std::string(target);
  return true;
}

void http_get(asio::io_context& io, const std::string& url, std::chrono::milliseconds timeout,
              std::function<void(HttpResult)> done) {
  ParsedUrl u;
  if (!parse_url(url, u)) {
    asio::post(io, [done = std::move(done), url] { done(HttpResult{0, "bad URL " + url}); });
    return;
  }
  asio::co_spawn(io, get(std::move(u), timeout),
                 [done = std::move(done)](std::exception_ptr e, HttpResult r) {
                   if (e) {
                     std::string reason = "request failed";
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       reason = ex.what();
                     } catch (...) {
                     }
                     done(HttpResult{0, std::move(reason)});
                     return;
                   }
                   done(std::move(r));
                 });
}

}  // namespace gyre::server
