// HTTP routes of the control API, mapping requests onto the RuleStore and Stats.
#include "control_api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "base/uv_util.h"
#include "rule_json.h"

namespace holdfast::dnsfault {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBodyBytes = 1 << 20;
constexpr int kWorkerThreads = 2;

void reply_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(2) + "\n", "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply_json(res, status, json{{"error", message}});
}

// The rules a PUT or POST carries, as JSON or (text/plain) in the rule grammar.
Result<RuleSet> body_rules(const httplib::Request& req) {
  const std::string content_type = req.get_header_value("Content-Type");
  if (content_type.starts_with("text/plain")) return parse_rule_list(req.body);
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return fail("the body is not valid JSON");
  return rule_set_from_json(body);
}

}  // namespace

ControlApi::ControlApi(RuleStore& store, const Stats& stats, ControlInfo info)
    : store_(store),
      stats_(stats),
      info_(std::move(info)),
      server_(std::make_unique<httplib::Server>()) {}

ControlApi::~ControlApi() {
  stop();
}

void ControlApi::routes() {
  httplib::Server& s = *server_;
  s.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  s.set_payload_max_length(kMaxBodyBytes);

  auto answer_rules = [this](httplib::Response& res, std::uint64_t version) {
    const auto snapshot = store_.get();
    reply_json(res, 200, json{{"version", version}, {"rules", rule_set_to_json(*snapshot.rules)}});
  };
  s.Get("/rules", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, rule_set_to_json(*store_.get().rules));
  });
  s.Put("/rules", [this, answer_rules](const httplib::Request& req, httplib::Response& res) {
    auto rules = body_rules(req);
    if (!rules) return reply_error(res, 400, rules.error().message);
    const std::string text = rule_set_to_text(*rules);
    const std::uint64_t version = store_.replace(std::move(*rules));
    spdlog::info("control: rules replaced (version {}): {}", version, text);
    answer_rules(res, version);
  });
  s.Post("/rules", [this, answer_rules](const httplib::Request& req, httplib::Response& res) {
    auto rules = body_rules(req);
    if (!rules) return reply_error(res, 400, rules.error().message);
    const std::uint64_t version = store_.append(*rules);
    spdlog::info("control: rules appended (version {}): {}", version, rule_set_to_text(*rules));
    answer_rules(res, version);
  });
  s.Delete("/rules", [this, answer_rules](const httplib::Request&, httplib::Response& res) {
    const std::uint64_t version = store_.clear();
    spdlog::info("control: rules cleared (version {}): pass-through", version);
    answer_rules(res, version);
  });
  s.Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
    json body = stats_.to_json(monotonic_ms(), store_.version());
    body["listen"] = info_.listen;
    body["upstream"] = info_.upstream;
    body["seed"] = info_.seed;
    reply_json(res, 200, body);
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) {
      reply_error(res, res.status,
                  res.status == 404 ? "no such endpoint: " + req.method + " " + req.path
                                    : "request failed");
    }
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, const std::exception_ptr&) {
        reply_error(res, 500, "internal error");
      });
}

Result<void> ControlApi::start(const HostPort& address) {
  sockaddr_storage addr;
  if (auto ok = make_address(address.host, address.port, addr); !ok)
    return tl::unexpected(ok.error());
  if (!is_loopback(reinterpret_cast<const sockaddr*>(&addr))) {
    return fail("the control API only listens on loopback (got " + address.host + ")");
  }
  routes();
  if (!server_->bind_to_port(address.host, static_cast<int>(address.port))) {
    return fail("cannot listen for the control API on " +
                format_address(reinterpret_cast<const sockaddr*>(&addr)));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return {};
}

void ControlApi::stop() {
  if (!thread_.joinable()) return;
  // stop() before the listening thread got going would be lost: wait for it (briefly) first.
  for (int i = 0; i < 400 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  server_->stop();
  thread_.join();
}

}  // namespace holdfast::dnsfault
