#pragma once
// TextTable: renders rows as aligned, left-justified columns for a terminal.
//
//   TextTable t({"run_id", "status"});
//   t.AddRow({"3f2a...", "FINISHED"});
//   std::cout << t.Render();
//
// Columns are separated by two spaces; the header is followed by a rule of
// dashes. Cells longer than `max_cell_width` are cut with "..." so one long
// value does not push every other column off the screen. Widths count UTF-8
// code points, not bytes. A row with fewer cells than headers is padded; extra
// cells are dropped. Not thread-safe (a value type).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cairn::cli {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers, size_t max_cell_width = 48);
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  // Header, rule, rows; every line ends with '\n' and has no trailing spaces.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
  size_t max_cell_width_;
};

// Key/value lines: "key:   value", keys padded to the widest key.
std::string RenderFields(const std::vector<std::pair<std::string, std::string>>& fields);

// A byte count for people: "512 B", "1.0 KiB", "3.4 MiB", ... (binary units, one decimal).
std::string FormatBytes(uint64_t bytes);

// Number of UTF-8 code points in `s`.
size_t DisplayWidth(const std::string& s);

}  // namespace cairn::cli
