// gyre: the server binary (Centrifugo v5/v6 compatible); the command line is server/cli.cc.
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include "core/log.h"
#include "core/log_sink.h"
#include "api/http_api.h"
#include "config/loader.h"
#include "core/clock.h"
#include "config/redis_address.h"
#include "engine/redis/redis_tls.h"
#include "engine/memory_engine.h"
#include "engine/redis/redis_engine.h"
#include "node/cluster.h"
#include "node/node.h"
#include "transport/emulation.h"
#include "server/cli.h"
#include "server/http_client.h"
#include "server/http_server.h"
#include "transport/stream_session.h"
#include "transport/h2_connection.h"
#include "transport/tls_listener.h"
#include "tls/acme_http_listener.h"
#include "tls/autocert.h"
#include "transport/websocket_session.h"

namespace {

using gyre::config::Config;
namespace logging = gyre::logging;

constexpr std::string_view kVersion = gyre::node::Node::kVersion;

// The loader's warnings are whole sentences naming their key. Its unknown-key warnings
// (`unknown key "<key>"`, `unknown key "<key>" (from <ENV>)`) become Centrifugo's lines:
// {"key":"<key>",...,"message":"unknown key found in the configuration file"} and, for an
// environment variable, {"key":"<ENV>",...,"message":"unknown key found in the environment"}.
void log_config_warning(std::string_view w) {
  static constexpr std::string_view kPrefix = "unknown key \"";
  static constexpr std::string_view kFrom = " (from ";
  if (w.starts_with(kPrefix)) {
    const size_t end = w.find('"', kPrefix.size());
    if (end != std::string_view::npos) {
      const std::string_view key = w.substr(kPrefix.size(), end - kPrefix.size());
      const std::string_view rest = w.substr(end + 1);
      if (rest.empty()) {
        logging::warn("unknown key found in the configuration file", {{"key", key}});
        return;
      }
      if (rest.starts_with(kFrom) && rest.ends_with(')')) {
        logging::warn("unknown key found in the environment",
                      {{"key", rest.substr(kFrom.size(), rest.size() - kFrom.size() - 1)}});
        return;
      }
    }
  }
  logging::warn(w);
}

// Centrifugo's logging (reference.md §8.4): JSON lines to log_file (appended) or to a
// non-terminal stdout, the console format on a terminal. Throws when log_file cannot be opened.
void setup_logging(const Config& cfg) {
  std::shared_ptr<spdlog::logger> logger;
  if (!cfg.log_file.empty()) {
    logger = gyre::logging::make_file_logger("gyre", cfg.log_file);
  } else {
    logger = gyre::logging::make_stdout_logger("gyre");
  }
  spdlog::set_default_logger(logger);
  // Case-insensitive, as Centrifugo matches strings.ToUpper(log_level); unknown means info.
  std::string l = cfg.log_level;
  std::ranges::transform(l, l.begin(), [](unsigned char c) { return std::tolower(c); });
  auto level = spdlog::level::info;
  if (l == "none") {
    level = spdlog::level::off;
  } else if (l == "trace") {
    level = spdlog::level::trace;
  } else if (l == "debug") {
    level = spdlog::level::debug;
  } else if (l == "warn") {
    level = spdlog::level::warn;
  } else if (l == "error") {
    level = spdlog::level::err;
  } else if (l == "fatal") {
    level = spdlog::level::critical;
  }
  gyre::logging::set_level(level);
  spdlog::flush_on(spdlog::level::info);
}

// A shard's event loop. Output is corked: ready handlers (reads, fan-outs, engine results)
// run first, and queued output is written when the loop runs out of ready work — or after
// kMaxHandlersPerFlush handlers under sustained load — so one writev per connection carries
// everything produced meanwhile. Connections written a moment ago may be held a short window
// (write coalescing, transport/write_coalescing.h); the loop then wakes for the earliest hold.
// `metrics`: the shard's values, for the gyre_shard_* counters (plain adds on this thread).
void run_shard(gyre::Shard& shard, gyre::metrics::ShardMetrics& metrics) {
  constexpr int kMaxHandlersPerFlush = 256;
  gyre::Shard::set_current(&shard);
  using WS = gyre::transport::WebSocketSession;
  WS::set_loop_driven_flush(true);
  const auto& ids = gyre::metrics::ids();
  const std::string label = std::to_string(shard.id());
  uint64_t& turns = metrics.at(ids.gyre_shard_loop_turns_total, {label}).count;
  uint64_t& handlers = metrics.at(ids.gyre_shard_handlers_total, {label}).count;
  uint64_t& flushes = metrics.at(ids.gyre_shard_flushes_total, {label}).count;
  uint64_t& holds = metrics.at(ids.gyre_shard_write_holds_total, {label}).count;
  uint64_t& writes = metrics.at(ids.gyre_shard_socket_writes_total, {label}).count;
  double& window = metrics.at(ids.gyre_shard_write_window_microseconds, {label}).value;
  const auto& coalescing = WS::coalescing_stats();
  auto& io = shard.io();
  auto guard = boost::asio::make_work_guard(io);
  while (!io.stopped()) {
    int ran = 0;
    while (ran < kMaxHandlersPerFlush && io.poll_one() != 0) {
      ++ran;
    }
    size_t flushed = WS::flush_dirty();
    ++turns;
    handlers += static_cast<uint64_t>(ran);
    flushes += flushed;
    holds = coalescing.holds;
    writes = coalescing.writes;
    if (ran == 0 && flushed == 0) {
      // Nothing ready: wait for events, but not past the earliest write hold (write
      // coalescing; the wait's resolution is epoll's millisecond).
      WS::loop_idle();
      window = static_cast<double>(WS::write_window_us());
      uint64_t until = WS::hold_deadline_us();
      if (until == 0) {
        io.run_one();
      } else {
        uint64_t now = gyre::transport::coalescing_now_us();
        if (until > now) {
          io.run_one_for(std::chrono::microseconds(until - now));
        }
      }
      WS::loop_busy();
    }
  }
}

// Test hook, not a config key (Centrifugo has none: uni_websocket pings every 25 s):
// GYRE_TEST_UNI_WS_PING_MS="<interval>" or "<interval>,<pong wait>" in milliseconds shortens
// the uni_websocket native ping so compat tests need not wait 25 s. The pong wait defaults to
// interval / 9, as in production. Read once, before the shard threads start.
void apply_test_hooks() {
  const char* v = std::getenv("GYRE_TEST_UNI_WS_PING_MS");
  if (v == nullptr || *v == '\0') {
    return;
  }
  char* end = nullptr;
  long interval = std::strtol(v, &end, 10);
  long wait = interval / 9;
  if (*end == ',') {
    wait = std::strtol(end + 1, &end, 10);
  }
  if (*end != '\0' || interval <= 0 || wait <= 0) {
    logging::warn("test hook GYRE_TEST_UNI_WS_PING_MS ignored: expected <interval>[,<pong wait>] ms",
                  {{"value", v}});
    return;
  }
  logging::warn("test hook GYRE_TEST_UNI_WS_PING_MS: uni_websocket native pings",
                {{"interval_ms", interval}, {"pong_wait_ms", wait}});
  gyre::transport::WebSocketSession::set_uni_native_ping(std::chrono::milliseconds(interval),
                                                         std::chrono::milliseconds(wait));
}

// The engine of `engine`: memory (one node) or redis (engine/redis, standalone Redis).
struct Engines {
  std::unique_ptr<gyre::engine::MemoryEngine> memory;
  std::unique_ptr<gyre::engine::redis::RedisEngine> redis;
  gyre::engine::Engine& get() {
    return redis ? static_cast<gyre::engine::Engine&>(*redis) : *memory;
  }
  void start() { redis ? redis->start() : memory->start(); }
  // The Redis connections stay open through the graceful disconnect, so that the clients'
  // presence removals and leave messages still reach Redis; they close with the loops.
  void stop() {
    if (memory) {
      memory->stop();
    }
  }
};

Engines make_engine(gyre::ShardSet& shards, const Config& cfg) {
  Engines e;
  if (cfg.engine != "redis") {
    e.memory = std::make_unique<gyre::engine::MemoryEngine>(shards);
    return e;
  }
  // validate() accepted every address. Several are Redis shards (client-side sharding); as
  // in Centrifugo, Sentinel addresses (one element per shard) replace redis_address.
  gyre::engine::redis::RedisEngineOptions o;
  o.shards.clear();
  // TLS contexts (the loader read and checked the PEM material): one per family, shared by
  // every connection.
  auto tls_context = [](const gyre::config::RedisTlsResolved& r, const char* key)
      -> std::shared_ptr<const gyre::engine::redis::TlsContext> {
    if (!r.enabled) {
      return nullptr;
    }
    auto ctx = gyre::engine::redis::TlsContext::create(
        {r.cert_pem, r.key_pem, r.root_ca_pem, r.server_name, r.insecure_skip_verify});
    if (!ctx) {
      throw gyre::config::ConfigError(
          fmt::format("config: key \"{}\": {}", key, ctx.error()));
    }
    return *ctx;
  };
  auto redis_tls = tls_context(cfg.redis_tls_resolved, "redis_tls");
  // rediss:// without redis_tls: TLS with the system CAs (as centrifuge's default tls.Config).
  std::shared_ptr<const gyre::engine::redis::TlsContext> default_tls;
  auto rediss_tls = [&]() {
    if (redis_tls) {
      return redis_tls;
    }
    if (!default_tls) {
      gyre::config::RedisTlsResolved system;
      system.enabled = true;
      default_tls = tls_context(system, "redis_address");
    }
    return default_tls;
  };
  auto sentinel_tls = tls_context(cfg.redis_sentinel_tls_resolved, "redis_sentinel_tls");
  auto common = [&cfg, &redis_tls](gyre::engine::redis::ConnectionOptions& c) {
    c.tls = redis_tls;
    c.user = cfg.redis_user;
    c.password = cfg.redis_password;
    c.db = cfg.redis_db;
    c.client_name = cfg.redis_client_name;
    c.connect_timeout = cfg.redis_connect_timeout;
    c.io_timeout = cfg.redis_io_timeout;
  };
  // Cluster addresses replace the others (as in Centrifugo): one element per cluster.
  o.cluster = !cfg.redis_cluster_address.empty();
  for (const auto& element : cfg.redis_cluster_address) {
    gyre::engine::redis::ConnectionOptions c;
    common(c);
    c.db = 0;
    const auto seeds = gyre::config::parse_host_port_list(element).value();
    for (const auto& a : seeds) {
      c.endpoints.push_back({a.host, a.port});
    }
    o.shards.push_back(std::move(c));
  }
  for (const auto& element : o.cluster ? std::vector<std::string>{} : cfg.redis_sentinel_address) {
    gyre::engine::redis::ConnectionOptions c;
    common(c);
    gyre::engine::redis::SentinelOptions s;
    const auto sentinels = gyre::config::parse_host_port_list(element).value();
    for (const auto& a : sentinels) {
      s.addresses.push_back({a.host, a.port});
    }
    s.master_name = cfg.redis_sentinel_master_name;
    s.user = cfg.redis_sentinel_user;
    s.password = cfg.redis_sentinel_password;
    s.client_name = cfg.redis_sentinel_client_name;
    s.tls = sentinel_tls;
    c.sentinel = std::move(s);
    o.shards.push_back(std::move(c));
  }
  if (!o.cluster && cfg.redis_sentinel_address.empty()) {
    for (const auto& text : cfg.redis_address) {
      auto addr = gyre::config::parse_redis_address(text).value();
      gyre::engine::redis::ConnectionOptions c;
      common(c);
      c.host = addr.host;
      c.port = addr.port;
      c.unix_path = addr.unix_path;
      if (addr.tls) {
        c.tls = rediss_tls();
      }
      c.user = addr.user.value_or(cfg.redis_user);
      c.password = addr.password.value_or(cfg.redis_password);
      c.db = addr.db.value_or(cfg.redis_db);
      if (addr.connect_timeout) {
        c.connect_timeout = *addr.connect_timeout;
      }
      if (addr.io_timeout) {
        c.io_timeout = *addr.io_timeout;
      }
      // Centrifugo v6 URL forms: the URL's host plus its ?addr= values are the cluster seeds
      // or the Sentinels (validate() made every address of a cluster a cluster one).
      std::vector<gyre::engine::redis::Endpoint> listed{{addr.host, addr.port}};
      for (const auto& m : addr.more) {
        listed.push_back({m.host, m.port});
      }
      if (addr.mode == gyre::config::RedisAddress::Mode::kCluster) {
        o.cluster = true;
        c.db = 0;
        c.endpoints = std::move(listed);
      } else if (addr.mode == gyre::config::RedisAddress::Mode::kSentinel) {
        gyre::engine::redis::SentinelOptions s;
        s.addresses = std::move(listed);
        s.master_name = addr.sentinel_master_name;
        s.user = addr.sentinel_user.value_or(cfg.redis_sentinel_user);
        s.password = addr.sentinel_password.value_or(cfg.redis_sentinel_password);
        s.client_name = cfg.redis_sentinel_client_name;
        s.tls = sentinel_tls;
        if (!s.tls && addr.sentinel_tls) {
          gyre::config::RedisTlsResolved system;
          system.enabled = true;
          s.tls = tls_context(system, "redis_address");
        }
        c.sentinel = std::move(s);
      }
      o.shards.push_back(std::move(c));
    }
  }
  o.prefix = cfg.redis_prefix;
  o.use_lists = cfg.redis_use_lists;
  o.presence_user_mapping = cfg.global_redis_presence_user_mapping;
  o.presence_ttl = std::chrono::duration_cast<std::chrono::seconds>(cfg.global_presence_ttl);
  e.redis = std::make_unique<gyre::engine::redis::RedisEngine>(shards, std::move(o));
  return e;
}

int run_server(const gyre::config::LoadResult& loaded,
               const std::function<gyre::config::LoadResult()>& reload_config) {
  // Log output to a closed pipe (the log collector died) must not kill the server: without
  // this the first log line after that raises SIGPIPE. Sockets never raise it (MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  auto cfg = std::make_shared<const Config>(loaded.config);
  try {
    setup_logging(*cfg);
  } catch (const std::exception& e) {
    std::cerr << "error: log_file \"" << cfg->log_file << "\": " << e.what() << "\n";
    return 1;
  }
  apply_test_hooks();
  gyre::transport::WebSocketSession::set_write_coalescing(gyre::transport::coalescing_options(
      cfg->client_write_delay.count(),
      cfg->client_max_messages_in_frame,
      cfg->client_reply_without_queue));
  for (const auto& w : loaded.warnings) {
    log_config_warning(w);
  }
  // Before anything else is set up, as Centrifugo writes it: a failure stops start-up.
  if (!cfg->pid_file.empty()) {
    std::ofstream pid(cfg->pid_file, std::ios::trunc);
    pid << getpid() << "\n";
    if (!pid.flush()) {
      logging::fatal("error writing PID", {{"pid_file", cfg->pid_file}, {"error", "cannot write it"}});
      return 1;
    }
  }
  auto remove_pid_file = [&cfg] {
    if (!cfg->pid_file.empty()) {
      std::error_code ec;
      std::filesystem::remove(cfg->pid_file, ec);
    }
  };
  unsigned threads = cfg->gomaxprocs > 0 ? static_cast<unsigned>(cfg->gomaxprocs)
                                         : std::max(1u, std::thread::hardware_concurrency());
  gyre::ShardSet shards(threads);
  Engines engine;
  try {
    engine = make_engine(shards, *cfg);
  } catch (const gyre::config::ConfigError& e) {
    logging::fatal(e.what());
    remove_pid_file();
    return 1;
  }
  std::unique_ptr<gyre::node::Node> node;
  try {
    node = std::make_unique<gyre::node::Node>(shards, engine.get(), cfg);
  } catch (const std::exception& e) {
    logging::fatal(e.what());
    remove_pid_file();
    return 1;
  }
  // JWK Sets are fetched on the shard that needs them.
  node->set_http_get([](const std::string& url, std::chrono::milliseconds timeout,
                        std::function<void(int, std::string)> done) {
    gyre::server::http_get(gyre::Shard::current()->io(), url, timeout,
                           [done = std::move(done)](gyre::server::HttpResult r) {
                             done(r.status, std::move(r.body));
                           });
  });
  // Proxy calls go out through a keep-alive pool on the calling shard.
  gyre::Sharded<gyre::server::HttpPool> proxy_clients(shards, [&shards](unsigned id) {
    return std::make_unique<gyre::server::HttpPool>(shards.at(id).io(),
                                                    gyre::server::HttpPool::Limits{});
  });
  node->set_http_post([&proxy_clients](gyre::proxy::HttpRequest req,
                                       std::function<void(gyre::proxy::HttpResponse)> done) {
    proxy_clients.local().post(std::move(req), std::move(done));
  });
  // Emulation requests forwarded by other nodes (cluster survey) for sessions held here.
  if (gyre::node::Cluster* cluster = node->cluster()) {
    cluster->set_emulation_handler([&shards](std::string session, std::string data,
                                             std::function<void(uint32_t)> reply) {
      auto entry = gyre::transport::EmulationRegistry::find(session);
      if (!entry) {
        reply(gyre::node::control::kEmulationNoSession);
        return;
      }
      shards.at(entry->shard).post([weak = entry->session, data = std::move(data)] {
        if (auto s = weak.lock()) {
          s->handle_emulation(data);
        }
      });
      reply(0);
    });
  }
  gyre::api::HttpApi api(*node);
  gyre::server::HttpServer http(shards, *node, api);

  const bool split = !cfg->internal_port.empty() && cfg->internal_port != cfg->port;
  // ACME autocert (tls_autocert): its coroutine runs on shard 0's loop; handshakes on every
  // shard ask it for certificates from memory. Destroyed before the loops (declared after).
  std::shared_ptr<gyre::tls::Autocert> autocert;
  std::unique_ptr<gyre::tls::AcmeHttpListener> acme_http;
  if (cfg->tls_autocert) {
    autocert = std::make_shared<gyre::tls::Autocert>(shards.at(0).io(),
                                                     gyre::tls::autocert_options(*cfg));
    // Autocert's and the http-01 listener's errors begin with the option they are about
    // ("tls_autocert_cache_dir <dir>: ...", "tls_autocert_http_addr <addr>: ..."): that option
    // is the key named, without repeating it.
    auto critical_key = [](const std::string& e, std::string_view fallback) {
      const size_t end = e.find_first_of(" :");
      const size_t rest = end == std::string::npos ? end : e.find_first_not_of(" :", end);
      if (e.starts_with("tls_autocert_") && rest != std::string::npos) {
        logging::fatal("config: key \"" + e.substr(0, end) + "\": " + e.substr(rest));
      } else {
        logging::fatal("config: key \"" + std::string(fallback) + "\": " + e);
      }
    };
    if (auto r = autocert->start(); !r) {
      critical_key(r.error(), "tls_autocert");
      remove_pid_file();
      return 1;
    }
    if (cfg->tls_autocert_http) {
      acme_http = std::make_unique<gyre::tls::AcmeHttpListener>(shards.at(0).io(), *autocert);
      if (auto p = acme_http->listen(cfg->tls_autocert_http_addr); !p) {
        critical_key(p.error(), "tls_autocert_http_addr");
        remove_pid_file();
        return 1;
      }
    }
  }
  auto listener_tls = gyre::transport::make_listener_tls(*cfg, /*offer_h2=*/true, autocert);
  if (!listener_tls) {
    logging::fatal(listener_tls.error());
    remove_pid_file();
    return 1;
  }
  for (const auto& w : listener_tls->warnings) {
    logging::warn(w);
  }
  try {
    gyre::server::Routes external{true, !split || cfg->api_external, !split,
                                  cfg->admin && (!split || cfg->admin_external)};
    http.listen(cfg->address, cfg->port, external, listener_tls->external);
    if (split) {
      std::string addr = cfg->internal_address.empty() ? cfg->address : cfg->internal_address;
      http.listen(addr, cfg->internal_port,
                  gyre::server::Routes{false, true, true, cfg->admin && !cfg->admin_external},
                  listener_tls->internal);
    }
  } catch (const std::exception& e) {
    logging::fatal(e.what());
    remove_pid_file();
    return 1;
  }
  // Centrifugo's "starting Centrifugo" fields, then the node's id and name.
  logging::info("starting Gyre", {{"version", kVersion},
                                  {"pid", getpid()},
                                  {"engine", cfg->engine},
                                  {"gomaxprocs", threads},
                                  {"node", node->id()},
                                  {"name", node->name()}});
  if (cfg->admin && cfg->admin_insecure) {
    logging::warn("INSECURE admin mode enabled, make sure you understand risks");
  } else if (cfg->admin && (cfg->admin_password.empty() || cfg->admin_secret.empty())) {
    // Centrifugo starts too and refuses every login; Gyre says so at once.
    logging::warn("admin is enabled without admin_password and admin_secret: logins will be refused");
  }
  if (cfg->engine == "redis") {
    const bool cluster = !cfg->redis_cluster_address.empty();
    const bool sentinel = !cluster && !cfg->redis_sentinel_address.empty();
    const auto& list = cluster    ? cfg->redis_cluster_address
                       : sentinel ? cfg->redis_sentinel_address
                                  : cfg->redis_address;
    std::string addrs;
    for (const auto& a : list) {
      addrs += (addrs.empty() ? "" : ", ") + a;
    }
    const char* mode = cluster ? "cluster" : sentinel ? "sentinel" : "standalone";
    if (sentinel) {
      logging::info("using Redis engine",
                    {{"mode", mode},
                     {"address", addrs},
                     {"master_name", cfg->redis_sentinel_master_name},
                     {"prefix", cfg->redis_prefix},
                     {"shards", list.size()},
                     {"tls", cfg->redis_tls_resolved.enabled}});
    } else {
      logging::info("using Redis engine", {{"mode", mode},
                                           {"address", addrs},
                                           {"prefix", cfg->redis_prefix},
                                           {"shards", list.size()},
                                           {"tls", cfg->redis_tls_resolved.enabled}});
    }
  }
  const std::string serving = (cfg->address.empty() ? "*" : cfg->address) + ":" + cfg->port;
  if (split) {
    logging::info("serving", {{"address", serving},
                              {"tls", listener_tls->external != nullptr},
                              {"internal_port", cfg->internal_port},
                              {"internal_tls", listener_tls->internal != nullptr}});
  } else {
    logging::info("serving", {{"address", serving}, {"tls", listener_tls->external != nullptr}});
  }

  // Per-shard WebSocket I/O state; outlives every session (they are all gone once
  // shards.discard_pending() has run below).
  gyre::transport::WebSocketShards ws_shards(shards);
  engine.start();
  node->start();

  // Signals are handled on shard 0.
  auto& io0 = shards.at(0).io();
  boost::asio::signal_set signals(io0, SIGINT, SIGTERM);
  boost::asio::signal_set hup(io0, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](boost::system::error_code ec, int) {
      if (ec) {
        return;
      }
      // reference.md §7.11: token verifiers and channel options; connections stay. A bad
      // new configuration is logged and the running one kept.
      try {
        auto fresh = reload_config();
        auto next = std::make_shared<const Config>(
            gyre::config::apply_reload(*node->config(), fresh.config));
        gyre::config::validate(*next);
        node->reload(gyre::node::Node::make_runtime(std::move(next)));
        logging::info("configuration successfully reloaded");
      } catch (const std::exception& e) {
        // The running configuration is kept.
        logging::error("error reloading", {{"error", e.what()}});
      }
      wait_hup();
    });
  };
  wait_hup();
  std::atomic<bool> stopping{false};
  boost::asio::steady_timer hard_deadline(io0);
  boost::asio::steady_timer drain_timer(io0);
  auto stop_all = [&] {
    for (unsigned i = 0; i < shards.size(); ++i) {
      shards.at(i).io().stop();
    }
  };
  std::function<void(gyre::clock::TimePoint)> wait_drained = [&](gyre::clock::TimePoint until) {
    // Close frames (and the disconnect pushes of HTTP streams) are on their way; stop once
    // every WebSocket, stream and HTTP/2 connection (its GOAWAY sent) has gone (and no
    // upgrade is half-written) or at the deadline. Idle HTTP keep-alive connections are
    // dropped with the loops (as Go's Shutdown does).
    if ((gyre::transport::WebSocketSession::live_sessions() == 0 &&
         gyre::transport::StreamSession::live_sessions() == 0 &&
         gyre::transport::H2Connection::live_connections() == 0 &&
         gyre::server::HttpServer::pending_upgrades() == 0) ||
        gyre::clock::now() >= until) {
      stop_all();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&, until](boost::system::error_code ec) {
      if (!ec) {
        wait_drained(until);
      }
    });
  };
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec || stopping.exchange(true)) {
      return;
    }
    // Go's names of the two signals, as Centrifugo's "signal received: terminated".
    logging::info("signal received", {{"signal", sig == SIGINT ? "interrupt" : "terminated"},
                                      {"websocket_sessions",
                                       gyre::transport::WebSocketSession::live_sessions()},
                                      {"http_connections",
                                       gyre::server::HttpServer::open_connections()}});
    hup.cancel();
    http.stop_accepting();
    if (acme_http) {
      acme_http->stop();
    }
    if (autocert) {
      autocert->stop();
    }
    engine.stop();
    hard_deadline.expires_after(cfg->shutdown_timeout);
    hard_deadline.async_wait([&](boost::system::error_code e2) {
      if (!e2) {
        logging::warn("shutdown timeout reached");
        stop_all();
      }
    });
    node->shutdown([&] {
      // WebSocket sessions wait for the client's close frame; plain HTTP keep-alive
      // connections are simply dropped when the loops stop.
      wait_drained(gyre::clock::now() + std::min<std::chrono::milliseconds>(
                                            cfg->shutdown_timeout, std::chrono::seconds(5)));
    });
  });

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < shards.size(); ++i) {
    workers.emplace_back([&shards, &node, i] {
      run_shard(shards.at(i), node->shard_state(i).metrics);
    });
  }
  run_shard(shards.at(0), node->shard_state(0).metrics);
  for (auto& t : workers) {
    t.join();
  }
  // Handlers still queued (an API callback posted back across shards holding its HTTP
  // session, ...) are destroyed now, while the node, the engine, the servers and every
  // loop they reference are alive; the declarations above are then destroyed in reverse.
  shards.discard_pending();
  remove_pid_file();
  if (cfg->shutdown_termination_delay.count() > 0) {
    std::this_thread::sleep_for(cfg->shutdown_termination_delay);
  }
  logging::info("bye");
  spdlog::shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  gyre::server::ServerArgs args;
  if (auto exit_code = gyre::server::run_cli(argc, argv, args)) {
    return *exit_code;
  }
  gyre::config::LoadResult loaded;
  try {
    loaded = gyre::server::load_config(args);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return run_server(loaded, [&] { return gyre::server::load_config(args); });
}
