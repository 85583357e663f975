// Table layout and cell formatting.
#include "holdfastctl/table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace holdfast::ctl {

using nlohmann::json;

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(Row{std::move(cells), {}});
}

void Table::add_note(std::string line) {
  rows_.push_back(Row{{}, std::move(line)});
}

std::string Table::render() const {
  std::vector<std::size_t> widths;
  for (const Column& column : columns_) widths.push_back(column.title.size());
  for (const Row& row : rows_) {
    for (std::size_t i = 0; i < row.cells.size(); ++i) {
      widths[i] = std::max(widths[i], row.cells[i].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out += "  ";
      const std::size_t pad = widths[i] - cells[i].size();
      if (columns_[i].align == Align::kRight) out.append(pad, ' ');
      out += cells[i];
      if (columns_[i].align == Align::kLeft) out.append(pad, ' ');
    }
    out.erase(out.find_last_not_of(' ') + 1);
    return out + "\n";
  };
  std::vector<std::string> titles;
  for (const Column& column : columns_) titles.push_back(column.title);
  std::string out = line(titles);
  for (const Row& row : rows_)
    out += row.cells.empty() ? "    " + row.note + "\n" : line(row.cells);
  return out;
}

namespace {

const json* member(const json& parent, std::string_view key) {
  if (!parent.is_object()) return nullptr;
  const auto found = parent.find(key);
  return found == parent.end() ? nullptr : &*found;
}

}  // namespace

std::string text(const json& parent, std::string_view key) {
  const json* value = member(parent, key);
  if (value == nullptr || value->is_null()) return "-";
  if (value->is_string()) return value->get<std::string>();
  if (value->is_boolean()) return value->get<bool>() ? "yes" : "no";
  if (value->is_number_integer()) return value->dump();
  if (value->is_number_float()) return fmt::format("{:.1f}", value->get<double>());
  return value->dump();
}

std::optional<double> number(const json& parent, std::string_view key) {
  const json* value = member(parent, key);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  return value->get<double>();
}

const json& array_field(const json& parent, std::string_view key) {
  static const json kEmpty = json::array();
  const json* value = member(parent, key);
  return value != nullptr && value->is_array() ? *value : kEmpty;
}

const json& object_field(const json& parent, std::string_view key) {
  static const json kEmpty = json::object();
  const json* value = member(parent, key);
  return value != nullptr && value->is_object() ? *value : kEmpty;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  if (seconds < 0) return fmt::format("-{}", format_duration(-seconds));
  const auto total = static_cast<std::uint64_t>(std::llround(seconds));
  const std::uint64_t days = total / 86400;
  const std::uint64_t hours = total / 3600 % 24;
  const std::uint64_t minutes = total / 60 % 60;
  const std::uint64_t secs = total % 60;
  if (days > 0) return fmt::format("{}d{:02}h", days, hours);
  if (hours > 0) return fmt::format("{}h{:02}m", hours, minutes);
  if (minutes > 0) return fmt::format("{}m{:02}s", minutes, secs);
  return fmt::format("{}s", secs);
}

std::string format_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (!std::isfinite(bytes) || bytes < 0) return "-";
  if (bytes < 1024) return fmt::format("{} B", static_cast<std::uint64_t>(bytes));
  double value = bytes / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string format_ratio(double ratio) {
  if (!std::isfinite(ratio)) return "-";
  return fmt::format("{:.1f} %", ratio * 100);
}

std::string duration_text(const json& parent, std::string_view key) {
  const auto value = number(parent, key);
  return value ? format_duration(*value) : "-";
}

std::string bytes_text(const json& parent, std::string_view key) {
  const auto value = number(parent, key);
  return value ? format_bytes(*value) : "-";
}

std::string ratio_text(const json& parent, std::string_view key) {
  const auto value = number(parent, key);
  return value ? format_ratio(*value) : "-";
}

}  // namespace holdfast::ctl
