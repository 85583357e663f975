// The metric families: names, help texts, labels and types, all here. Counters are read from the
// snapshot; nothing is counted on this side.
#include "observe/metrics.h"

#include <limits>
#include <string>

namespace holdfast::observe {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

const char* const kRcodeNames[] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",  "RCODE12", "RCODE13", "RCODE14",  "RCODE15",
    "BADVERS", "BADKEY",  "BADTIME",  "BADMODE",  "BADNAME", "BADALG",  "BADTRUNC", "BADCOOKIE"};

class FamilyBuilder {
 public:
  // Families are appended to `out` in declaration order; held by index, as `out` grows.
  FamilyBuilder(std::vector<MetricFamily>& out, const char* name, const char* help, MetricType type)
      : out_(out), index_(out.size()) {
    MetricFamily& family = out.emplace_back();
    family.name = name;
    family.help = help;
    family.type = type;
  }
  void counter(Labels labels, double value) {
    ClientMetric& m = out_[index_].metric.emplace_back();
    m.label = std::move(labels);
    m.counter.value = value;
  }
  void gauge(Labels labels, double value) {
    ClientMetric& m = out_[index_].metric.emplace_back();
    m.label = std::move(labels);
    m.gauge.value = value;
  }
  template <std::size_t N>
  void histogram(Labels labels, const Histogram<N>& h, const std::array<double, N>& bounds) {
    ClientMetric& m = out_[index_].metric.emplace_back();
    m.label = std::move(labels);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < N; ++i) {
      cumulative += h.counts[i];
      m.histogram.bucket.push_back({cumulative, bounds[i]});
    }
    cumulative += h.counts[N];
    m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = h.sum;
  }

 private:
  std::vector<MetricFamily>& out_;
  std::size_t index_;
};

double d(std::uint64_t v) {
  return static_cast<double>(v);
}

void dns_families(std::vector<MetricFamily>& out, const MetricsSnapshot& s) {
  FamilyBuilder requests(out, "coredns_dns_requests_total",
                         "Counter of DNS requests made per zone, protocol and family.",
                         MetricType::Counter);
  FamilyBuilder do_requests(out, "coredns_dns_do_requests_total",
                            "Counter of DNS requests with DO bit set per zone.",
                            MetricType::Counter);
  FamilyBuilder responses(out, "coredns_dns_responses_total", "Counter of response status codes.",
                          MetricType::Counter);
  FamilyBuilder duration(out, "coredns_dns_request_duration_seconds",
                         "Histogram of the time (in seconds) each request took.",
                         MetricType::Histogram);
  FamilyBuilder request_size(out, "coredns_dns_request_size_bytes", "Size of the request in bytes.",
                             MetricType::Histogram);
  FamilyBuilder response_size(out, "coredns_dns_response_size_bytes",
                              "Size of the returned response in bytes.", MetricType::Histogram);
  const char* protos[] = {"udp", "tcp"};
  const char* families[] = {"1", "2"};
  for (const ZoneRequests& z : s.zones) {
    const RequestMetrics& r = z.requests;
    auto base = [&] { return Labels{{"server", z.server}, {"zone", z.zone}, {"view", ""}}; };
    for (std::size_t p = 0; p < 2; ++p) {
      for (std::size_t f = 0; f < 2; ++f) {
        for (std::size_t t = 0; t < kTypeSlots; ++t) {
          if (r.requests[p][f][t] == 0) continue;
          Labels l = base();
          l.push_back({"proto", protos[p]});
          l.push_back({"family", families[f]});
          l.push_back({"type", type_slot_name(t)});
          requests.counter(std::move(l), d(r.requests[p][f][t]));
        }
      }
    }
    if (r.do_requests > 0) do_requests.counter(base(), d(r.do_requests));
    for (std::size_t who = 0; who < kResponders; ++who) {
      for (std::size_t rc = 0; rc < kRcodeSlots; ++rc) {
        if (r.responses[who][rc] == 0) continue;
        Labels l = base();
        l.push_back({"rcode", kRcodeNames[rc]});
        l.push_back({"plugin", responder_name(static_cast<Responder>(who))});
        responses.counter(std::move(l), d(r.responses[who][rc]));
      }
    }
    duration.histogram(base(), r.duration, kTimeBounds);
    for (std::size_t p = 0; p < 2; ++p) {
      Labels l = base();
      l.push_back({"proto", protos[p]});
      request_size.histogram(l, r.request_size[p], kSizeBounds);
      response_size.histogram(std::move(l), r.response_size[p], kSizeBounds);
    }
  }
}

void cache_families(std::vector<MetricFamily>& out, const MetricsSnapshot& s) {
  FamilyBuilder entries(out, "coredns_cache_entries", "The number of elements in the cache.",
                        MetricType::Gauge);
  FamilyBuilder requests(out, "coredns_cache_requests_total", "The count of cache requests.",
                         MetricType::Counter);
  FamilyBuilder hits(out, "coredns_cache_hits_total", "The count of cache hits.",
                     MetricType::Counter);
  FamilyBuilder misses(out, "coredns_cache_misses_total", "The count of cache misses.",
                       MetricType::Counter);
  FamilyBuilder prefetch(out, "coredns_cache_prefetch_total",
                         "The number of times the cache has prefetched a cached item.",
                         MetricType::Counter);
  FamilyBuilder stale(out, "coredns_cache_served_stale_total",
                      "The number of requests served from stale cache entries.",
                      MetricType::Counter);
  FamilyBuilder evictions(out, "coredns_cache_evictions_total", "The count of cache evictions.",
                          MetricType::Counter);
  for (const CacheMetrics& c : s.caches) {
    auto base = [&] { return Labels{{"server", c.server}, {"zones", c.zones}, {"view", ""}}; };
    auto typed = [&](const char* type) {
      Labels l = base();
      l.insert(l.begin() + 1, {"type", type});
      return l;
    };
    entries.gauge(typed("success"), d(c.entries_success));
    entries.gauge(typed("denial"), d(c.entries_denial));
    requests.counter(base(), d(c.hits_success + c.hits_denial + c.misses));
    hits.counter(typed("success"), d(c.hits_success));
    hits.counter(typed("denial"), d(c.hits_denial));
    misses.counter(base(), d(c.misses));
    prefetch.counter(base(), d(c.prefetch));
    stale.counter(base(), d(c.served_stale));
    evictions.counter(typed("success"), d(c.evictions_success));
    evictions.counter(typed("denial"), d(c.evictions_denial));
  }
}

void acl_families(std::vector<MetricFamily>& out, const MetricsSnapshot& s) {
  FamilyBuilder allowed(out, "coredns_acl_allowed_requests_total",
                        "Counter of DNS requests being allowed.", MetricType::Counter);
  FamilyBuilder blocked(out, "coredns_acl_blocked_requests_total",
                        "Counter of DNS requests being blocked.", MetricType::Counter);
  FamilyBuilder filtered(out, "coredns_acl_filtered_requests_total",
                         "Counter of DNS requests being filtered.", MetricType::Counter);
  FamilyBuilder dropped(out, "coredns_acl_dropped_requests_total",
                        "Counter of DNS requests being dropped.", MetricType::Counter);
  for (const AclMetrics& a : s.acls) {
    auto labels = [&] { return Labels{{"server", a.server}, {"zone", a.zones}, {"view", ""}}; };
    allowed.counter(labels(), d(a.allowed));
    blocked.counter(labels(), d(a.blocked));
    filtered.counter(labels(), d(a.filtered));
    dropped.counter(labels(), d(a.dropped));
  }
}

// The plugin's two counters carry a client_ip label there; here the block's server and zone:
// under a spoofed flood a label per client address would grow without bound.
void rrl_families(std::vector<MetricFamily>& out, const MetricsSnapshot& s) {
  FamilyBuilder responses(out, "coredns_rrl_responses_exceeded_total",
                          "Counter of responses exceeding QPS limit.", MetricType::Counter);
  FamilyBuilder requests(out, "coredns_rrl_requests_exceeded_total",
                         "Counter of requests exceeding QPS limit.", MetricType::Counter);
  FamilyBuilder limited(out, "holdfast_rrl_responses_limited_total",
                        "UDP responses over the rrl allowance, by what happened to them (dropped; "
                        "slipped: sent empty with TC=1; reported: sent, report-only).",
                        MetricType::Counter);
  FamilyBuilder requests_limited(out, "holdfast_rrl_requests_limited_total",
                                 "Requests over requests-per-second (dropped; reported: "
                                 "answered, report-only).",
                                 MetricType::Counter);
  FamilyBuilder accounts(out, "holdfast_rrl_accounts", "Accounts in the rrl table.",
                         MetricType::Gauge);
  FamilyBuilder evictions(out, "holdfast_rrl_evictions_total",
                          "Accounts evicted from a full rrl table (max-table-size).",
                          MetricType::Counter);
  for (const RrlMetrics& r : s.rrls) {
    auto labels = [&] { return Labels{{"server", r.server}, {"zone", r.zones}, {"view", ""}}; };
    auto with_action = [&](const char* action) {
      Labels l = labels();
      l.push_back({"action", action});
      return l;
    };
    responses.counter(labels(),
                      d(r.responses_dropped + r.responses_slipped + r.responses_reported));
    requests.counter(labels(), d(r.requests_dropped + r.requests_reported));
    limited.counter(with_action("dropped"), d(r.responses_dropped));
    limited.counter(with_action("slipped"), d(r.responses_slipped));
    limited.counter(with_action("reported"), d(r.responses_reported));
    requests_limited.counter(with_action("dropped"), d(r.requests_dropped));
    requests_limited.counter(with_action("reported"), d(r.requests_reported));
    accounts.gauge(labels(), d(r.accounts));
    evictions.counter(labels(), d(r.evictions));
  }
}

void forward_families(std::vector<MetricFamily>& out, const MetricsSnapshot& s) {
  FamilyBuilder requests(out, "coredns_forward_requests_total",
                         "Counter of requests made per upstream.", MetricType::Counter);
  FamilyBuilder responses(out, "coredns_forward_responses_total",
                          "Counter of responses received per upstream.", MetricType::Counter);
  FamilyBuilder duration(out, "coredns_forward_request_duration_seconds",
                         "Histogram of the time each request took.", MetricType::Histogram);
  FamilyBuilder hc_failures(out, "coredns_forward_healthcheck_failures_total",
                            "Counter of the number of failed healthchecks.", MetricType::Counter);
  FamilyBuilder broken(out, "coredns_forward_healthcheck_broken_total",
                       "Counter of the number of complete failures of the healthchecks.",
                       MetricType::Counter);
  FamilyBuilder rejects(
      out, "coredns_forward_max_concurrent_rejects_total",
      "Counter of the number of queries rejected because the concurrent queries were at maximum.",
      MetricType::Counter);
  FamilyBuilder inflight(out, "holdfast_upstream_inflight",
                         "Queries in flight to a forwarder group.", MetricType::Gauge);
  FamilyBuilder queue(out, "holdfast_upstream_queue_length",
                      "Misses waiting in a forwarder group's admission queue.", MetricType::Gauge);
  FamilyBuilder queued(out, "holdfast_upstream_queued_total",
                       "Misses that waited in the admission queue.", MetricType::Counter);
  FamilyBuilder rejected(
      out, "holdfast_upstream_queue_rejects_total",
      "Misses answered SERVFAIL by the admission queue, by reason (full; displaced: a full queue "
      "shed the biggest client's newest for another client; expired).",
      MetricType::Counter);
  FamilyBuilder limited(out, "holdfast_upstream_rate_limited_total",
                        "Admissions refused by upstream_limits (qps, burst, max_inflight).",
                        MetricType::Counter);
  FamilyBuilder circuit(out, "holdfast_upstream_circuit_open",
                        "1 while every upstream of the group is down.", MetricType::Gauge);
  FamilyBuilder transitions(out, "holdfast_upstream_circuit_transitions_total",
                            "Circuit state changes, by the state entered.", MetricType::Counter);
  FamilyBuilder degraded(out, "holdfast_upstream_degraded",
                         "1 while the upstream answers SERVFAIL to every question.",
                         MetricType::Gauge);
  FamilyBuilder down(out, "holdfast_upstream_down", "1 while this upstream server is marked down.",
                     MetricType::Gauge);
  FamilyBuilder probes(out, "holdfast_upstream_probes_total",
                       "Probe queries while upstreams were down, by kind (miss, healthcheck).",
                       MetricType::Counter);
  FamilyBuilder silences(
      out, "holdfast_upstream_silences_total",
      "Upstreams marked down for answering nothing while queries were outstanding.",
      MetricType::Counter);
  FamilyBuilder retries(
      out, "holdfast_upstream_retries_total",
      "Second copies of questions the upstream left unanswered, by kind (early: after 200 ms or "
      "20 x the p99 round trip; timeout: after the attempt timed out).",
      MetricType::Counter);
  FamilyBuilder mismatched(
      out, "holdfast_upstream_mismatched_responses_total",
      "Replies from an upstream that matched no outstanding query (another ID or question; also "
      "a late duplicate), dropped.",
      MetricType::Counter);
  // CoreDNS exposes these two without labels: one series for the process, summed over blocks.
  std::uint64_t broken_total = 0;
  std::uint64_t rejects_total = 0;
  for (const ForwarderMetrics& f : s.forwarders) {
    broken_total += f.circuit_opened;
    rejects_total += f.max_concurrent_rejects;
  }
  if (!s.forwarders.empty()) {
    broken.counter({}, d(broken_total));
    rejects.counter({}, d(rejects_total));
  }
  for (const ForwarderMetrics& f : s.forwarders) {
    Labels group{{"block", f.block}};
    for (const UpstreamMetricsSnapshot& u : f.upstreams) {
      requests.counter({{"to", u.to}}, d(u.requests));
      for (std::size_t rc = 0; rc < kRcodeSlots; ++rc) {
        if (u.responses[rc] == 0) continue;
        responses.counter({{"rcode", kRcodeNames[rc]}, {"to", u.to}}, d(u.responses[rc]));
        duration.histogram({{"to", u.to}, {"rcode", kRcodeNames[rc]}}, u.durations[rc],
                           kTimeBounds);
      }
      hc_failures.counter({{"to", u.to}}, d(u.healthcheck_failures));
      mismatched.counter({{"to", u.to}}, d(u.mismatched));
      down.gauge({{"block", f.block}, {"to", u.to}}, u.down ? 1 : 0);
    }
    inflight.gauge(group, d(f.inflight));
    queue.gauge(group, d(f.queue_length));
    queued.counter(group, d(f.queued));
    rejected.counter({{"block", f.block}, {"reason", "full"}}, d(f.queue_full - f.queue_displaced));
    rejected.counter({{"block", f.block}, {"reason", "displaced"}}, d(f.queue_displaced));
    rejected.counter({{"block", f.block}, {"reason", "expired"}}, d(f.queue_expired));
    limited.counter(group, d(f.limited));
    circuit.gauge(group, f.circuit_open ? 1 : 0);
    transitions.counter({{"block", f.block}, {"state", "open"}}, d(f.circuit_opened));
    transitions.counter({{"block", f.block}, {"state", "closed"}}, d(f.circuit_closed));
    degraded.gauge(group, f.degraded ? 1 : 0);
    probes.counter({{"block", f.block}, {"kind", "miss"}}, d(f.probes));
    probes.counter({{"block", f.block}, {"kind", "healthcheck"}}, d(f.health_checks));
    silences.counter(group, d(f.silences));
    retries.counter({{"block", f.block}, {"kind", "early"}}, d(f.hedges));
    retries.counter({{"block", f.block}, {"kind", "timeout"}}, d(f.resends));
  }
}

void store_families(std::vector<MetricFamily>& out, const StoreMetrics& st) {
  FamilyBuilder state(
      out, "holdfast_store_state",
      "1 for the store's state: open, read_only (the directory cannot be written, or the disk "
      "is full until there is room again: answers are read from the store, none written), "
      "memory_only (persistence off by necessity), closed.",
      MetricType::Gauge);
  FamilyBuilder entries(out, "holdfast_store_entries", "Answers in the LMDB store.",
                        MetricType::Gauge);
  FamilyBuilder bytes(out, "holdfast_store_bytes", "Bytes of the LMDB map in use.",
                      MetricType::Gauge);
  FamilyBuilder map(out, "holdfast_store_map_size_bytes", "The LMDB map size (persist size).",
                    MetricType::Gauge);
  FamilyBuilder batches(out, "holdfast_store_flush_batches_total", "Write batches committed.",
                        MetricType::Counter);
  FamilyBuilder flush(out, "holdfast_store_flush_seconds_total",
                      "Time spent committing write batches.", MetricType::Counter);
  FamilyBuilder written(out, "holdfast_store_writes_total", "Answers written to the store.",
                        MetricType::Counter);
  FamilyBuilder drops(out, "holdfast_store_dropped_total",
                      "Answers not persisted: the write queue was full.", MetricType::Counter);
  FamilyBuilder queue(out, "holdfast_store_queue_length", "Writes waiting for the writer thread.",
                      MetricType::Gauge);
  FamilyBuilder evictions(out, "holdfast_store_evictions_total", "Store evictions, by reason.",
                          MetricType::Counter);
  FamilyBuilder negative(out, "holdfast_store_negative_bytes",
                         "Bytes the negative answers (NXDOMAIN, NODATA, SERVFAIL) take in the "
                         "store (key + value + record overhead).",
                         MetricType::Gauge);
  FamilyBuilder negative_max(out, "holdfast_store_negative_max_bytes",
                             "The negative answers' budget (persist negative_max).",
                             MetricType::Gauge);
  FamilyBuilder negative_refused(out, "holdfast_store_negative_refused_total",
                                 "Negative answers not stored because negative_max was reached.",
                                 MetricType::Counter);
  FamilyBuilder negative_purged(
      out, "holdfast_store_negative_purged_total",
      "Negative answers past their TTL deleted to make room under negative_max.",
      MetricType::Counter);
  FamilyBuilder errors(
      out, "holdfast_store_errors_total",
      "Store errors by kind: corrupt (a value failed validation), full (map full), "
      "moved_aside (the file was moved aside), write (a commit failed), read_only "
      "(the store cannot be written: read-only or memory-only).",
      MetricType::Counter);
  if (!st.configured) return;
  for (const char* name : {"open", "read_only", "memory_only", "closed"}) {
    state.gauge({{"state", name}}, st.state == name ? 1 : 0);
  }
  entries.gauge({}, d(st.entries));
  bytes.gauge({}, d(st.used_bytes));
  map.gauge({}, d(st.map_bytes));
  batches.counter({}, d(st.batches));
  flush.counter({}, st.flush_seconds);
  written.counter({}, d(st.written));
  drops.counter({}, d(st.dropped));
  queue.gauge({}, d(st.queue_length));
  negative.gauge({}, d(st.negative_bytes));
  negative_max.gauge({}, d(st.negative_max_bytes));
  negative_refused.counter({}, d(st.negative_refused));
  negative_purged.counter({}, d(st.negative_purged));
  evictions.counter({{"reason", "expired"}}, d(st.evicted_expired));
  evictions.counter({{"reason", "lru"}}, d(st.evicted_lru));
  errors.counter({{"kind", "corrupt"}}, d(st.corrupt));
  errors.counter({{"kind", "full"}}, d(st.full));
  errors.counter({{"kind", "moved_aside"}}, d(st.moved_aside));
  errors.counter({{"kind", "write"}}, d(st.write_errors));
  errors.counter({{"kind", "read_only"}}, d(st.read_only));
}

void pipeline_families(std::vector<MetricFamily>& out, const PipelineMetrics& p) {
  FamilyBuilder coalesced(out, "holdfast_coalesced_queries_total",
                          "Queries that joined an upstream query already in flight.",
                          MetricType::Counter);
  FamilyBuilder promotions(out, "holdfast_store_promotions_total",
                           "Answers found in the store after a memory miss.", MetricType::Counter);
  FamilyBuilder malformed(out, "holdfast_malformed_dropped_total",
                          "Packets dropped unanswered: shorter than a header, or responses (QR=1).",
                          MetricType::Counter);
  FamilyBuilder formerr(out, "holdfast_formerr_total", "Malformed queries answered FORMERR.",
                        MetricType::Counter);
  FamilyBuilder stale(out, "holdfast_stale_answers_total", "Stale answers sent, by reason.",
                      MetricType::Counter);
  FamilyBuilder oldest(
      out, "holdfast_stale_answer_oldest_seconds",
      "How far past its expiry the oldest stale answer of the last one to two minutes was.",
      MetricType::Gauge);
  FamilyBuilder refreshes(out, "holdfast_refreshes_total",
                          "Background refreshes of cached names (stale, prefetch).",
                          MetricType::Counter);
  FamilyBuilder internal(out, "holdfast_internal_errors_total",
                         "Queries dropped because memory ran out.", MetricType::Counter);
  coalesced.counter({}, d(p.coalesced));
  promotions.counter({}, d(p.store_promotions));
  malformed.counter({}, d(p.malformed_dropped));
  formerr.counter({}, d(p.formerr));
  for (const auto& [reason, count] : p.stale_by_reason)
    stale.counter({{"reason", reason}}, d(count));
  oldest.gauge({}, d(p.oldest_stale_seconds));
  refreshes.counter({}, d(p.refreshes));
  internal.counter({}, d(p.internal_errors));
}

void worker_families(std::vector<MetricFamily>& out, const MetricsSnapshot& s) {
  const std::vector<WorkerMetrics>& workers = s.workers;
  if (workers.empty()) return;
  FamilyBuilder queries(out, "holdfast_worker_queries_total", "UDP queries a worker loop received.",
                        MetricType::Counter);
  FamilyBuilder answered(out, "holdfast_worker_answers_total",
                         "Fresh cache hits a worker loop answered itself.", MetricType::Counter);
  FamilyBuilder handed(out, "holdfast_worker_handoffs_total",
                       "Queries a worker loop handed to the owner loop (misses, stale entries, "
                       "errors, rate-limited or logged blocks).",
                       MetricType::Counter);
  FamilyBuilder drops(out, "holdfast_worker_handoff_drops_total",
                      "Queries a worker loop dropped because the owner loop's queue was full.",
                      MetricType::Counter);
  for (const WorkerMetrics& w : workers) {
    const Labels labels{{"worker", std::to_string(w.index)}};
    queries.counter(labels, d(w.queries));
    answered.counter(labels, d(w.answered));
    handed.counter(labels, d(w.handed_off));
    drops.counter(labels, d(w.handoff_drops));
  }
  FamilyBuilder helped(out, "holdfast_loop_helped_total",
                       "UDP queries a loop read from another loop's socket on the same address "
                       "because that loop had fallen behind (its core busy with other work); loop "
                       "0 is the owner loop.",
                       MetricType::Counter);
  helped.counter({{"loop", "0"}}, d(s.owner_udp.helped));
  for (const WorkerMetrics& w : workers) {
    helped.counter({{"loop", std::to_string(w.index)}}, d(w.udp.helped));
  }
}

// Every loop's UDP sockets, loop 0 (the owner) always.
void udp_families(std::vector<MetricFamily>& out, const MetricsSnapshot& s) {
  FamilyBuilder dropped(out, "holdfast_udp_dropped_total",
                        "UDP datagrams a loop dropped: oversize (a query larger than the 4096-byte "
                        "receive slot) or backlog_full (a reply, when the socket's send buffer and "
                        "the 256-reply backlog were both full).",
                        MetricType::Counter);
  FamilyBuilder errors(out, "holdfast_udp_send_errors_total",
                       "UDP replies the kernel refused for another reason than a full buffer "
                       "(e.g. no route to the client); each is skipped.",
                       MetricType::Counter);
  FamilyBuilder busy(out, "holdfast_udp_busy_entries_total",
                     "Times a loop found a full batch of queries waiting and read its socket once "
                     "per loop turn instead of waiting for epoll (load near what one core takes).",
                     MetricType::Counter);
  auto add = [&](const std::string& loop, const LoopUdpMetrics& u) {
    dropped.counter({{"loop", loop}, {"reason", "oversize"}}, d(u.oversize));
    dropped.counter({{"loop", loop}, {"reason", "backlog_full"}}, d(u.backlog_full));
    errors.counter({{"loop", loop}}, d(u.send_errors));
    busy.counter({{"loop", loop}}, d(u.busy_entries));
  };
  add("0", s.owner_udp);
  for (const WorkerMetrics& w : s.workers) add(std::to_string(w.index), w.udp);
}

}  // namespace

std::vector<MetricFamily> render_families(const MetricsSnapshot& s) {
  std::vector<MetricFamily> out;
  FamilyBuilder build(
      out, "coredns_build_info",
      "A metric with a constant '1' value labeled by version, revision, and goversion "
      "from which CoreDNS was built (for Holdfast: its version, git revision and compiler).",
      MetricType::Gauge);
  build.gauge({{"version", s.version}, {"revision", s.revision}, {"goversion", s.compiler}}, 1);
  dns_families(out, s);
  cache_families(out, s);
  acl_families(out, s);
  rrl_families(out, s);
  forward_families(out, s);
  store_families(out, s.store);
  pipeline_families(out, s.pipeline);
  worker_families(out, s);
  udp_families(out, s);
  // Families without a sample are left out of the exposition.
  std::erase_if(out, [](const MetricFamily& f) { return f.metric.empty(); });
  return out;
}

}  // namespace holdfast::observe
