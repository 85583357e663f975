// The results of admin commands as text for people (holdfastctl without --json). Each renderer
// takes the "result" object of an ok response and never throws on missing or mistyped fields:
// what is absent shows as "-".
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace holdfast::ctl {

std::string render_stats(const nlohmann::json& result);
std::string render_lookup(const nlohmann::json& result);
std::string render_dump(const nlohmann::json& result);
std::string render_flush(const nlohmann::json& result);
std::string render_pin(const nlohmann::json& result);
std::string render_stale_mode(const nlohmann::json& result);
std::string render_upstreams(const nlohmann::json& result);
std::string render_snapshot_export(const nlohmann::json& result);
std::string render_snapshot_import(const nlohmann::json& result);

// The renderer for a request's "cmd" (pin and unpin share one); JSON for a command it does not
// know.
std::string render_result(std::string_view cmd, const nlohmann::json& result);

}  // namespace holdfast::ctl
