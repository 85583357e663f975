// The headers server/ is built from must not pull in the C libraries' headers: lmdb.h stays
// inside cache/lmdb_env.cc and ares.h inside upstream/ares_channel.cc (STYLE.md: raw handles stay
// out of headers other modules include). This file fails to compile when one leaks back.
#include "server/admin_commands.h"
#include "server/query_pipeline.h"
#include "server/reloader.h"
#include "server/server.h"

#ifdef MDB_VERSION_MAJOR
#error "lmdb.h reached server/ through a header: declare MDB_* in cache/lmdb_env.h instead"
#endif
#ifdef ARES_SUCCESS
#error "ares.h reached server/ through a header: keep it in upstream/ares_channel.cc"
#endif

#include <gtest/gtest.h>

namespace {

TEST(HeaderHygiene, ServerHeadersCompileWithoutLmdbAndAresHeaders) {
  // The check is the #ifdefs above, at compile time; reaching here means they held.
  SUCCEED();
}

}  // namespace
