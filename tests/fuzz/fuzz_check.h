#pragma once

#include <cstdio>
#include <cstdlib>

// A failed check in a libFuzzer target: print it and abort, so libFuzzer saves the input.
#define GYRE_FUZZ_CHECK(cond)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
