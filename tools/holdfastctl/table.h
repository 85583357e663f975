// Text for people: an aligned table, and the formatting of the numbers that go in its cells
// (durations, sizes, ratios) read defensively from the daemon's JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace holdfast::ctl {

enum class Align { kLeft, kRight };

struct Column {
  std::string title;
  Align align = Align::kLeft;
};

// Columns separated by two spaces, a header line of titles, no trailing spaces. A note is a
// whole line printed after the row before it (indented, outside the column widths).
class Table {
 public:
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  void add_row(std::vector<std::string> cells);
  void add_note(std::string line);
  bool empty() const noexcept { return rows_.empty(); }
  std::string render() const;

 private:
  struct Row {
    std::vector<std::string> cells;  // empty for a note
    std::string note;
  };
  std::vector<Column> columns_;
  std::vector<Row> rows_;
};

// The member `key` of `parent` as cell text: strings as they are, integers in decimal, other
// numbers with one decimal, booleans "yes"/"no"; "-" when absent or null.
std::string text(const nlohmann::json& parent, std::string_view key);
// The member `key` as a number, if it is one.
std::optional<double> number(const nlohmann::json& parent, std::string_view key);
// The member `key` if it is an array, else an empty array.
const nlohmann::json& array_field(const nlohmann::json& parent, std::string_view key);
// The member `key` if it is an object, else an empty object.
const nlohmann::json& object_field(const nlohmann::json& parent, std::string_view key);

// 45s, 12m30s, 3h04m, 2d03h; negative values get a leading '-'.
std::string format_duration(double seconds);
// 512 B, 1.5 KiB, 212.4 MiB, 1.0 GiB.
std::string format_bytes(double bytes);
// A ratio in [0, 1] as "97.3 %".
std::string format_ratio(double ratio);
// The member `key` through one of the formatters above, "-" when it is not a number.
std::string duration_text(const nlohmann::json& parent, std::string_view key);
std::string bytes_text(const nlohmann::json& parent, std::string_view key);
std::string ratio_text(const nlohmann::json& parent, std::string_view key);

}  // namespace holdfast::ctl
