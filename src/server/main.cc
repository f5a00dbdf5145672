// gyre: the server binary and its CLI (Centrifugo v5 compatible, reference.md §8.6).
#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/log_sink.h"
#include "api/http_api.h"
#include "auth/jwt.h"
#include "config/doc.h"
#include "config/loader.h"
#include "core/clock.h"
#include "engine/memory_engine.h"
#include "node/node.h"
#include "server/http_client.h"
#include "server/http_server.h"
#include "transport/stream_session.h"
#include "transport/websocket_session.h"

namespace {

using gyre::config::Config;
using gyre::config::ConfigError;

constexpr std::string_view kVersion = gyre::node::Node::kVersion;

// Flags bound over config keys (reference.md §8.6). Values are kept only when given.
struct FlagSet {
  std::map<std::string, std::string> values;
  std::vector<std::pair<std::string, CLI::Option*>> options;

  void add_string(CLI::App& app, const std::string& names, const std::string& key,
                  const std::string& help) {
    auto* opt = app.add_option(names, values[key], help);
    options.emplace_back(key, opt);
  }
  void add_bool(CLI::App& app, const std::string& names, const std::string& key,
                const std::string& help) {
    auto* opt = app.add_flag(names, help);
    options.emplace_back(key, opt);
  }
  std::map<std::string, std::string> given() const {
    std::map<std::string, std::string> out;
    for (const auto& [key, opt] : options) {
      if (opt->count() == 0) {
        continue;
      }
      if (opt->get_expected_min() == 0) {
        out[key] = opt->as<bool>() ? "true" : "false";
      } else {
        out[key] = values.at(key);
      }
    }
    return out;
  }
};

gyre::config::LoadResult load_config(const std::string& path, bool explicit_path,
                                     const std::map<std::string, std::string>& flags) {
  gyre::config::LoadInput in;
  in.config_path = path;
  in.config_path_explicit = explicit_path;
  in.env = gyre::config::process_environment();
  in.flags = flags;
  return gyre::config::load(in);
}

void setup_logging(const Config& cfg) {
  std::shared_ptr<spdlog::logger> logger;
  if (!cfg.log_file.empty()) {
    logger = spdlog::basic_logger_mt("gyre", cfg.log_file, false);
  } else {
    logger = gyre::logging::make_stdout_logger("gyre");
  }
  spdlog::set_default_logger(logger);
  const std::string& l = cfg.log_level;
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
  }
  spdlog::set_level(level);
  spdlog::flush_on(spdlog::level::info);
}

// A shard's event loop. Output is corked: ready handlers (reads, fan-outs, engine results)
// run first, and queued output is written when the loop runs out of ready work — or after
// kMaxHandlersPerFlush handlers under sustained load — so one writev per connection carries
// everything produced meanwhile.
void run_shard(gyre::Shard& shard) {
  constexpr int kMaxHandlersPerFlush = 256;
  gyre::Shard::set_current(&shard);
  gyre::transport::WebSocketSession::set_loop_driven_flush(true);
  auto& io = shard.io();
  auto guard = boost::asio::make_work_guard(io);
  while (!io.stopped()) {
    int ran = 0;
    while (ran < kMaxHandlersPerFlush && io.poll_one() != 0) {
      ++ran;
    }
    size_t flushed = gyre::transport::WebSocketSession::flush_dirty();
    if (ran == 0 && flushed == 0) {
      io.run_one();
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
    spdlog::warn("GYRE_TEST_UNI_WS_PING_MS={} ignored: expected <interval>[,<pong wait>] ms", v);
    return;
  }
  spdlog::warn("test hook GYRE_TEST_UNI_WS_PING_MS: uni_websocket pings every {} ms, "
               "pong wait {} ms",
               interval, wait);
  gyre::transport::WebSocketSession::set_uni_native_ping(std::chrono::milliseconds(interval),
                                                         std::chrono::milliseconds(wait));
}

int run_server(const gyre::config::LoadResult& loaded,
               const std::function<gyre::config::LoadResult()>& reload_config) {
  // Log output to a closed pipe (the log collector died) must not kill the server: without
  // this the first log line after that raises SIGPIPE. Sockets never raise it (MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  auto cfg = std::make_shared<const Config>(loaded.config);
  setup_logging(*cfg);
  apply_test_hooks();
  for (const auto& w : loaded.warnings) {
    spdlog::warn("{}", w);
  }
  unsigned threads = cfg->gomaxprocs > 0 ? static_cast<unsigned>(cfg->gomaxprocs)
                                         : std::max(1u, std::thread::hardware_concurrency());
  gyre::ShardSet shards(threads);
  gyre::engine::MemoryEngine engine(shards);
  std::unique_ptr<gyre::node::Node> node;
  try {
    node = std::make_unique<gyre::node::Node>(shards, engine, cfg);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
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
  gyre::api::HttpApi api(*node);
  gyre::server::HttpServer http(shards, *node, api);

  const bool split = !cfg->internal_port.empty() && cfg->internal_port != cfg->port;
  try {
    gyre::server::Routes external{true, !split || cfg->api_external, !split};
    http.listen(cfg->address, cfg->port, external);
    if (split) {
      std::string addr = cfg->internal_address.empty() ? cfg->address : cfg->internal_address;
      http.listen(addr, cfg->internal_port, gyre::server::Routes{false, true, true});
    }
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  if (!cfg->pid_file.empty()) {
    std::ofstream(cfg->pid_file) << getpid() << "\n";
  }
  spdlog::info("starting Gyre {} (node {}, name {}), engine: memory, threads: {}", kVersion,
               node->id(), node->name(), threads);
  spdlog::info("serving on {}:{}{}", cfg->address.empty() ? "*" : cfg->address, cfg->port,
               split ? " (API and health on internal port " + cfg->internal_port + ")" : "");

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
        spdlog::info("configuration reloaded (SIGHUP)");
      } catch (const std::exception& e) {
        spdlog::error("SIGHUP: configuration not reloaded, keeping the running one: {}",
                      e.what());
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
    // every WebSocket and stream has gone (and no upgrade is half-written) or at the
    // deadline. Idle HTTP keep-alive connections are dropped with the loops (as Go's
    // Shutdown does).
    if ((gyre::transport::WebSocketSession::live_sessions() == 0 &&
         gyre::transport::StreamSession::live_sessions() == 0 &&
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
    spdlog::info("signal {} received, shutting down ({} WebSocket sessions, {} HTTP connections)",
                 sig, gyre::transport::WebSocketSession::live_sessions(),
                 gyre::server::HttpServer::open_connections());
    hup.cancel();
    http.stop_accepting();
    engine.stop();
    hard_deadline.expires_after(cfg->shutdown_timeout);
    hard_deadline.async_wait([&](boost::system::error_code e2) {
      if (!e2) {
        spdlog::warn("shutdown timeout reached");
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
    workers.emplace_back([&shards, i] { run_shard(shards.at(i)); });
  }
  run_shard(shards.at(0));
  for (auto& t : workers) {
    t.join();
  }
  // Handlers still queued (an API callback posted back across shards holding its HTTP
  // session, ...) are destroyed now, while the node, the engine, the servers and every
  // loop they reference are alive; the declarations above are then destroyed in reverse.
  shards.discard_pending();
  if (!cfg->pid_file.empty()) {
    std::error_code ec;
    std::filesystem::remove(cfg->pid_file, ec);
  }
  if (cfg->shutdown_termination_delay.count() > 0) {
    std::this_thread::sleep_for(cfg->shutdown_termination_delay);
  }
  spdlog::info("bye");
  spdlog::shutdown();
  return 0;
}

std::string read_secret_for(const Config& cfg, bool subscription) {
  if (subscription && cfg.separate_subscription_token_config) {
    return cfg.subscription_token.hmac_secret_key;
  }
  return cfg.token.hmac_secret_key;
}

int gen_token(const Config& cfg, const std::string& user, int64_t ttl, const std::string& channel,
              bool quiet, bool subscription) {
  std::string secret = read_secret_for(cfg, subscription);
  if (secret.empty()) {
    std::cerr << "error: " << (subscription && cfg.separate_subscription_token_config
                                   ? "subscription_token_hmac_secret_key"
                                   : "token_hmac_secret_key")
              << " is not set in the configuration\n";
    return 1;
  }
  std::string payload = "{\"sub\":";
  std::string escaped;
  auto esc = [](const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') {
        o += '\\';
      }
      o += c;
    }
    return o + "\"";
  };
  payload += esc(user);
  if (subscription) {
    payload += ",\"channel\":" + esc(channel);
  }
  if (ttl > 0) {
    payload += ",\"exp\":" + std::to_string(gyre::clock::unix_seconds() + ttl);
  }
  payload += ",\"iat\":" + std::to_string(gyre::clock::unix_seconds()) + "}";
  std::string token = gyre::auth::make_hs256_token(secret, payload);
  if (quiet) {
    std::cout << token << "\n";
    return 0;
  }
  std::cout << "HMAC SHA-256 JWT for user \"" << user << "\""
            << (subscription ? " and channel \"" + channel + "\"" : std::string())
            << (ttl > 0 ? " with expiration TTL " + std::to_string(ttl) + "s"
                        : std::string(" without expiration"))
            << ":\n"
            << token << "\n";
  return 0;
}

int check_token(const Config& cfg_in, const std::string& token, bool subscription) {
  auto cfg = std::make_shared<const Config>(cfg_in);
  try {
    gyre::auth::Verifier v(subscription && cfg->separate_subscription_token_config
                               ? cfg->subscription_token
                               : cfg->token,
                           cfg);
    double now = gyre::clock::unix_seconds_f();
    auto describe = [](gyre::auth::TokenError e) {
      switch (e) {
        case gyre::auth::TokenError::kExpired:
          return "token expired";
        case gyre::auth::TokenError::kUnknownChannel:
          return "unknown channel";
        case gyre::auth::TokenError::kInternal:
          return "internal error";
        default:
          return "invalid token";
      }
    };
    // JWKS: fetch the key set once (blocking is fine in a CLI command), then verify.
    auto fetch_keys = [&v](const gyre::auth::JwksFetch& f) {
      boost::asio::io_context io;
      gyre::server::http_get(io, f.url, std::chrono::milliseconds(1000),
                             [&](gyre::server::HttpResult r) {
                               if (r.status == 200) {
                                 v.store_jwks(f, r.body);
                               }
                             });
      io.run();
    };
    gyre::auth::JwksFetch fetch;
    if (subscription) {
      auto r = v.verify_subscribe(token, now, &fetch);
      if (!r && r.error() == gyre::auth::TokenError::kKeysNeeded) {
        fetch_keys(fetch);
        r = v.verify_subscribe(token, now);
      }
      if (!r) {
        std::cerr << "error: " << describe(r.error()) << "\n";
        return 1;
      }
      std::cout << "valid subscription token for user \"" << r->user << "\" and channel \""
                << r->channel << "\"\n";
    } else {
      auto r = v.verify_connect(token, now, &fetch);
      if (!r && r.error() == gyre::auth::TokenError::kKeysNeeded) {
        fetch_keys(fetch);
        r = v.verify_connect(token, now);
      }
      if (!r) {
        std::cerr << "error: " << describe(r.error()) << "\n";
        return 1;
      }
      std::cout << "valid token for user \"" << r->user << "\"";
      if (r->expires_at() > 0) {
        std::cout << ", expires at " << r->expires_at();
      }
      std::cout << "\n";
    }
    // The payload as sent.
    auto first = token.find('.');
    auto last = token.rfind('.');
    if (first != std::string::npos && last != first) {
      std::cout << "payload segment: " << token.substr(first + 1, last - first - 1) << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Gyre: a real-time messaging server compatible with Centrifugo v5"};
  app.set_version_flag("--version", std::string("Gyre v") + std::string(kVersion));
  std::string config_path = "config.json";
  auto* config_opt = app.add_option("-c,--config", config_path, "path to config file");
  FlagSet flags;
  flags.add_string(app, "-e,--engine", "engine", "engine to use: memory");
  flags.add_string(app, "--broker", "broker", "broker to use");
  flags.add_string(app, "--log_level", "log_level", "none, trace, debug, info, warn, error");
  flags.add_string(app, "--log_file", "log_file", "optional log file");
  flags.add_string(app, "--pid_file", "pid_file", "optional path to write PID");
  flags.add_string(app, "-n,--name", "name", "unique node name");
  flags.add_bool(app, "--debug", "debug", "enable debug endpoints");
  flags.add_bool(app, "--admin", "admin", "enable admin web interface");
  flags.add_bool(app, "--admin_external", "admin_external", "admin on external port");
  flags.add_bool(app, "--admin_insecure", "admin_insecure", "admin without auth");
  flags.add_bool(app, "--prometheus", "prometheus", "enable Prometheus metrics endpoint");
  flags.add_bool(app, "--swagger", "swagger", "enable Swagger UI");
  flags.add_bool(app, "--health", "health", "enable health check endpoint");
  flags.add_bool(app, "--sockjs", "sockjs", "enable SockJS endpoint");
  flags.add_bool(app, "--uni_websocket", "uni_websocket", "enable unidirectional websocket");
  flags.add_bool(app, "--uni_sse", "uni_sse", "enable unidirectional SSE");
  flags.add_bool(app, "--uni_http_stream", "uni_http_stream", "enable unidirectional HTTP-stream");
  flags.add_bool(app, "--sse", "sse", "enable SSE endpoint");
  flags.add_bool(app, "--http_stream", "http_stream", "enable HTTP-streaming endpoint");
  flags.add_bool(app, "--client_insecure", "client_insecure", "start in insecure client mode");
  flags.add_bool(app, "--api_insecure", "api_insecure", "use insecure API mode");
  flags.add_bool(app, "--api_external", "api_external", "expose API on external port");
  flags.add_string(app, "-a,--address", "address", "interface address to listen on");
  flags.add_string(app, "-p,--port", "port", "port to bind HTTP server to");
  flags.add_string(app, "--internal_address", "internal_address", "internal endpoints address");
  flags.add_string(app, "--internal_port", "internal_port", "internal endpoints port");
  flags.add_bool(app, "--tls", "tls", "enable TLS");
  flags.add_string(app, "--tls_cert", "tls_cert", "path to TLS certificate file");
  flags.add_string(app, "--tls_key", "tls_key", "path to TLS key file");
  flags.add_bool(app, "--tls_external", "tls_external", "TLS only for external endpoints");
  flags.add_bool(app, "--grpc_api", "grpc_api", "enable GRPC API server");
  flags.add_string(app, "--grpc_api_port", "grpc_api_port", "port for GRPC API server");
  flags.add_bool(app, "--uni_grpc", "uni_grpc", "enable unidirectional GRPC endpoint");
  flags.add_string(app, "--uni_grpc_port", "uni_grpc_port", "port for unidirectional GRPC");
  flags.add_string(app, "--redis_address", "redis_address", "Redis address");
  flags.add_string(app, "--nats_url", "nats_url", "NATS URL");

  int exit_code = 0;

  auto* version_cmd = app.add_subcommand("version", "Gyre version information");
  version_cmd->callback([&] {
    std::cout << "Gyre v" << kVersion << " (C++, compatible with Centrifugo v5.4)\n";
  });

  auto* configdoc = app.add_subcommand("configdoc", "Print the configuration reference (Markdown)");
  configdoc->callback([&] { std::cout << gyre::config::render_reference_markdown(); });

  auto* genconfig = app.add_subcommand("genconfig", "Generate minimal configuration file");
  std::string gen_path = "config.json";
  genconfig->add_option("-c,--config", gen_path, "path to the file to write");
  genconfig->callback([&] {
    if (std::filesystem::exists(gen_path)) {
      std::cerr << "error: output config file already exists: " << gen_path << "\n";
      exit_code = 1;
      return;
    }
    try {
      std::string text = gyre::config::generate_config(gen_path);
      std::ofstream(gen_path) << text;
      gyre::config::LoadInput in;
      in.config_path = gen_path;
      in.config_path_explicit = true;
      gyre::config::load(in);
      std::cout << "config file generated: " << gen_path << "\n";
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      exit_code = 1;
    }
  });

  auto* checkconfig = app.add_subcommand("checkconfig", "Check configuration file");
  std::string check_path = "config.json";
  checkconfig->add_option("-c,--config", check_path, "path to config file");
  checkconfig->callback([&] {
    try {
      if (!std::filesystem::exists(check_path)) {
        std::cerr << "error: config file not found: " << check_path << "\n";
        exit_code = 1;
        return;
      }
      auto r = load_config(check_path, true, {});
      for (const auto& w : r.warnings) {
        std::cerr << "warning: " << w << "\n";
      }
      std::cout << "config is valid\n";
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      exit_code = 1;
    }
  });

  auto* gentoken = app.add_subcommand("gentoken", "Generate sample connection JWT for user");
  std::string tok_cfg = "config.json";
  std::string tok_user;
  int64_t tok_ttl = 604800;
  bool tok_quiet = false;
  gentoken->add_option("-c,--config", tok_cfg, "path to config file");
  gentoken->add_option("-u,--user", tok_user, "user ID, by default anonymous");
  gentoken->add_option("-t,--ttl", tok_ttl, "token TTL in seconds, -1 for no expiration");
  gentoken->add_flag("-q,--quiet", tok_quiet, "only output the token");
  gentoken->callback([&] {
    try {
      auto r = load_config(tok_cfg, true, {});
      exit_code = gen_token(r.config, tok_user, tok_ttl, "", tok_quiet, false);
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      exit_code = 1;
    }
  });

  auto* gensubtoken = app.add_subcommand("gensubtoken", "Generate sample subscription JWT");
  std::string sub_channel;
  gensubtoken->add_option("-c,--config", tok_cfg, "path to config file");
  gensubtoken->add_option("-u,--user", tok_user, "user ID");
  gensubtoken->add_option("-s,--channel", sub_channel, "channel")->required();
  gensubtoken->add_option("-t,--ttl", tok_ttl, "token TTL in seconds, -1 for no expiration");
  gensubtoken->add_flag("-q,--quiet", tok_quiet, "only output the token");
  gensubtoken->callback([&] {
    try {
      auto r = load_config(tok_cfg, true, {});
      exit_code = gen_token(r.config, tok_user, tok_ttl, sub_channel, tok_quiet, true);
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      exit_code = 1;
    }
  });

  std::string check_tok;
  auto* checktoken = app.add_subcommand("checktoken", "Check connection JWT");
  checktoken->add_option("-c,--config", tok_cfg, "path to config file");
  checktoken->add_option("token", check_tok, "token")->required();
  checktoken->callback([&] {
    try {
      auto r = load_config(tok_cfg, true, {});
      exit_code = check_token(r.config, check_tok, false);
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      exit_code = 1;
    }
  });
  auto* checksubtoken = app.add_subcommand("checksubtoken", "Check subscription JWT");
  checksubtoken->add_option("-c,--config", tok_cfg, "path to config file");
  checksubtoken->add_option("token", check_tok, "token")->required();
  checksubtoken->callback([&] {
    try {
      auto r = load_config(tok_cfg, true, {});
      exit_code = check_token(r.config, check_tok, true);
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      exit_code = 1;
    }
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!app.get_subcommands().empty()) {
    return exit_code;
  }
  gyre::config::LoadResult loaded;
  try {
    loaded = load_config(config_path, config_opt->count() > 0, flags.given());
  } catch (const ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return run_server(loaded, [&] {
    return load_config(config_path, config_opt->count() > 0, flags.given());
  });
}
