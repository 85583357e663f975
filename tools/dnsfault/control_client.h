// A client of the proxy's control API, for `dnsfault ctl` and the drill. Blocking; one per
// thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "rule.h"

namespace httplib {
class Client;
}

namespace holdfast::dnsfault {

class ControlClient {
 public:
  // `address` is "HOST:PORT" (or "[::1]:PORT").
  static Result<ControlClient> create(std::string_view address);
  ControlClient(ControlClient&&) noexcept;
  ControlClient& operator=(ControlClient&&) noexcept;
  ~ControlClient();

  Result<nlohmann::json> get_rules();
  Result<nlohmann::json> put_rules(const RuleSet& rules);  // {"version", "rules"}
  Result<nlohmann::json> post_rules(const RuleSet& rules);
  Result<nlohmann::json> delete_rules();
  Result<nlohmann::json> get_stats();
  const std::string& address() const noexcept { return address_; }

 private:
  ControlClient(std::string address, std::unique_ptr<httplib::Client> client);
  Result<nlohmann::json> request(std::string_view method, const std::string& path,
                                 const nlohmann::json* body);

  std::string address_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace holdfast::dnsfault
