#pragma once

#include <chrono>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct evp_pkey_st;

// JSON Web Key Sets for token verification (server-api.md §3.4): parsing a set, the key cache
// shared by all shards, and URL templating from issuer/audience regex groups.
namespace gyre::auth {

// One public key of a JWK Set that Gyre can verify with.
struct Jwk {
  Jwk() = default;
  ~Jwk();
  Jwk(const Jwk&) = delete;
  Jwk& operator=(const Jwk&) = delete;

  std::string kid;
  std::string kty;  // "RSA", "EC" or "OKP"
  std::string alg;  // the key's algorithm; the token's header alg must equal it
  std::string use;
  evp_pkey_st* key = nullptr;

  // The token's alg must be the key's (RS*/ES* from the JWK, EdDSA for OKP keys).
  bool verify(std::string_view token_alg, std::string_view signing_input,
              std::string_view signature) const;
};

// Parses `{"keys":[JWK,...]}`. Any key that cannot be converted fails the whole set, as in
// Centrifugo (rakutentech/jwk-go ToJWK). An unsupported kty converts to a key without
// material (verification with it fails). Returns the keys in document order.
std::expected<std::vector<std::shared_ptr<const Jwk>>, std::string> parse_jwk_set(
    std::string_view body);

// Replaces each `{{name}}` in `url` with vars[name] (empty when missing), as fasttemplate does.
std::string expand_jwks_url(std::string_view url, const std::map<std::string, std::string>& vars);

// Keys by kid with a TTL (1 hour in Centrifugo). Thread-safe.
class JwksCache {
 public:
  explicit JwksCache(std::chrono::seconds ttl = std::chrono::hours(1)) : ttl_(ttl) {}

  std::shared_ptr<const Jwk> find(std::string_view kid) const;
  // Stores every key of `set` with use "sig". Returns the key for `kid` if the set had it.
  std::shared_ptr<const Jwk> store(const std::vector<std::shared_ptr<const Jwk>>& set,
                                   std::string_view kid);

 private:
  struct Entry {
    std::shared_ptr<const Jwk> key;
    std::chrono::steady_clock::time_point expires;
  };
  std::chrono::seconds ttl_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> keys_;
};

// A key the verifier needs fetched before it can decide (server-api.md §3.4).
struct JwksFetch {
  std::string url;  // templated endpoint
  std::string kid;
};

}  // namespace gyre::auth
