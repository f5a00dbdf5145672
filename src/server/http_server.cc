#include "server/http_server.h"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <mutex>
#include <cctype>

#include "core/ascii.h"
#include "core/glob.h"
#include "core/log.h"
#include "metrics/exposition.h"
#include "metrics/process.h"
#include "node/timer_wheel.h"
#include "proxy/http_proxy.h"
#include "server/request_parser.h"
#include "node/cluster.h"
#include "tls/server_tls.h"
#include "transport/byte_stream.h"
#include "transport/emulation.h"
#include "transport/h2_connection.h"
#include "transport/http_util.h"
#include "transport/stream_session.h"
#include "transport/websocket_session.h"
#include "transport/ws_deflate.h"
#include "transport/ws_frame.h"
#include "transport/ws_upgrade.h"

namespace gyre::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

std::atomic<size_t> g_open_connections{0};
std::atomic<size_t> g_pending_upgrades{0};

constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr auto kHeaderTimeout = std::chrono::seconds(10);
// Go's net/http: DefaultMaxHeaderBytes (1 MB) plus the 4096 bytes of slack its reader allows;
// beyond it 431. Cookies and JWTs in headers can be large.
constexpr uint32_t kHeaderLimit = (1u << 20) + 4096;

// Bodies of requests that are not server API calls: bounded by the largest client transport
// limit (each transport then applies its own after reading, with its own 413).
uint64_t transport_body_limit(const config::Config& cfg) {
  return static_cast<uint64_t>(std::max({cfg.http_stream_max_request_body_size,
                                         cfg.sse_max_request_body_size,
                                         cfg.emulation_max_request_body_size,
                                         cfg.uni_http_stream_max_request_body_size,
                                         cfg.uni_sse_max_request_body_size, int64_t{1}}));
}

// The body bound of a request to `path` (without the query): api_max_request_body_size for
// the server API (also behind the admin token), the transports' largest limit otherwise. One
// rule for HTTP/1.1 requests and HTTP/2 streams.
uint64_t request_body_limit(const config::Config& cfg, const Routes& routes,
                            const api::HttpApi& api, const api::Admin* admin,
                            std::string_view path) {
  const bool api_body =
      (routes.api && !cfg.api_disable && api.matches(std::string(path))) ||
      (admin != nullptr && admin->route(path) == api::Admin::Route::kApi);
  return api_body ? static_cast<uint64_t>(std::max<int64_t>(cfg.api_max_request_body_size, 0))
                  : transport_body_limit(cfg);
}

}  // namespace

// allowed_origins patterns compiled once per shard and list (validate() has rejected invalid
// patterns). A pattern is lower-cased before compiling, as Centrifugo does, and matched
// against the lower-cased Origin. Shard-local (in HttpShard).
struct OriginGlobs {
  std::vector<std::string> compiled_from;
  std::vector<Glob> globs;
};

namespace {

// The client headers forwarded to proxies (proxy_http_headers, or the http_headers of every
// granular proxy), kept for the session: the first non-empty value of each configured name,
// as Centrifugo's Header.Get.
void capture_proxy_headers(const config::Config& cfg, const IncomingRequest& req,
                           node::ConnectionRequest& cr) {
  for (const auto& name : cfg.proxies_resolved.captured_headers) {
    std::string_view value = req[name];
    if (!value.empty()) {
      cr.headers.emplace_back(ascii_lower(name), std::string(value));
    }
  }
}

const std::vector<Glob>& origin_globs(OriginGlobs& cache, const config::Config& cfg) {
  auto& [compiled_from, globs] = cache;
  if (compiled_from != cfg.allowed_origins) {
    globs = transport::compile_origin_globs(cfg.allowed_origins);
    compiled_from = cfg.allowed_origins;
  }
  return globs;
}

bool origin_allowed(OriginGlobs& cache, const config::Config& cfg, std::string_view origin,
                    std::string_view host) {
  return transport::origin_allowed(origin_globs(cache, cfg), cfg.allowed_origins.empty(), origin,
                                   host);
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
  Listener(asio::io_context& io, Routes r, std::shared_ptr<const tls::ServerTlsContext> t)
      : acceptor(io), routes(r), tls(std::move(t)) {}
  tcp::acceptor acceptor;
  Routes routes;
  std::shared_ptr<const tls::ServerTlsContext> tls;  // null: plain TCP
  bool stopped = false;
  // Accept failures (EMFILE, ENFILE, ENOBUFS...): accepting pauses for `backoff` (100 ms,
  // doubling to 1 s) instead of spinning; one warning per episode, then at most one every
  // 5 s with the count; shard 0 only.
  std::chrono::milliseconds backoff{0};
  size_t failures = 0;
  gyre::clock::TimePoint last_warning{};
};

class HttpSession;

// The HTTP server's share of a shard: the deadlines of its HTTP connections (idle keep-alive,
// slow requests, slow writes: one wheel and one timer per shard instead of a timer per read
// and write) and its compiled allowed_origins. Shard-local.
struct HttpShard {
  explicit HttpShard(Shard& s) : timer(s.io()) {}
  node::TimerWheel<HttpSession> wheel;
  asio::steady_timer timer;
  OriginGlobs origins;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(transport::ByteStream stream, node::Node& node, api::HttpApi& api,
              const api::Admin* admin, Routes routes, HttpShard& shard)
      : socket_(std::move(stream)),
        node_(node),
        api_(api),
        admin_(routes.admin ? admin : nullptr),
        routes_(routes),
        shard_(shard) {
    g_open_connections.fetch_add(1, std::memory_order_relaxed);
    error_code ec;
    socket_.socket().set_option(tcp::no_delay(true), ec);
  }
  ~HttpSession() {
    disarm();
    g_open_connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() {
    if (socket_.is_tls()) {
      read_alpn();
      return;
    }
    read();
  }

  node::TimerWheelHandle& wheel_handle() { return wheel_handle_; }
  // The connection's deadline passed: drop it (pending operations complete with an error).
  // A TLS handshake runs inside the first read, so kHeaderTimeout bounds it too.
  void on_timeout() {
    error_code ec;
    socket_.socket().close(ec);
  }

 private:
  void arm(std::chrono::milliseconds after) {
    shard_.wheel.schedule(this, gyre::clock::now() + after);
  }
  void disarm() {
    shard_.wheel.cancel(this);
  }

  // TLS: the handshake (inside the first read) selects the protocol. The
  // first plaintext bytes stay in buffer_ for the HTTP/1.1 parser, or go to the HTTP/2
  // connection that takes over the stream.
  void read_alpn() {
    arm(kHeaderTimeout);
    auto space = buffer_.prepare(16 * 1024);
    socket_.async_read_some(space, [self = shared_from_this()](error_code ec, size_t n) {
      self->disarm();
      if (ec) {
        self->close();
        return;
      }
      self->buffer_.commit(n);
      if (self->socket_.tls()->alpn() != "h2") {
        self->read();
        return;
      }
      std::string initial(static_cast<const char*>(self->buffer_.data().data()),
                          self->buffer_.size());
      self->buffer_.consume(self->buffer_.size());
      auto h2 = std::make_shared<transport::H2Connection>(std::move(self->socket_),
                                                          self->h2_options());
      h2->start(initial);
    });
  }

  // Each HTTP/2 request stream is served by an HttpSession of its own over a socket pair, with
  // this connection's routes, on this shard.
  transport::H2Options h2_options() {
    transport::H2Options o;
    o.serve_http1 = [&node = node_, &api = api_, admin = admin_, routes = routes_,
                     &shard = shard_](transport::ByteStream::Socket inner) {
      std::make_shared<HttpSession>(transport::ByteStream(std::move(inner)), node, api, admin,
                                    routes, shard)
          ->start();
    };
    o.shutting_down = [&node = node_] { return node.shutting_down(); };
    o.body_limit = [&node = node_, &api = api_, admin = admin_,
                    routes = routes_](std::string_view path) {
      return request_body_limit(*node.config(), routes, api, admin, path);
    };
    // The deadlines of this path: the header (kHeaderTimeout, which is also how long an idle
    // keep-alive connection waits for its next request), then the body (kIdleTimeout).
    o.header_timeout = kHeaderTimeout;
    o.body_timeout = kIdleTimeout;
    o.idle_timeout = kHeaderTimeout;
    return o;
  }

  // The header (and the idle wait before it) has kHeaderTimeout, like Go's ReadHeaderTimeout:
  // a slowloris trickling header bytes is dropped then. The body then gets kIdleTimeout.
  void read() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // Beast checks an announced Content-Length against this when the header completes; the
    // bound for the request's route is set in on_header, before any body byte is parsed.
    const auto& cfg = *node_.config();
    parser_->body_limit(std::max<uint64_t>(static_cast<uint64_t>(cfg.api_max_request_body_size),
                                           transport_body_limit(cfg)));
    arm(kHeaderTimeout);
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (logging::enabled(logging::Level::debug)) {
      request_started_ = gyre::clock::now();
    }
    if (ec || parser_->is_done()) {
      on_read(ec);
      return;
    }
    disarm();
    arm(kIdleTimeout);
    const auto& req = parser_->get();
    // The body bound depends on where the request goes: api_max_request_body_size for the
    // server API, the transports' limits otherwise.
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    const uint64_t body_limit = request_body_limit(*node_.config(), routes_, api_, admin_, path);
    // Beast checks a Content-Length against the limit only when the header completes (done
    // above with the largest bound), and chunked bodies chunk by chunk against what is left.
    parser_->body_limit(body_limit);
    if (auto len = parser_->content_length(); len && *len > body_limit) {
      respond_simple(http::status::payload_too_large, "", false);
      return;
    }
    // `Expect: 100-continue` (RFC 9110 §10.1.1; curl sends it for large bodies and waits a
    // second without an answer): the client is told to go on, as Go's net/http does when the
    // handler reads the body (a body over the limit was refused above, without a 100).
    if (req.version() == 11 && transport::header_has_token(req[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(socket_, asio::buffer(kContinue),
                        [self = shared_from_this()](error_code ec, size_t) {
                          if (ec) {
                            self->disarm();
                            self->close();
                            return;
                          }
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
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
      upgrade_websocket(query, false);
      return;
    }
    if (routes_.transports && route_transport(path, query)) {
      return;
    }
    if (routes_.health && cfg.health && path == cfg.health_handler_prefix) {
      if (!cfg.health_engine_check) {
        respond_simple(http::status::ok, "{}", req.keep_alive(), "application/json");
        return;
      }
      // Gyre: 503 while the engine's backend is unreachable (health_engine_check).
      node_.engine().check_health([self = shared_from_this(), keep = req.keep_alive()](bool ok) {
        if (ok) {
          self->respond_simple(http::status::ok, "{}", keep, "application/json");
        } else {
          self->respond_simple(http::status::service_unavailable,
                               R"({"error":"engine unavailable"})", keep, "application/json");
        }
      });
      return;
    }
    if (routes_.health && cfg.prometheus && path == cfg.prometheus_handler_prefix) {
      // Every shard's values are copied on its own thread and merged here.
      node_.collect_metrics([self = shared_from_this(),
                             keep = req.keep_alive()](metrics::Snapshot values) {
        metrics::collect_process(metrics::registry(), values);
        self->respond(200, std::string(metrics::kContentType),
                      metrics::expose(metrics::registry(), values), keep);
      });
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
    if (admin_ != nullptr) {
      if (auto route = admin_->route(path); route != api::Admin::Route::kNone) {
        route_admin(route, path, query);
        return;
      }
    }
    respond_simple(http::status::not_found, "404 page not found\n", req.keep_alive(),
                   "text/plain; charset=utf-8");
  }

  // The admin UI and endpoints (api/admin.h); the live tail WebSocket is upgraded here.
  void route_admin(api::Admin::Route route, const std::string& path, const std::string& query) {
    auto& req = parser_->get();
    if (route == api::Admin::Route::kTail) {
      if (!admin_->authorized(req[http::field::authorization], query)) {
        respond_simple(http::status::unauthorized, "", false);
        return;
      }
      std::string channel = transport::http::query_param(query, "channel").value_or("");
      if (channel.empty()) {
        respond_simple(http::status::bad_request, "Bad Request\n", false,
                       "text/plain; charset=utf-8");
        return;
      }
      upgrade_websocket(query, false, std::move(channel));
      return;
    }
    api::Request ar;
    ar.method = std::string(req.method_string());
    ar.path = path;
    ar.query = query;
    ar.body = std::move(req.body());
    ar.authorization = std::string(req[http::field::authorization]);
    ar.content_type = std::string(req[http::field::content_type]);
    ar.if_none_match = std::string(req[http::field::if_none_match]);
    admin_->handle(route, std::move(ar),
                   [self = shared_from_this(), keep_alive = req.keep_alive()](api::Response r) {
                     self->respond(r.status, std::move(r.content_type), std::move(r.body),
                                   keep_alive, r.headers);
                   });
  }

  // The HTTP-based client transports (client-protocol.md §8.2, §8.3). Returns false when
  // `path` is none of them (or they are disabled).
  bool route_transport(const std::string& path, const std::string& query) {
    const auto& cfg = *node_.config();
    using transport::StreamKind;
    // Prefixes as Centrifugo registers them: trailing `/` trimmed, empty = `/` (reference.md
    // §1.1).
    auto is = [&path](std::string_view prefix) {
      while (!prefix.empty() && prefix.back() == '/') {
        prefix.remove_suffix(1);
      }
      return prefix.empty() ? path == "/" : path == prefix;
    };
    if (cfg.http_stream && is(cfg.http_stream_handler_prefix)) {
      open_stream(StreamKind::kHttpStream, query);
    } else if (cfg.sse && is(cfg.sse_handler_prefix)) {
      open_stream(StreamKind::kSse, query);
    } else if ((cfg.http_stream || cfg.sse) && is(cfg.emulation_handler_prefix)) {
      handle_emulation();
    } else if (cfg.uni_http_stream && is(cfg.uni_http_stream_handler_prefix)) {
      open_stream(StreamKind::kUniHttpStream, query);
    } else if (cfg.uni_sse && is(cfg.uni_sse_handler_prefix)) {
      open_stream(StreamKind::kUniSse, query);
    } else if (cfg.uni_websocket && is(cfg.uni_websocket_handler_prefix)) {
      upgrade_websocket(query, true);
    } else {
      return false;
    }
    return true;
  }

  // CORS headers for an allowed Origin (reference.md §1.2 step 5); a forbidden Origin gets
  // none (the browser then blocks the response), as in Centrifugo.
  std::string cors() {
    auto& req = parser_->get();
    std::string_view origin = req[http::field::origin];
    if (origin.empty() ||
        !origin_allowed(shard_.origins, *node_.config(), origin, req[http::field::host])) {
      return {};
    }
    return transport::http::cors_headers(origin, req[http::field::access_control_request_headers]);
  }

  // client_connection_limit and client_connection_rate_limit for every real-time transport
  // (HTTP 503). Both only when client_connection_limit is set (reference.md §1.2 quirk).
  bool connection_limit_reached() {
    const auto& cfg = *node_.config();
    if (cfg.client_connection_limit <= 0) {
      return false;
    }
    if (static_cast<int64_t>(node_.num_clients()) >= cfg.client_connection_limit) {
      if (auto* m = node_.metrics()) {
        m->inc(metrics::ids().node_client_connection_limit);
      }
      if (log_allowed(g_limit_log_ms, std::chrono::seconds(3))) {
        logging::warn("node connection limit reached", {{"limit", cfg.client_connection_limit}});
      }
      return true;
    }
    if (cfg.client_connection_rate_limit > 0 &&
        !g_connection_rate_limiter.allow(cfg.client_connection_rate_limit)) {
      if (log_allowed(g_limit_log_ms, std::chrono::seconds(3))) {
        logging::warn("node connection rate limit reached",
                      {{"limit", cfg.client_connection_rate_limit}});
      }
      return true;
    }
    return false;
  }

  void open_stream(transport::StreamKind kind, const std::string& query) {
    using transport::StreamKind;
    auto& req = parser_->get();
    const auto& cfg = *node_.config();
    const bool keep_alive = req.keep_alive();
    std::string extra = cors();
    const bool sse = kind == StreamKind::kSse || kind == StreamKind::kUniSse;
    const bool uni = kind == StreamKind::kUniHttpStream || kind == StreamKind::kUniSse;
    const auto method = req.method();
    if (method == http::verb::options && !sse) {
      respond(200, "", "", keep_alive, extra);  // preflight (reference.md §1.4)
      return;
    }
    if (connection_limit_reached()) {
      respond(503, "", "", keep_alive, extra);
      return;
    }
    int64_t limit = 0;
    switch (kind) {
      case StreamKind::kHttpStream:
        limit = cfg.http_stream_max_request_body_size;
        break;
      case StreamKind::kSse:
        limit = cfg.sse_max_request_body_size;
        break;
      case StreamKind::kUniHttpStream:
        limit = cfg.uni_http_stream_max_request_body_size;
        break;
      case StreamKind::kUniSse:
        limit = cfg.uni_sse_max_request_body_size;
        break;
    }
    std::string data;
    bool have_data = false;
    if (method == http::verb::post) {
      if (limit > 0 && static_cast<int64_t>(req.body().size()) > limit) {
        respond(413, "", "", false, extra);
        return;
      }
      data = std::move(req.body());
      have_data = true;
    } else if (method == http::verb::get && sse) {
      auto p = transport::http::query_param(query, "cf_connect");
      if (p && !p->empty()) {
        data = std::move(*p);
        have_data = true;
      } else if (!uni) {
        respond(400, "", "", keep_alive, extra);  // no connect command
        return;
      }
    } else {
      respond(405, "", "", keep_alive, extra);
      return;
    }
    transport::StreamOptions opts;
    opts.kind = kind;
    opts.queue_max_size = cfg.client_queue_max_size;
    opts.extra_headers = std::move(extra);
    if (kind == StreamKind::kHttpStream &&
        req[http::field::content_type] == "application/octet-stream") {
      opts.protocol = protocol::ProtocolType::kProtobuf;
    }
    protocol::ConnectRequest connect;
    if (uni && have_data && !protocol::json_codec().decode_connect_request(data, connect)) {
      respond(400, "", "", keep_alive, opts.extra_headers);  // malformed connect request
      return;
    }
    if (kind == StreamKind::kUniSse) {
      opts.connect_code_to_http_response = cfg.uni_sse_connect_code_to_http_response;
    } else if (kind == StreamKind::kUniHttpStream) {
      opts.connect_code_to_http_response = cfg.uni_http_stream_connect_code_to_http_response;
    }
    node::ConnectionRequest cr;
    if (!cfg.client_user_id_http_header.empty()) {
      cr.user_id_header = std::string(req[cfg.client_user_id_http_header]);
    }
    capture_proxy_headers(cfg, req, cr);
    if (logging::enabled(logging::Level::debug)) {
      opts.request_line = request_line();
    }
    auto stream = std::make_shared<transport::StreamSession>(std::move(socket_), std::move(opts));
    if (node_.shutting_down()) {
      stream->reject(disconnects::shutdown());
      return;
    }
    if (uni) {
      stream->start_unidirectional(node_, std::move(cr), std::move(connect));
    } else {
      stream->start(node_, std::move(cr), std::move(data));
    }
  }

  // POST /emulation (client-protocol.md §8.2.3, reference.md §1.6).
  void handle_emulation() {
    auto& req = parser_->get();
    const auto& cfg = *node_.config();
    const bool keep_alive = req.keep_alive();
    std::string extra = cors();
    if (req.method() == http::verb::options) {
      respond(200, "", "", keep_alive, extra);
      return;
    }
    if (req.method() != http::verb::post) {
      respond(405, "", "", keep_alive, extra);
      return;
    }
    if (cfg.emulation_max_request_body_size > 0 &&
        static_cast<int64_t>(req.body().size()) > cfg.emulation_max_request_body_size) {
      respond(413, "", "", false, extra);
      return;
    }
    const bool protobuf = req[http::field::content_type] == "application/octet-stream";
    auto er = protobuf ? transport::decode_emulation_protobuf(req.body())
                       : transport::decode_emulation_json(req.body());
    if (!er) {
      respond(400, "", "", keep_alive, extra);
      return;
    }
    if (er->node != node_.id()) {
      // Another node's session: centrifuge forwards it as an emulation survey to that node
      // (204 once it answered, 404 for a node not in the registry, 500 without an answer).
      if (node::Cluster* cluster = node_.cluster()) {
        cluster->forward_emulation(
            std::move(er->node), std::move(er->session), std::move(er->data),
            [self = shared_from_this(), keep_alive, extra](int status) {
              self->respond(status, "", "", keep_alive, extra);
            });
        return;
      }
      respond(404, "", "", keep_alive, extra);  // no such node
      return;
    }
    // A session that is gone (or never was) drops the commands; Centrifuge answers 204 too.
    if (auto entry = transport::EmulationRegistry::find(er->session)) {
      node_.shards().at(entry->shard).post(
          [weak = entry->session, data = std::move(er->data)] {
            if (auto s = weak.lock()) {
              s->handle_emulation(data);
            }
          });
    }
    respond(204, "", "", keep_alive, extra);
  }

  // `admin_channel`: the admin live tail's channel (node::ConnectionRequest::admin_channel).
  void upgrade_websocket(const std::string& query, bool uni, std::string admin_channel = {}) {
    auto& req = parser_->get();
    const auto& cfg = *node_.config();
    transport::UpgradeRequest ur;
    ur.method = req.method_string();
    ur.upgrade = req[http::field::upgrade];
    ur.connection = req[http::field::connection];
    ur.version = req[http::field::sec_websocket_version];
    ur.key = req[http::field::sec_websocket_key];
    ur.origin = req[http::field::origin];
    ur.host = req[http::field::host];
    ur.protocols = req[http::field::sec_websocket_protocol];
    for (std::string_view offer : req.values(http::field::sec_websocket_extensions)) {
      if (!ur.extensions.empty()) {
        ur.extensions += ", ";
      }
      ur.extensions.append(offer);
    }
    ur.query = query;
    ur.unidirectional = uni;
    auto negotiated = transport::negotiate_websocket(ur, cfg, origin_globs(shard_.origins, cfg));
    if (!negotiated) {
      if (negotiated.error().status == 403) {
        // gorilla's CheckOrigin error, as centrifuge logs it.
        if (logging::enabled(logging::Level::info)) {
          logging::info("origin check failure",
                        {{"error", "request Origin \"" + std::string(ur.origin) +
                                       "\" is not authorized for Host \"" +
                                       std::string(ur.host) + "\""}});
        }
      }
      respond(negotiated.error().status, std::move(negotiated.error().content_type),
              std::move(negotiated.error().body), false);
      return;
    }
    if (connection_limit_reached()) {
      respond_simple(http::status::service_unavailable, "", false);
      return;
    }
    if (negotiated->invalid_compression_level) {
      // gorilla's SetCompressionLevel error, which Centrifuge logs on every connection; once
      // per endpoint here.
      static std::once_flag warned;
      static std::once_flag warned_uni;
      std::call_once(uni ? warned_uni : warned, [&cfg, uni] {
        logging::error("websocket error setting compression level",
                       {{"error", "websocket: invalid compression level"},
                        {"compression_level", uni ? cfg.uni_websocket_compression_level
                                                  : cfg.websocket_compression_level},
                        {"transport", uni ? "uni_websocket" : "websocket"}});
      });
    }
    auto opts = negotiated->options;
    auto uni_connect = std::move(negotiated->uni_connect);
    node::ConnectionRequest cr;
    if (!cfg.client_user_id_http_header.empty()) {
      cr.user_id_header = std::string(req[cfg.client_user_id_http_header]);
    }
    capture_proxy_headers(cfg, req, cr);
    cr.admin_channel = std::move(admin_channel);
    if (logging::enabled(logging::Level::debug)) {
      log_request(101);  // Centrifugo's line for an upgrade comes before the connection's lines
    }
    auto response = std::make_shared<std::string>(std::move(negotiated->response));
    g_pending_upgrades.fetch_add(1, std::memory_order_relaxed);
    asio::async_write(
        socket_, asio::buffer(*response),
        [self = shared_from_this(), response, opts, cr = std::move(cr),
         uni_connect = std::move(uni_connect)](error_code ec, size_t) mutable {
          struct Done {
            ~Done() { g_pending_upgrades.fetch_sub(1, std::memory_order_relaxed); }
          } done;  // after the session exists (it counts in live_sessions from then on)
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
          if (opts.unidirectional) {
            ws->start_unidirectional(self->node_, std::move(cr), std::move(uni_connect),
                                     std::move(initial));
            return;
          }
          ws->start(self->node_, std::move(cr), std::move(initial));
        });
  }

  void respond_simple(http::status status, std::string body, bool keep_alive,
                      std::string content_type = "") {
    respond(static_cast<int>(status), std::move(content_type), std::move(body), keep_alive);
  }

  // Responses are few fixed headers: built by hand (transport::http::simple_response, with
  // Go's reason phrases and a Date header), which costs far less than Beast's serializer on
  // the API's hot path.
  void respond(int status, std::string content_type, std::string body, bool keep_alive,
               std::string_view extra = {}) {
    if (logging::enabled(logging::Level::debug)) {
      log_request(status);
    }
    auto out = std::make_shared<std::string>(
        transport::http::simple_response(status, content_type, body, extra, keep_alive));
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

  void close() { socket_.close(); }

  // Centrifugo's line for every HTTP request at debug level (its LogRequest middleware, same
  // fields and order): the address is X-Real-IP, else X-Forwarded-For, else the peer's
  // "ip:port". A WebSocket upgrade is logged with 101 as it is answered (as Centrifugo's line
  // comes); an HTTP-streaming or SSE request (uni ones too) by its StreamSession when the
  // stream ends, as Centrifugo's middleware logs it when the handler returns.
  void log_request(int status) {
    if (parser_) {
      request_line().write(status);
    }
  }

  transport::RequestLine request_line() {
    const auto& req = parser_->get();
    auto view = [](auto v) { return std::string_view(v.data(), v.size()); };
    std::string_view target = view(req.target());
    std::string addr(view(req["X-Real-IP"]));
    if (addr.empty()) {
      addr = view(req["X-Forwarded-For"]);
    }
    if (addr.empty()) {
      error_code ec;
      auto ep = socket_.socket().remote_endpoint(ec);
      if (!ec) {
        const std::string ip = ep.address().to_string();
        addr = (ep.address().is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(ep.port());
      }
    }
    return {std::string(view(req.method_string())),
            std::string(target.substr(0, target.find('?'))), std::move(addr), request_started_};
  }

  transport::ByteStream socket_;  // plain TCP or TLS
  node::TimerWheelHandle wheel_handle_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  node::Node& node_;
  api::HttpApi& api_;
  const api::Admin* admin_;  // null unless this listener serves the admin UI
  Routes routes_;
  HttpShard& shard_;  // this shard's deadline wheel and origin globs
  gyre::clock::TimePoint request_started_{};  // set at debug level only (log_request)
};

namespace {
// Advances the shard's deadline wheel every second.
void arm_deadlines(HttpShard& st) {
  st.timer.expires_after(std::chrono::seconds(1));
  st.timer.async_wait([&st](error_code ec) {
    if (ec) {
      return;
    }
    st.wheel.advance(gyre::clock::now(), [](HttpSession* s) { s->on_timeout(); });
    arm_deadlines(st);
  });
}
}  // namespace

HttpServer::HttpServer(ShardSet& shards, node::Node& node, api::HttpApi& api)
    : shards_(shards),
      node_(node),
      api_(api),
      admin_(node.config()->admin ? std::make_unique<api::Admin>(node, api) : nullptr),
      shard_state_(shards,
                   [&shards](unsigned i) { return std::make_unique<HttpShard>(shards.at(i)); }) {
  // Sessions are destroyed (shards.discard_pending()) before the server: the wheels outlive them.
  shard_state_.invoke_on_all([](HttpShard& st) { arm_deadlines(st); });
}

HttpServer::~HttpServer() = default;

size_t HttpServer::open_connections() { return g_open_connections.load(); }

size_t HttpServer::pending_upgrades() { return g_pending_upgrades.load(); }

void HttpServer::listen(const std::string& address, const std::string& port, Routes routes,
                        std::shared_ptr<const tls::ServerTlsContext> tls) {
  auto l = std::make_unique<Listener>(shards_.at(0).io(), routes, std::move(tls));
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
  l->acceptor.async_accept(shard.io(), [this, l, &shard](error_code ec,
                                                          transport::ByteStream::Socket socket) {
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
        logging::warn("accept error", {{"error", ec.message()},
                                       {"failures", l->failures},
                                       {"pause_ms", l->backoff.count()}});
        l->last_warning = now;
      }
      auto t = std::make_shared<asio::steady_timer>(l->acceptor.get_executor());
      t->expires_after(l->backoff);
      t->async_wait([this, l, t](error_code) { accept(l); });
      return;
    }
    if (l->backoff.count() != 0) {
      logging::info("accepting again", {{"failures", l->failures}});
      l->backoff = std::chrono::milliseconds(0);
      l->failures = 0;
    }
    shard_state_.post_to(shard.id(), [this, routes = l->routes, tls = l->tls.get(),
                                      s = std::make_shared<transport::ByteStream::Socket>(
                                          std::move(socket))](
                                         HttpShard& st) {
      std::unique_ptr<tls::TlsConnection> conn;
      if (tls != nullptr) {
        conn = tls->connection();
        if (!conn) {
          error_code ec;
          s->close(ec);
          return;
        }
      }
      std::make_shared<HttpSession>(transport::ByteStream(std::move(*s), std::move(conn)), node_,
                                    api_, admin_.get(), routes, st)
          ->start();
    });
    accept(l);
  });
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
