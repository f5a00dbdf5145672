#include "server/cli.h"

#include <CLI/CLI.hpp>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <vector>

#include "auth/jwt.h"
#include "config/doc.h"
#include "config/dump.h"
#include "core/clock.h"
#include "core/host.h"
#include "node/node.h"
#include "protocol/json_writer.h"
#include "server/http_client.h"

namespace gyre::server {
namespace {

using config::Config;

constexpr std::string_view kVersion = node::Node::kVersion;

// Flags bound over config keys (reference.md §8.6) and v6 option paths (v6-config.md §1.2).
// Values are kept only when given on the command line.
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

void add_server_flags(CLI::App& app, FlagSet& flags) {
  // Centrifugo v5 flags.
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
  // Centrifugo v6 flags: the option path is the flag name (v6-config.md §1.2).
  for (const char* path : {"http_server.address", "http_server.port",
                           "http_server.internal_address", "http_server.internal_port",
                           "log.level", "log.file", "engine.type", "broker.type",
                           "presence_manager.type", "map_broker.type", "grpc_api.port",
                           "uni_grpc.port"}) {
    flags.add_string(app, std::string("--") + path, path, "v6 option " + std::string(path));
  }
  for (const char* path :
       {"client.insecure", "http_api.insecure", "http_api.external", "admin.enabled",
        "admin.external", "admin.insecure", "prometheus.enabled", "health.enabled",
        "swagger.enabled", "debug.enabled", "sse.enabled", "http_stream.enabled",
        "uni_websocket.enabled", "uni_sse.enabled", "uni_http_stream.enabled", "init.enabled",
        "grpc_api.enabled", "uni_grpc.enabled", "broker.enabled", "presence_manager.enabled"}) {
    flags.add_bool(app, std::string("--") + path, path, "v6 option " + std::string(path));
  }
}

// Config files that are read by CLI commands are loaded without the flags.
config::LoadResult load_file(const std::string& path) {
  ServerArgs args;
  args.config_path = path;
  args.config_path_explicit = true;
  return load_config(args);
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
    std::cerr << "error: "
              << (subscription && cfg.separate_subscription_token_config
                      ? "subscription_token_hmac_secret_key (client.subscription_token."
                        "hmac_secret_key)"
                      : "token_hmac_secret_key (client.token.hmac_secret_key)")
              << " is not set in the configuration\n";
    return 1;
  }
  std::string payload;
  protocol::JsonWriter w(payload);
  w.begin_object();
  w.field("sub", user);
  if (subscription) {
    w.field("channel", channel);
  }
  if (ttl > 0) {
    w.field_int("exp", clock::unix_seconds() + ttl);
  }
  w.field_int("iat", clock::unix_seconds());
  w.end_object();
  std::string token = auth::make_hs256_token(secret, payload);
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
    auth::Verifier v(subscription && cfg->separate_subscription_token_config
                         ? cfg->subscription_token
                         : cfg->token,
                     cfg);
    double now = clock::unix_seconds_f();
    auto describe = [](auth::TokenError e) {
      switch (e) {
        case auth::TokenError::kExpired:
          return "token expired";
        case auth::TokenError::kUnknownChannel:
          return "unknown channel";
        case auth::TokenError::kInternal:
          return "internal error";
        default:
          return "invalid token";
      }
    };
    // JWKS: fetch the key set once (blocking is fine in a CLI command), then verify.
    auto fetch_keys = [&v](const auth::JwksFetch& f) {
      boost::asio::io_context io;
      http_get(io, f.url, std::chrono::milliseconds(1000), [&](HttpResult r) {
        if (r.status == 200) {
          v.store_jwks(f, r.body);
        }
      });
      io.run();
    };
    auth::JwksFetch fetch;
    if (subscription) {
      auto r = v.verify_subscribe(token, now, &fetch);
      if (!r && r.error() == auth::TokenError::kKeysNeeded) {
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
      if (!r && r.error() == auth::TokenError::kKeysNeeded) {
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

// defaultconfig/defaultenv print defaults as Centrifugo does: the node name the loader derives
// (<hostname>_<port>) is shown as its default, "".
Config with_default_name(Config config) {
  if (config.name == hostname() + "_" + config.port) {
    config.name.clear();
  }
  return config;
}

config::Format parse_format(const std::string& name) {
  if (name == "json") {
    return config::Format::kJson;
  }
  if (name == "yaml" || name == "yml") {
    return config::Format::kYaml;
  }
  return config::Format::kToml;  // CLI11 restricts the values to json, yaml, yml, toml
}

// Runs `body`, printing a ConfigError or any other exception as "error: ..." (exit 1).
template <class F>
void guarded(int& exit_code, F&& body) {
  try {
    exit_code = body();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    exit_code = 1;
  }
}

}  // namespace

config::LoadResult load_config(const ServerArgs& args) {
  config::LoadInput in;
  in.config_path = args.config_path;
  in.config_path_explicit = args.config_path_explicit;
  in.env = config::process_environment();
  in.flags = args.flags;
  return config::load(in);
}

std::optional<int> run_cli(int argc, char** argv, ServerArgs& server) {
  CLI::App app{"Gyre: a real-time messaging server compatible with Centrifugo v5 and v6"};
  app.set_version_flag("--version", std::string("Gyre v") + std::string(kVersion));
  auto* config_opt = app.add_option("-c,--config", server.config_path, "path to config file");
  FlagSet flags;
  add_server_flags(app, flags);
  int exit_code = 0;
  const std::vector<std::string> kFormats = {"json", "yaml", "yml", "toml"};

  auto* version_cmd = app.add_subcommand("version", "Gyre version information");
  version_cmd->callback([&] {
    std::cout << "Gyre v" << kVersion << " (C++, compatible with Centrifugo v5.4 and v6)\n";
  });

  auto* configdoc = app.add_subcommand(
      "configdoc", "Print the configuration reference (Markdown, v5 key and v6 path per option)");
  configdoc->callback([&] { std::cout << config::render_reference_markdown(); });

  auto* genconfig = app.add_subcommand("genconfig", "Generate minimal configuration file");
  std::string gen_path = "config.json";
  bool gen_v5 = false;
  genconfig->add_option("-c,--config", gen_path, "path to the file to write");
  genconfig->add_flag("--v5", gen_v5, "write Centrifugo v5 flat keys instead of v6 blocks");
  genconfig->callback([&] {
    guarded(exit_code, [&] {
      if (std::filesystem::exists(gen_path)) {
        std::cerr << "error: output config file already exists: " << gen_path << "\n";
        return 1;
      }
      std::string text = config::generate_config(
          gen_path, gen_v5 ? config::Shape::kV5 : config::Shape::kV6);
      std::ofstream(gen_path) << text;
      load_file(gen_path);
      std::cout << "config file generated: " << gen_path << "\n";
      return 0;
    });
  });

  auto* checkconfig = app.add_subcommand("checkconfig", "Check configuration file");
  std::string check_path = "config.json";
  bool check_strict = false;
  bool check_print = false;
  bool check_print_v5 = false;
  std::string check_format = "json";
  checkconfig->add_option("-c,--config", check_path, "path to config file");
  checkconfig->add_flag("-s,--strict", check_strict, "also fail on unknown keys");
  checkconfig->add_flag("--print", check_print,
                        "print the effective configuration (v6 blocks; every option)");
  checkconfig->add_flag("--v5", check_print_v5, "with --print: v5 flat keys");
  checkconfig->add_option("--format", check_format, "with --print: json, yaml or toml")
      ->check(CLI::IsMember(kFormats));
  checkconfig->callback([&] {
    guarded(exit_code, [&] {
      if (!std::filesystem::exists(check_path)) {
        std::cerr << "error: config file not found: " << check_path << "\n";
        return 1;
      }
      auto r = load_file(check_path);
      bool unknown = false;
      for (const auto& w : r.warnings) {
        std::cerr << "warning: " << w << "\n";
        unknown = unknown || w.starts_with("unknown key");
      }
      if (check_strict && unknown) {
        std::cerr << "error: unknown keys in config (--strict)\n";
        return 1;
      }
      if (check_print) {
        std::cout << config::render(
            config::config_tree(r.config,
                                check_print_v5 ? config::Shape::kV5 : config::Shape::kV6),
            parse_format(check_format));
        return 0;
      }
      std::cout << "config is valid ("
                << (r.shape == config::Shape::kV6 ? "Centrifugo v6 shape" : "Centrifugo v5 shape")
                << ")\n";
      return 0;
    });
  });

  auto* defaultconfig = app.add_subcommand(
      "defaultconfig",
      "Write the complete v6 configuration with defaults (overlaid with --base and CENTRIFUGO_* "
      "variables); the -c extension picks JSON, YAML or TOML");
  std::string def_path = "config.json";
  std::string def_base;
  bool def_dry = false;
  defaultconfig->add_option("-c,--config", def_path, "path to the file to write");
  defaultconfig->add_option("-b,--base", def_base, "base configuration file");
  defaultconfig->add_flag("-d,--dry-run", def_dry, "print to stdout instead of writing");
  defaultconfig->callback([&] {
    guarded(exit_code, [&] {
      config::Format format = config::format_for_path(def_path);
      config::LoadInput in;
      in.config_path = def_base;
      in.config_path_explicit = !def_base.empty();
      in.env = config::process_environment();
      config::LoadResult r = config::load(in);
      std::string text = config::render(
          config::config_tree(with_default_name(r.config), config::Shape::kV6), format);
      if (def_dry) {
        std::cout << text;
        return 0;
      }
      if (std::filesystem::exists(def_path)) {
        std::cerr << "error: output config file already exists: " << def_path << "\n";
        return 1;
      }
      std::ofstream(def_path) << text;
      std::cout << "config file generated: " << def_path << "\n";
      return 0;
    });
  });

  auto* defaultenv = app.add_subcommand(
      "defaultenv", "Print every v6 environment variable with its default (or --base value)");
  std::string env_base;
  bool env_non_default = false;
  defaultenv->add_option("-b,--base", env_base, "base configuration file");
  defaultenv->add_flag("--base-non-zero-only", env_non_default,
                       "only variables whose value differs from the default");
  defaultenv->callback([&] {
    guarded(exit_code, [&] {
      config::LoadInput in;
      in.config_path = env_base;
      in.config_path_explicit = !env_base.empty();
      config::LoadResult r = config::load(in);  // the base file only, not the environment
      std::string text = config::render_env(with_default_name(r.config));
      if (env_non_default) {
        auto lines = [](const std::string& block) {
          std::set<std::string> out;
          size_t start = 0;
          while (start < block.size()) {
            size_t end = block.find('\n', start);
            out.insert(block.substr(start, end - start));
            start = end + 1;
          }
          return out;
        };
        // Zero values and defaults are left out (v6-config.md §5); a namespace's NAME stays.
        std::set<std::string> defaults = lines(config::render_env(Config{}));
        auto is_zero = [](std::string_view line) {
          std::string_view value = line.substr(line.find('=') + 1);
          for (std::string_view zero : {"", "false", "0", "0s", "\"\"", "\"[]\""}) {
            if (value == zero) {
              return true;
            }
          }
          return line.ends_with("_PROXY_NAME=\"default\"");
        };
        std::string filtered;
        for (const auto& line : lines(text)) {
          if (!defaults.contains(line) && !is_zero(line)) {
            filtered += line + "\n";
          }
        }
        text = filtered;
      }
      std::cout << text;
      return 0;
    });
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
    guarded(exit_code, [&] {
      return gen_token(load_file(tok_cfg).config, tok_user, tok_ttl, "", tok_quiet, false);
    });
  });

  auto* gensubtoken = app.add_subcommand("gensubtoken", "Generate sample subscription JWT");
  std::string sub_channel;
  gensubtoken->add_option("-c,--config", tok_cfg, "path to config file");
  gensubtoken->add_option("-u,--user", tok_user, "user ID");
  gensubtoken->add_option("-s,--channel", sub_channel, "channel")->required();
  gensubtoken->add_option("-t,--ttl", tok_ttl, "token TTL in seconds, -1 for no expiration");
  gensubtoken->add_flag("-q,--quiet", tok_quiet, "only output the token");
  gensubtoken->callback([&] {
    guarded(exit_code, [&] {
      return gen_token(load_file(tok_cfg).config, tok_user, tok_ttl, sub_channel, tok_quiet,
                       true);
    });
  });

  std::string check_tok;
  auto* checktoken = app.add_subcommand("checktoken", "Check connection JWT");
  checktoken->add_option("-c,--config", tok_cfg, "path to config file");
  checktoken->add_option("token", check_tok, "token")->required();
  checktoken->callback([&] {
    guarded(exit_code, [&] { return check_token(load_file(tok_cfg).config, check_tok, false); });
  });
  auto* checksubtoken = app.add_subcommand("checksubtoken", "Check subscription JWT");
  checksubtoken->add_option("-c,--config", tok_cfg, "path to config file");
  checksubtoken->add_option("token", check_tok, "token")->required();
  checksubtoken->callback([&] {
    guarded(exit_code, [&] { return check_token(load_file(tok_cfg).config, check_tok, true); });
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!app.get_subcommands().empty()) {
    return exit_code;
  }
  server.config_path_explicit = config_opt->count() > 0;
  server.flags = flags.given();
  return std::nullopt;
}

}  // namespace gyre::server
