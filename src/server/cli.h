#pragma once

#include <map>
#include <optional>
#include <string>

#include "config/loader.h"

// The gyre command line (reference.md §8.6, v6-config.md §1.2 and §5): server flags of both
// Centrifugo versions, and the subcommands version, configdoc, genconfig, checkconfig,
// defaultconfig, defaultenv, gentoken, gensubtoken, checktoken, checksubtoken. Runs on the
// main thread before any shard exists; not thread-safe.
namespace gyre::server {

// What the server needs to load (and, on SIGHUP, reload) its configuration.
struct ServerArgs {
  std::string config_path = "config.json";
  bool config_path_explicit = false;
  // Flags given on the command line, keyed by v5 key or v6 path (config::LoadInput::flags).
  std::map<std::string, std::string> flags;
};

// Parses argv. When a subcommand ran, or parsing ended (--help, --version, a bad flag),
// returns the process exit code; otherwise fills `server` and returns nullopt: run the server.
std::optional<int> run_cli(int argc, char** argv, ServerArgs& server);

// load() with the process environment. Throws config::ConfigError.
config::LoadResult load_config(const ServerArgs& args);

}  // namespace gyre::server
