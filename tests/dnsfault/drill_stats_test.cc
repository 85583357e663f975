// The drill's figures: percentiles, availability, worst second, outage latency, recovery peak;
// and what the reports make of them.
#include "drill_stats.h"

#include <gtest/gtest.h>

#include "dns/message.h"
#include "names.h"
#include "report.h"

namespace holdfast::dnsfault {
namespace {

SecondCounts counts(std::uint64_t sent, std::uint64_t data, std::uint64_t stale,
                    std::uint64_t servfail, std::uint64_t timeouts) {
  SecondCounts c;
  c.sent = sent;
  c.noerror_data = data;
  c.stale = stale;
  c.servfail = servfail;
  c.timeouts = timeouts;
  return c;
}

Series three_seconds() {
  Series s;
  s.role = "target";
  s.address = "127.0.0.1:5300";
  s.seconds = {counts(10, 10, 0, 0, 0), counts(10, 2, 3, 1, 4), counts(10, 10, 0, 0, 0)};
  s.latencies_ms = {std::vector<float>(10, 1.0f),
                    {1, 1, 1, 1, 1, 1, 2000, 2000, 2000, 2000},
                    std::vector<float>(10, 2.0f)};
  return s;
}

std::vector<Phase> outage_in_second_one() {
  return {Phase{0, 1000, "pass", "pass", false}, Phase{1000, 2000, "outage", "blackhole", true},
          Phase{2000, 3000, "pass", "pass", false}};
}

TEST(Latency, NearestRankPercentiles) {
  std::vector<float> samples;
  for (int i = 100; i >= 1; --i) samples.push_back(static_cast<float>(i));
  const LatencySummary l = summarize_latency(samples);
  EXPECT_EQ(l.samples, 100u);
  EXPECT_DOUBLE_EQ(l.p50_ms, 50);
  EXPECT_DOUBLE_EQ(l.p99_ms, 99);
  EXPECT_DOUBLE_EQ(l.max_ms, 100);
  std::vector<float> one = {3};
  EXPECT_DOUBLE_EQ(summarize_latency(one).p99_ms, 3);
  std::vector<float> none;
  EXPECT_EQ(summarize_latency(none).samples, 0u);
}

TEST(Summary, CountsAddUpAndFindTheWorstSecond) {
  const Summary s = summarize(three_seconds(), outage_in_second_one());
  EXPECT_EQ(s.totals.sent, 30u);
  EXPECT_EQ(s.totals.answered() + s.totals.failed() + s.totals.timeouts, s.totals.sent);
  EXPECT_NEAR(s.availability_pct, 100.0 * 25 / 30, 1e-9);
  EXPECT_NEAR(s.stale_pct, 10.0, 1e-9);
  ASSERT_TRUE(s.worst_second);
  EXPECT_EQ(*s.worst_second, 1u);
  EXPECT_NEAR(s.worst_availability_pct, 50.0, 1e-9);
  EXPECT_DOUBLE_EQ(s.outage_latency.p99_ms, 2000);  // timeouts count as the timeout
  EXPECT_FALSE(s.outage_is_whole_run);
  EXPECT_DOUBLE_EQ(s.per_second[2].p50_ms, 2);
}

TEST(Summary, WithoutFaultPhasesTheOutageIsTheWholeRun) {
  const Summary s = summarize(three_seconds(), {});
  EXPECT_TRUE(s.outage_is_whole_run);
  EXPECT_EQ(s.outage_latency.samples, 30u);
}

TEST(SecondsIn, TakesTheSecondsThatStartInside) {
  EXPECT_EQ(seconds_in(0, 3000, 10), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(seconds_in(1500, 3000, 10), (std::vector<std::size_t>{2}));
  EXPECT_EQ(seconds_in(1000, 2500, 2), (std::vector<std::size_t>{1}));
}

TEST(Recovery, PeaksAfterTheLongestFaultPhase) {
  const std::vector<Phase> phases = {Phase{0, 1000, "a", "delay 5", true},
                                     Phase{1000, 4000, "b", "blackhole", true},
                                     Phase{4000, 8000, "c", "pass", false}};
  const std::vector<std::optional<std::uint64_t>> qps = {900, 5, 5, 5, 300, 450, std::nullopt, 20};
  const Recovery r = find_recovery(phases, qps);
  EXPECT_EQ(r.start_ms, 4000u);
  EXPECT_EQ(r.peak_qps, 450u);
  EXPECT_EQ(r.peak_second, 5u);
  EXPECT_FALSE(find_recovery({}, qps).start_ms);
}

DrillReport small_report() {
  DrillReport r;
  r.config.target = "127.0.0.1:5300";
  r.config.baseline = "127.0.0.1:5301";
  r.config.rate_qps = 10;
  r.config.duration_ms = 3000;
  r.config.timeout_ms = 2000;
  r.config.schedule = "s&<chedule>";
  r.phases = outage_in_second_one();
  r.target = three_seconds();
  r.target_summary = summarize(r.target, r.phases);
  r.baseline = three_seconds();
  r.baseline->role = "baseline";
  r.baseline_summary = summarize(*r.baseline, r.phases);
  r.upstream = {UpstreamSecond{10, 10, 10}, UpstreamSecond{4, 0, 4}, UpstreamSecond{12, 12, 12}};
  r.recovery = find_recovery(r.phases, {10, 4, 12});
  return r;
}

TEST(Report, MarkdownHasTheSummaryTable) {
  const std::string md = report_markdown(small_report());
  EXPECT_NE(md.find("| | with Holdfast (target) | without Holdfast (baseline) |"),
            std::string::npos);
  EXPECT_NE(md.find("| **availability** (answered / sent) | **83.3 %** | **83.3 %** |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| stale answers (EDE 3/19) / sent | 10.0 % |"), std::string::npos);
  EXPECT_NE(md.find("| worst second | t=1 s: 50.0 % answered |"), std::string::npos);
  EXPECT_NE(md.find("| p99 latency during the outage | 2000 ms |"), std::string::npos);
  EXPECT_NE(md.find("| peak upstream rate during recovery | 12 queries/s at t=2 s"),
            std::string::npos);
  EXPECT_NE(md.find("![per-second"), std::string::npos);
}

TEST(Report, SvgHasBothPanelsTheLegendAndEscapedText) {
  const std::string svg = timeline_svg(small_report());
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find("With Holdfast"), std::string::npos);
  EXPECT_NE(svg.find("Without Holdfast (baseline)"), std::string::npos);
  EXPECT_NE(svg.find("upstream queries per second"), std::string::npos);
  EXPECT_NE(svg.find("time since start (s)"), std::string::npos);
  EXPECT_NE(svg.find("s&amp;&lt;chedule&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("s&<chedule>"), std::string::npos);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

TEST(Report, JsonCarriesEverySecond) {
  const auto json = report_json(small_report());
  EXPECT_EQ(json["target"]["seconds"].size(), 3u);
  EXPECT_EQ(json["target"]["seconds"][1]["timeouts"], 4);
  EXPECT_EQ(json["target"]["seconds"][1]["upstream_qps"], 4);
  EXPECT_EQ(json["target"]["totals"]["sent"], 30);
  EXPECT_EQ(json["baseline"]["role"], "baseline");
  EXPECT_EQ(json["phases"][1]["fault"], true);
}

TEST(Names, ReadsNamesTypesAndCommentsAndEncodesQueries) {
  auto names = parse_names(
      "# names\nsvc-1.ns-1.svc.cluster.local.\n_http._tcp.x.cluster.local SRV\n\n", "n.txt");
  ASSERT_TRUE(names) << names.error().message;
  ASSERT_EQ(names->size(), 2u);
  EXPECT_EQ((*names)[1].qtype, dns::qtype::kSrv);
  const WireQuery& q = (*names)[0];
  const auto parsed = dns::parse_query(q.wire);
  EXPECT_EQ(parsed.error, dns::QueryError::kNone);
  EXPECT_TRUE(parsed.query.header.rd());
  EXPECT_TRUE(parsed.query.opt);
  EXPECT_EQ(parsed.query.question.end, q.question_end);
  auto bad = parse_names("a.b\nx.y BOGUS\n", "n.txt");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "n.txt:2: unknown type 'BOGUS'");
  EXPECT_FALSE(parse_names("# nothing\n", "n.txt"));
}

}  // namespace
}  // namespace holdfast::dnsfault
