#include "server/http_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/system/system_error.hpp>
#include <openssl/ssl.h>

#include <list>
#include <memory>
#include <optional>

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
                     } catch (const boost::system::system_error& ex) {
                       reason = ex.code().message();  // what() carries the source location
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

// ------------------------------------------------------------------- HttpPool

// One kept-alive connection: plain or TLS, with its read buffer (bytes past a response stay
// there for the next one).
struct PooledConn {
  std::optional<beast::tcp_stream> tcp;
  std::optional<beast::ssl_stream<beast::tcp_stream>> ssl;
  beast::flat_buffer buffer;
  beast::tcp_stream& lowest() { return ssl ? beast::get_lowest_layer(*ssl) : *tcp; }
};

// Shard-local state of one endpoint. Shared by the pool and the requests in flight, so a
// request that outlives the pool (shutdown) still finds it.
struct HttpPool::Endpoint {
  ParsedUrl url;
  size_t max_inflight = 0;
  size_t max_idle = 0;
  size_t inflight = 0;
  std::vector<std::unique_ptr<PooledConn>> idle;
  // A request waiting for a slot. A releasing request hands its slot over: granted, then
  // the timer is cancelled to wake the waiter.
  struct Waiter {
    asio::steady_timer timer;
    bool granted = false;
  };
  std::list<Waiter*> waiters;

  void release() {
    if (!waiters.empty()) {
      Waiter* w = waiters.front();
      waiters.pop_front();
      w->granted = true;  // the slot passes on: inflight is unchanged
      w->timer.cancel();
      return;
    }
    --inflight;
  }
};

namespace {

using Endpoint = HttpPool::Endpoint;

// Holds a slot of an endpoint for the lifetime of one request.
struct SlotGuard {
  std::shared_ptr<Endpoint> ep;
  ~SlotGuard() {
    if (ep) {
      ep->release();
    }
  }
};

// Unlinks a waiter that leaves without being granted (timeout, or frame destroyed).
struct WaiterLink {
  Endpoint& ep;
  std::list<Endpoint::Waiter*>::iterator it;
  Endpoint::Waiter& w;
  ~WaiterLink() {
    if (!w.granted) {
      ep.waiters.erase(it);
    }
  }
};

// Whether a failure on a reused connection means the server closed it while idle: the
// request is then retried once on a fresh connection.
bool stale_connection(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

template <class Stream>
asio::awaitable<proxy::HttpResponse> post_exchange(Stream& stream, PooledConn& conn,
                                                   const ParsedUrl& u, const std::string& target,
                                                   const proxy::HttpRequest& r,
                                                   uint64_t body_limit, bool& keep) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  const bool default_port = u.port == (u.tls ? "443" : "80");
  req.set(http::field::host, default_port ? u.host : u.host + ":" + u.port);
  for (const auto& [name, value] : r.headers) {
    req.set(name, value);
  }
  req.body() = r.body;
  req.prepare_payload();
  co_await http::async_write(stream, req, asio::use_awaitable);
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  co_await http::async_read(stream, conn.buffer, parser, asio::use_awaitable);
  auto res = parser.release();
  keep = res.keep_alive();
  co_return proxy::HttpResponse{static_cast<int>(res.result_int()), std::move(res.body())};
}

asio::awaitable<std::unique_ptr<PooledConn>> open_conn(const ParsedUrl& u,
                                                       asio::steady_timer::time_point deadline) {
  auto ex = co_await asio::this_coro::executor;
  auto conn = std::make_unique<PooledConn>();
  tcp::resolver resolver(ex);
  // The resolver has no deadline of its own: race it against the request's.
  asio::steady_timer guard(ex, deadline);
  guard.async_wait([&resolver](boost::system::error_code ec) {
    if (!ec) {
      resolver.cancel();
    }
  });
  auto endpoints = co_await resolver.async_resolve(u.host, u.port, asio::use_awaitable);
  guard.cancel();
  beast::tcp_stream stream(ex);
  stream.expires_at(deadline);
  co_await stream.async_connect(endpoints, asio::use_awaitable);
  stream.socket().set_option(tcp::no_delay(true));
  if (!u.tls) {
    conn->tcp.emplace(std::move(stream));
    co_return conn;
  }
  conn->ssl.emplace(std::move(stream), tls_context());
  if (SSL_set_tlsext_host_name(conn->ssl->native_handle(), u.host.c_str()) != 1) {
    throw std::runtime_error("TLS: cannot set SNI host name");
  }
  conn->ssl->set_verify_callback(asio::ssl::host_name_verification(u.host));
  co_await conn->ssl->async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  co_return conn;
}

// Endpoints of one host share connections; each request has its own path (`target`).
asio::awaitable<proxy::HttpResponse> pooled_post(std::shared_ptr<Endpoint> ep,
                                                 proxy::HttpRequest r, uint64_t body_limit,
                                                 std::string target) {
  auto ex = co_await asio::this_coro::executor;
  const auto deadline = asio::steady_timer::clock_type::now() + r.timeout;
  SlotGuard slot;
  if (ep->inflight >= ep->max_inflight) {
    Endpoint::Waiter w{asio::steady_timer(ex, deadline)};
    WaiterLink link{*ep, ep->waiters.insert(ep->waiters.end(), &w), w};
    co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!w.granted) {
      co_return proxy::HttpResponse{0, "timeout waiting for a free connection slot"};
    }
  } else {
    ++ep->inflight;
  }
  slot.ep = ep;

  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<PooledConn> conn;
    bool reused = false;
    if (!ep->idle.empty()) {
      conn = std::move(ep->idle.back());
      ep->idle.pop_back();
      reused = true;
    } else {
      conn = co_await open_conn(ep->url, deadline);
    }
    conn->lowest().expires_at(deadline);
    bool keep = false;
    boost::system::error_code failure;
    std::optional<proxy::HttpResponse> res;
    try {
      if (conn->ssl) {
        res = co_await post_exchange(*conn->ssl, *conn, ep->url, target, r, body_limit, keep);
      } else {
        res = co_await post_exchange(*conn->tcp, *conn, ep->url, target, r, body_limit, keep);
      }
    } catch (const boost::system::system_error& e) {
      failure = e.code();
    }
    if (res) {
      if (keep && ep->idle.size() < ep->max_idle) {
        conn->lowest().expires_never();
        ep->idle.push_back(std::move(conn));
      }
      co_return std::move(*res);
    }
    if (!(reused && attempt == 0 && stale_connection(failure))) {
      throw boost::system::system_error(failure);
    }
  }
}

}  // namespace

HttpPool::HttpPool(asio::io_context& io, Limits limits) : io_(io), limits_(limits) {}

HttpPool::~HttpPool() = default;

void HttpPool::post(proxy::HttpRequest req, std::function<void(proxy::HttpResponse)> done) {
  ParsedUrl u;
  if (!parse_url(req.url, u)) {
    asio::post(io_, [done = std::move(done), url = req.url] {
      done(proxy::HttpResponse{0, "bad URL " + url});
    });
    return;
  }
  std::string key = (u.tls ? "https://" : "http://") + u.host + ":" + u.port;
  auto& ep = endpoints_[key];
  if (!ep) {
    ep = std::make_shared<Endpoint>();
    ep->url = u;
    ep->max_inflight = std::max<size_t>(1, limits_.max_inflight);
    ep->max_idle = limits_.max_idle;
  }
  asio::co_spawn(
      io_, pooled_post(ep, std::move(req), limits_.body_limit, std::move(u.target)),
      [done = std::move(done)](std::exception_ptr e, proxy::HttpResponse r) {
        if (e) {
          std::string reason = "request failed";
          try {
            std::rethrow_exception(e);
          } catch (const boost::system::system_error& ex) {
            reason = ex.code().message();  // what() carries the source location
          } catch (const std::exception& ex) {
            reason = ex.what();
          } catch (...) {
          }
          done(proxy::HttpResponse{0, std::move(reason)});
          return;
        }
        done(std::move(r));
      });
}

}  // namespace gyre::server
