#include "config/schema.h"

#include <algorithm>
#include <array>

namespace gyre::config::schema {

namespace {

using T = Type;

// Keep in the order of config.h. Docs follow reference.md; defaults are the member
// initialisers in config.h.
const KeySpec<Config> kGlobalKeys[] = {
    // --- node, logging, process
    {"name", "node.name", T::kString, &Config::name, "Node name; default <hostname>_<port>."},
    {"engine", "engine.type", T::kString, &Config::engine, "Engine: \"memory\" or \"redis\" (standalone Redis, see docs/scaling.md)."},
    {"broker", "", T::kString, &Config::broker, "Separate broker; none is supported yet."},
    {"log_level", "log.level", T::kString, &Config::log_level,
     "none, trace, debug, info, warn or error; unknown values mean info."},
    {"log_file", "log.file", T::kString, &Config::log_file, "Append logs to this file instead of stdout."},
    {"pid_file", "pid_file", T::kString, &Config::pid_file, "Write the process ID to this file."},
    {"gomaxprocs", "", T::kInt, &Config::gomaxprocs, "Event-loop threads; 0 = number of cores."},
    {"shutdown_timeout", "shutdown.timeout", T::kDuration, &Config::shutdown_timeout,
     "Hard deadline for graceful shutdown."},
    {"shutdown_termination_delay", "", T::kDuration, &Config::shutdown_termination_delay,
     "Sleep before exit after shutdown."},
    {"node_info_metrics_aggregate_interval", "node.info_metrics_aggregate_interval", T::kDuration,
     &Config::node_info_metrics_aggregate_interval,
     "Period of the metrics snapshot a node sends in its node info (engine redis); 0 = 60s."},
    // --- HTTP servers
    {"address", "http_server.address", T::kString, &Config::address, "Listen address; empty = all interfaces."},
    {"port", "http_server.port", T::kPort, &Config::port, "Listen port (external)."},
    {"internal_address", "http_server.internal_address", T::kString, &Config::internal_address,
     "Address of the internal server (API, health); defaults to address."},
    {"internal_port", "http_server.internal_port", T::kPort, &Config::internal_port,
     "Port of the internal server; empty = same as port."},
    {"health", "health.enabled", T::kBool, &Config::health, "Serve the health endpoint."},
    {"health_handler_prefix", "health.handler_prefix", T::kString, &Config::health_handler_prefix,
     "Path of the health endpoint."},
    {"health_engine_check", "health.engine_check", T::kBool, &Config::health_engine_check,
     "Gyre: the health endpoint answers 503 while the engine is unreachable (Redis: shard "
     "0's command connection or the PUB/SUB connection is down); false = always 200 as "
     "Centrifugo."},
    {"prometheus", "prometheus.enabled", T::kBool, &Config::prometheus,
     "Serve Prometheus metrics (text format 0.0.4) on the internal port; see "
     "docs/operations.md."},
    {"prometheus_handler_prefix", "prometheus.handler_prefix", T::kString,
     &Config::prometheus_handler_prefix, "Path of the Prometheus metrics endpoint."},
    // --- TLS of the HTTP servers (docs/operations.md "TLS")
    {"tls", "http_server.tls.enabled", T::kBool, &Config::tls,
     "Serve HTTPS (and wss://) with tls_cert/tls_key or tls_cert_pem/tls_key_pem; HTTP/2 is "
     "offered by ALPN."},
    {"tls_cert", "", T::kString, &Config::tls_cert,
     "Certificate chain file (PEM, leaf first); used with tls_key (v6: http_server.tls.cert_pem "
     "takes a file name too)."},
    {"tls_key", "", T::kString, &Config::tls_key, "Private key file (PEM) of tls_cert."},
    {"tls_cert_pem", "http_server.tls.cert_pem", T::kString, &Config::tls_cert_pem,
     "Certificate chain as PEM text (also base64 of it or a file name, as v6); used when "
     "tls_cert/tls_key are not both set."},
    {"tls_key_pem", "http_server.tls.key_pem", T::kString, &Config::tls_key_pem,
     "Private key of tls_cert_pem as PEM text (also base64 or a file name, as v6)."},
    {"tls_root_ca", "", T::kString, &Config::tls_root_ca,
     "CA bundle file; read and checked at start, no effect on a server (as Centrifugo: Go's "
     "RootCAs verify servers only)."},
    {"tls_root_ca_pem", "http_server.tls.server_ca_pem", T::kString, &Config::tls_root_ca_pem,
     "CA bundle as PEM (base64 or file); checked at start, no effect on a server (as "
     "Centrifugo)."},
    {"tls_client_ca", "", T::kString, &Config::tls_client_ca,
     "mTLS: CA bundle file; clients must present a certificate it verifies, else the "
     "handshake fails."},
    {"tls_client_ca_pem", "http_server.tls.client_ca_pem", T::kString, &Config::tls_client_ca_pem,
     "mTLS: CA bundle as PEM (base64 or file), used when tls_client_ca is not set."},
    {"tls_server_name", "http_server.tls.server_name", T::kString, &Config::tls_server_name,
     "Accepted for compatibility: no effect on a server (as Centrifugo: Go uses ServerName "
     "only as a client); a warning at start."},
    {"tls_insecure_skip_verify", "http_server.tls.insecure_skip_verify", T::kBool,
     &Config::tls_insecure_skip_verify,
     "Accepted for compatibility: no effect on a server (as Centrifugo); a warning at start."},
    {"tls_external", "http_server.tls_external", T::kBool, &Config::tls_external,
     "TLS only on the external port: the internal port (internal_port) stays plain HTTP."},
    {"internal_tls", "http_server.internal_tls.enabled", T::kBool, &Config::internal_tls,
     "Gyre v5 name of v6 http_server.internal_tls: the internal port's own TLS (else it uses "
     "tls unless tls_external)."},
    {"internal_tls_cert_pem", "http_server.internal_tls.cert_pem", T::kString,
     &Config::internal_tls_cert_pem, "Internal port certificate chain (PEM, base64 or file)."},
    {"internal_tls_key_pem", "http_server.internal_tls.key_pem", T::kString,
     &Config::internal_tls_key_pem, "Internal port private key (PEM, base64 or file)."},
    {"internal_tls_root_ca_pem", "http_server.internal_tls.server_ca_pem", T::kString,
     &Config::internal_tls_root_ca_pem, "Checked at start, no effect on a server."},
    {"internal_tls_client_ca_pem", "http_server.internal_tls.client_ca_pem", T::kString,
     &Config::internal_tls_client_ca_pem, "Internal port mTLS CA bundle (PEM, base64 or file)."},
    {"internal_tls_server_name", "http_server.internal_tls.server_name", T::kString,
     &Config::internal_tls_server_name, "No effect on a server; a warning at start."},
    {"internal_tls_insecure_skip_verify", "http_server.internal_tls.insecure_skip_verify",
     T::kBool, &Config::internal_tls_insecure_skip_verify,
     "No effect on a server; a warning at start."},
    // --- ACME autocert (docs/operations.md, ACME)
    {"tls_autocert", "http_server.tls_autocert.enabled", T::kBool, &Config::tls_autocert,
     "Obtain and renew the TLS certificates from an ACME CA (Let's Encrypt). Gyre obtains them "
     "at start-up for every whitelisted host, not on a first handshake. Needs the TLS listener."},
    {"tls_autocert_host_whitelist", "http_server.tls_autocert.host_whitelist", T::kStringList,
     &Config::tls_autocert_host_whitelist,
     "Host names to obtain certificates for (v5: comma-separated); required with tls_autocert."},
    {"tls_autocert_cache_dir", "http_server.tls_autocert.cache_dir", T::kString,
     &Config::tls_autocert_cache_dir,
     "Directory keeping the account key and certificates across restarts (Go autocert's layout, "
     "0600 files); empty = memory only."},
    {"tls_autocert_email", "http_server.tls_autocert.email", T::kString, &Config::tls_autocert_email,
     "Contact email of the ACME account."},
    {"tls_autocert_server_name", "http_server.tls_autocert.server_name", T::kString,
     &Config::tls_autocert_server_name, "Certificate for clients that send no SNI."},
    {"tls_autocert_http", "http_server.tls_autocert.http", T::kBool, &Config::tls_autocert_http,
     "Validate with http-01 on tls_autocert_http_addr (else tls-alpn-01 on the TLS port)."},
    {"tls_autocert_http_addr", "http_server.tls_autocert.http_addr", T::kString,
     &Config::tls_autocert_http_addr,
     "host:port of the plain HTTP listener for http-01; other requests are redirected to https."},
    {"tls_autocert_directory_url", "http_server.tls_autocert.directory_url", T::kString,
     &Config::tls_autocert_directory_url,
     "Gyre: ACME directory URL (Centrifugo always uses Let's Encrypt production)."},
    {"tls_autocert_directory_ca", "http_server.tls_autocert.directory_ca", T::kString,
     &Config::tls_autocert_directory_ca,
     "Gyre: PEM file of CAs trusted for the ACME directory's HTTPS; empty = system store."},
    {"admin", "admin.enabled", T::kBool, &Config::admin,
     "Serve the admin web UI and admin API (internal port); see docs/operations.md."},
    {"admin_password", "admin.password", T::kString, &Config::admin_password,
     "Password of the admin UI login (POST <prefix>/admin/auth)."},
    {"admin_secret", "admin.secret", T::kString, &Config::admin_secret,
     "Key that signs admin tokens; without it (or a password) logins are refused."},
    {"admin_insecure", "admin.insecure", T::kBool, &Config::admin_insecure,
     "Admin API and UI without login (protect the port by other means)."},
    {"admin_handler_prefix", "admin.handler_prefix", T::kString, &Config::admin_handler_prefix,
     "Path prefix of the admin UI and its endpoints; \"\" = at the root."},
    {"admin_external", "admin.external", T::kBool, &Config::admin_external,
     "Serve the admin UI and API on the external port."},
    // --- server API
    {"api_key", "http_api.key", T::kString, &Config::api_key, "Server API key (Authorization: apikey <key>)."},
    {"api_insecure", "http_api.insecure", T::kBool, &Config::api_insecure, "Server API without key checks."},
    {"api_disable", "http_api.disabled", T::kBool, &Config::api_disable, "Disable the HTTP server API."},
    {"api_max_request_body_size", "http_api.max_request_body_size", T::kInt,
     &Config::api_max_request_body_size,
     "Gyre: largest HTTP request body in bytes (server API; Centrifugo has no limit); 413 beyond, "
     "at once for an announced Content-Length."},
    {"api_external", "http_api.external", T::kBool, &Config::api_external, "Serve the API on the external port."},
    {"api_handler_prefix", "http_api.handler_prefix", T::kString, &Config::api_handler_prefix, "Path of the HTTP API."},
    {"api_error_mode", "http_api.error_mode", T::kString, &Config::api_error_mode,
     "\"\" or \"transport\" (errors as HTTP status codes)."},
    // --- tokens (token_* and subscription_token_* come from token_keys())
    {"separate_subscription_token_config", "client.subscription_token.enabled", T::kBool,
     &Config::separate_subscription_token_config,
     "Verify subscription tokens only with the subscription_token_* keys."},
    {"client_insecure_skip_token_signature_verify", "client.insecure_skip_token_signature_verify", T::kBool,
     &Config::client_insecure_skip_token_signature_verify,
     "Skip JWT signature checks (development only)."},
    // --- client behaviour
    {"client_insecure", "client.insecure", T::kBool, &Config::client_insecure, "Insecure client mode."},
    {"allow_anonymous_connect_without_token", "client.allow_anonymous_connect_without_token", T::kBool,
     &Config::allow_anonymous_connect_without_token,
     "Accept connections without a token as anonymous."},
    {"disallow_anonymous_connection_tokens", "client.disallow_anonymous_connection_tokens", T::kBool,
     &Config::disallow_anonymous_connection_tokens,
     "Reject connection tokens with an empty user ID (3507)."},
    {"client_user_id_http_header", "client.user_id_http_header", T::kString, &Config::client_user_id_http_header,
     "Take the user ID from this request header."},
    {"allowed_origins", "client.allowed_origins", T::kStringList, &Config::allowed_origins,
     "Allowed Origin glob patterns (gobwas/glob, case-insensitive); empty = same origin only."},
    // --- HTTP proxies (server-api.md §4.1), checked and resolved by config/proxies.cc.
    {"proxy_connect_endpoint", "", T::kString, &Config::proxy_connect_endpoint,
     "HTTP(S) endpoint of the connect proxy, called for connections without a token."},
    {"proxy_connect_timeout", "", T::kDuration, &Config::proxy_connect_timeout,
     "Whole-request timeout of the connect proxy."},
    {"proxy_rpc_endpoint", "", T::kString, &Config::proxy_rpc_endpoint,
     "HTTP(S) endpoint of the RPC proxy: every client RPC goes to it."},
    {"proxy_rpc_timeout", "", T::kDuration, &Config::proxy_rpc_timeout,
     "Whole-request timeout of the RPC proxy."},
    {"proxy_refresh_endpoint", "", T::kString, &Config::proxy_refresh_endpoint,
     "HTTP(S) endpoint of the refresh proxy: expiring connections are refreshed server-side."},
    {"proxy_refresh_timeout", "", T::kDuration, &Config::proxy_refresh_timeout,
     "Whole-request timeout of the refresh proxy."},
    {"proxy_subscribe_endpoint", "", T::kString, &Config::proxy_subscribe_endpoint,
     "HTTP(S) endpoint of the subscribe proxy (namespaces with proxy_subscribe)."},
    {"proxy_subscribe_timeout", "", T::kDuration, &Config::proxy_subscribe_timeout,
     "Whole-request timeout of the subscribe proxy."},
    {"proxy_publish_endpoint", "", T::kString, &Config::proxy_publish_endpoint,
     "HTTP(S) endpoint of the publish proxy (namespaces with proxy_publish)."},
    {"proxy_publish_timeout", "", T::kDuration, &Config::proxy_publish_timeout,
     "Whole-request timeout of the publish proxy."},
    {"proxy_sub_refresh_endpoint", "", T::kString, &Config::proxy_sub_refresh_endpoint,
     "HTTP(S) endpoint of the sub refresh proxy (namespaces with proxy_sub_refresh): expiring "
     "subscriptions are refreshed server-side."},
    {"proxy_sub_refresh_timeout", "", T::kDuration, &Config::proxy_sub_refresh_timeout,
     "Whole-request timeout of the sub refresh proxy."},
    {"proxy_subscribe_stream_endpoint", "", T::kString, &Config::proxy_subscribe_stream_endpoint,
     "Subscribe stream proxy: GRPC only, so any value is a start-up error in this version."},
    {"proxy_subscribe_stream_timeout", "", T::kDuration, &Config::proxy_subscribe_stream_timeout,
     "Timeout of the subscribe stream proxy."},
    {"proxy_http_headers", "", T::kStringList, &Config::proxy_http_headers,
     "Client request headers (case-insensitive names) forwarded to HTTP proxies."},
    {"proxy_static_http_headers", "", T::kJson, &Config::proxy_static_http_headers,
     "Object {name: value} of headers added to every HTTP proxy request; a forwarded client "
     "header of the same name wins."},
    {"proxy_http_status_code_transforms", "", T::kJson, &Config::proxy_http_status_code_transforms,
     "List of {status_code, to_error: {code, message, temporary} | to_disconnect: {code, "
     "reason}}: a non-200 proxy answer with that status acts as that error or disconnect "
     "(connect, subscribe, publish, rpc; sub refresh: expired)."},
    {"proxy_binary_encoding", "", T::kBool, &Config::proxy_binary_encoding,
     "Send payloads to proxies as base64 (b64data, encoding \"binary\")."},
    {"proxy_include_connection_meta", "", T::kBool, &Config::proxy_include_connection_meta,
     "Add the connection meta to proxy requests other than connect."},
    {"granular_proxy_mode", "", T::kBool, &Config::granular_proxy_mode,
     "Granular proxy mode: proxies are named entries of `proxies`, chosen by *_proxy_name "
     "options; the proxy_<type>_endpoint keys are then ignored."},
    {"proxies", "proxies", T::kJson, &Config::proxies,
     "Granular mode: list of {name, endpoint, timeout, http_headers, static_http_headers, "
     "binary_encoding, include_connection_meta, http_status_to_code_transforms}; name matches "
     "^[-a-zA-Z0-9_.]{2,}$ and is unique, endpoint is required."},
    {"connect_proxy_name", "", T::kString, &Config::connect_proxy_name,
     "Granular mode: the proxy called for connections without a token."},
    {"refresh_proxy_name", "", T::kString, &Config::refresh_proxy_name,
     "Granular mode: the proxy refreshing expiring connections."},
    {"rpc_proxy_name", "rpc.without_namespace.proxy_name", T::kString, &Config::rpc_proxy_name,
     "Granular mode: the proxy of RPC methods without an rpc namespace; empty = 108."},
    {"rpc_namespaces", "rpc.namespaces", T::kJson, &Config::rpc_namespaces,
     "Granular mode: list of {name, rpc_proxy_name}; a method <name><boundary>... goes to that "
     "proxy, an unknown rpc namespace gets 104."},
    {"rpc_namespace_boundary", "rpc.namespace_boundary", T::kString, &Config::rpc_namespace_boundary,
     "Separates the rpc namespace from the rest of an RPC method; empty = no rpc namespaces."},
    // v6 proxy objects (v6-config.md §2.2, §2.6): no v5 key of their own, the v5 proxy_* keys
    // and granular names above are their v5 equivalents.
    {"", "client.proxy.connect", T::kJson, &Config::v6_connect_proxy,
     "v6: the connect proxy object {enabled, endpoint, timeout, http_headers, binary_encoding, "
     "include_connection_meta, http: {static_headers, status_to_code_transforms}}."},
    {"", "client.proxy.refresh", T::kJson, &Config::v6_refresh_proxy,
     "v6: the refresh proxy object (as client.proxy.connect)."},
    {"", "channel.proxy.subscribe", T::kJson, &Config::v6_subscribe_proxy,
     "v6: the subscribe proxy named `default` (a proxy object without `enabled`)."},
    {"", "channel.proxy.publish", T::kJson, &Config::v6_publish_proxy,
     "v6: the publish proxy named `default`."},
    {"", "channel.proxy.sub_refresh", T::kJson, &Config::v6_sub_refresh_proxy,
     "v6: the sub refresh proxy named `default`."},
    {"", "channel.proxy.subscribe_stream", T::kJson, &Config::v6_subscribe_stream_proxy,
     "v6: the subscribe stream proxy (GRPC only: an endpoint is a start-up error)."},
    {"", "rpc.proxy", T::kJson, &Config::v6_rpc_proxy, "v6: the RPC proxy named `default`."},
    {"", "rpc.without_namespace.proxy_enabled", T::kBool, &Config::v6_rpc_proxy_enabled,
     "v6: RPC methods without an rpc namespace go to rpc.without_namespace.proxy_name."},
    {"ping_interval", "client.ping_interval", T::kDuration, &Config::ping_interval, "Server ping period."},
    {"pong_timeout", "client.pong_timeout", T::kDuration, &Config::pong_timeout,
     "Wait for a pong; must be less than ping_interval."},
    {"client_stale_close_delay", "client.stale_close_delay", T::kDuration, &Config::client_stale_close_delay,
     "Wait for connect before closing with 3502."},
    {"client_expired_close_delay", "client.expired_close_delay", T::kDuration, &Config::client_expired_close_delay,
     "Grace after connection expiry before 3005."},
    {"client_expired_sub_close_delay", "client.expired_sub_close_delay", T::kDuration, &Config::client_expired_sub_close_delay,
     "Grace after subscription expiry before 3006."},
    {"client_presence_update_interval", "client.presence_update_interval", T::kDuration, &Config::client_presence_update_interval,
     "How often presence entries are refreshed."},
    {"client_channel_position_check_delay", "client.channel_position_check_delay", T::kDuration,
     &Config::client_channel_position_check_delay, "Stream position check period."},
    {"client_channel_position_max_time_lag", "client.channel_position_max_time_lag", T::kDuration,
     &Config::client_channel_position_max_time_lag, "Position check lag threshold."},
    {"client_queue_max_size", "client.queue_max_size", T::kInt, &Config::client_queue_max_size,
     "Output queue bytes per connection before 3008."},
    {"client_write_delay", "client.write_delay", T::kDuration, &Config::client_write_delay,
     "Write coalescing (Centrifugo PRO's name): a connection written less than this ago holds "
     "further output until then (or 64 KiB), so the pushes meanwhile share one write. 0 = "
     "adaptive: zero while the loop is idle; grows with the loop's load and its longest "
     "flush (at most 10ms) and with the pace of a steady stream of publications whose writes "
     "take a quarter of the loop's time or more (4 gaps, at most 50ms); while the loop stays "
     "saturated and its writes carry fewer than 2 messages each (publications spread over "
     "many channels), it doubles each 20ms period up to 200ms and halves as soon as the loop "
     "has slack; "
     "command replies never wait. Negative (\"-1ms\") "
     "= off, every message written at once. A connection not written within the window is "
     "written at once. WebSocket, HTTP-stream, SSE and uni transports."},
    {"client_max_messages_in_frame", "client.max_messages_in_frame", T::kInt,
     &Config::client_max_messages_in_frame,
     "Messages joined in one WebSocket frame (JSON lines, Protobuf varint-delimited). 0 "
     "(default): replies up to 16 per frame, each publication push its own frame (the "
     "centrifuge-js SDK can reorder publication events when a frame of several pushes is "
     "followed by another frame at once); N > 0: at most N, pushes joined too, as "
     "Centrifuge's writer; -1: no limit. Not for uni_websocket and compressed pushes."},
    {"client_reply_without_queue", "client.reply_without_queue", T::kBool,
     &Config::client_reply_without_queue,
     "Command replies (and other messages to one connection) never wait for the "
     "client_write_delay window: the connection is written in the same loop turn. Always so "
     "with the adaptive window (client_write_delay 0)."},
    {"client_channel_limit", "client.channel_limit", T::kInt, &Config::client_channel_limit,
     "Subscriptions per connection."},
    {"client_user_connection_limit", "client.user_connection_limit", T::kInt, &Config::client_user_connection_limit,
     "Connections per user per node; 0 = unlimited."},
    {"client_connection_limit", "client.connection_limit", T::kInt, &Config::client_connection_limit,
     "Connections per node; 0 = unlimited."},
    {"client_connection_rate_limit", "client.connection_rate_limit", T::kInt, &Config::client_connection_rate_limit,
     "New connections per second per node (only with client_connection_limit)."},
    {"client_concurrency", "client.concurrency", T::kInt, &Config::client_concurrency,
     "Commands processed concurrently per connection."},
    {"client_connect_include_server_time", "client.connect_include_server_time", T::kBool,
     &Config::client_connect_include_server_time, "Send server time in connect results."},
    {"client_history_max_publication_limit", "client.history_max_publication_limit", T::kInt,
     &Config::client_history_max_publication_limit, "Cap of a client history limit."},
    {"client_recovery_max_publication_limit", "client.recovery_max_publication_limit", T::kInt,
     &Config::client_recovery_max_publication_limit, "Max publications recovered."},
    // --- channels
    {"channel_max_length", "channel.max_length", T::kInt, &Config::channel_max_length,
     "Max channel length (bytes) for client subscribe."},
    {"channel_private_prefix", "channel.private_prefix", T::kString, &Config::channel_private_prefix,
     "Prefix of private channels."},
    {"channel_namespace_boundary", "channel.namespace_boundary", T::kString, &Config::channel_namespace_boundary,
     "Separates namespace and rest."},
    {"channel_user_boundary", "channel.user_boundary", T::kString, &Config::channel_user_boundary,
     "Marks user-limited channels; empty disables them."},
    {"channel_user_separator", "channel.user_separator", T::kString, &Config::channel_user_separator,
     "Separates user IDs of user-limited channels."},
    {"user_subscribe_to_personal", "client.subscribe_to_user_personal_channel.enabled", T::kBool, &Config::user_subscribe_to_personal,
     "Subscribe users to their personal channel."},
    {"user_personal_channel_namespace", "client.subscribe_to_user_personal_channel.personal_channel_namespace", T::kString, &Config::user_personal_channel_namespace,
     "Namespace of personal channels (must exist)."},
    {"user_personal_single_connection", "client.subscribe_to_user_personal_channel.single_connection", T::kBool, &Config::user_personal_single_connection,
     "One connection per user (needs presence in the personal namespace)."},
    {"global_history_meta_ttl", "channel.history_meta_ttl", T::kSeconds, &Config::global_history_meta_ttl,
     "Default stream meta TTL."},
    {"global_presence_ttl", "engine.redis.presence_ttl", T::kSeconds, &Config::global_presence_ttl, "Presence entry TTL."},
    // --- Redis engine
    {"redis_address", "engine.redis.address", T::kStringList, &Config::redis_address,
     "Redis address: host:port, redis://[user:password@]host:port[/db], rediss://... (TLS), "
     "tcp://host:port, unix:///path/redis.sock, or the v6 redis+cluster:// and "
     "redis+sentinel:// URLs with options (docs/scaling.md); several = client-side sharding by "
     "channel."},
    {"redis_prefix", "engine.redis.prefix", T::kString, &Config::redis_prefix,
     "Prefix of every Redis key and PUB/SUB channel."},
    {"redis_db", "engine.redis.db", T::kInt, &Config::redis_db, "Redis database number."},
    {"redis_user", "engine.redis.user", T::kString, &Config::redis_user, "Redis ACL user."},
    {"redis_password", "engine.redis.password", T::kString, &Config::redis_password,
     "Redis password."},
    {"redis_connect_timeout", "engine.redis.connect_timeout", T::kDuration,
     &Config::redis_connect_timeout, "Redis connect (and handshake) deadline."},
    {"redis_io_timeout", "engine.redis.io_timeout", T::kDuration, &Config::redis_io_timeout,
     "Redis command deadline; beyond it the call fails with error 100 and the connection is "
     "reset."},
    {"redis_client_name", "engine.redis.client_name", T::kString, &Config::redis_client_name,
     "CLIENT SETNAME of every Redis connection (empty: none)."},
    {"redis_force_resp2", "engine.redis.force_resp2", T::kBool, &Config::redis_force_resp2,
     "Accepted for compatibility: Gyre always speaks RESP2 to Redis (never RESP3)."},
    {"redis_cluster_address", "engine.redis.cluster_address", T::kStringList,
     &Config::redis_cluster_address,
     "Redis Cluster: each element is a comma-separated host:port list of one cluster's seed "
     "nodes; set, it replaces redis_sentinel_address and redis_address."},
    {"redis_sentinel_address", "engine.redis.sentinel_address", T::kStringList,
     &Config::redis_sentinel_address,
     "Redis Sentinel: each element is a comma-separated host:port list of one shard's "
     "Sentinels; set, it replaces redis_address."},
    {"redis_sentinel_master_name", "engine.redis.sentinel_master_name", T::kString,
     &Config::redis_sentinel_master_name, "Master name the Sentinels monitor (required with them)."},
    {"redis_sentinel_user", "engine.redis.sentinel_user", T::kString, &Config::redis_sentinel_user,
     "Sentinel ACL user."},
    {"redis_sentinel_password", "engine.redis.sentinel_password", T::kString,
     &Config::redis_sentinel_password, "Sentinel password."},
    {"redis_sentinel_client_name", "engine.redis.sentinel_client_name", T::kString,
     &Config::redis_sentinel_client_name, "CLIENT SETNAME of Sentinel connections."},
    {"global_redis_presence_user_mapping", "engine.redis.presence_user_mapping", T::kBool,
     &Config::global_redis_presence_user_mapping,
     "Keep per-user presence keys (P.presence.user.expire/clients.<ch>) and answer "
     "presence_stats from them, as Centrifugo's option (cheaper stats on big channels)."},
    {"redis_use_lists", "engine.redis.history_use_lists", T::kBool, &Config::redis_use_lists,
     "Keep history in Redis LISTs (P.list.<ch>) instead of streams, as Centrifugo's option: "
     "every node on the Redis must agree; history reverse is ignored with it."},
    {"redis_tls", "engine.redis.tls.enabled", T::kBool, &Config::redis_tls,
     "TLS to Redis (minimum TLS 1.2; the server certificate is verified unless "
     "redis_tls_insecure_skip_verify)."},
    {"redis_tls_cert", "", T::kString, &Config::redis_tls_cert,
     "File with the client certificate (PEM) presented to Redis; needs redis_tls_key."},
    {"redis_tls_key", "", T::kString, &Config::redis_tls_key,
     "File with the private key (PEM) of redis_tls_cert."},
    {"redis_tls_cert_pem", "engine.redis.tls.cert_pem", T::kString, &Config::redis_tls_cert_pem,
     "Client certificate presented to Redis: PEM, base64 of PEM or a file path; needs the key."},
    {"redis_tls_key_pem", "engine.redis.tls.key_pem", T::kString, &Config::redis_tls_key_pem,
     "Private key of the client certificate: PEM, base64 of PEM or a file path."},
    {"redis_tls_root_ca", "", T::kString, &Config::redis_tls_root_ca,
     "File with the CA bundle (PEM) that verifies Redis's certificate (default: system CAs)."},
    {"redis_tls_root_ca_pem", "engine.redis.tls.server_ca_pem", T::kString, &Config::redis_tls_root_ca_pem,
     "CA bundle that verifies Redis's certificate: PEM, base64 of PEM or a file path."},
    {"redis_tls_client_ca", "", T::kString, &Config::redis_tls_client_ca,
     "File with a client CA bundle: checked, but a client connection has no use for it (as "
     "Centrifugo, where it only configures servers); a warning says so."},
    {"redis_tls_client_ca_pem", "engine.redis.tls.client_ca_pem", T::kString, &Config::redis_tls_client_ca_pem,
     "Client CA bundle: checked, but without effect on a client connection (warned)."},
    {"redis_tls_server_name", "engine.redis.tls.server_name", T::kString, &Config::redis_tls_server_name,
     "Name sent as SNI and verified in Redis's certificate (default: the host connected to)."},
    {"redis_tls_insecure_skip_verify", "engine.redis.tls.insecure_skip_verify", T::kBool,
     &Config::redis_tls_insecure_skip_verify, "Do not verify Redis's certificate."},
    {"redis_sentinel_tls", "engine.redis.sentinel_tls.enabled", T::kBool, &Config::redis_sentinel_tls,
     "TLS to the Sentinels (minimum TLS 1.2; the server certificate is verified unless "
     "redis_sentinel_tls_insecure_skip_verify)."},
    {"redis_sentinel_tls_cert", "", T::kString, &Config::redis_sentinel_tls_cert,
     "File with the client certificate (PEM) presented to the Sentinels; needs redis_sentinel_tls_key."},
    {"redis_sentinel_tls_key", "", T::kString, &Config::redis_sentinel_tls_key,
     "File with the private key (PEM) of redis_sentinel_tls_cert."},
    {"redis_sentinel_tls_cert_pem", "engine.redis.sentinel_tls.cert_pem", T::kString, &Config::redis_sentinel_tls_cert_pem,
     "Client certificate presented to the Sentinels: PEM, base64 of PEM or a file path; needs the key."},
    {"redis_sentinel_tls_key_pem", "engine.redis.sentinel_tls.key_pem", T::kString, &Config::redis_sentinel_tls_key_pem,
     "Private key of the client certificate: PEM, base64 of PEM or a file path."},
    {"redis_sentinel_tls_root_ca", "", T::kString, &Config::redis_sentinel_tls_root_ca,
     "File with the CA bundle (PEM) that verifies a Sentinel's certificate (default: system CAs)."},
    {"redis_sentinel_tls_root_ca_pem", "engine.redis.sentinel_tls.server_ca_pem", T::kString, &Config::redis_sentinel_tls_root_ca_pem,
     "CA bundle that verifies a Sentinel's certificate: PEM, base64 of PEM or a file path."},
    {"redis_sentinel_tls_client_ca", "", T::kString, &Config::redis_sentinel_tls_client_ca,
     "File with a client CA bundle: checked, but a client connection has no use for it (as "
     "Centrifugo, where it only configures servers); a warning says so."},
    {"redis_sentinel_tls_client_ca_pem", "engine.redis.sentinel_tls.client_ca_pem", T::kString, &Config::redis_sentinel_tls_client_ca_pem,
     "Client CA bundle: checked, but without effect on a client connection (warned)."},
    {"redis_sentinel_tls_server_name", "engine.redis.sentinel_tls.server_name", T::kString, &Config::redis_sentinel_tls_server_name,
     "Name sent as SNI and verified in a Sentinel's certificate (default: the host connected to)."},
    {"redis_sentinel_tls_insecure_skip_verify", "engine.redis.sentinel_tls.insecure_skip_verify", T::kBool,
     &Config::redis_sentinel_tls_insecure_skip_verify, "Do not verify a Sentinel's certificate."},
    {"namespaces", "channel.namespaces", T::kNamespaces, std::monostate{},
     "Channel namespaces: objects with name and channel options (env: JSON)."},
    // --- transports
    {"websocket_disable", "websocket.disabled", T::kBool, &Config::websocket_disable, "Disable WebSocket."},
    {"websocket_handler_prefix", "websocket.handler_prefix", T::kString, &Config::websocket_handler_prefix,
     "WebSocket path."},
    {"websocket_message_size_limit", "websocket.message_size_limit", T::kInt, &Config::websocket_message_size_limit,
     "Max incoming WebSocket message bytes (after inflating); above it: close 1009."},
    {"websocket_write_timeout", "websocket.write_timeout", T::kDuration, &Config::websocket_write_timeout,
     "WebSocket write deadline (0 = 1s); a stuck write drops the connection (3009)."},
    {"websocket_compression", "websocket.compression", T::kBool, &Config::websocket_compression,
     "Negotiate permessage-deflate (no context takeover)."},
    {"websocket_compression_min_size", "websocket.compression_min_size", T::kInt, &Config::websocket_compression_min_size,
     "Compress only messages longer than this many bytes; 0 = all."},
    {"websocket_compression_level", "websocket.compression_level", T::kInt, &Config::websocket_compression_level,
     "Deflate level, -2 (Huffman only) to 9; others mean 1."},
    {"websocket_read_buffer_size", "websocket.read_buffer_size", T::kInt, &Config::websocket_read_buffer_size,
     "Accepted, no effect: reads use one buffer per shard."},
    {"websocket_write_buffer_size", "websocket.write_buffer_size", T::kInt, &Config::websocket_write_buffer_size,
     "Accepted, no effect: writes are writev over queued frames."},
    {"websocket_use_write_buffer_pool", "websocket.use_write_buffer_pool", T::kBool, &Config::websocket_use_write_buffer_pool,
     "Accepted, no effect: write queues are always pooled per shard."},
    {"http_stream", "http_stream.enabled", T::kBool, &Config::http_stream, "Enable the HTTP-streaming transport."},
    {"http_stream_handler_prefix", "http_stream.handler_prefix", T::kString, &Config::http_stream_handler_prefix,
     "HTTP-streaming path."},
    {"http_stream_max_request_body_size", "http_stream.max_request_body_size", T::kInt, &Config::http_stream_max_request_body_size,
     "Max HTTP-streaming request body."},
    {"sse", "sse.enabled", T::kBool, &Config::sse, "Enable the SSE transport."},
    {"sse_handler_prefix", "sse.handler_prefix", T::kString, &Config::sse_handler_prefix, "SSE path."},
    {"sse_max_request_body_size", "sse.max_request_body_size", T::kInt, &Config::sse_max_request_body_size,
     "Max SSE request body."},
    {"emulation_handler_prefix", "emulation.handler_prefix", T::kString, &Config::emulation_handler_prefix,
     "Emulation endpoint path."},
    {"emulation_max_request_body_size", "emulation.max_request_body_size", T::kInt, &Config::emulation_max_request_body_size,
     "Max emulation request body."},
    {"uni_websocket", "uni_websocket.enabled", T::kBool, &Config::uni_websocket, "Enable unidirectional WebSocket."},
    {"uni_websocket_handler_prefix", "uni_websocket.handler_prefix", T::kString, &Config::uni_websocket_handler_prefix,
     "Unidirectional WebSocket path."},
    {"uni_websocket_message_size_limit", "uni_websocket.message_size_limit", T::kInt, &Config::uni_websocket_message_size_limit,
     "Max unidirectional WebSocket connect message."},
    {"uni_websocket_write_timeout", "uni_websocket.write_timeout", T::kDuration, &Config::uni_websocket_write_timeout,
     "Unidirectional WebSocket write deadline (0 = 1s); a stuck write drops the connection."},
    {"uni_websocket_compression", "uni_websocket.compression", T::kBool, &Config::uni_websocket_compression,
     "Negotiate permessage-deflate on unidirectional WebSocket (no context takeover)."},
    {"uni_websocket_compression_min_size", "uni_websocket.compression_min_size", T::kInt, &Config::uni_websocket_compression_min_size,
     "Unidirectional WebSocket: compress only messages longer than this; 0 = all."},
    {"uni_websocket_compression_level", "uni_websocket.compression_level", T::kInt, &Config::uni_websocket_compression_level,
     "Unidirectional WebSocket deflate level, -2 (Huffman only) to 9; others mean 1."},
    {"uni_websocket_read_buffer_size", "uni_websocket.read_buffer_size", T::kInt, &Config::uni_websocket_read_buffer_size,
     "Accepted, no effect: reads use one buffer per shard."},
    {"uni_websocket_write_buffer_size", "uni_websocket.write_buffer_size", T::kInt, &Config::uni_websocket_write_buffer_size,
     "Accepted, no effect: writes are writev over queued frames."},
    {"uni_websocket_use_write_buffer_pool", "uni_websocket.use_write_buffer_pool", T::kBool,
     &Config::uni_websocket_use_write_buffer_pool,
     "Accepted, no effect: write queues are always pooled per shard."},
    {"uni_sse", "uni_sse.enabled", T::kBool, &Config::uni_sse, "Enable unidirectional SSE."},
    {"uni_sse_handler_prefix", "uni_sse.handler_prefix", T::kString, &Config::uni_sse_handler_prefix,
     "Unidirectional SSE path."},
    {"uni_sse_max_request_body_size", "uni_sse.max_request_body_size", T::kInt, &Config::uni_sse_max_request_body_size,
     "Max unidirectional SSE POST body."},
    {"uni_sse_connect_code_to_http_response", "uni_sse.connect_code_to_http_response", T::kHttpTransforms,
     &Config::uni_sse_connect_code_to_http_response,
     "When enabled, a failed connect answers with an HTTP status and body instead of a "
     "stream: transforms [{code, to: {status_code, body}}]; unmatched codes give 500 (env: JSON)."},
    {"uni_http_stream", "uni_http_stream.enabled", T::kBool, &Config::uni_http_stream,
     "Enable unidirectional HTTP streaming."},
    {"uni_http_stream_handler_prefix", "uni_http_stream.handler_prefix", T::kString, &Config::uni_http_stream_handler_prefix,
     "Unidirectional HTTP-streaming path."},
    {"uni_http_stream_max_request_body_size", "uni_http_stream.max_request_body_size", T::kInt,
     &Config::uni_http_stream_max_request_body_size,
     "Max unidirectional HTTP-streaming connect body."},
    {"uni_http_stream_connect_code_to_http_response", "uni_http_stream.connect_code_to_http_response", T::kHttpTransforms,
     &Config::uni_http_stream_connect_code_to_http_response,
     "As uni_sse_connect_code_to_http_response, for unidirectional HTTP streaming (env: JSON)."},
    {"client_connect_code_to_unidirectional_disconnect", "client.connect_code_to_unidirectional_disconnect", T::kDisconnectTransforms,
     &Config::client_connect_code_to_unidirectional_disconnect,
     "Unidirectional connect error code -> disconnect: transforms [{code, to: {code, "
     "reason}}] override the default mapping (109/110 -> 3005, 111 -> 3013, 103 -> 3507, "
     "other -> 3004) (env: JSON)."},
};

const KeySpec<TokenConfig> kTokenKeys[] = {
    {"hmac_secret_key", "hmac_secret_key", T::kString, &TokenConfig::hmac_secret_key,
     "HMAC secret (HS256/384/512)."},
    {"rsa_public_key", "rsa_public_key", T::kString, &TokenConfig::rsa_public_key,
     "RSA public key or certificate, PEM (RS256/384/512)."},
    {"ecdsa_public_key", "ecdsa_public_key", T::kString, &TokenConfig::ecdsa_public_key,
     "ECDSA public key or certificate, PEM (ES256/384/512)."},
    {"jwks_public_endpoint", "jwks_public_endpoint", T::kString, &TokenConfig::jwks_public_endpoint,
     "JWK Set URL; when set all tokens are verified through it."},
    {"audience", "audience", T::kString, &TokenConfig::audience, "Required aud value."},
    {"audience_regex", "audience_regex", T::kString, &TokenConfig::audience_regex,
     "RE2 an aud value must match (not with audience)."},
    {"issuer", "issuer", T::kString, &TokenConfig::issuer, "Required iss value."},
    {"issuer_regex", "issuer_regex", T::kString, &TokenConfig::issuer_regex,
     "RE2 iss must match (not with issuer)."},
    {"user_id_claim", "user_id_claim", T::kString, &TokenConfig::user_id_claim,
     "Claim holding the user ID instead of sub; ^[a-zA-Z_]+$."},
};

const KeySpec<ChannelOptions> kChannelKeys[] = {
    {"presence", "presence", T::kBool, &ChannelOptions::presence, "Maintain presence."},
    {"join_leave", "join_leave", T::kBool, &ChannelOptions::join_leave, "Emit join/leave events."},
    {"force_push_join_leave", "force_push_join_leave", T::kBool, &ChannelOptions::force_push_join_leave,
     "Push join/leave to all subscribers."},
    {"history_size", "history_size", T::kInt, &ChannelOptions::history_size,
     "Publications kept; set together with history_ttl."},
    {"history_ttl", "history_ttl", T::kSeconds, &ChannelOptions::history_ttl,
     "History retention; <= the meta TTL."},
    {"history_meta_ttl", "history_meta_ttl", T::kSeconds, &ChannelOptions::history_meta_ttl,
     "Stream meta TTL; 0 = global_history_meta_ttl."},
    {"force_positioning", "force_positioning", T::kBool, &ChannelOptions::force_positioning,
     "Positioning for all subscribers."},
    {"allow_positioning", "allow_positioning", T::kBool, &ChannelOptions::allow_positioning,
     "Positioning on client request."},
    {"force_recovery", "force_recovery", T::kBool, &ChannelOptions::force_recovery,
     "Recovery for all subscribers (needs history)."},
    {"allow_recovery", "allow_recovery", T::kBool, &ChannelOptions::allow_recovery,
     "Recovery on client request."},
    {"force_recovery_mode", "force_recovery_mode", T::kString, &ChannelOptions::force_recovery_mode,
     "\"\", \"stream\" or \"cache\"."},
    {"allowed_delta_types", "allowed_delta_types", T::kStringList, &ChannelOptions::allowed_delta_types,
     "Delta types clients may negotiate; only \"fossil\"."},
    {"delta_publish", "delta_publish", T::kBool, &ChannelOptions::delta_publish,
     "Publish everything as delta-capable."},
    {"allow_subscribe_for_client", "allow_subscribe_for_client", T::kBool, &ChannelOptions::allow_subscribe_for_client,
     "Authenticated clients may subscribe."},
    {"allow_subscribe_for_anonymous", "allow_subscribe_for_anonymous", T::kBool, &ChannelOptions::allow_subscribe_for_anonymous,
     "Anonymous clients may subscribe too."},
    {"allow_publish_for_client", "allow_publish_for_client", T::kBool, &ChannelOptions::allow_publish_for_client,
     "Clients may publish."},
    {"allow_publish_for_subscriber", "allow_publish_for_subscriber", T::kBool, &ChannelOptions::allow_publish_for_subscriber,
     "Subscribers may publish."},
    {"allow_publish_for_anonymous", "allow_publish_for_anonymous", T::kBool, &ChannelOptions::allow_publish_for_anonymous,
     "Extend publish permissions to anonymous clients."},
    {"allow_presence_for_client", "allow_presence_for_client", T::kBool, &ChannelOptions::allow_presence_for_client,
     "Clients may call presence."},
    {"allow_presence_for_subscriber", "allow_presence_for_subscriber", T::kBool, &ChannelOptions::allow_presence_for_subscriber,
     "Subscribers may call presence."},
    {"allow_presence_for_anonymous", "allow_presence_for_anonymous", T::kBool, &ChannelOptions::allow_presence_for_anonymous,
     "Extend presence permissions to anonymous clients."},
    {"allow_history_for_client", "allow_history_for_client", T::kBool, &ChannelOptions::allow_history_for_client,
     "Clients may call history."},
    {"allow_history_for_subscriber", "allow_history_for_subscriber", T::kBool, &ChannelOptions::allow_history_for_subscriber,
     "Subscribers may call history."},
    {"allow_history_for_anonymous", "allow_history_for_anonymous", T::kBool, &ChannelOptions::allow_history_for_anonymous,
     "Extend history permissions to anonymous clients."},
    {"allow_user_limited_channels", "allow_user_limited_channels", T::kBool, &ChannelOptions::allow_user_limited_channels,
     "Honour #user lists on subscribe."},
    {"channel_regex", "channel_regex", T::kString, &ChannelOptions::channel_regex,
     "RE2 the part after the namespace must match for client operations."},
    {"proxy_subscribe", "subscribe_proxy_enabled", T::kBool, &ChannelOptions::proxy_subscribe, "Use the subscribe proxy."},
    {"proxy_publish", "publish_proxy_enabled", T::kBool, &ChannelOptions::proxy_publish, "Use the publish proxy."},
    {"proxy_sub_refresh", "sub_refresh_proxy_enabled", T::kBool, &ChannelOptions::proxy_sub_refresh,
     "Use the sub refresh proxy."},
    {"proxy_subscribe_stream", "subscribe_stream_proxy_enabled", T::kBool, &ChannelOptions::proxy_subscribe_stream,
     "Use the subscribe stream proxy."},
    // Reference quirk (reference.md §12.2): at the top level Centrifugo v5 reads this name.
    {"proxy_stream_subscribe", "", T::kBool, &ChannelOptions::proxy_subscribe_stream,
     "Top-level alias of proxy_subscribe_stream read by Centrifugo v5.", true},
    {"proxy_subscribe_stream_bidirectional", "subscribe_stream_proxy_bidirectional", T::kBool,
     &ChannelOptions::proxy_subscribe_stream_bidirectional, "Bidirectional stream proxy."},
    {"subscribe_proxy_name", "subscribe_proxy_name", T::kString, &ChannelOptions::subscribe_proxy_name,
     "Granular subscribe proxy."},
    {"publish_proxy_name", "publish_proxy_name", T::kString, &ChannelOptions::publish_proxy_name,
     "Granular publish proxy."},
    {"sub_refresh_proxy_name", "sub_refresh_proxy_name", T::kString, &ChannelOptions::sub_refresh_proxy_name,
     "Granular sub refresh proxy."},
    {"subscribe_stream_proxy_name", "subscribe_stream_proxy_name", T::kString, &ChannelOptions::subscribe_stream_proxy_name,
     "Granular subscribe stream proxy."},
};

// Centrifugo v5.4 keys (reference.md §2-§9, server-api.md §2-§4) Gyre recognises but does
// not implement. Sorted for binary search. `tls`/`tls_autocert` are rejected when true:
// serving plain HTTP to a client that expects TLS must not happen silently.
constexpr UnsupportedKey kUnsupportedKeys[] = {
    {"admin_web_path"},
    {"admin_web_proxy_address"},
    {"consumers"},
    {"debug"},
    {"enable_unreleased_features"},
    {"graphite"},
    {"graphite_host"},
    {"graphite_interval"},
    {"graphite_port"},
    {"graphite_prefix"},
    {"graphite_tags"},
    {"grpc_api"},
    {"grpc_api_address"},
    {"grpc_api_error_mode"},
    {"grpc_api_key"},
    {"grpc_api_max_receive_message_size"},
    {"grpc_api_port"},
    {"grpc_api_reflection"},
    {"grpc_api_tls"},
    {"grpc_api_tls_cert"},
    {"grpc_api_tls_disable"},
    {"grpc_api_tls_key"},
    {"http3"},
    {"opentelemetry"},
    {"opentelemetry_api"},
    {"opentelemetry_consuming"},
    {"proxy_grpc_cert_file"},
    {"proxy_grpc_compression"},
    {"proxy_grpc_credentials_key"},
    {"proxy_grpc_credentials_value"},
    {"proxy_grpc_metadata"},
    {"proxy_grpc_tls"},
    {"redis_presence_hash_field_ttl", UnsupportedPolicy::kRejectIfTrue,
     "it needs Redis >= 7.4 (per-field hash expiry, HEXPIRE), and Gyre targets Redis 7.0 "
     "(Debian 12): presence expiry is kept in a ZSET"},
    {"rpc_ping"},
    {"rpc_ping_method"},
    {"sockjs"},
    {"sockjs_handler_prefix"},
    {"sockjs_heartbeat_delay"},
    {"sockjs_url"},
    {"swagger"},
    {"swagger_handler_prefix"},
    {"tls_autocert_force_rsa", UnsupportedPolicy::kRejectIfTrue,
     "Gyre's autocert issues ECDSA P-256 certificates only (Centrifugo v5.4 documents the key "
     "but ignores it)"},
    {"uni_grpc"},
    {"uni_grpc_address"},
    {"uni_grpc_max_receive_message_size"},
    {"uni_grpc_port"},
    {"uni_grpc_tls"},
    {"uni_grpc_tls_cert"},
    {"uni_grpc_tls_disable"},
    {"uni_grpc_tls_key"},
    {"usage_stats_disable"},
    {"webtransport"},
    {"webtransport_handler_prefix"},
};

// Whole option families (Redis, NATS, Tarantool engines and consumer env overrides such as
// CENTRIFUGO_CONSUMERS_KAFKA_<NAME>_BROKERS) are matched by prefix: they have many keys,
// including nested TLS twins, and none of them is implemented.
constexpr std::string_view kUnsupportedPrefixes[] = {
    "consumers_", "nats_", "redis_", "tarantool_",
};

constexpr UnsupportedKey kUnsupportedChannelOptions[] = {
    {"cache_empty_proxy_name"}, {"channel_state_events"}, {"history_cel"},
    {"presence_cel"},           {"proxy_cache_empty"},    {"publish_cel"},
    {"shared_position_sync"},   {"subscribe_cel"},
};

// Centrifugo v6 paths (v6-config.md §2-§3) Gyre recognises but does not implement. A path
// covers everything below it. Consistent with the v5 table: a warning names the key, and
// switches whose silent loss would change what clients get (TLS, a separate broker or
// presence manager) are errors when true.
constexpr UnsupportedKey kUnsupportedV6[] = {
    {"admin.web_path"},
    {"admin.web_proxy_address"},
    {"broker.enabled", UnsupportedPolicy::kRejectIfTrue},
    {"broker"},
    {"channel.proxy"},
    {"channel.publication_data_format"},
    {"client.proxy"},
    {"client.subscription_token.hmac_previous_secret_key"},
    {"client.subscription_token.hmac_previous_secret_key_valid_until"},
    {"client.subscription_token.insecure_skip_jwks_endpoint_safety_check"},
    {"client.token.hmac_previous_secret_key"},
    {"client.token.hmac_previous_secret_key_valid_until"},
    {"client.token.insecure_skip_jwks_endpoint_safety_check"},
    {"consumers"},
    {"controller"},
    {"debug"},
    {"enable_unreleased_features"},
    {"engine.redis.presence_hash_field_ttl", UnsupportedPolicy::kRejectIfTrue,
     "it needs Redis >= 7.4 (per-field hash expiry, HEXPIRE), and Gyre targets Redis 7.0 "
     "(Debian 12): presence expiry is kept in a ZSET"},
    {"graphite"},
    {"grpc_api"},
    {"http_server.h2c_external", UnsupportedPolicy::kRejectIfTrue},
    {"http_server.http3"},
    {"init"},
    {"map_broker"},
    {"node.info_metrics_aggregate_interval"},
    {"opentelemetry"},
    {"presence_manager.enabled", UnsupportedPolicy::kRejectIfTrue},
    {"presence_manager"},
    {"prometheus.instrument_http_handlers"},
    {"prometheus.native_histograms"},
    {"prometheus.recovered_publications_histogram"},
    {"proxies"},
    {"rpc"},
    {"shared_poll"},
    {"swagger"},
    {"uni_grpc"},
    {"uni_websocket.decompressed_message_size_limit"},
    {"uni_websocket.disable_closing_handshake"},
    {"uni_websocket.disable_disconnect_push"},
    {"uni_websocket.join_push_messages"},
    {"usage_stats"},
    {"websocket.decompressed_message_size_limit"},
    {"webtransport"},
};

constexpr UnsupportedKey kUnsupportedV6ChannelOptions[] = {
    {"allow_tags_filter"},
    {"auto_cache_recover"},
    {"map"},
    {"map_clients_presence_channel_prefix"},
    {"map_users_presence_channel_prefix"},
    {"publication_data_format"},
    {"shared_poll"},
    {"subscription_type"},
};

// v6-config.md §4.1: class A (v6-only blocks) and class B (same name, object in v6, scalar
// in v5). Class C (pid_file, enable_unreleased_features, proxies, consumers) signals nothing.
constexpr std::string_view kV6OnlyBlocks[] = {
    "http_server", "log",      "client",      "channel",          "rpc",        "http_api",
    "websocket",   "emulation", "node",       "shutdown",         "usage_stats", "presence_manager",
    "map_broker",  "controller", "shared_poll", "init",
};
constexpr std::string_view kReshapedKeys[] = {
    "engine",       "broker",      "admin",         "prometheus", "health",   "swagger",
    "debug",        "sse",         "http_stream",   "uni_sse",    "uni_http_stream",
    "uni_websocket", "uni_grpc",   "webtransport",  "grpc_api",   "graphite", "opentelemetry",
};
constexpr std::string_view kSharedKeys[] = {"pid_file", "enable_unreleased_features", "proxies",
                                            "consumers"};

static_assert(std::ranges::is_sorted(kUnsupportedKeys, {}, &UnsupportedKey::name));
static_assert(std::ranges::is_sorted(kUnsupportedChannelOptions, {}, &UnsupportedKey::name));

const UnsupportedKey* find_sorted(std::span<const UnsupportedKey> keys, std::string_view key) {
  auto it = std::ranges::lower_bound(keys, key, {}, &UnsupportedKey::name);
  if (it != keys.end() && it->name == key) {
    return &*it;
  }
  return nullptr;
}

}  // namespace

std::span<const KeySpec<Config>> global_keys() { return kGlobalKeys; }

std::span<const KeySpec<TokenConfig>> token_keys() { return kTokenKeys; }

std::span<const KeySpec<ChannelOptions>> channel_keys() { return kChannelKeys; }

const UnsupportedKey* find_unsupported(std::string_view key) {
  if (const auto* found = find_sorted(kUnsupportedKeys, key)) {
    return found;
  }
  for (std::string_view prefix : kUnsupportedPrefixes) {
    if (key.starts_with(prefix)) {
      static constexpr UnsupportedKey kFamilyMember{"", UnsupportedPolicy::kWarn};
      return &kFamilyMember;
    }
  }
  return nullptr;
}

const UnsupportedKey* find_unsupported_channel_option(std::string_view key) {
  return find_sorted(kUnsupportedChannelOptions, key);
}

std::string reject_message(const UnsupportedKey& key) {
  if (key.reason.empty()) {
    return "true is not supported yet; supported: false";
  }
  return "true is not supported: " + std::string(key.reason);
}

const UnsupportedKey* find_unsupported_v6(std::string_view path) {
  // Exact entries first, so a reject-if-true leaf wins over its block.
  for (const auto& entry : kUnsupportedV6) {
    if (entry.name == path) {
      return &entry;
    }
  }
  for (const auto& entry : kUnsupportedV6) {
    if (path.size() > entry.name.size() && path.starts_with(entry.name) &&
        path[entry.name.size()] == '.') {
      return &entry;
    }
  }
  return nullptr;
}

const UnsupportedKey* find_unsupported_v6_channel_option(std::string_view option) {
  for (const auto& entry : kUnsupportedV6ChannelOptions) {
    if (entry.name == option) {
      return &entry;
    }
  }
  return nullptr;
}

std::span<const UnsupportedKey> unsupported_v6() { return kUnsupportedV6; }

Signal top_level_signal(std::string_view key, bool value_is_object) {
  auto in = [key](std::span<const std::string_view> keys) {
    return std::ranges::find(keys, key) != keys.end();
  };
  if (in(kV6OnlyBlocks)) {
    return Signal::kV6;
  }
  if (in(kReshapedKeys)) {
    return value_is_object ? Signal::kV6 : Signal::kV5;
  }
  if (in(kSharedKeys)) {
    return Signal::kNone;
  }
  for (const auto& spec : kGlobalKeys) {
    if (spec.name == key) {
      return Signal::kV5;
    }
  }
  for (std::string_view prefix : {kTokenPrefix, kSubscriptionTokenPrefix}) {
    if (key.starts_with(prefix)) {
      for (const auto& spec : kTokenKeys) {
        if (key.substr(prefix.size()) == spec.name) {
          return Signal::kV5;
        }
      }
    }
  }
  for (const auto& spec : kChannelKeys) {
    if (spec.name == key) {
      return Signal::kV5;
    }
  }
  if (find_unsupported(key) != nullptr || find_unsupported_channel_option(key) != nullptr) {
    return Signal::kV5;
  }
  return Signal::kNone;
}

}  // namespace gyre::config::schema
