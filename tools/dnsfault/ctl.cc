// The `ctl` verbs: validate locally with the shared rule grammar, then call the control API.
#include "ctl.h"

#include <cstdio>
#include <iostream>

#include "control_client.h"
#include "rule_json.h"

namespace holdfast::dnsfault {
namespace {

using nlohmann::json;

int complain(const std::string& message, int status) {
  std::cerr << "dnsfault ctl: " << message << "\n";
  return status;
}

// The rules in a {"version", "rules"} or array reply, as text.
std::string rules_text(const json& reply) {
  const json& list = reply.is_object() && reply.contains("rules") ? reply["rules"] : reply;
  auto rules = rule_set_from_json(list);
  return rules ? rule_set_to_text(*rules) : list.dump();
}

void print_stats(const json& stats) {
  static constexpr const char* kCounters[] = {"queries_received",
                                              "queries_received_udp",
                                              "queries_received_tcp",
                                              "forwarded_upstream",
                                              "upstream_answers",
                                              "upstream_timeouts",
                                              "responses_sent",
                                              "unparseable",
                                              "dropped_invalid",
                                              "inflight_full",
                                              "send_errors",
                                              "tcp_connections",
                                              "tcp_rejected",
                                              "icmp_sent",
                                              "inflight",
                                              "upstream_rate_last_second",
                                              "uptime_ms"};
  for (const char* key : kCounters) {
    if (stats.contains(key)) std::printf("%-26s %s\n", key, stats[key].dump().c_str());
  }
  if (stats.contains("actions")) {
    for (const auto& [action, count] : stats["actions"].items()) {
      std::printf("action %-19s %s\n", action.c_str(), count.dump().c_str());
    }
  }
  if (stats.contains("received_rate_per_second")) {
    std::printf("%-26s %s\n", "received_rate_last_60s",
                stats["received_rate_per_second"].dump().c_str());
  }
  if (stats.contains("upstream_rate_per_second")) {
    std::printf("%-26s %s\n", "upstream_rate_last_60s",
                stats["upstream_rate_per_second"].dump().c_str());
  }
  if (stats.contains("schedule")) {
    std::printf("%-26s %s\n", "schedule", stats["schedule"].dump().c_str());
  }
}

}  // namespace

int run_ctl(const CtlOptions& options) {
  auto client = ControlClient::create(options.control);
  if (!client) return complain("--control: " + client.error().message, 2);
  const std::string& verb = options.verb;
  if (verb == "set" || verb == "add") {
    if (options.args.empty()) {
      return complain(verb + " needs a rule, e.g. '" + verb + " blackhole' or '" + verb +
                          " rcode SERVFAIL --match \"*.svc.cluster.local\"'",
                      2);
    }
    auto rules = parse_rule_list(std::span<const std::string>(options.args));
    if (!rules) return complain("invalid rule: " + rules.error().message, 2);
    auto reply = verb == "set" ? client->put_rules(*rules) : client->post_rules(*rules);
    if (!reply) return complain(reply.error().message, 1);
    std::printf("rules (version %s): %s\n", (*reply)["version"].dump().c_str(),
                rules_text(*reply).c_str());
    return 0;
  }
  if (!options.args.empty()) return complain("'" + verb + "' takes no arguments", 2);
  if (verb == "clear") {
    auto reply = client->delete_rules();
    if (!reply) return complain(reply.error().message, 1);
    std::printf("rules (version %s): pass\n", (*reply)["version"].dump().c_str());
    return 0;
  }
  if (verb == "rules") {
    auto reply = client->get_rules();
    if (!reply) return complain(reply.error().message, 1);
    std::printf("%s\n", rules_text(*reply).c_str());
    return 0;
  }
  if (verb == "stats") {
    auto reply = client->get_stats();
    if (!reply) return complain(reply.error().message, 1);
    print_stats(*reply);
    return 0;
  }
  return complain("unknown command '" + verb + "' (expected set, add, clear, stats or rules)", 2);
}

}  // namespace holdfast::dnsfault
