#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// Command-line options of gyre-load. Immutable after parse_options().
namespace gyre::bench {

enum class Target : uint8_t { kGyre, kNchan, kNats };
enum class PublishVia : uint8_t { kHttp, kClient };

struct Options {
  Target target = Target::kGyre;
  std::string host = "127.0.0.1";
  int port = 8000;       // WebSocket (and, for gyre/nchan, HTTP) port
  int pub_port = 0;      // publisher port; 0 = port (gyre, nchan) or 4222 (nats)
  int alt_port = 0;      // gyre: odd subscribers connect here (a second node); 0 = none
  std::string ws_path;   // default per target
  std::string pub_path;  // gyre: API prefix "/api"; nchan: "/pub/"

  bool protobuf = false;
  bool insecure = false;
  std::string hmac_secret;
  std::string api_key;

  int clients = 100;
  int channels = 1;
  int64_t messages = 1000;
  double rate = 0;  // publications/s, 0 = as fast as possible
  int payload_size = 100;
  double duration = 60;  // cap on the publish phase, seconds
  int publishers = 1;
  int batch = 1;
  int pipeline = 1;
  PublishVia via = PublishVia::kHttp;

  bool connect_only = false;
  double idle = 0;
  int connect_concurrency = 256;
  double connect_timeout = 60;
  double drain_timeout = 5;
  double settle = 0.2;

  std::vector<int> server_pids;
  bool json = false;
  bool quiet = false;
  bool self_test = false;
  std::string nchan_config_dir;  // --write-nchan-config DIR: write nginx.conf and exit
};

const char* target_name(Target t);

// Parses argv. On error or --help prints to stderr/stdout and returns nullopt with `exit_code`
// set (0 for --help).
std::optional<Options> parse_options(int argc, char** argv, int& exit_code);

}  // namespace gyre::bench
