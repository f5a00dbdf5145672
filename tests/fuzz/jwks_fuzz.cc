// libFuzzer target: JWK Set parsing and JWKS-verified tokens (server-api.md §3.4).
//
// The input is used three ways:
//  1. as a JWK Set body (parse_jwk_set: JSON, key types, base64url key material, OpenSSL
//     key construction), then every parsed key verifies a fixed token;
//  2. as a body stored in a JWKS verifier's cache, then a token whose kid the set may hold;
//  3. as a token checked by a JWKS verifier (header kid, regex template variables, URL).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/jwks.h"
#include "auth/jwt.h"
#include "config/config.h"

namespace {

using gyre::auth::JwksFetch;
using gyre::auth::Verifier;

constexpr double kNow = 1700000000.5;

struct State {
  std::shared_ptr<gyre::config::Config> cfg = std::make_shared<gyre::config::Config>();
  std::unique_ptr<Verifier> v;
  State() {
    cfg->token.jwks_public_endpoint = "http://127.0.0.1:1/{{tenant}}/keys";
    cfg->token.issuer_regex = "^https://idp/(?P<tenant>[a-z]*)";
    v = std::make_unique<Verifier>(cfg->token, cfg);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static State state;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto set = gyre::auth::parse_jwk_set(input);
  if (set) {
    for (const auto& key : *set) {
      (void)key->verify("RS256", "eyJhbGciOiJSUzI1NiJ9.e30", "signature");
      (void)key->verify("ES256", "eyJhbGciOiJFUzI1NiJ9.e30", std::string(64, '\1'));
      (void)key->verify("EdDSA", "eyJhbGciOiJFZERTQSJ9.e30", std::string(64, '\2'));
    }
  }

  JwksFetch fetch{"http://127.0.0.1:1/x/keys", "k1"};
  (void)state.v->store_jwks(fetch, input);
  // {"alg":"RS256","kid":"k1"} . {"sub":"1","iss":"https://idp/acme"} . "sig"
  (void)state.v->verify_connect(
      "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiIxIiwiaXNzIjoiaHR0cHM6Ly9pZHAvYWNtZSJ9.c2ln",
      kNow);

  JwksFetch need;
  auto r = state.v->verify_connect(input, kNow, &need);
  (void)r;
  (void)gyre::auth::expand_jwks_url(input, {{"tenant", "acme"}, {"", "x"}});
  return 0;
}
