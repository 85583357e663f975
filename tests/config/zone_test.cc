// Tests for zone normalisation.
#include "config/zone.h"

#include <gtest/gtest.h>

namespace holdfast::config {
namespace {

TEST(Zone, LowerCasesAndAddsTheTrailingDot) {
  EXPECT_EQ(normalize_zone("Cluster.Local"), "cluster.local.");
  EXPECT_EQ(normalize_zone("in-addr.arpa."), "in-addr.arpa.");
}

TEST(Zone, TreatsEmptyAndDotAsTheRoot) {
  EXPECT_EQ(normalize_zone(""), ".");
  EXPECT_EQ(normalize_zone("."), ".");
}

TEST(Zone, RejectsEmptyAndOverlongLabels) {
  EXPECT_FALSE(normalize_zone("a..b"));
  EXPECT_FALSE(normalize_zone(".a"));
  EXPECT_FALSE(normalize_zone("a.."));
  EXPECT_FALSE(normalize_zone(std::string(64, 'a') + ".example"));
  EXPECT_TRUE(normalize_zone(std::string(63, 'a') + ".example"));
}

TEST(Zone, RejectsNamesOver253Characters) {
  std::string name;
  while (name.size() < 250) name += "abcdefghi.";
  EXPECT_FALSE(normalize_zone(name + "abcd"));
}

TEST(Zone, RejectsCharactersThatBelongToOtherSyntax) {
  for (const char* text : {"a b", "10.0.0.0/8", "a:53", "[x]", "a@b", "a\"b"}) {
    EXPECT_FALSE(normalize_zone(text)) << text;
  }
}

}  // namespace
}  // namespace holdfast::config
