// libFuzzer target: connection and subscription JWT verification (server-api.md §3).
//
// The input is tried twice:
//  1. as a whole token (segment splitting, base64url, header JSON, signature check);
//  2. as the claims JSON of a correctly signed HS256 token (make_hs256_token), so that the
//     claim decoder (exp/nbf/aud/iss, info/b64info, channels/subs, overrides) is reached.
// Three verifiers differ in what the claims must satisfy: none; audience + issuer regex +
// custom user id claim; signature skipped (client_insecure_skip_token_signature_verify).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "auth/jwt.h"
#include "config/config.h"
#include "fuzz_check.h"

namespace {

using gyre::auth::TokenError;
using gyre::auth::Verifier;

constexpr std::string_view kSecret = "secret";
// 2023-11-14, as in the unit tests: after 2001 (expired examples), before 2100.
constexpr double kNow = 1700000000.5;

struct Verifiers {
  std::shared_ptr<gyre::config::Config> plain = std::make_shared<gyre::config::Config>();
  std::shared_ptr<gyre::config::Config> strict = std::make_shared<gyre::config::Config>();
  std::shared_ptr<gyre::config::Config> insecure = std::make_shared<gyre::config::Config>();
  std::unique_ptr<Verifier> v[3];

  Verifiers() {
    for (auto* cfg : {&plain, &strict, &insecure}) {
      (*cfg)->token.hmac_secret_key = std::string(kSecret);
      (*cfg)->namespaces.push_back({"personal", {}});
      (*cfg)->namespaces.push_back({"chat", {}});
    }
    strict->token.audience = "gyre";
    strict->token.issuer_regex = "^https://[a-z]+\\.example\\.com$";
    strict->token.user_id_claim = "user_id";
    insecure->client_insecure_skip_token_signature_verify = true;
    v[0] = std::make_unique<Verifier>(plain->token, plain);
    v[1] = std::make_unique<Verifier>(strict->token, strict);
    v[2] = std::make_unique<Verifier>(insecure->token, insecure);
  }
};

const Verifiers& verifiers() {
  static const Verifiers* v = new Verifiers();  // leaked on purpose: outlives every run
  return *v;
}

void verify(const Verifier& v, std::string_view token) {
  auto c = v.verify_connect(token, kNow);
  if (c) {
    // An accepted token has not expired: exp > now, no leeway (server-api.md §3.5).
    // expire_at is not checked here: the session applies it.
    GYRE_FUZZ_CHECK(c->expire_at || !c->exp || static_cast<double>(*c->exp) > kNow - 1);
  }
  auto s = v.verify_subscribe(token, kNow);
  if (s) {
    GYRE_FUZZ_CHECK(!s->channel.empty());  // required claim (server-api.md §3.5)
    GYRE_FUZZ_CHECK(s->expire_at || !s->exp || static_cast<double>(*s->exp) > kNow - 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Verifiers& vs = verifiers();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const auto& v : vs.v) {
    verify(*v, input);
  }
  std::string token = gyre::auth::make_hs256_token(kSecret, input);
  for (const auto& v : vs.v) {
    verify(*v, token);
  }
  return 0;
}
