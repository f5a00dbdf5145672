// constant_time_equal (API key and HMAC signature checks): a mismatch in the first byte must
// cost the same as one in the last byte. Compare BM_ConstantTimeEqual/first and /last (and
// memcmp's, which returns early, for contrast).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "core/constant_time.h"

namespace {

std::string key(size_t n) { return std::string(n, 'k'); }

void BM_ConstantTimeEqual(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::string a = key(n);
  std::string b = key(n);
  b[state.range(1) == 0 ? 0 : n - 1] = 'x';
  for (auto _ : state) {
    benchmark::DoNotOptimize(gyre::constant_time_equal(a, b));
  }
}
BENCHMARK(BM_ConstantTimeEqual)->ArgNames({"len", "mismatch_at_end"})->Args({64, 0})->Args({64, 1})->Args({4096, 0})->Args({4096, 1});

void BM_Memcmp(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::string a = key(n);
  std::string b = key(n);
  b[state.range(1) == 0 ? 0 : n - 1] = 'x';
  for (auto _ : state) {
    benchmark::DoNotOptimize(std::memcmp(a.data(), b.data(), n));
  }
}
BENCHMARK(BM_Memcmp)->ArgNames({"len", "mismatch_at_end"})->Args({4096, 0})->Args({4096, 1});

}  // namespace
