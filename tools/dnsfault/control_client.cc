// HTTP requests to the control API and the mapping of failures to one-line errors.
#include "control_client.h"

#include <httplib.h>

#include "rule_json.h"
#include "text.h"

namespace holdfast::dnsfault {
namespace {

using nlohmann::json;

constexpr int kConnectTimeoutSeconds = 2;
constexpr int kReadTimeoutSeconds = 5;

}  // namespace

Result<ControlClient> ControlClient::create(std::string_view address) {
  auto hp = parse_host_port(address);
  if (!hp) return tl::unexpected(hp.error());
  auto client = std::make_unique<httplib::Client>(hp->host, static_cast<int>(hp->port));
  client->set_connection_timeout(kConnectTimeoutSeconds, 0);
  client->set_read_timeout(kReadTimeoutSeconds, 0);
  client->set_write_timeout(kReadTimeoutSeconds, 0);
  return ControlClient(std::string(address), std::move(client));
}

ControlClient::ControlClient(std::string address, std::unique_ptr<httplib::Client> client)
    : address_(std::move(address)), client_(std::move(client)) {}
ControlClient::ControlClient(ControlClient&&) noexcept = default;
ControlClient& ControlClient::operator=(ControlClient&&) noexcept = default;
ControlClient::~ControlClient() = default;

Result<json> ControlClient::request(std::string_view method, const std::string& path,
                                    const json* body) {
  const std::string payload = body ? body->dump() : std::string();
  httplib::Result res{nullptr, httplib::Error::Unknown};
  if (method == "GET") {
    res = client_->Get(path);
  } else if (method == "PUT") {
    res = client_->Put(path, payload, "application/json");
  } else if (method == "POST") {
    res = client_->Post(path, payload, "application/json");
  } else {
    res = client_->Delete(path);
  }
  const std::string what = std::string(method) + " " + path + " on " + address_;
  if (!res) {
    return fail("cannot reach the control API (" + what + "): " + httplib::to_string(res.error()));
  }
  json reply = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (res->status < 200 || res->status >= 300) {
    std::string message = res->body;
    if (reply.is_object() && reply.contains("error") && reply["error"].is_string()) {
      message = reply["error"].get<std::string>();
    }
    return fail("the control API refused " + what + " (HTTP " + std::to_string(res->status) +
                "): " + message);
  }
  if (reply.is_discarded())
    return fail("the control API sent a body that is not JSON (" + what + ")");
  return reply;
}

Result<json> ControlClient::get_rules() {
  return request("GET", "/rules", nullptr);
}

Result<json> ControlClient::put_rules(const RuleSet& rules) {
  const json body = rule_set_to_json(rules);
  return request("PUT", "/rules", &body);
}

Result<json> ControlClient::post_rules(const RuleSet& rules) {
  const json body = rule_set_to_json(rules);
  return request("POST", "/rules", &body);
}

Result<json> ControlClient::delete_rules() {
  return request("DELETE", "/rules", nullptr);
}

Result<json> ControlClient::get_stats() {
  return request("GET", "/stats", nullptr);
}

}  // namespace holdfast::dnsfault
