// holdfastctl's tables and formats, from canned results in the documented schemas.
#include "holdfastctl/render.h"

#include <gtest/gtest.h>

#include "holdfastctl/table.h"

namespace holdfast::ctl {
namespace {

using nlohmann::json;

const json kStats = json::parse(R"({
  "version": "0.1.0", "uptime_seconds": 273125, "queries_total": 1234567,
  "queries_per_second": 812.44, "cache_hit_ratio": 0.9731, "stale_ratio": 0.004,
  "stale_mode": "auto",
  "blocks": [
    {"name": "cluster.local:53", "cache_entries": 12034, "circuit": "closed", "degraded": false,
     "queue_length": 0, "inflight": 3,
     "upstreams": [{"address": "10.96.0.10:53", "state": "up"},
                   {"address": "10.96.0.11:53", "state": "down"}]},
    {"name": ".:53", "cache_entries": 5032, "circuit": "open", "degraded": true,
     "queue_length": 12, "inflight": 0,
     "upstreams": [{"address": "1.1.1.1:53", "state": "forced-down"}]}
  ],
  "store": {"state": "ok", "entries": 48213, "bytes": 222717542, "map_size": 1073741824,
            "flush_lag_ms": 120}
})");

TEST(Table, AlignsColumnsAndDropsTrailingSpaces) {
  Table table({{"NAME"}, {"COUNT", Align::kRight}, {"NOTE"}});
  table.add_row({"a", "1", ""});
  table.add_row({"longer", "12345", "x"});
  table.add_note("detail line");
  EXPECT_EQ(table.render(),
            "NAME    COUNT  NOTE\n"
            "a           1\n"
            "longer  12345  x\n"
            "    detail line\n");
}

TEST(Format, DurationsPickTheTwoLargestUnits) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(45), "45s");
  EXPECT_EQ(format_duration(750), "12m30s");
  EXPECT_EQ(format_duration(3 * 3600 + 4 * 60 + 59), "3h04m");
  EXPECT_EQ(format_duration(273125), "3d03h");
  EXPECT_EQ(format_duration(-120), "-2m00s");
}

TEST(Format, BytesUseBinaryUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(1073741824), "1.0 GiB");
  EXPECT_EQ(format_ratio(0.9731), "97.3 %");
}

TEST(Format, CellTextNeverThrowsOnMissingOrMistypedFields) {
  const json entry = json::parse(R"({"s": "x", "i": 3, "f": 0.25, "b": true, "n": null})");
  EXPECT_EQ(text(entry, "s"), "x");
  EXPECT_EQ(text(entry, "i"), "3");
  EXPECT_EQ(text(entry, "f"), "0.2");
  EXPECT_EQ(text(entry, "b"), "yes");
  EXPECT_EQ(text(entry, "n"), "-");
  EXPECT_EQ(text(entry, "missing"), "-");
  EXPECT_EQ(text(json::array(), "s"), "-");
  EXPECT_EQ(duration_text(entry, "s"), "-");
  EXPECT_TRUE(array_field(entry, "s").empty());
}

TEST(RenderStats, FitsRatesStoreAndEveryBlockOnOneScreen) {
  EXPECT_EQ(render_stats(kStats),
            "holdfast 0.1.0, up 3d03h\n"
            "queries  1234567 total, 812.4 q/s\n"
            "cache    hit 97.3 %, stale 0.4 %, stale mode auto\n"
            "store    ok, 48213 entries, 212.4 MiB of 1.0 GiB (20.7 %), flush lag 120 ms\n"
            "\n"
            "BLOCK             ENTRIES  CIRCUIT  DEGRADED  QUEUE  IN-FLIGHT  UPSTREAM       STATE\n"
            "cluster.local:53    12034  closed   no            0          3  10.96.0.10:53  up\n"
            "                                                                10.96.0.11:53  down\n"
            ".:53                 5032  open     yes          12          0  1.1.1.1:53     "
            "forced-down\n");
}

TEST(RenderStats, ShowsDashesForWhatTheDaemonLeftOut) {
  const std::string out = render_stats(json::parse(R"({"blocks": [{"name": "b"}]})"));
  EXPECT_NE(out.find("holdfast -, up -\n"), std::string::npos) << out;
  EXPECT_NE(out.find("store    -, - entries, size -, flush lag -\n"), std::string::npos) << out;
  EXPECT_NE(out.find("b            -  -        -             -          -  -         -\n"),
            std::string::npos)
      << out;
}

TEST(RenderLookup, ListsEachEntryWithItsRecordsBelowIt) {
  const json result = json::parse(R"({"name": "www.example.com.", "type": "A", "entries": [
    {"block": ".:53", "source": "memory", "state": "fresh", "age_seconds": 12,
     "ttl_left_seconds": 288, "rcode": "NOERROR", "pinned": false,
     "records": ["www.example.com. 288 IN A 93.184.216.34"]},
    {"block": ".:53", "source": "store", "state": "stale", "age_seconds": 4000,
     "ttl_left_seconds": -3700, "rcode": "NOERROR", "pinned": true, "records": []}]})");
  EXPECT_EQ(render_lookup(result),
            "www.example.com. A\n"
            "BLOCK  SOURCE  STATE    AGE  TTL LEFT  RCODE    PINNED\n"
            ".:53   memory  fresh    12s     4m48s  NOERROR  no\n"
            "    www.example.com. 288 IN A 93.184.216.34\n"
            ".:53   store   stale  1h06m    -1h01m  NOERROR  yes\n");
}

TEST(RenderLookup, SaysWhenNothingIsCached) {
  EXPECT_EQ(render_lookup(json::parse(R"({"name": "x.", "type": "AAAA", "entries": []})")),
            "x. AAAA: not in the cache\n");
}

TEST(RenderDump, CountsEntriesAndStaleOnes) {
  const json result = json::parse(R"({"entries": [
    {"block": ".:53", "name": "a.example.", "type": "A", "state": "fresh",
     "ttl_left_seconds": 30, "rcode": "NOERROR", "pinned": false},
    {"block": ".:53", "name": "b.example.", "type": "AAAA", "state": "stale",
     "ttl_left_seconds": -90, "rcode": "NXDOMAIN", "pinned": true}]})");
  EXPECT_EQ(render_dump(result),
            "BLOCK  NAME        TYPE  STATE  TTL LEFT  RCODE     PINNED\n"
            ".:53   a.example.  A     fresh       30s  NOERROR   no\n"
            ".:53   b.example.  AAAA  stale    -1m30s  NXDOMAIN  yes\n"
            "2 entries, 1 stale\n");
  EXPECT_EQ(render_dump(json::parse(R"({"entries": []})")), "no entries\n");
}

TEST(RenderUpstreams, ShowsStateFailuresAndCircuit) {
  const json result = json::parse(R"({"upstreams": [
    {"block": ".:53", "address": "10.96.0.10:53", "state": "up", "consecutive_failures": 0,
     "circuit": "closed"},
    {"block": ".:53", "address": "10.96.0.11:53", "state": "forced-down",
     "consecutive_failures": 17, "circuit": "closed"}]})");
  EXPECT_EQ(render_upstreams(result),
            "BLOCK  ADDRESS        STATE        FAILURES  CIRCUIT\n"
            ".:53   10.96.0.10:53  up                  0  closed\n"
            ".:53   10.96.0.11:53  forced-down        17  closed\n");
}

TEST(RenderResult, PicksTheRendererByCommand) {
  EXPECT_EQ(render_result("flush", json::parse(R"({"removed": 1})")), "removed 1 entry\n");
  EXPECT_EQ(render_result("flush", json::parse(R"({"removed": 40})")), "removed 40 entries\n");
  EXPECT_EQ(render_result("pin", json::parse(R"({"name": "a.", "type": "A", "pinned": true})")),
            "a. A is pinned\n");
  EXPECT_EQ(render_result("unpin", json::parse(R"({"name": "a.", "type": "A", "pinned": false})")),
            "a. A is not pinned\n");
  EXPECT_EQ(render_result("stale-mode", json::parse(R"({"mode": "force"})")),
            "stale mode: force\n");
  EXPECT_EQ(render_result("snapshot-export",
                          json::parse(R"({"file": "/tmp/s", "entries": 3, "bytes": 2048})")),
            "exported 3 entries (2.0 KiB) to /tmp/s\n");
  EXPECT_EQ(render_result("snapshot-import",
                          json::parse(R"({"file": "/tmp/s", "imported": 2, "skipped_fresher": 1,
                                          "rejected": 0})")),
            "imported 2 entries from /tmp/s; 1 skipped (fresher in the cache), 0 rejected\n");
}

}  // namespace
}  // namespace holdfast::ctl
