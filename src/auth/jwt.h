#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/jwks.h"
#include "config/config.h"

// JWT verification of connection and subscription tokens, exactly as Centrifugo v5.4
// (server-api.md §3). The verifier is immutable after construction and thread-safe; a
// config reload builds a new one.
namespace gyre::auth {

enum class TokenError {
  kInvalid,         // -> connect: disconnect 3500; subscribe: error 103
  kExpired,         // -> connect: error 109; subscribe: error 109; refresh: disconnect 3005
  kUnknownChannel,  // a channel of subs/channels (or a sub token channel) has no namespace -> 102
  kInternal,        // e.g. bad top-level b64info in a connection token -> 100
  kKeysNeeded,      // JWKS: the token's key is not cached; fetch it (JwksFetch) and retry
};

// Presence of a field is what overrides (server-api.md §1.6 BoolValue).
struct SubscribeOptionOverride {
  std::optional<bool> presence;
  std::optional<bool> join_leave;
  std::optional<bool> force_push_join_leave;
  std::optional<bool> force_recovery;
  std::optional<bool> force_positioning;
};

// Options of one server-side subscription from a connection token's `subs`.
struct SubscribeOptions {
  std::string info;  // raw JSON bytes, or decoded b64info (b64info wins when non-empty)
  std::string data;  // raw JSON bytes, or decoded b64data
  SubscribeOptionOverride override;
};

struct ConnectClaims {
  std::string user;                    // sub (or token_user_id_claim)
  std::optional<int64_t> exp;          // seconds (fraction truncated)
  std::optional<int64_t> expire_at;    // present key -> overrides exp for the expiry
  std::string info;                    // raw JSON or decoded b64info; empty = none
  std::string meta;                    // raw JSON; empty = none
  // Server-side subscriptions: `subs` when non-empty, else `channels` (with default
  // options), in token order. Namespaces are checked against the config (-> kUnknownChannel).
  std::vector<std::pair<std::string, SubscribeOptions>> subs;

  // Connection expiry in Unix seconds, 0 = never: expire_at if present (<= 0 -> 0), else exp.
  int64_t expires_at() const;
};

struct SubscribeClaims {
  std::string user;
  std::string channel;
  std::string client;  // deprecated claim; must equal the client id when non-empty
  std::optional<int64_t> exp;
  std::optional<int64_t> expire_at;
  std::string info;
  std::string data;
  SubscribeOptionOverride override;

  int64_t expires_at() const;
};

class Verifier {
 public:
  // `token` is the TokenConfig for this kind of token; the Config supplies namespaces
  // (for kUnknownChannel) and client_insecure_skip_token_signature_verify.
  // Throws std::runtime_error on an unusable key (bad PEM, bad regex) naming the key.
  Verifier(const config::TokenConfig& token, std::shared_ptr<const config::Config> cfg);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // `now` is Unix time in seconds (fractional; nbf/exp are compared with sub-second precision).
  // With JWKS, a token whose key is not cached yields kKeysNeeded and fills `*fetch` when
  // `fetch` is given (the caller fetches the set, store_jwks(), then verifies again without
  // `fetch`); with no `fetch` a missing key is kInvalid.
  std::expected<ConnectClaims, TokenError> verify_connect(std::string_view token, double now,
                                                          JwksFetch* fetch = nullptr) const;
  std::expected<SubscribeClaims, TokenError> verify_subscribe(std::string_view token, double now,
                                                              JwksFetch* fetch = nullptr) const;

  bool uses_jwks() const;
  // Parses a fetched JWK Set body and caches its `use: sig` keys. True when the set held the
  // fetched kid. Thread-safe.
  bool store_jwks(const JwksFetch& fetch, std::string_view body) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HS256 token for `payload_json` (gentoken / gensubtoken / tests).
std::string make_hs256_token(std::string_view secret, std::string_view payload_json);

}  // namespace gyre::auth
