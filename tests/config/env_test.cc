// Tests for {$ENV} substitution.
#include "config/env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace holdfast::config {
namespace {

class EnvSubstitution : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("HOLDFAST_TEST_UPSTREAM", "10.0.0.1", 1); }
  void TearDown() override { ::unsetenv("HOLDFAST_TEST_UPSTREAM"); }
};

TEST_F(EnvSubstitution, ReplacesASetVariable) {
  EXPECT_EQ(substitute_env("{$HOLDFAST_TEST_UPSTREAM}"), "10.0.0.1");
}

TEST_F(EnvSubstitution, ReplacesAnUnsetVariableWithNothing) {
  EXPECT_EQ(substitute_env("a{$HOLDFAST_TEST_UNSET_VARIABLE}b"), "ab");
}

TEST_F(EnvSubstitution, ReplacesEveryOccurrenceInsideAToken) {
  EXPECT_EQ(substitute_env("{$HOLDFAST_TEST_UPSTREAM}:{$HOLDFAST_TEST_UPSTREAM}"),
            "10.0.0.1:10.0.0.1");
  EXPECT_EQ(substitute_env("dns://{$HOLDFAST_TEST_UPSTREAM}:53"), "dns://10.0.0.1:53");
}

TEST_F(EnvSubstitution, LeavesTextWithoutAClosingBraceAlone) {
  EXPECT_EQ(substitute_env("{$HOLDFAST_TEST_UPSTREAM"), "{$HOLDFAST_TEST_UPSTREAM");
}

TEST_F(EnvSubstitution, LeavesOtherPlaceholdersAlone) {
  EXPECT_EQ(substitute_env("{combined} {$} {%HOLDFAST_TEST_UPSTREAM%}"),
            "{combined} {$} {%HOLDFAST_TEST_UPSTREAM%}");
}

}  // namespace
}  // namespace holdfast::config
