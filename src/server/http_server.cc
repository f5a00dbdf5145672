#include "server/http_server.h"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <cctype>

#include "node/timer_wheel.h"
#include "transport/websocket_session.h"
#include "transport/ws_frame.h"

namespace gyre::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

std::atomic<size_t> g_open_connections{0};

constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr auto kHeaderTimeout = std::chrono::seconds(10);
constexpr uint32_t kHeaderLimit = 16 * 1024;
constexpr uint64_t kApiBodyLimit = 16ull * 1024 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool header_has_token(std::string_view value, std::string_view token) {
  std::string v = lower(value);
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    std::string_view part(v.data() + pos, (comma == std::string::npos ? v.size() : comma) - pos);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) {
      part.remove_prefix(1);
    }
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) {
      part.remove_suffix(1);
    }
    if (part == token) {
      return true;
    }
    if (comma == std::string::npos) {
      break;
    }
    pos = comma + 1;
  }
  return false;
}

// Value of query parameter `name` (percent-decoded), or nullopt.
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string_view kv =
        query.substr(pos, (amp == std::string_view::npos ? query.size() : amp) - pos);
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    if (k == name) {
      std::string_view v = eq == std::string_view::npos ? "" : kv.substr(eq + 1);
      std::string out;
      for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '+') {
          out += ' ';
        } else if (v[i] == '%') {
          auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
          };
          int hi = i + 1 < v.size() ? hex(v[i + 1]) : -1;
          int lo = i + 2 < v.size() ? hex(v[i + 2]) : -1;
          if (hi >= 0 && lo >= 0) {
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
          } else {
            out += '%';
          }
        } else {
          out += v[i];
        }
      }
      return out;
    }
    if (amp == std::string_view::npos) {
      break;
    }
    pos = amp + 1;
  }
  return std::nullopt;
}

// Simple glob (`*`, `?`) used for allowed_origins patterns.
bool glob_match(std::string_view pattern, std::string_view s) {
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == s[i])) {
      ++p;
      ++i;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

// allowed_origins: no Origin header passes; with an empty list only a same-origin request
// passes (Origin host == Host); otherwise the lower-cased Origin must match a glob.
bool origin_allowed(const config::Config& cfg, std::string_view origin, std::string_view host) {
  if (origin.empty()) {
    return true;
  }
  std::string o = lower(origin);
  if (cfg.allowed_origins.empty()) {
    size_t scheme = o.find("://");
    std::string_view origin_host =
        scheme == std::string::npos ? std::string_view(o) : std::string_view(o).substr(scheme + 3);
    return origin_host == lower(host);
  }
  for (const auto& pat : cfg.allowed_origins) {
    if (pat == "*" || glob_match(lower(pat), o)) {
      return true;
    }
  }
  return false;
}

// client_connection_rate_limit (reference.md §1.2): a node-wide token bucket of N new
// connections per second with a burst of N, as Go's rate.Limiter. Upgrades on every shard
// take from it, so it is one of the few locks: a short critical section, once per upgrade,
// never on the message path. Thread-safe.
class ConnectionRateLimiter {
 public:
  bool allow(int64_t per_second) {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    double rate = static_cast<double>(per_second);
    if (!started_) {
      started_ = true;
      tokens_ = rate;
    } else {
      tokens_ = std::min(rate, tokens_ + rate * std::chrono::duration<double>(now - last_).count());
    }
    last_ = now;
    if (tokens_ < 1.0) {
      return false;
    }
    tokens_ -= 1.0;
    return true;
  }

 private:
  std::mutex mu_;
  bool started_ = false;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point last_;
};
ConnectionRateLimiter g_connection_rate_limiter;

// True at most once per `period` across threads: for warnings a hostile client could repeat
// at line rate.
bool log_allowed(std::atomic<int64_t>& last_ms, std::chrono::milliseconds period) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t prev = last_ms.load(std::memory_order_relaxed);
  return now - prev >= period.count() &&
         last_ms.compare_exchange_strong(prev, now, std::memory_order_relaxed);
}
std::atomic<int64_t> g_limit_log_ms{INT64_MIN / 2};

}  // namespace

struct HttpServer::Listener {
  Listener(asio::io_context& io, Routes r) : acceptor(io), routes(r) {}
  tcp::acceptor acceptor;
  Routes routes;
  bool stopped = false;
  // Accept failures (EMFILE, ENFILE, ENOBUFS...): accepting pauses for `backoff` (100 ms,
  // doubling to 1 s) instead of spinning; one warning per episode, then at most one every
  // 5 s with the count; shard 0 only.
  std::chrono::milliseconds backoff{0};
  size_t failures = 0;
  gyre::clock::TimePoint last_warning{};
};

class HttpSession;

// Per-shard deadlines of HTTP connections (idle keep-alive, slow requests, slow writes): one
// wheel and one timer per shard instead of a timer per read and write.
struct HttpTimeouts {
  node::TimerWheel<HttpSession> wheel;
  std::unique_ptr<asio::steady_timer> timer;
};
thread_local HttpTimeouts* tl_http_timeouts = nullptr;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, node::Node& node, api::HttpApi& api, Routes routes)
      : socket_(std::move(socket)), node_(node), api_(api), routes_(routes),
        timeouts_(tl_http_timeouts) {
    g_open_connections.fetch_add(1, std::memory_order_relaxed);
    error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
  }
  ~HttpSession() {
    disarm();
    g_open_connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() { read(); }

  node::TimerWheelHandle& wheel_handle() { return wheel_handle_; }
  // The connection's deadline passed: drop it (pending operations complete with an error).
  void on_timeout() {
    error_code ec;
    socket_.close(ec);
  }

 private:
  void arm(std::chrono::milliseconds after) {
    if (timeouts_ != nullptr) {
      timeouts_->wheel.schedule(this, gyre::clock::now() + after);
    }
  }
  void disarm() {
    if (timeouts_ != nullptr) {
      timeouts_->wheel.cancel(this);
    }
  }

  // The header (and the idle wait before it) has kHeaderTimeout, like Go's ReadHeaderTimeout:
  // a slowloris trickling header bytes is dropped then. The body then gets kIdleTimeout.
  void read() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kApiBodyLimit);
    arm(kHeaderTimeout);
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (ec || parser_->is_done()) {
      on_read(ec);
      return;
    }
    disarm();
    arm(kIdleTimeout);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    disarm();
    if (ec == http::error::body_limit) {
      respond_simple(http::status::payload_too_large, "", false);
      return;
    }
    if (ec == http::error::header_limit) {
      respond_simple(http::status::request_header_fields_too_large, "", false);
      return;
    }
    if (ec) {
      close();
      return;
    }
    auto& req = parser_->get();
    std::string target(req.target());
    std::string path = target.substr(0, target.find('?'));
    std::string query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
    const auto& cfg = *node_.config();

    if (routes_.transports && !cfg.websocket_disable && path == cfg.websocket_handler_prefix) {
      upgrade_websocket(query);
      return;
    }
    if (routes_.health && cfg.health && path == cfg.health_handler_prefix) {
      respond_simple(http::status::ok, "{}", req.keep_alive(), "application/json");
      return;
    }
    if (routes_.api && !cfg.api_disable && api_.matches(path)) {
      api::Request ar;
      ar.method = std::string(req.method_string());
      ar.path = path;
      ar.query = query;
      ar.body = std::move(req.body());
      ar.x_api_key = std::string(req["X-API-Key"]);
      ar.authorization = std::string(req["Authorization"]);
      ar.error_mode = std::string(req["X-Centrifugo-Error-Mode"]);
      bool keep_alive = req.keep_alive();
      api_.handle(std::move(ar), [self = shared_from_this(), keep_alive](api::Response r) {
        self->respond(r.status, std::move(r.content_type), std::move(r.body), keep_alive);
      });
      return;
    }
    respond_simple(http::status::not_found, "404 page not found\n", req.keep_alive(),
                   "text/plain; charset=utf-8");
  }

  void upgrade_websocket(const std::string& query) {
    auto& req = parser_->get();
    const auto& cfg = *node_.config();
    if (req.method() != http::verb::get || !header_has_token(req[http::field::upgrade], "websocket") ||
        !header_has_token(req[http::field::connection], "upgrade") ||
        req[http::field::sec_websocket_version] != "13" || req[http::field::sec_websocket_key].empty()) {
      respond_simple(http::status::bad_request, "Bad Request\n", false, "text/plain; charset=utf-8");
      return;
    }
    if (!origin_allowed(cfg, req[http::field::origin], req[http::field::host])) {
      spdlog::info("websocket upgrade refused: origin {} not allowed", std::string(req[http::field::origin]));
      respond_simple(http::status::forbidden, "Forbidden\n", false, "text/plain; charset=utf-8");
      return;
    }
    // Both limits only when client_connection_limit is set (reference.md §1.2 quirk).
    if (cfg.client_connection_limit > 0) {
      if (static_cast<int64_t>(node_.num_clients()) >= cfg.client_connection_limit) {
        if (log_allowed(g_limit_log_ms, std::chrono::seconds(3))) {
          spdlog::warn("node connection limit reached: {}", cfg.client_connection_limit);
        }
        respond_simple(http::status::service_unavailable, "", false);
        return;
      }
      if (cfg.client_connection_rate_limit > 0 &&
          !g_connection_rate_limiter.allow(cfg.client_connection_rate_limit)) {
        if (log_allowed(g_limit_log_ms, std::chrono::seconds(3))) {
          spdlog::warn("node connection rate limit reached: {}/s",
                       cfg.client_connection_rate_limit);
        }
        respond_simple(http::status::service_unavailable, "", false);
        return;
      }
    }
    std::string subprotocol;
    bool protobuf = false;
    if (header_has_token(req[http::field::sec_websocket_protocol], "centrifuge-protobuf")) {
      subprotocol = "centrifuge-protobuf";
      protobuf = true;
    } else if (header_has_token(req[http::field::sec_websocket_protocol], "centrifuge-json")) {
      subprotocol = "centrifuge-json";
    }
    auto proto_param = query_param(query, "cf_protocol");
    auto format_param = query_param(query, "format");
    if ((proto_param && *proto_param == "protobuf") || (format_param && *format_param == "protobuf")) {
      protobuf = true;
    }
    transport::WebSocketOptions opts;
    opts.protocol = protobuf ? protocol::ProtocolType::kProtobuf : protocol::ProtocolType::kJson;
    opts.message_size_limit = cfg.websocket_message_size_limit;
    opts.write_timeout = cfg.websocket_write_timeout;
    opts.queue_max_size = cfg.client_queue_max_size;
    auto pp = query_param(query, "cf_ws_frame_ping_pong");
    opts.frame_ping_pong = pp && *pp == "true";

    node::ConnectionRequest cr;
    if (!cfg.client_user_id_http_header.empty()) {
      cr.user_id_header = std::string(req[cfg.client_user_id_http_header]);
    }
    auto response = std::make_shared<std::string>();
    *response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        transport::ws::accept_key(req[http::field::sec_websocket_key]) + "\r\n";
    if (!subprotocol.empty()) {
      *response += "Sec-WebSocket-Protocol: " + subprotocol + "\r\n";
    }
    *response += "\r\n";
    asio::async_write(
        socket_, asio::buffer(*response),
        [self = shared_from_this(), response, opts, cr = std::move(cr)](error_code ec, size_t) mutable {
          if (ec) {
            self->close();
            return;
          }
          std::string initial(static_cast<const char*>(self->buffer_.data().data()),
                              self->buffer_.size());
          auto ws = std::make_shared<transport::WebSocketSession>(std::move(self->socket_), opts);
          if (self->node_.shutting_down()) {
            ws->reject(disconnects::shutdown());
            return;
          }
          ws->start(self->node_, std::move(cr), std::move(initial));
        });
  }

  void respond_simple(http::status status, std::string body, bool keep_alive,
                      std::string content_type = "") {
    respond(static_cast<int>(status), std::move(content_type), std::move(body), keep_alive);
  }

  // Responses are few fixed headers: built by hand, which costs far less than Beast's
  // serializer on the API's hot path.
  void respond(int status, std::string content_type, std::string body, bool keep_alive) {
    auto out = std::make_shared<std::string>();
    out->reserve(160 + body.size());
    out->append("HTTP/1.1 ");
    out->append(std::to_string(status));
    out->push_back(' ');
    out->append(std::string_view(http::obsolete_reason(static_cast<http::status>(status))));
    out->append("\r\n");
    if (!content_type.empty()) {
      out->append("Content-Type: ");
      out->append(content_type);
      out->append("\r\n");
    }
    out->append("Content-Length: ");
    out->append(std::to_string(body.size()));
    out->append(keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
    out->append(body);
    arm(kIdleTimeout);
    asio::async_write(socket_, asio::buffer(*out),
                      [self = shared_from_this(), out, keep_alive](error_code ec, size_t) {
                        self->disarm();
                        if (ec || !keep_alive) {
                          self->close();
                          return;
                        }
                        self->read();
                      });
  }

  void close() {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
  }

  tcp::socket socket_;
  node::TimerWheelHandle wheel_handle_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  node::Node& node_;
  api::HttpApi& api_;
  Routes routes_;
  HttpTimeouts* timeouts_;  // this shard's deadline wheel
};

HttpServer::HttpServer(ShardSet& shards, node::Node& node, api::HttpApi& api)
    : shards_(shards), node_(node), api_(api) {}

HttpServer::~HttpServer() = default;

size_t HttpServer::open_connections() { return g_open_connections.load(); }

void HttpServer::listen(const std::string& address, const std::string& port, Routes routes) {
  auto l = std::make_unique<Listener>(shards_.at(0).io(), routes);
  error_code ec;
  auto addr = asio::ip::make_address(address.empty() ? "0.0.0.0" : address, ec);
  if (ec) {
    throw std::runtime_error("invalid address \"" + address + "\": " + ec.message());
  }
  unsigned long p = 0;
  try {
    p = std::stoul(port);
  } catch (...) {
    throw std::runtime_error("invalid port \"" + port + "\"");
  }
  tcp::endpoint ep(addr, static_cast<unsigned short>(p));
  l->acceptor.open(ep.protocol(), ec);
  if (!ec) {
    l->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    l->acceptor.bind(ep, ec);
  }
  if (!ec) {
    l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    throw std::runtime_error("can not listen on " + (address.empty() ? std::string("*") : address) +
                             ":" + port + ": " + ec.message());
  }
  Listener* raw = l.get();
  listeners_.push_back(std::move(l));
  shards_.at(0).post([this, raw] { accept(raw); });
}

void HttpServer::accept(Listener* l) {
  if (l->stopped) {
    return;
  }
  unsigned target = next_shard_.fetch_add(1, std::memory_order_relaxed) % shards_.size();
  Shard& shard = shards_.at(target);
  l->acceptor.async_accept(shard.io(), [this, l, &shard](error_code ec, tcp::socket socket) {
    if (ec) {
      if (l->stopped || ec == asio::error::operation_aborted) {
        return;
      }
      // Out of descriptors or similar: the pending connection stays in the backlog, so an
      // immediate retry would fail again at once. Back off; open connections are unaffected.
      l->backoff = std::clamp(l->backoff * 2, std::chrono::milliseconds(100),
                              std::chrono::milliseconds(1000));
      ++l->failures;
      auto now = gyre::clock::now();
      if (l->failures == 1 || now - l->last_warning >= std::chrono::seconds(5)) {
        spdlog::warn("accept error: {} ({} in a row); pausing accept for {} ms",
                     ec.message(), l->failures, l->backoff.count());
        l->last_warning = now;
      }
      auto t = std::make_shared<asio::steady_timer>(l->acceptor.get_executor());
      t->expires_after(l->backoff);
      t->async_wait([this, l, t](error_code) { accept(l); });
      return;
    }
    if (l->backoff.count() != 0) {
      spdlog::info("accepting again after {} failed accept(s)", l->failures);
      l->backoff = std::chrono::milliseconds(0);
      l->failures = 0;
    }
    shard.post([this, routes = l->routes, s = std::make_shared<tcp::socket>(std::move(socket))] {
      ensure_timeouts();
      std::make_shared<HttpSession>(std::move(*s), node_, api_, routes)->start();
    });
    accept(l);
  });
}

void HttpServer::ensure_timeouts() {
  if (tl_http_timeouts != nullptr) {
    return;
  }
  Shard* shard = Shard::current();
  if (shard == nullptr) {
    return;
  }
  // One per shard thread, deliberately never destroyed: sessions still queued in an
  // io_context are destroyed with it, after the server object, and unregister from here.
  static std::mutex mu;
  static auto* all = new std::vector<HttpTimeouts*>();  // keeps them reachable
  auto* t = new HttpTimeouts();
  {
    std::lock_guard lock(mu);
    all->push_back(t);
  }
  tl_http_timeouts = t;
  HttpTimeouts& timeouts = *t;
  timeouts.timer = std::make_unique<asio::steady_timer>(shard->io());
  struct Tick {
    static void arm(HttpTimeouts* t) {
      t->timer->expires_after(std::chrono::seconds(1));
      t->timer->async_wait([t](error_code ec) {
        if (ec) {
          return;
        }
        t->wheel.advance(gyre::clock::now(), [](HttpSession* s) { s->on_timeout(); });
        arm(t);
      });
    }
  };
  Tick::arm(&timeouts);
}

void HttpServer::stop_accepting() {
  shards_.at(0).post([this] {
    for (auto& l : listeners_) {
      l->stopped = true;
      error_code ec;
      l->acceptor.close(ec);
    }
  });
}

}  // namespace gyre::server
