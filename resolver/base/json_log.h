// `--log-format json`: every log line one JSON object ({"time","level","msg"}, time in UTC), for
// log pipelines. The message is escaped; nothing else about logging changes.
#pragma once

namespace holdfast {

// Switches the default spdlog logger to the JSON pattern. Start-up only.
void use_json_log_format();

}  // namespace holdfast
