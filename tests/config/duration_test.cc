// Tests for Go-style durations.
#include "config/duration.h"

#include <gtest/gtest.h>

namespace holdfast::config {
namespace {

using std::chrono::milliseconds;

TEST(Duration, ParsesEachUnit) {
  EXPECT_EQ(parse_duration("100ms"), milliseconds(100));
  EXPECT_EQ(parse_duration("30s"), milliseconds(30'000));
  EXPECT_EQ(parse_duration("5m"), milliseconds(300'000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(parse_duration("2000000ns"), milliseconds(2));
  EXPECT_EQ(parse_duration("3000us"), milliseconds(3));
  EXPECT_EQ(parse_duration("4000\xC2\xB5s"), milliseconds(4));
}

TEST(Duration, ParsesSequencesAndFractions) {
  EXPECT_EQ(parse_duration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(parse_duration("1m0.5s"), milliseconds(60'500));
  EXPECT_EQ(parse_duration("1.5h"), milliseconds(5'400'000));
  EXPECT_EQ(parse_duration(".3s"), milliseconds(300));
  EXPECT_EQ(parse_duration("0.3s"), milliseconds(300));
}

TEST(Duration, AcceptsABareZeroOnly) {
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
  EXPECT_FALSE(parse_duration("30"));
}

TEST(Duration, RejectsMalformedText) {
  for (const char* text : {"", "s", "1x", "5mx", "-1s", "+1s", "1.s.", "1 s", "1d", ".s"}) {
    EXPECT_FALSE(parse_duration(text)) << text;
  }
}

TEST(Duration, RejectsValuesPastOneHundredYears) {
  EXPECT_FALSE(parse_duration("1000000h"));
  EXPECT_FALSE(parse_duration("99999999999999999999999s"));
}

TEST(Duration, FormatsLikeGo) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(milliseconds(1'500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(30'000)), "30s");
  EXPECT_EQ(format_duration(milliseconds(300'000)), "5m");
  EXPECT_EQ(format_duration(milliseconds(5'430'000)), "1h30m30s");
}

}  // namespace
}  // namespace holdfast::config
