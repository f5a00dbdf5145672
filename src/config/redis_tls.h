#pragma once

#include <string>
#include <vector>

#include "config/config.h"

// The TLS options of the Redis engine (redis_tls_* for Redis, redis_sentinel_tls_* for the
// Sentinels; v6 engine.redis.tls / engine.redis.sentinel_tls) read and checked at load, as
// Centrifugo v5.4.9 builds its Redis tls.Config (internal/tools/tls.go MakeTLSConfig):
// - client certificate: redis_tls_cert + redis_tls_key (files) win over redis_tls_cert_pem +
//   redis_tls_key_pem; the pair must parse and match. One half of a pair alone is an error
//   (Centrifugo silently drops it).
// - server CA: redis_tls_root_ca (file) wins over redis_tls_root_ca_pem; none = system CAs.
// - client CA (redis_tls_client_ca / _pem): parsed and checked as Centrifugo does, but it
//   configures only the server side of a TLS handshake, so a Redis *client* has no use for it:
//   a warning says so.
// - PEM values accept PEM text, base64 of PEM or a file path (v6-config.md §2.1 order).
// Pure functions of the config: thread-safe.
namespace gyre::config::internal {

// Fills config.redis_tls_resolved and config.redis_sentinel_tls_resolved when engine is
// "redis". Throws ConfigError naming the key (the v6 path in the v6 shape); adds warnings
// for keys without effect (client CA, TLS keys set while TLS is off).
void resolve_redis_tls(Config& config, std::vector<std::string>& warnings);

}  // namespace gyre::config::internal
