// validate(): cross-key rules of a loaded Config (server-api.md §3.1, §4.1.1, §5.1-§5.2,
// reference.md §4, §7.7, §8). Every failure throws ConfigError naming the key.

#include <algorithm>
#include <charconv>
#include <set>

#include <unistd.h>

#include <fmt/format.h>
#include <re2/re2.h>

#include "config/internal.h"
#include "core/ascii.h"
#include "core/glob.h"
#include "config/loader.h"
#include "config/redis_address.h"
#include "config/schema.h"

namespace gyre::config {

namespace {

using internal::format_duration;

[[noreturn]] void fail(std::string_view key, std::string_view message) {
  throw ConfigError(fmt::format("config: key \"{}\": {}", key, message));
}

// The dot is allowed although Centrifugo's docs omit it: its code accepts it
// (reference.md §12.5).
bool is_valid_namespace_name(std::string_view name) {
  static const re2::RE2 kPattern("^[-a-zA-Z0-9_.]{2,}$");
  return re2::RE2::FullMatch(name, kPattern);
}

bool is_valid_claim_name(std::string_view name) {
  static const re2::RE2 kPattern("^[a-zA-Z_]+$");
  return re2::RE2::FullMatch(name, kPattern);
}

void validate_port(std::string_view key, const std::string& port) {
  int value = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value < 0 ||
      value > 65535) {
    fail(key, fmt::format("invalid port \"{}\" (expected a number 0-65535)", port));
  }
}

void validate_regex(const std::string& key, const std::string& pattern) {
  if (pattern.empty()) {
    return;
  }
  re2::RE2 re(pattern, re2::RE2::Quiet);
  if (!re.ok()) {
    fail(key, fmt::format("invalid regex \"{}\": {}", pattern, re.error()));
  }
}

void validate_token(const TokenConfig& token, std::string_view prefix) {
  auto key = [prefix](std::string_view field) { return fmt::format("{}{}", prefix, field); };
  if (!token.audience.empty() && !token.audience_regex.empty()) {
    fail(key("audience"), fmt::format("cannot be set together with {}", key("audience_regex")));
  }
  if (!token.issuer.empty() && !token.issuer_regex.empty()) {
    fail(key("issuer"), fmt::format("cannot be set together with {}", key("issuer_regex")));
  }
  validate_regex(key("audience_regex"), token.audience_regex);
  validate_regex(key("issuer_regex"), token.issuer_regex);
  if (!token.user_id_claim.empty() && !is_valid_claim_name(token.user_id_claim)) {
    fail(key("user_id_claim"),
         fmt::format("invalid claim name \"{}\" (must match ^[a-zA-Z_]+$)", token.user_id_claim));
  }
}

void require_whole_seconds(const std::string& key, Duration d) {
  if (d.count() % 1000 != 0) {
    fail(key, fmt::format("must be whole seconds, got {}", format_duration(d)));
  }
}

// `prefix` is "" for top-level options and "namespaces[i]." inside a namespace.
void validate_channel_options(const Config& config, const ChannelOptions& o,
                              const std::string& prefix) {
  auto key = [&prefix](std::string_view name) { return fmt::format("{}{}", prefix, name); };
  require_whole_seconds(key("history_ttl"), o.history_ttl);
  require_whole_seconds(key("history_meta_ttl"), o.history_meta_ttl);
  if (o.history_size < 0) {
    fail(key("history_size"), fmt::format("must not be negative, got {}", o.history_size));
  }
  if (o.history_ttl.count() < 0) {
    fail(key("history_ttl"),
         fmt::format("must not be negative, got {}", format_duration(o.history_ttl)));
  }
  if (o.history_meta_ttl.count() < 0) {
    fail(key("history_meta_ttl"),
         fmt::format("must not be negative, got {}", format_duration(o.history_meta_ttl)));
  }
  if ((o.history_size > 0) != (o.history_ttl.count() > 0)) {
    fail(key(o.history_size > 0 ? "history_ttl" : "history_size"),
         "history_size and history_ttl must be set together");
  }
  Duration meta_ttl = config.meta_ttl(o);
  if (o.history_ttl > meta_ttl) {
    fail(key("history_ttl"), fmt::format("{} exceeds the history meta TTL {}",
                                         format_duration(o.history_ttl),
                                         format_duration(meta_ttl)));
  }
  if (o.force_recovery && !o.history_enabled()) {
    fail(key("force_recovery"), "requires history (history_size and history_ttl)");
  }
  if (o.force_recovery_mode != "" && o.force_recovery_mode != "stream" &&
      o.force_recovery_mode != "cache") {
    fail(key("force_recovery_mode"),
         fmt::format("invalid value \"{}\" (expected \"stream\" or \"cache\")",
                     o.force_recovery_mode));
  }
  for (const auto& type : o.allowed_delta_types) {
    if (type != "fossil") {
      fail(key("allowed_delta_types"),
           fmt::format("unknown delta type \"{}\" (supported: fossil)", type));
    }
  }
  if (!o.channel_regex.empty() && o.channel_regex_compiled == nullptr) {
    validate_regex(key("channel_regex"), o.channel_regex);
  }
  // A stream proxy owns the subscription, so it cannot share a namespace with the
  // subscribe, publish or sub_refresh proxies (server-api.md §4.1.1).
  if (o.proxy_subscribe_stream &&
      (o.proxy_subscribe || o.proxy_publish || o.proxy_sub_refresh)) {
    fail(key("proxy_subscribe_stream"),
         "cannot be combined with proxy_subscribe, proxy_publish or proxy_sub_refresh");
  }
  if (!o.subscribe_stream_proxy_name.empty() &&
      (!o.subscribe_proxy_name.empty() || !o.publish_proxy_name.empty() ||
       !o.sub_refresh_proxy_name.empty())) {
    fail(key("subscribe_stream_proxy_name"),
         "cannot be combined with subscribe_proxy_name, publish_proxy_name or "
         "sub_refresh_proxy_name");
  }
}

// engine = "redis": one address, or several (client-side sharding), each parseable as
// Centrifugo parses it, and sane timeouts.
void validate_redis(const Config& config) {
  if (config.redis_address.empty()) {
    fail("redis_address", "at least one address is required with engine \"redis\"");
  }
  size_t url_clusters = 0;
  for (const auto& text : config.redis_address) {
    auto a = parse_redis_address(text);
    if (!a) {
      fail("redis_address", fmt::format("\"{}\": {}", text, a.error()));
    }
    if (a->mode == RedisAddress::Mode::kCluster) {
      ++url_clusters;
    }
    // Centrifugo v5.4.9 dials unix sockets without TLS even with redis_tls: refused here
    // rather than silently plain.
    if (!a->unix_path.empty() && config.redis_tls && config.redis_cluster_address.empty() &&
        config.redis_sentinel_address.empty()) {
      fail("redis_address", fmt::format("\"{}\": TLS over a unix socket is not supported "
                                        "(redis_tls is on)", text));
    }
  }
  // Gyre's engine is either all Redis Cluster or none (keys are hash-tagged for all shards).
  if (url_clusters > 0 && url_clusters != config.redis_address.size()) {
    fail("redis_address", "redis+cluster:// addresses cannot be mixed with other kinds");
  }
  if (url_clusters > 0 && config.redis_db != 0) {
    fail("redis_db", fmt::format("must be 0 with Redis Cluster (got {}): a cluster has only "
                                 "database 0", config.redis_db));
  }
  for (const auto& element : config.redis_cluster_address) {
    if (auto a = parse_host_port_list(element); !a) {
      fail("redis_cluster_address", a.error());
    }
  }
  if (!config.redis_cluster_address.empty() && config.redis_db != 0) {
    fail("redis_db", fmt::format("must be 0 with Redis Cluster (got {}): a cluster has only "
                                 "database 0", config.redis_db));
  }
  for (const auto& element : config.redis_sentinel_address) {
    if (auto a = parse_host_port_list(element); !a) {
      fail("redis_sentinel_address", a.error());
    }
  }
  if (!config.redis_sentinel_address.empty() && config.redis_sentinel_master_name.empty()) {
    fail("redis_sentinel_master_name", "must be set when using Redis Sentinel");
  }
  if (config.redis_db < 0) {
    fail("redis_db", fmt::format("must not be negative, got {}", config.redis_db));
  }
  if (config.redis_prefix.empty()) {
    fail("redis_prefix", "must not be empty");
  }
  if (config.redis_connect_timeout.count() <= 0) {
    fail("redis_connect_timeout", "must be positive");
  }
  if (config.redis_io_timeout.count() <= 0) {
    fail("redis_io_timeout", "must be positive");
  }
}

}  // namespace

// tls_autocert_* (docs/operations.md, ACME). The listener-side refusal comes last so the
// other mistakes are reported first.
void validate_autocert(const Config& config) {
  if (!config.tls_autocert) {
    return;
  }
  auto hosts = autocert_hosts(config);
  if (hosts.empty()) {
    fail("tls_autocert_host_whitelist",
         "required with tls_autocert: Gyre obtains a certificate at start-up for each listed "
         "host");
  }
  for (const auto& h : hosts) {
    bool ok = h.size() <= 253 && h.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") ==
                                     std::string::npos &&
              h.find("..") == std::string::npos && h.front() != '.' && h.front() != '-';
    if (!ok) {
      fail("tls_autocert_host_whitelist", fmt::format("\"{}\" is not a DNS name", h));
    }
  }
  if (config.tls_autocert_http) {
    const std::string& addr = config.tls_autocert_http_addr;
    size_t colon = addr.rfind(':');
    if (colon == std::string::npos) {
      fail("tls_autocert_http_addr",
           fmt::format("invalid address \"{}\" (expected host:port, e.g. \":80\")", addr));
    }
    validate_port("tls_autocert_http_addr", addr.substr(colon + 1));
  }
  const std::string& url = config.tls_autocert_directory_url;
  if (!url.starts_with("https://") && !url.starts_with("http://")) {
    fail("tls_autocert_directory_url", fmt::format("\"{}\" is not an http(s) URL", url));
  }
  if (!config.tls_autocert_directory_ca.empty() &&
      access(config.tls_autocert_directory_ca.c_str(), R_OK) != 0) {
    fail("tls_autocert_directory_ca",
         fmt::format("cannot read \"{}\"", config.tls_autocert_directory_ca));
  }
}

void validate(const Config& config) {
  validate_autocert(config);
  if (config.node_info_metrics_aggregate_interval.count() < 0) {
    fail("node_info_metrics_aggregate_interval",
         fmt::format("must not be negative, got {}",
                     format_duration(config.node_info_metrics_aggregate_interval)));
  }
  if (config.engine != schema::kSupportedEngine && config.engine != schema::kRedisEngine) {
    fail("engine", fmt::format("\"{}\" is not supported yet; supported: {}, {}", config.engine,
                               schema::kSupportedEngine, schema::kRedisEngine));
  }
  if (config.engine == schema::kRedisEngine) {
    validate_redis(config);
  }
  if (!config.broker.empty()) {
    fail("broker", fmt::format("\"{}\" is not supported yet; supported: none", config.broker));
  }
  validate_port("port", config.port);
  if (!config.internal_port.empty()) {
    validate_port("internal_port", config.internal_port);
  }
  if (config.gomaxprocs < 0) {
    fail("gomaxprocs", fmt::format("must not be negative, got {}", config.gomaxprocs));
  }
  if (config.api_error_mode != "" && config.api_error_mode != "transport") {
    fail("api_error_mode",
         fmt::format("invalid value \"{}\" (expected \"\" or \"transport\")",
                     config.api_error_mode));
  }
  // Zero or negative disables the ping or the pong wait; otherwise a pong must be due
  // before the next ping.
  if (config.ping_interval.count() > 0 && config.pong_timeout.count() > 0 &&
      config.ping_interval <= config.pong_timeout) {
    fail("ping_interval", fmt::format("must be greater than pong_timeout ({} <= {})",
                                      format_duration(config.ping_interval),
                                      format_duration(config.pong_timeout)));
  }
  if (config.client_max_messages_in_frame < -1) {
    fail("client_max_messages_in_frame",
         fmt::format("must be positive, 0 (default) or -1 (no limit), got {}",
                     config.client_max_messages_in_frame));
  }
  if (config.client_queue_max_size <= 0) {
    fail("client_queue_max_size",
         fmt::format("must be positive, got {}", config.client_queue_max_size));
  }
  if (config.channel_max_length <= 0) {
    fail("channel_max_length",
         fmt::format("must be positive, got {}", config.channel_max_length));
  }
  if (config.api_max_request_body_size <= 0) {
    fail("api_max_request_body_size",
         fmt::format("must be positive, got {}", config.api_max_request_body_size));
  }
  if (config.websocket_message_size_limit <= 0) {
    fail("websocket_message_size_limit",
         fmt::format("must be positive, got {}", config.websocket_message_size_limit));
  }
  // Centrifugo compiles every allowed_origins pattern (lower-cased) with gobwas/glob at
  // startup and refuses to start on an invalid one (reference.md §1.2).
  for (size_t i = 0; i < config.allowed_origins.size(); ++i) {
    if (!Glob::compile(ascii_lower(config.allowed_origins[i]))) {
      fail(fmt::format("allowed_origins[{}]", i),
           fmt::format("invalid glob pattern \"{}\"", config.allowed_origins[i]));
    }
  }
  // Proxy endpoints, names and transforms: config/proxies.cc (resolve_proxies, at load).
  require_whole_seconds("global_history_meta_ttl", config.global_history_meta_ttl);
  require_whole_seconds("global_presence_ttl", config.global_presence_ttl);

  validate_token(config.token, schema::kTokenPrefix);
  validate_token(config.subscription_token, schema::kSubscriptionTokenPrefix);

  validate_channel_options(config, config.channel, "");
  std::set<std::string_view> names;
  for (size_t i = 0; i < config.namespaces.size(); ++i) {
    const Namespace& ns = config.namespaces[i];
    std::string prefix = fmt::format("namespaces[{}].", i);
    if (!is_valid_namespace_name(ns.name)) {
      fail(prefix + "name", fmt::format("invalid namespace name \"{}\" (must match "
                                        "^[-a-zA-Z0-9_.]{{2,}}$)",
                                        ns.name));
    }
    if (!names.insert(ns.name).second) {
      fail(prefix + "name", fmt::format("duplicate namespace \"{}\"", ns.name));
    }
    validate_channel_options(config, ns.options, prefix);
  }

  const std::string& personal_ns = config.user_personal_channel_namespace;
  const ChannelOptions* personal = config.find_namespace(personal_ns);
  if (config.user_subscribe_to_personal && personal == nullptr) {
    fail("user_personal_channel_namespace",
         fmt::format("namespace \"{}\" is not defined in namespaces", personal_ns));
  }
  if (config.user_personal_single_connection) {
    if (personal == nullptr) {
      fail("user_personal_channel_namespace",
           fmt::format("namespace \"{}\" is not defined in namespaces", personal_ns));
    }
    if (!personal->presence) {
      fail("user_personal_single_connection",
           personal_ns.empty()
               ? std::string("requires presence for channels without namespace")
               : fmt::format("requires presence in namespace \"{}\"", personal_ns));
    }
  }
}

}  // namespace gyre::config
