// Shared by the DNS fuzz targets: invariant checks that stop the run on a broken promise.
#pragma once

#include <cstdio>
#include <cstdlib>

// Not assert(): it must stay on in release builds, and report where it fired.
#define HOLDFAST_FUZZ_CHECK(cond)                                                            \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
