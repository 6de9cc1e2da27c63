#include "cli/table.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace cairn::cli {
namespace {

// Cuts `s` to at most `width` code points, ending in "..." when cut.
std::string Truncate(const std::string& s, size_t width) {
  if (DisplayWidth(s) <= width) return s;
  size_t keep = width > 3 ? width - 3 : 0;
  std::string out;
  size_t points = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    bool starts_point = (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
    if (starts_point && points++ == keep) break;
    out.push_back(s[i]);
  }
  return out + "...";
}

void AppendLine(std::string& out, const std::vector<std::string>& cells,
                const std::vector<size_t>& widths) {
  std::string line;
  for (size_t c = 0; c < widths.size(); ++c) {
    const std::string& cell = c < cells.size() ? cells[c] : std::string();
    line += cell;
    if (c + 1 < widths.size()) line.append(widths[c] - DisplayWidth(cell) + 2, ' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out += line;
  out.push_back('\n');
}

}  // namespace

size_t DisplayWidth(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

TextTable::TextTable(std::vector<std::string> headers, size_t max_cell_width)
    : headers_(std::move(headers)), max_cell_width_(std::max<size_t>(max_cell_width, 4)) {}

void TextTable::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (auto& c : cells) {
    std::replace(c.begin(), c.end(), '\n', ' ');
    c = Truncate(c, max_cell_width_);
  }
  rows_.push_back(std::move(cells));
}

std::string TextTable::Render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = DisplayWidth(headers_[c]);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  std::string out;
  AppendLine(out, headers_, widths);
  std::vector<std::string> rule;
  for (size_t w : widths) rule.emplace_back(w, '-');
  AppendLine(out, rule, widths);
  for (const auto& row : rows_) AppendLine(out, row, widths);
  return out;
}

std::string RenderFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [k, v] : fields) width = std::max(width, DisplayWidth(k) + 1);
  std::string out;
  for (const auto& [k, v] : fields) {
    std::string line = k + ":";
    line.append(width - DisplayWidth(k) - 1 + 2, ' ');
    line += v;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out.push_back('\n');
  }
  return out;
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", value, kUnits[unit]);
  return buf;
}

}  // namespace cairn::cli
