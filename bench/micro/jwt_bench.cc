#include <benchmark/benchmark.h>

#include "auth/jwt.h"

namespace {

void BM_JwtVerifyHs256(benchmark::State& state) {
  auto cfg = std::make_shared<gyre::config::Config>();
  cfg->token.hmac_secret_key = "secret";
  auto shared = std::shared_ptr<const gyre::config::Config>(cfg);
  gyre::auth::Verifier v(shared->token, shared);
  // server-api.md §3.6 Example A.
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6NDEwMjQ0NDgwMCwiaW5mbyI6eyJu"
      "YW1lIjoiQWxpY2UifX0.E1L7LumGehBw9ztjyg2t8yOUpuaHeLOxJnwAZZMCmg0";
  for (auto _ : state) {
    auto r = v.verify_connect(token, 1.7e9);
    benchmark::DoNotOptimize(r.has_value());
  }
}
BENCHMARK(BM_JwtVerifyHs256);

}  // namespace
