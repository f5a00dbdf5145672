#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/value.h"

namespace re2 {
class RE2;
}

// Gyre configuration: Centrifugo v5 flat keys (reference.md §8.1), loaded from a JSON,
// YAML or TOML file, CENTRIFUGO_* environment variables and command-line flags, with
// precedence flags > env > file > defaults. Every struct here is an immutable value once
// loaded; a Config is shared between shards as shared_ptr<const Config>.
namespace gyre::config {

using Duration = std::chrono::milliseconds;

// Per-namespace channel options (reference.md §4.2, server-api.md §5.2). The top-level
// options apply to channels without a namespace; namespaces do not inherit them.
struct ChannelOptions {
  bool presence = false;
  bool join_leave = false;
  bool force_push_join_leave = false;
  int64_t history_size = 0;
  Duration history_ttl{0};       // whole seconds
  Duration history_meta_ttl{0};  // 0 -> global_history_meta_ttl
  bool force_positioning = false;
  bool allow_positioning = false;
  bool force_recovery = false;
  bool allow_recovery = false;
  std::string force_recovery_mode;  // "", "stream" or "cache"
  std::vector<std::string> allowed_delta_types;  // only "fossil"
  bool delta_publish = false;
  bool allow_subscribe_for_client = false;
  bool allow_subscribe_for_anonymous = false;
  bool allow_publish_for_client = false;
  bool allow_publish_for_subscriber = false;
  bool allow_publish_for_anonymous = false;
  bool allow_presence_for_client = false;
  bool allow_presence_for_subscriber = false;
  bool allow_presence_for_anonymous = false;
  bool allow_history_for_client = false;
  bool allow_history_for_subscriber = false;
  bool allow_history_for_anonymous = false;
  bool allow_user_limited_channels = false;
  std::string channel_regex;
  // Compiled channel_regex (RE2), null when channel_regex is empty.
  std::shared_ptr<const re2::RE2> channel_regex_compiled;
  // Proxies of the namespace (server-api.md §4.1): default-mode switches and granular-mode
  // names (validated against `proxies` at load).
  bool proxy_subscribe = false;
  bool proxy_publish = false;
  bool proxy_sub_refresh = false;
  bool proxy_subscribe_stream = false;
  bool proxy_subscribe_stream_bidirectional = false;
  std::string subscribe_proxy_name;
  std::string publish_proxy_name;
  std::string sub_refresh_proxy_name;
  std::string subscribe_stream_proxy_name;

  bool history_enabled() const { return history_size > 0 && history_ttl.count() > 0; }
};

struct Namespace {
  std::string name;
  ChannelOptions options;
};

// Token verification settings for one token kind (connection or subscription).
struct TokenConfig {
  std::string hmac_secret_key;
  std::string rsa_public_key;    // PEM
  std::string ecdsa_public_key;  // PEM
  std::string jwks_public_endpoint;
  std::string audience;
  std::string audience_regex;
  std::string issuer;
  std::string issuer_regex;
  std::string user_id_claim;
};

// One entry of a connect-code transform (reference.md §1.9): a connect error or disconnect
// `code` becomes a disconnect {to_code, to_reason} (client_connect_code_to_unidirectional_
// disconnect) or an HTTP response {to_status_code, to_body} (uni_*_connect_code_to_http_response).
struct CodeTransform {
  uint32_t code = 0;
  uint32_t to_code = 0;
  std::string to_reason;
  int to_status_code = 0;
  std::string to_body;
};

struct CodeTransforms {
  bool enabled = false;
  std::vector<CodeTransform> transforms;
};

// One HTTP status transform of a proxy (server-api.md §4.10): a non-200 `status_code` acts
// as {"error": to_error} (error_code > 0) or {"disconnect": to_disconnect}.
struct ProxyStatusTransform {
  int status_code = 0;
  uint32_t error_code = 0;
  std::string error_message;
  bool error_temporary = false;
  uint32_t disconnect_code = 0;
  std::string disconnect_reason;
};

// One resolved HTTP proxy (server-api.md §4.1): an entry of `proxies` in granular mode, or
// a proxy_<type>_endpoint with the shared proxy_* options in default mode.
struct ProxyDefinition {
  std::string name;  // granular mode; the proxy type in default mode ("connect", ...)
  std::string endpoint;
  Duration timeout{1000};
  std::vector<std::string> http_headers;  // lower-cased client header names to forward
  std::vector<std::pair<std::string, std::string>> static_http_headers;  // sorted by name
  bool binary_encoding = false;
  bool include_connection_meta = false;
  std::vector<ProxyStatusTransform> http_status_transforms;
};

// An entry of rpc_namespaces (granular mode): methods "<name><rpc_namespace_boundary>..."
// go to the proxy `rpc_proxy_name` ("" = none: 108).
struct RpcNamespace {
  std::string name;
  std::string rpc_proxy_name;
  bool proxy_enabled = false;  // v6 (rpc.namespaces[].proxy_enabled); "" name = `default`
};

// The proxies of a loaded Config, resolved once by the loader (config/proxies.cc) from the
// keys above. Immutable with its Config.
struct ResolvedProxies {
  enum Kind { kConnect, kRefresh, kSubscribe, kPublish, kSubRefresh, kRpc, kKinds };
  // Default mode: the proxy of each kind whose endpoint is set.
  std::optional<ProxyDefinition> by_kind[kKinds];
  // Granular mode: `proxies` by name.
  std::vector<ProxyDefinition> named;
  std::vector<RpcNamespace> rpc_namespaces;
  // v6: methods without an rpc namespace may use the proxy (rpc.without_namespace).
  // Union of every proxy's http_headers (lower-cased): what a connection keeps of its
  // upgrade/HTTP request for later proxy calls.
  std::vector<std::string> captured_headers;

  const ProxyDefinition* find(std::string_view name) const {
    for (const auto& p : named) {
      if (p.name == name) {
        return &p;
      }
    }
    return nullptr;
  }
};

// TLS settings of one Redis connection family (redis_tls_* or redis_sentinel_tls_*) as read
// and checked by the loader (config/redis_tls.h): PEM text only, files already read.
struct RedisTlsResolved {
  bool enabled = false;
  std::string cert_pem;     // client certificate chain (with key_pem) or empty
  std::string key_pem;
  std::string root_ca_pem;  // empty: the system CA store
  std::string server_name;  // empty: the host connected to
  bool insecure_skip_verify = false;
};

struct Config {
  // --- node, logging, process
  std::string name;     // default "<hostname>_<port>" (filled by the loader)
  std::string engine = "memory";
  std::string broker;   // "" only, for now
  std::string log_level = "info";
  std::string log_file;
  std::string pid_file;
  int gomaxprocs = 0;   // event-loop threads; 0 = number of cores
  Duration shutdown_timeout{30000};
  Duration shutdown_termination_delay{0};
  // Cadence of the metrics snapshot in this node's cluster info; 0 = 60 s (as Centrifugo).
  Duration node_info_metrics_aggregate_interval{60000};

  // --- HTTP servers
  std::string address;  // "" = all interfaces
  std::string port = "8000";
  std::string internal_address;
  std::string internal_port;
  bool health = false;
  std::string health_handler_prefix = "/health";
  // Gyre: /health answers 503 while the engine (Redis) is unreachable.
  bool health_engine_check = true;
  bool prometheus = false;
  std::string prometheus_handler_prefix = "/metrics";
  // TLS of the HTTP servers (reference.md §8.3; v6 http_server.tls, http_server.internal_tls).
  // Files (tls_cert...) or PEM text (tls_cert_pem...); resolved by transport/tls_listener.
  bool tls = false;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_cert_pem;
  std::string tls_key_pem;
  std::string tls_root_ca;
  std::string tls_root_ca_pem;
  std::string tls_client_ca;
  std::string tls_client_ca_pem;
  std::string tls_server_name;
  bool tls_insecure_skip_verify = false;
  bool tls_external = false;  // TLS only on the external port
  // v6 http_server.internal_tls: the internal port's own TLS (PEM, base64 or file each).
  bool internal_tls = false;
  std::string internal_tls_cert_pem;
  std::string internal_tls_key_pem;
  std::string internal_tls_root_ca_pem;
  std::string internal_tls_client_ca_pem;
  std::string internal_tls_server_name;
  bool internal_tls_insecure_skip_verify = false;
  // --- ACME autocert (tls_autocert_*; src/tls/autocert.h)
  bool tls_autocert = false;
  // v5: one comma-separated string; v6: a list. autocert_hosts() gives the names.
  std::vector<std::string> tls_autocert_host_whitelist;
  std::string tls_autocert_cache_dir;
  std::string tls_autocert_email;
  std::string tls_autocert_server_name;
  bool tls_autocert_http = false;
  std::string tls_autocert_http_addr = ":80";
  // Gyre: the ACME directory and the CA file trusted for it (a test CA such as pebble).
  std::string tls_autocert_directory_url = "https://acme-v02.api.letsencrypt.org/directory";
  std::string tls_autocert_directory_ca;
  // Admin web UI and admin API (reference.md §8.5, docs/operations.md).
  bool admin = false;
  std::string admin_password;
  std::string admin_secret;
  bool admin_insecure = false;
  std::string admin_handler_prefix;  // "" = the UI at "/"
  bool admin_external = false;

  // --- server API
  std::string api_key;
  bool api_insecure = false;
  bool api_disable = false;
  int64_t api_max_request_body_size = 16 * 1024 * 1024;  // Gyre's own bound (16 MiB)
  bool api_external = false;
  std::string api_handler_prefix = "/api";
  std::string api_error_mode;  // "" or "transport"

  // --- tokens
  TokenConfig token;                     // token_* keys
  TokenConfig subscription_token;        // subscription_token_* keys
  bool separate_subscription_token_config = false;
  bool client_insecure_skip_token_signature_verify = false;

  // --- client behaviour
  bool client_insecure = false;
  bool allow_anonymous_connect_without_token = false;
  bool disallow_anonymous_connection_tokens = false;
  std::string client_user_id_http_header;
  std::vector<std::string> allowed_origins;

  // --- HTTP proxies, default mode (server-api.md §4.1.1). Empty endpoint = no proxy.
  std::string proxy_connect_endpoint;
  Duration proxy_connect_timeout{1000};
  std::string proxy_rpc_endpoint;
  Duration proxy_rpc_timeout{1000};
  std::string proxy_refresh_endpoint;  // server-side connection refresh
  Duration proxy_refresh_timeout{1000};
  std::string proxy_subscribe_endpoint;  // namespaces with proxy_subscribe
  Duration proxy_subscribe_timeout{1000};
  std::string proxy_publish_endpoint;  // namespaces with proxy_publish
  Duration proxy_publish_timeout{1000};
  std::string proxy_sub_refresh_endpoint;  // namespaces with proxy_sub_refresh
  Duration proxy_sub_refresh_timeout{1000};
  std::string proxy_subscribe_stream_endpoint;  // GRPC only: refused at start-up
  Duration proxy_subscribe_stream_timeout{1000};
  std::vector<std::string> proxy_http_headers;  // client request headers to forward
  // The next four are raw trees as read (JSON objects/arrays); `proxies_resolved` holds
  // their checked, typed form.
  Value proxy_static_http_headers = Value::make_object();     // {name: value}
  Value proxy_http_status_code_transforms = Value::make_array();
  bool proxy_binary_encoding = false;
  bool proxy_include_connection_meta = false;
  // Granular mode (server-api.md §4.1.2).
  bool granular_proxy_mode = false;
  Value proxies = Value::make_array();
  std::string connect_proxy_name;
  std::string refresh_proxy_name;
  std::string rpc_proxy_name;
  Value rpc_namespaces = Value::make_array();
  std::string rpc_namespace_boundary = ":";
  // Centrifugo v6 proxy objects (v6-config.md §2.2), raw; read only in the v6 shape.
  Value v6_connect_proxy = Value::make_object();
  Value v6_refresh_proxy = Value::make_object();
  Value v6_subscribe_proxy = Value::make_object();
  Value v6_publish_proxy = Value::make_object();
  Value v6_sub_refresh_proxy = Value::make_object();
  Value v6_subscribe_stream_proxy = Value::make_object();
  Value v6_rpc_proxy = Value::make_object();
  bool v6_rpc_proxy_enabled = false;
  // The file/env shape was v6: proxies follow v6 rules (no granular mode; `default` names the
  // unnamed proxy of each type; enabled switches). Set by the loader.
  bool v6_proxies = false;
  ResolvedProxies proxies_resolved;
  Duration ping_interval{25000};
  Duration pong_timeout{8000};
  Duration client_stale_close_delay{10000};
  Duration client_expired_close_delay{25000};
  Duration client_expired_sub_close_delay{25000};
  Duration client_presence_update_interval{27000};
  Duration client_channel_position_check_delay{40000};
  Duration client_channel_position_max_time_lag{0};
  int64_t client_queue_max_size = 1048576;
  // Write coalescing (Centrifugo PRO names): < 0 off, 0 adaptive, > 0 fixed window.
  Duration client_write_delay{0};
  int64_t client_max_messages_in_frame = 0;  // 0 = 16 (Centrifuge's default), -1 = no limit
  bool client_reply_without_queue = false;
  int64_t client_channel_limit = 128;
  int64_t client_user_connection_limit = 0;
  int64_t client_connection_limit = 0;
  int64_t client_connection_rate_limit = 0;
  int64_t client_concurrency = 0;
  bool client_connect_include_server_time = false;
  int64_t client_history_max_publication_limit = 300;
  int64_t client_recovery_max_publication_limit = 300;

  // --- channels
  int64_t channel_max_length = 255;
  std::string channel_private_prefix = "$";
  std::string channel_namespace_boundary = ":";
  std::string channel_user_boundary = "#";
  std::string channel_user_separator = ",";
  bool user_subscribe_to_personal = false;
  std::string user_personal_channel_namespace;
  bool user_personal_single_connection = false;
  Duration global_history_meta_ttl{720LL * 3600 * 1000};
  Duration global_presence_ttl{60000};

  // --- Redis engine (engine = "redis"; reference.md §6.2). Several addresses = Redis shards.
  std::vector<std::string> redis_address{"redis://127.0.0.1:6379"};
  std::string redis_prefix = "centrifugo";
  int redis_db = 0;
  std::string redis_user;
  std::string redis_password;
  Duration redis_connect_timeout{1000};
  Duration redis_io_timeout{4000};
  std::string redis_client_name;
  bool redis_force_resp2 = false;  // honoured trivially: Gyre speaks RESP2 only
  // Each element: comma-separated seed nodes of one Redis Cluster (several = sharding).
  std::vector<std::string> redis_cluster_address;
  // Each element: comma-separated Sentinels of one Redis shard (several = sharding).
  std::vector<std::string> redis_sentinel_address;
  std::string redis_sentinel_master_name;
  std::string redis_sentinel_user;
  std::string redis_sentinel_password;
  std::string redis_sentinel_client_name;
  // TLS to Redis (redis_tls_* / engine.redis.tls) and to the Sentinels (redis_sentinel_tls_* /
  // engine.redis.sentinel_tls), as Centrifugo v5.4.9's flat TLS families: a file key and a PEM
  // key per item (the file wins when both are set), see config/redis_tls.h.
  bool redis_tls = false;
  std::string redis_tls_cert;
  std::string redis_tls_key;
  std::string redis_tls_cert_pem;
  std::string redis_tls_key_pem;
  std::string redis_tls_root_ca;
  std::string redis_tls_root_ca_pem;
  std::string redis_tls_client_ca;
  std::string redis_tls_client_ca_pem;
  std::string redis_tls_server_name;
  bool redis_tls_insecure_skip_verify = false;
  bool redis_sentinel_tls = false;
  std::string redis_sentinel_tls_cert;
  std::string redis_sentinel_tls_key;
  std::string redis_sentinel_tls_cert_pem;
  std::string redis_sentinel_tls_key_pem;
  std::string redis_sentinel_tls_root_ca;
  std::string redis_sentinel_tls_root_ca_pem;
  std::string redis_sentinel_tls_client_ca;
  std::string redis_sentinel_tls_client_ca_pem;
  std::string redis_sentinel_tls_server_name;
  bool redis_sentinel_tls_insecure_skip_verify = false;
  // History in Redis LISTs instead of streams (v6 engine.redis.history_use_lists).
  bool redis_use_lists = false;
  // Per-user presence keys for presence_stats (v6 engine.redis.presence_user_mapping).
  bool global_redis_presence_user_mapping = false;
  // Filled by the loader from the two families above (engine "redis" only).
  RedisTlsResolved redis_tls_resolved;
  RedisTlsResolved redis_sentinel_tls_resolved;
  ChannelOptions channel;               // top-level channel options
  std::vector<Namespace> namespaces;

  // --- transports
  bool websocket_disable = false;
  std::string websocket_handler_prefix = "/connection/websocket";
  int64_t websocket_message_size_limit = 65536;
  Duration websocket_write_timeout{1000};
  bool websocket_compression = false;
  int64_t websocket_compression_min_size = 0;
  int64_t websocket_compression_level = 1;
  int64_t websocket_read_buffer_size = 0;
  int64_t websocket_write_buffer_size = 0;
  bool websocket_use_write_buffer_pool = false;
  bool http_stream = false;
  std::string http_stream_handler_prefix = "/connection/http_stream";
  int64_t http_stream_max_request_body_size = 65536;
  bool sse = false;
  std::string sse_handler_prefix = "/connection/sse";
  int64_t sse_max_request_body_size = 65536;
  std::string emulation_handler_prefix = "/emulation";
  int64_t emulation_max_request_body_size = 65536;
  bool uni_websocket = false;
  std::string uni_websocket_handler_prefix = "/connection/uni_websocket";
  int64_t uni_websocket_message_size_limit = 65536;
  Duration uni_websocket_write_timeout{1000};
  bool uni_websocket_compression = false;
  int64_t uni_websocket_compression_min_size = 0;
  int64_t uni_websocket_compression_level = 1;
  int64_t uni_websocket_read_buffer_size = 0;
  int64_t uni_websocket_write_buffer_size = 0;
  bool uni_websocket_use_write_buffer_pool = false;
  bool uni_sse = false;
  std::string uni_sse_handler_prefix = "/connection/uni_sse";
  int64_t uni_sse_max_request_body_size = 65536;
  CodeTransforms uni_sse_connect_code_to_http_response;
  bool uni_http_stream = false;
  std::string uni_http_stream_handler_prefix = "/connection/uni_http_stream";
  int64_t uni_http_stream_max_request_body_size = 65536;
  CodeTransforms uni_http_stream_connect_code_to_http_response;
  CodeTransforms client_connect_code_to_unidirectional_disconnect;

  // Options of the namespace `name` ("" = top level), or null if not configured.
  const ChannelOptions* find_namespace(std::string_view name) const;
  // Effective stream meta TTL for these options.
  Duration meta_ttl(const ChannelOptions& o) const {
    return o.history_meta_ttl.count() > 0 ? o.history_meta_ttl : global_history_meta_ttl;
  }
};

// The host names of tls_autocert_host_whitelist: each entry split on commas (v5 gives one
// "a,b" string), trimmed, lower-cased, without a trailing dot; empty parts dropped.
std::vector<std::string> autocert_hosts(const Config& config);

}  // namespace gyre::config
