// Renderers for every admin command's result.
#include "holdfastctl/render.h"

#include <fmt/format.h>

#include "holdfastctl/table.h"
#include "observe/admin_protocol.h"

namespace holdfast::ctl {
namespace {

using nlohmann::json;

// "1 entry", "3 entries".
std::string count_text(const json& result, std::string_view key) {
  const auto count = number(result, key);
  return text(result, key) + (count && *count == 1 ? " entry" : " entries");
}

// "12.5 MiB of 1.0 GiB (1.2 %)", or what of it is known.
std::string store_size(const json& store) {
  const auto bytes = number(store, "bytes");
  const auto map_size = number(store, "map_size");
  if (!bytes) return "size -";
  if (!map_size || *map_size <= 0) return format_bytes(*bytes);
  return fmt::format("{} of {} ({})", format_bytes(*bytes), format_bytes(*map_size),
                     format_ratio(*bytes / *map_size));
}

std::string milliseconds_text(const json& parent, std::string_view key) {
  const auto value = number(parent, key);
  return value ? fmt::format("{:.0f} ms", *value) : "-";
}

}  // namespace

std::string render_stats(const json& result) {
  std::string out = fmt::format("holdfast {}, up {}\n", text(result, "version"),
                                duration_text(result, "uptime_seconds"));
  const auto qps = number(result, "queries_per_second");
  out += fmt::format("queries  {} total, {} q/s\n", text(result, "queries_total"),
                     qps ? fmt::format("{:.1f}", *qps) : "-");
  out += fmt::format("cache    hit {}, stale {}, stale mode {}\n",
                     ratio_text(result, "cache_hit_ratio"), ratio_text(result, "stale_ratio"),
                     text(result, "stale_mode"));
  const json& store = object_field(result, "store");
  out += fmt::format("store    {}, {}, {}, flush lag {}\n", text(store, "state"),
                     count_text(store, "entries"), store_size(store),
                     milliseconds_text(store, "flush_lag_ms"));
  Table table({{"BLOCK"},
               {"ENTRIES", Align::kRight},
               {"CIRCUIT"},
               {"DEGRADED"},
               {"QUEUE", Align::kRight},
               {"IN-FLIGHT", Align::kRight},
               {"UPSTREAM"},
               {"STATE"}});
  for (const json& block : array_field(result, "blocks")) {
    const std::vector<std::string> block_cells = {
        text(block, "name"),     text(block, "cache_entries"), text(block, "circuit"),
        text(block, "degraded"), text(block, "queue_length"),  text(block, "inflight")};
    const json& upstreams = array_field(block, "upstreams");
    if (upstreams.empty()) {
      std::vector<std::string> row = block_cells;
      row.insert(row.end(), {"-", "-"});
      table.add_row(std::move(row));
    }
    for (std::size_t i = 0; i < upstreams.size(); ++i) {
      // The block's own cells once, on its first upstream's line.
      std::vector<std::string> row = i == 0 ? block_cells : std::vector<std::string>(6);
      row.insert(row.end(), {text(upstreams[i], "address"), text(upstreams[i], "state")});
      table.add_row(std::move(row));
    }
  }
  if (!table.empty()) {
    out += '\n';
    out += table.render();
  }
  return out;
}

std::string render_lookup(const json& result) {
  const std::string question = fmt::format("{} {}", text(result, "name"), text(result, "type"));
  const json& entries = array_field(result, "entries");
  if (entries.empty()) return question + ": not in the cache\n";
  Table table({{"BLOCK"},
               {"SOURCE"},
               {"STATE"},
               {"AGE", Align::kRight},
               {"TTL LEFT", Align::kRight},
               {"RCODE"},
               {"PINNED"}});
  for (const json& entry : entries) {
    table.add_row({text(entry, "block"), text(entry, "source"), text(entry, "state"),
                   duration_text(entry, "age_seconds"), duration_text(entry, "ttl_left_seconds"),
                   text(entry, "rcode"), text(entry, "pinned")});
    for (const json& record : array_field(entry, "records")) {
      table.add_note(record.is_string() ? record.get<std::string>() : record.dump());
    }
  }
  return question + "\n" + table.render();
}

std::string render_dump(const json& result) {
  const json& entries = array_field(result, "entries");
  if (entries.empty()) return "no entries\n";
  Table table({{"BLOCK"},
               {"NAME"},
               {"TYPE"},
               {"STATE"},
               {"TTL LEFT", Align::kRight},
               {"RCODE"},
               {"PINNED"}});
  std::size_t stale = 0;
  for (const json& entry : entries) {
    if (text(entry, "state") == "stale") ++stale;
    table.add_row({text(entry, "block"), text(entry, "name"), text(entry, "type"),
                   text(entry, "state"), duration_text(entry, "ttl_left_seconds"),
                   text(entry, "rcode"), text(entry, "pinned")});
  }
  return table.render() + fmt::format("{} {}, {} stale\n", entries.size(),
                                      entries.size() == 1 ? "entry" : "entries", stale);
}

std::string render_flush(const json& result) {
  return "removed " + count_text(result, "removed") + "\n";
}

std::string render_pin(const json& result) {
  const std::string question = fmt::format("{} {}", text(result, "name"), text(result, "type"));
  return text(result, "pinned") == "yes" ? question + " is pinned\n"
                                         : question + " is not pinned\n";
}

std::string render_stale_mode(const json& result) {
  return "stale mode: " + text(result, "mode") + "\n";
}

std::string render_upstreams(const json& result) {
  const json& upstreams = array_field(result, "upstreams");
  if (upstreams.empty()) return "no upstreams\n";
  Table table({{"BLOCK"}, {"ADDRESS"}, {"STATE"}, {"FAILURES", Align::kRight}, {"CIRCUIT"}});
  for (const json& upstream : upstreams) {
    table.add_row({text(upstream, "block"), text(upstream, "address"), text(upstream, "state"),
                   text(upstream, "consecutive_failures"), text(upstream, "circuit")});
  }
  return table.render();
}

std::string render_snapshot_export(const json& result) {
  return fmt::format("exported {} ({}) to {}\n", count_text(result, "entries"),
                     bytes_text(result, "bytes"), text(result, "file"));
}

std::string render_snapshot_import(const json& result) {
  return fmt::format("imported {} from {}; {} skipped (fresher in the cache), {} rejected\n",
                     count_text(result, "imported"), text(result, "file"),
                     text(result, "skipped_fresher"), text(result, "rejected"));
}

std::string render_result(std::string_view cmd, const json& result) {
  namespace c = observe::cmd;
  if (cmd == c::kStats) return render_stats(result);
  if (cmd == c::kLookup) return render_lookup(result);
  if (cmd == c::kDump) return render_dump(result);
  if (cmd == c::kFlush) return render_flush(result);
  if (cmd == c::kPin || cmd == c::kUnpin) return render_pin(result);
  if (cmd == c::kStaleMode) return render_stale_mode(result);
  if (cmd == c::kUpstream) return render_upstreams(result);
  if (cmd == c::kSnapshotExport) return render_snapshot_export(result);
  if (cmd == c::kSnapshotImport) return render_snapshot_import(result);
  return result.dump(2) + "\n";
}

}  // namespace holdfast::ctl
