// constant_time_equal (API key and HMAC signature checks): a mismatch in the first byte must
// cost the same as one in the last byte. Compare BM_ConstantTimeEqual/first and /last (and
// memcmp's, which returns early, for contrast).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "core/constant_time.h"

namespace {

// Compares two len-byte strings that differ in their first byte (mismatch_at_end 0) or last.
template <bool kConstantTime>
void BM_Compare(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::string a(n, 'k');
  std::string b(n, 'k');
  b[state.range(1) == 0 ? 0 : n - 1] = 'x';
  for (auto _ : state) {
    if constexpr (kConstantTime) {
      benchmark::DoNotOptimize(gyre::constant_time_equal(a, b));
    } else {
      benchmark::DoNotOptimize(std::memcmp(a.data(), b.data(), n));
    }
  }
}
void BM_ConstantTimeEqual(benchmark::State& state) { BM_Compare<true>(state); }
void BM_Memcmp(benchmark::State& state) { BM_Compare<false>(state); }
BENCHMARK(BM_ConstantTimeEqual)
    ->ArgNames({"len", "mismatch_at_end"})
    ->Args({64, 0})
    ->Args({64, 1})
    ->Args({4096, 0})
    ->Args({4096, 1});
BENCHMARK(BM_Memcmp)->ArgNames({"len", "mismatch_at_end"})->Args({4096, 0})->Args({4096, 1});

}  // namespace
