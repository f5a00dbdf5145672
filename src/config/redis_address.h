#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>


// One Redis address as Centrifugo v5 accepts it in redis_address (reference.md §6.2):
// "host:port", "redis://[user[:password]@]host[:port][/db]", "tcp://host:port" or
// "unix://[user[:password]@]/path/to/redis.sock" (centrifuge's confFromAddress), and the
// Centrifugo v6 "rediss://..." (redis:// over TLS; no query options). Pure
// function, callable from any thread; used by validation and by the Redis engine.
namespace gyre::config {

struct RedisAddress {
  std::string host;
  int port = 6379;
  std::string unix_path;  // unix://: the socket path (host empty)
  // rediss:// (or ?tls_enabled=true): TLS, with the redis_tls settings when redis_tls is on,
  // else the system CAs (centrifuge v0.38's optionsFromAddress).
  bool tls = false;
  // Centrifugo v6 URL forms: redis+cluster:// (seeds: host:port + ?addr=...),
  // redis+sentinel:// / rediss+sentinel:// or ?sentinel_master_name= (Sentinels: host:port +
  // ?addr=...), and the query options below.
  enum class Mode { kStandalone, kCluster, kSentinel };
  Mode mode = Mode::kStandalone;
  struct HostPort {
    std::string host;
    int port = 0;
  };
  std::vector<HostPort> more;  // ?addr= (repeatable)
  std::string sentinel_master_name;
  std::optional<std::string> sentinel_user;
  std::optional<std::string> sentinel_password;
  bool sentinel_tls = false;  // rediss+sentinel:// or ?sentinel_tls_enabled=true
  std::optional<std::chrono::milliseconds> connect_timeout;
  std::optional<std::chrono::milliseconds> io_timeout;
  // Set only when the URL carries them; they take precedence over redis_user/_password/_db.
  std::optional<std::string> user;
  std::optional<std::string> password;
  std::optional<int> db;
};

// Returns the parsed address, or a message saying what is wrong with `text`.
[[nodiscard]] std::expected<RedisAddress, std::string> parse_redis_address(std::string_view text);

// One element of redis_sentinel_address / redis_cluster_address: comma-separated "host:port"
// items (Centrifugo splits the element on "," and wants each item to be host:port). Returns
// the items, or what is wrong with the first bad one.
[[nodiscard]] std::expected<std::vector<RedisAddress>, std::string> parse_host_port_list(
    std::string_view element);

}  // namespace gyre::config
