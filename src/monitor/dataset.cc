#include "monitor/dataset.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "core/json_writer.h"

namespace cairn::monitor {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Parses the whole of `s` as a number (surrounding blanks and a leading '+'
// allowed; "nan", "inf", "infinity" accepted by from_chars).
bool ParseNumber(std::string_view s, double& out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty()) return false;
  if (s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || s.front() == '-' || s.front() == '+') return false;
  }
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  if (p != end) return false;
  if (ec == std::errc::result_out_of_range) {
    // Overflow / underflow: the value strtod gives (+-inf or 0).
    std::string copy(s);
    out = std::strtod(copy.c_str(), nullptr);
    return true;
  }
  return ec == std::errc();
}

std::string NumberText(double v) {
  if (std::isnan(v)) return "";
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "";
  return std::string(buf, p);
}

std::string SourceName(const ReadOptions& o, std::string_view fallback) {
  return o.source_name.empty() ? std::string(fallback) : o.source_name;
}

int ThreadCount(int requested) {
  if (requested > 0) return requested;
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

int64_t LineOf(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
}

std::string Unescape(std::string_view quoted_body) {
  std::string out;
  out.reserve(quoted_body.size());
  for (size_t i = 0; i < quoted_body.size(); ++i) {
    out.push_back(quoted_body[i]);
    if (quoted_body[i] == '"' && i + 1 < quoted_body.size() && quoted_body[i + 1] == '"') ++i;
  }
  return out;
}

// ------------------------------------------------------------------ CSV

struct CsvFault {
  size_t offset = 0;  // start of the record
  std::string what;   // message after "file:line: "
};

// Parses one record starting at `p` (not at `end`). Calls
// sink(col, field, escaped) for each field; `escaped` when the field was
// quoted and holds "" escapes (the view is the raw body then). Returns the
// number of fields, advances `p` past the record's line end. -1 on a quote
// error (fault filled).
template <typename Sink>
int64_t ParseRecord(std::string_view text, size_t& p, size_t end, Sink&& sink, CsvFault& fault) {
  const size_t rec_start = p;
  const char* d = text.data();
  int64_t col = 0;
  for (;;) {
    std::string_view field;
    bool escaped = false;
    bool quoted = false;
    if (p < end && d[p] == '"') {
      quoted = true;
      size_t q = p + 1;
      for (;;) {
        const void* f = q < end ? std::memchr(d + q, '"', end - q) : nullptr;
        if (f == nullptr) {
          fault = {rec_start, "unterminated quoted field"};
          return -1;
        }
        const size_t k = static_cast<size_t>(static_cast<const char*>(f) - d);
        if (k + 1 < end && d[k + 1] == '"') {
          escaped = true;
          q = k + 2;
          continue;
        }
        field = std::string_view(d + p + 1, k - p - 1);
        p = k + 1;
        break;
      }
    } else {
      size_t q = p;
      while (q < end) {
        const char c = d[q];
        if (c == ',' || c == '\n') break;
        ++q;
      }
      field = std::string_view(d + p, q - p);
      if (!field.empty() && field.back() == '\r' && (q == end || d[q] == '\n')) {
        field.remove_suffix(1);
      }
      p = q;
    }
    sink(col, field, escaped);
    ++col;
    if (p < end && d[p] == ',') {
      ++p;
      continue;
    }
    if (quoted && p < end && d[p] == '\r' && p + 1 < end && d[p + 1] == '\n') ++p;
    if (quoted && p + 1 == end && d[p] == '\r') ++p;
    if (p < end) {
      if (d[p] != '\n') {
        fault = {rec_start, "unexpected character after a quoted field"};
        return -1;
      }
      ++p;
    }
    return col;
  }
}

// Skips blank lines ("" or "\r"); true when a record starts at p.
bool SkipBlankLines(std::string_view text, size_t& p, size_t end) {
  while (p < end) {
    if (text[p] == '\n') {
      ++p;
    } else if (text[p] == '\r' && (p + 1 == end || text[p + 1] == '\n')) {
      p += (p + 1 == end) ? 1 : 2;
    } else {
      return true;
    }
  }
  return false;
}

// How a column is read in the first pass.
enum class Pass1 : uint8_t { kInfer, kForcedNumeric, kForcedCategorical };

struct Chunk {
  size_t begin = 0, end = 0;
  int64_t rows = 0;
  std::vector<std::vector<double>> numbers;   // per column (not for forced categorical)
  std::vector<uint8_t> non_numeric;           // per column
  std::vector<int64_t> violations;            // per column
  std::vector<std::vector<std::string>> strings;  // second pass, categorical columns
  std::vector<std::vector<uint8_t>> missing;
  bool failed = false;
  CsvFault fault;
  int64_t fields = 0;  // of the ragged record
};

void RaggedFault(Chunk& c, size_t rec_start, int64_t fields) {
  c.failed = true;
  c.fields = fields;
  c.fault.offset = rec_start;
  c.fault.what.clear();
}

void NumericPass(std::string_view text, const std::vector<Pass1>& modes, Chunk& c) {
  const size_t ncols = modes.size();
  c.numbers.assign(ncols, {});
  c.non_numeric.assign(ncols, 0);
  c.violations.assign(ncols, 0);
  const size_t estimate = (c.end - c.begin) / (ncols * 8 + 1) + 16;
  for (size_t i = 0; i < ncols; ++i) {
    if (modes[i] != Pass1::kForcedCategorical) c.numbers[i].reserve(estimate);
  }
  std::string scratch;
  const char* d = text.data();
  const size_t end = c.end;
  bool all_numeric_modes = ncols > 0;
  for (Pass1 m : modes) all_numeric_modes &= m != Pass1::kForcedCategorical;
  std::vector<double> row(ncols);
  size_t p = c.begin;
  while (SkipBlankLines(text, p, c.end)) {
    const size_t rec_start = p;
    if (all_numeric_modes) {
      // Fast path for a record of plain numbers: from_chars straight off the
      // buffer, no field scan. Anything else (quotes, text, a ragged row)
      // falls back to the general parser below for this record.
      size_t q = p;
      bool ok = true;
      for (size_t col = 0; col < ncols && ok; ++col) {
        double v = kNaN;
        if (q < end && d[q] != ',' && d[q] != '\n' && d[q] != '\r') {
          auto [e, ec] = std::from_chars(d + q, d + end, v);
          if (ec != std::errc()) {
            ok = false;
            break;
          }
          q = static_cast<size_t>(e - d);
        }
        row[col] = v;
        if (col + 1 < ncols) {
          if (q < end && d[q] == ',') {
            ++q;
          } else {
            ok = false;
          }
        } else if (q < end) {
          if (d[q] == '\n') {
            ++q;
          } else if (d[q] == '\r' && (q + 1 == end || d[q + 1] == '\n')) {
            q += q + 1 == end ? 1 : 2;
          } else {
            ok = false;
          }
        }
      }
      if (ok) {
        for (size_t col = 0; col < ncols; ++col) c.numbers[col].push_back(row[col]);
        ++c.rows;
        p = q;
        continue;
      }
    }
    auto sink = [&](int64_t col, std::string_view field, bool escaped) {
      if (static_cast<size_t>(col) >= ncols) return;
      const Pass1 mode = modes[static_cast<size_t>(col)];
      if (mode == Pass1::kForcedCategorical) return;
      auto& nums = c.numbers[static_cast<size_t>(col)];
      if (field.empty()) {
        nums.push_back(kNaN);
        return;
      }
      if (escaped) {
        scratch = Unescape(field);
        field = scratch;
      }
      double v;
      if (ParseNumber(field, v)) {
        nums.push_back(v);
        return;
      }
      nums.push_back(kNaN);
      if (mode == Pass1::kForcedNumeric) {
        ++c.violations[static_cast<size_t>(col)];
      } else {
        c.non_numeric[static_cast<size_t>(col)] = 1;
      }
    };
    const int64_t n = ParseRecord(text, p, c.end, sink, c.fault);
    if (n < 0) {
      c.failed = true;
      return;
    }
    if (static_cast<size_t>(n) != ncols) {
      RaggedFault(c, rec_start, n);
      return;
    }
    ++c.rows;
  }
}

void TextPass(std::string_view text, const std::vector<uint8_t>& categorical, Chunk& c) {
  const size_t ncols = categorical.size();
  c.strings.assign(ncols, {});
  c.missing.assign(ncols, {});
  for (size_t i = 0; i < ncols; ++i) {
    if (categorical[i]) {
      c.strings[i].reserve(static_cast<size_t>(c.rows));
      c.missing[i].reserve(static_cast<size_t>(c.rows));
    }
  }
  size_t p = c.begin;
  CsvFault ignored;
  while (SkipBlankLines(text, p, c.end)) {
    auto sink = [&](int64_t col, std::string_view field, bool escaped) {
      const auto i = static_cast<size_t>(col);
      if (i >= ncols || !categorical[i]) return;
      c.missing[i].push_back(field.empty() ? 1 : 0);
      c.strings[i].push_back(escaped ? Unescape(field) : std::string(field));
    };
    if (ParseRecord(text, p, c.end, sink, ignored) < 0) return;  // the first pass saw it
  }
}

template <typename F>
void RunChunks(std::vector<Chunk>& chunks, F&& f) {
  if (chunks.size() == 1) {
    f(chunks[0]);
    return;
  }
  std::vector<std::thread> workers;
  workers.reserve(chunks.size());
  for (auto& c : chunks) workers.emplace_back([&f, &c] { f(c); });
  for (auto& t : workers) t.join();
}

// ------------------------------------------------------- JSON-ish cells

// One value as read from JSON, before the column's kind is settled.
struct Cell {
  enum Type : uint8_t { kMissing, kNumber, kNumericText, kText } type = kMissing;
  double number = kNaN;
  std::string text;  // number's text, or the string / boolean
};

// Appends `cell` to a column of a settled kind.
void AppendCell(Column& c, Cell&& cell) {
  if (c.kind == ColumnKind::kNumeric) {
    switch (cell.type) {
      case Cell::kMissing:
        c.numbers.push_back(kNaN);
        break;
      case Cell::kNumber:
      case Cell::kNumericText:
        c.numbers.push_back(cell.number);
        break;
      case Cell::kText:
        ++c.type_violations;
        c.numbers.push_back(kNaN);
        break;
    }
  } else {
    if (cell.type == Cell::kMissing) {
      c.strings.emplace_back();
      c.missing.push_back(1);
    } else {
      c.strings.push_back(std::move(cell.text));
      c.missing.push_back(0);
    }
  }
}

void AppendMissing(Column& c, int64_t count) {
  if (count <= 0) return;
  if (c.kind == ColumnKind::kNumeric) {
    c.numbers.insert(c.numbers.end(), static_cast<size_t>(count), kNaN);
  } else {
    c.strings.insert(c.strings.end(), static_cast<size_t>(count), std::string());
    c.missing.insert(c.missing.end(), static_cast<size_t>(count), 1);
  }
}

// A column being built from JSON cells whose kind is decided at the end.
struct CellColumn {
  std::string name;
  std::vector<Cell> cells;
};

Column SettleColumn(CellColumn&& cc, const ReadOptions& options) {
  Column c;
  c.name = std::move(cc.name);
  auto forced = options.kinds.find(c.name);
  if (forced != options.kinds.end()) {
    c.kind = forced->second;
  } else {
    c.kind = ColumnKind::kNumeric;
    for (const Cell& cell : cc.cells) {
      if (cell.type == Cell::kText) {
        c.kind = ColumnKind::kCategorical;
        break;
      }
    }
  }
  if (c.kind == ColumnKind::kNumeric) {
    c.numbers.reserve(cc.cells.size());
  } else {
    c.strings.reserve(cc.cells.size());
    c.missing.reserve(cc.cells.size());
  }
  for (Cell& cell : cc.cells) AppendCell(c, std::move(cell));
  return c;
}

Cell TextCell(std::string_view s) {
  Cell cell;
  double v;
  if (ParseNumber(s, v)) {
    cell.type = Cell::kNumericText;
    cell.number = v;
  } else {
    cell.type = Cell::kText;
  }
  cell.text = std::string(s);
  return cell;
}

std::string_view TrimJsonToken(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                        s.back() == '\r' || s.back() == ',' || s.back() == '}' ||
                        s.back() == ']'))
    s.remove_suffix(1);
  return s;
}

// Splits text into lines, calling f(line, line_number) for each non-blank one.
template <typename F>
auto ForEachLine(std::string_view text, F&& f) -> decltype(f(text, int64_t{0})) {
  size_t p = 0;
  int64_t line_no = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") p = 3;
  while (p < text.size()) {
    ++line_no;
    size_t nl = text.find('\n', p);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(p, nl - p);
    p = nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) continue;
    auto r = f(line, line_no);
    if (!r) return r;
  }
  return {};
}

// A line copied into a buffer with simdjson's padding.
class PaddedLine {
 public:
  std::string_view Set(std::string_view line) {
    if (buf_.size() < line.size() + simdjson::SIMDJSON_PADDING) {
      buf_.resize(line.size() + simdjson::SIMDJSON_PADDING);
    }
    std::memcpy(buf_.data(), line.data(), line.size());
    std::memset(buf_.data() + line.size(), 0, simdjson::SIMDJSON_PADDING);
    size_ = line.size();
    return std::string_view(buf_.data(), size_);
  }
  const char* data() const { return buf_.data(); }
  size_t size() const { return size_; }
  size_t capacity() const { return buf_.size(); }

 private:
  std::string buf_;
  size_t size_ = 0;
};

std::string_view Extension(std::string_view name) {
  const size_t slash = name.find_last_of('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  const size_t dot = name.find_last_of('.');
  if (dot == std::string_view::npos) return {};
  return name.substr(dot);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

// --------------------------------------------------------------- Column

std::string_view ColumnKindName(ColumnKind k) {
  return k == ColumnKind::kNumeric ? "numeric" : "categorical";
}

int64_t Column::size() const {
  return static_cast<int64_t>(kind == ColumnKind::kNumeric ? numbers.size() : strings.size());
}

bool Column::IsMissing(int64_t row) const {
  const auto r = static_cast<size_t>(row);
  if (kind == ColumnKind::kNumeric) return std::isnan(numbers[r]);
  return missing[r] != 0;
}

std::string Column::Text(int64_t row) const {
  const auto r = static_cast<size_t>(row);
  if (kind == ColumnKind::kNumeric) return NumberText(numbers[r]);
  return missing[r] ? std::string() : strings[r];
}

const Column* Table::Find(std::string_view name) const {
  for (const Column& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Column* Table::Find(std::string_view name) {
  for (Column& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<std::string> Table::Names() const {
  std::vector<std::string> out;
  out.reserve(columns.size());
  for (const Column& c : columns) out.push_back(c.name);
  return out;
}

// ------------------------------------------------------------------ CSV

Result<Table> ParseCsv(std::string_view text, const ReadOptions& options) {
  const std::string source = SourceName(options, "csv");
  size_t p = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") p = 3;
  if (!SkipBlankLines(text, p, text.size())) {
    return InvalidArgument(source + ": empty file (no header row)");
  }
  // Header.
  std::vector<std::string> names;
  CsvFault fault;
  const size_t header_start = p;
  if (ParseRecord(
          text, p, text.size(),
          [&](int64_t, std::string_view f, bool escaped) {
            names.push_back(escaped ? Unescape(f) : std::string(f));
          },
          fault) < 0) {
    return InvalidArgument(source + ":" + std::to_string(LineOf(text, header_start)) + ": " +
                           fault.what);
  }
  {
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end()) {
      return InvalidArgument(source + ":" + std::to_string(LineOf(text, header_start)) +
                             ": duplicated column name '" + *dup + "'");
    }
  }
  const size_t ncols = names.size();
  std::vector<Pass1> modes(ncols, Pass1::kInfer);
  for (size_t i = 0; i < ncols; ++i) {
    auto it = options.kinds.find(names[i]);
    if (it != options.kinds.end()) {
      modes[i] = it->second == ColumnKind::kNumeric ? Pass1::kForcedNumeric
                                                    : Pass1::kForcedCategorical;
    }
  }

  // Chunks: split at line boundaries only when no field is quoted (a quoted
  // field may hold a newline, which a split could not tell from a line end).
  const size_t body = p;
  const size_t remaining = text.size() - body;
  int threads = ThreadCount(options.threads);
  constexpr size_t kMinChunk = 1 << 20;
  if (remaining < 2 * kMinChunk ||
      std::memchr(text.data() + body, '"', remaining) != nullptr) {
    threads = 1;
  } else {
    threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), remaining / kMinChunk));
  }
  std::vector<Chunk> chunks;
  size_t start = body;
  for (int i = 0; i < threads && start < text.size(); ++i) {
    size_t end = text.size();
    if (i + 1 < threads) {
      end = body + remaining * static_cast<size_t>(i + 1) / static_cast<size_t>(threads);
      if (end < start) end = start;
      const size_t nl = text.find('\n', end);
      end = nl == std::string_view::npos ? text.size() : nl + 1;
    }
    Chunk c;
    c.begin = start;
    c.end = end;
    chunks.push_back(std::move(c));
    start = end;
  }
  if (chunks.empty()) {
    Chunk c;
    c.begin = c.end = text.size();
    chunks.push_back(std::move(c));
  }

  RunChunks(chunks, [&](Chunk& c) { NumericPass(text, modes, c); });
  for (const Chunk& c : chunks) {
    if (!c.failed) continue;
    const std::string where = source + ":" + std::to_string(LineOf(text, c.fault.offset)) + ": ";
    if (!c.fault.what.empty()) return InvalidArgument(where + c.fault.what);
    return InvalidArgument(where + std::to_string(c.fields) + " fields, the header has " +
                           std::to_string(ncols));
  }

  std::vector<uint8_t> categorical(ncols, 0);
  bool any_categorical = false;
  for (size_t i = 0; i < ncols; ++i) {
    if (modes[i] == Pass1::kForcedCategorical) {
      categorical[i] = 1;
    } else if (modes[i] == Pass1::kInfer) {
      for (const Chunk& c : chunks) categorical[i] |= c.non_numeric[i];
    }
    any_categorical |= categorical[i] != 0;
  }
  if (any_categorical) RunChunks(chunks, [&](Chunk& c) { TextPass(text, categorical, c); });

  Table table;
  for (const Chunk& c : chunks) table.rows += c.rows;
  table.columns.resize(ncols);
  for (size_t i = 0; i < ncols; ++i) {
    Column& col = table.columns[i];
    col.name = std::move(names[i]);
    if (categorical[i]) {
      col.kind = ColumnKind::kCategorical;
      if (chunks.size() == 1) {
        col.strings = std::move(chunks[0].strings[i]);
        col.missing = std::move(chunks[0].missing[i]);
      } else {
        col.strings.reserve(static_cast<size_t>(table.rows));
        col.missing.reserve(static_cast<size_t>(table.rows));
        for (Chunk& c : chunks) {
          for (auto& s : c.strings[i]) col.strings.push_back(std::move(s));
          col.missing.insert(col.missing.end(), c.missing[i].begin(), c.missing[i].end());
        }
      }
    } else {
      col.kind = ColumnKind::kNumeric;
      if (chunks.size() == 1) {
        col.numbers = std::move(chunks[0].numbers[i]);
      } else {
        col.numbers.reserve(static_cast<size_t>(table.rows));
        for (Chunk& c : chunks) {
          col.numbers.insert(col.numbers.end(), c.numbers[i].begin(), c.numbers[i].end());
          std::vector<double>().swap(c.numbers[i]);
        }
      }
      for (const Chunk& c : chunks) col.type_violations += c.violations[i];
    }
  }
  return table;
}

// ----------------------------------------------------------- JSON lines

Result<Table> ParseJsonLines(std::string_view text, const ReadOptions& options) {
  namespace od = simdjson::ondemand;
  const std::string source = SourceName(options, "jsonl");
  std::vector<CellColumn> cols;
  std::map<std::string, size_t, std::less<>> index;
  int64_t rows = 0;
  od::parser parser;
  PaddedLine buf;
  auto fail = [&](int64_t line, const std::string& what) -> Status {
    return InvalidArgument(source + ":" + std::to_string(line) + ": " + what);
  };
  Status st = ForEachLine(text, [&](std::string_view line, int64_t line_no) -> Status {
    buf.Set(line);
    od::document doc;
    if (auto err = parser.iterate(buf.data(), buf.size(), buf.capacity()).get(doc)) {
      return fail(line_no, std::string("not JSON: ") + simdjson::error_message(err));
    }
    od::object obj;
    if (doc.get_object().get(obj)) return fail(line_no, "not a JSON object");
    for (auto field_result : obj) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) {
        return fail(line_no, std::string("not JSON: ") + simdjson::error_message(err));
      }
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) {
        return fail(line_no, std::string("not JSON: ") + simdjson::error_message(err));
      }
      od::value value = field.value();
      od::json_type type;
      if (auto err = value.type().get(type)) {
        return fail(line_no, std::string("not JSON: ") + simdjson::error_message(err));
      }
      Cell cell;
      switch (type) {
        case od::json_type::null: {
          bool is_null = false;
          if (value.is_null().get(is_null) || !is_null) return fail(line_no, "not JSON");
          break;
        }
        case od::json_type::boolean: {
          bool b = false;
          if (value.get_bool().get(b)) return fail(line_no, "not JSON");
          cell.type = Cell::kText;
          cell.text = b ? "true" : "false";
          break;
        }
        case od::json_type::number: {
          std::string_view raw = TrimJsonToken(value.raw_json_token());
          double v = 0;
          if (value.get_double().get(v)) return fail(line_no, "bad number " + std::string(raw));
          cell.type = Cell::kNumber;
          cell.number = v;
          cell.text = std::string(raw);
          break;
        }
        case od::json_type::string: {
          std::string_view s;
          if (value.get_string().get(s)) return fail(line_no, "not JSON");
          cell = TextCell(s);
          break;
        }
        default:
          return fail(line_no, "the value of '" + std::string(key) + "' is not a scalar");
      }
      auto it = index.find(key);
      if (it == index.end()) {
        it = index.emplace(std::string(key), cols.size()).first;
        CellColumn cc;
        cc.name = std::string(key);
        cols.push_back(std::move(cc));
      }
      auto& cells = cols[it->second].cells;
      if (static_cast<int64_t>(cells.size()) > rows) {
        cells.back() = std::move(cell);  // a repeated key: the last one wins
      } else {
        cells.resize(static_cast<size_t>(rows));
        cells.push_back(std::move(cell));
      }
    }
    ++rows;
    return {};
  });
  if (!st) return std::unexpected(st.error());
  if (rows == 0) return InvalidArgument(source + ": empty file (no JSON lines)");
  Table table;
  table.rows = rows;
  for (CellColumn& cc : cols) {
    cc.cells.resize(static_cast<size_t>(rows));
    table.columns.push_back(SettleColumn(std::move(cc), options));
  }
  return table;
}

// -------------------------------------------------------------- profiles

namespace {

constexpr std::string_view kProfileFormat = "cairn-profile";
constexpr int64_t kProfileVersion = 1;
constexpr std::string_view kProfileSuffix = ".profile.json";

void AppendQuoted(std::string& out, std::string_view s) {
  std::string scratch;
  out.push_back('"');
  AppendJsonEscaped(out, ValidUtf8(s, scratch));
  out.push_back('"');
}

// A present number as a JSON value: shortest round-trip, infinities as the
// strings protobuf's JSON mapping uses.
void AppendProfileNumber(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    return;
  }
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? p : buf);
}

void AppendCounts(std::string& out, const std::vector<int64_t>& counts) {
  out += ",\"counts\":[";
  for (size_t i = 0; i < counts.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += std::to_string(counts[i]);
  }
  out += "]}";
}

void AppendNumericProfile(std::string& out, const Column& c) {
  std::vector<double> present;
  present.reserve(c.numbers.size());
  for (double v : c.numbers) {
    if (!std::isnan(v)) present.push_back(v);
  }
  const auto missing = static_cast<int64_t>(c.numbers.size() - present.size());
  std::sort(present.begin(), present.end());
  std::vector<int64_t> counts;
  out += ",\"missing\":" + std::to_string(missing) + ",\"values\":[";
  for (size_t i = 0; i < present.size();) {
    size_t j = i + 1;
    while (j < present.size() && present[j] == present[i]) ++j;  // -0 == 0: one value
    if (!counts.empty()) out.push_back(',');
    AppendProfileNumber(out, present[i]);
    counts.push_back(static_cast<int64_t>(j - i));
    i = j;
  }
  out += "]";
  AppendCounts(out, counts);
}

void AppendCategoricalProfile(std::string& out, const Column& c) {
  std::unordered_map<std::string_view, int64_t> by_value;
  int64_t missing = 0;
  for (size_t r = 0; r < c.strings.size(); ++r) {
    if (r < c.missing.size() && c.missing[r]) {
      ++missing;
    } else {
      ++by_value[c.strings[r]];
    }
  }
  std::vector<std::pair<std::string_view, int64_t>> sorted(by_value.begin(), by_value.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> counts;
  counts.reserve(sorted.size());
  out += ",\"missing\":" + std::to_string(missing) + ",\"values\":[";
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendQuoted(out, sorted[i].first);
    counts.push_back(sorted[i].second);
  }
  out += "]";
  AppendCounts(out, counts);
}

bool EndsWithProfileSuffix(std::string_view name) {
  if (name.size() < kProfileSuffix.size()) return false;
  return Lower(name.substr(name.size() - kProfileSuffix.size())) == kProfileSuffix;
}

// A JSON value's short description for error messages.
std::string JsonTypeName(const nlohmann::json& v) {
  if (v.is_string()) return "a string";
  if (v.is_number()) return "a number";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  return "an object";
}

// A non-negative integer field (rows, missing, a count); false when `v` is not one.
bool NonNegativeInteger(const nlohmann::json& v, int64_t& out) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    out = static_cast<int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return out >= 0;
  }
  return false;
}

// A column of the profile, checked, before it is expanded.
struct ProfiledColumn {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  int64_t missing = 0;
  std::vector<double> numbers;       // kNumeric
  std::vector<std::string> strings;  // kCategorical
  std::vector<int64_t> counts;
};

Result<ProfiledColumn> CheckProfileColumn(const nlohmann::json& c, size_t index, int64_t rows,
                                          const std::string& source) {
  const std::string where = source + ": columns[" + std::to_string(index) + "]";
  if (!c.is_object()) return InvalidArgument(where + " is " + JsonTypeName(c) + ", not an object");
  ProfiledColumn out;
  auto name = c.find("name");
  if (name == c.end() || !name->is_string()) {
    return InvalidArgument(where + ": \"name\" is missing or not a string");
  }
  out.name = name->get<std::string>();
  const std::string col = source + ": column '" + out.name + "'";
  auto kind = c.find("kind");
  if (kind == c.end() || !kind->is_string()) {
    return InvalidArgument(col + ": \"kind\" is missing or not a string");
  }
  if (*kind == "numeric") {
    out.kind = ColumnKind::kNumeric;
  } else if (*kind == "categorical") {
    out.kind = ColumnKind::kCategorical;
  } else {
    return InvalidArgument(col + ": unknown kind '" + kind->get<std::string>() +
                           "' (expected numeric or categorical)");
  }
  auto missing = c.find("missing");
  if (missing == c.end() || !NonNegativeInteger(*missing, out.missing)) {
    return InvalidArgument(col + ": \"missing\" is absent or not a non-negative integer");
  }
  auto values = c.find("values");
  auto counts = c.find("counts");
  if (values == c.end() || !values->is_array()) {
    return InvalidArgument(col + ": \"values\" is missing or not an array");
  }
  if (counts == c.end() || !counts->is_array()) {
    return InvalidArgument(col + ": \"counts\" is missing or not an array");
  }
  if (values->size() != counts->size()) {
    return InvalidArgument(col + ": " + std::to_string(values->size()) + " values but " +
                           std::to_string(counts->size()) + " counts (one count per value)");
  }
  int64_t total = out.missing;
  out.counts.reserve(counts->size());
  for (size_t i = 0; i < counts->size(); ++i) {
    const nlohmann::json& n = (*counts)[i];
    int64_t k = 0;
    if (!NonNegativeInteger(n, k)) {
      const std::string shown = n.is_number() ? n.dump() : JsonTypeName(n);
      return InvalidArgument(col + ": counts[" + std::to_string(i) + "] is " + shown +
                             ": counts must be non-negative integers");
    }
    if (k > std::numeric_limits<int64_t>::max() - total) {
      return InvalidArgument(col + ": counts overflow a 64-bit integer");
    }
    total += k;
    out.counts.push_back(k);
  }
  if (total != rows) {
    return InvalidArgument(col + ": counts sum to " + std::to_string(total - out.missing) +
                           " and missing is " + std::to_string(out.missing) + ", together " +
                           std::to_string(total) + ", but rows is " + std::to_string(rows));
  }
  if (out.kind == ColumnKind::kNumeric) {
    out.numbers.reserve(values->size());
    for (size_t i = 0; i < values->size(); ++i) {
      const nlohmann::json& v = (*values)[i];
      double d = kNaN;
      if (v.is_number()) {
        d = v.get<double>();
      } else if (v.is_string() && (v == "Infinity" || v == "-Infinity")) {
        d = v == "Infinity" ? std::numeric_limits<double>::infinity()
                            : -std::numeric_limits<double>::infinity();
      } else {
        return InvalidArgument(col + ": values[" + std::to_string(i) + "] is " + JsonTypeName(v) +
                               ", a numeric column's values are numbers (or \"Infinity\", "
                               "\"-Infinity\")");
      }
      out.numbers.push_back(d);
    }
  } else {
    out.strings.reserve(values->size());
    for (size_t i = 0; i < values->size(); ++i) {
      const nlohmann::json& v = (*values)[i];
      if (!v.is_string()) {
        return InvalidArgument(col + ": values[" + std::to_string(i) + "] is " + JsonTypeName(v) +
                               ", a categorical column's values are strings");
      }
      out.strings.push_back(v.get<std::string>());
    }
  }
  return out;
}

// Expands one checked column into `rows` cells, converting to a forced kind.
Column ExpandProfileColumn(ProfiledColumn&& p, int64_t rows, const ReadOptions& options) {
  Column c;
  c.name = std::move(p.name);
  auto forced = options.kinds.find(c.name);
  c.kind = forced != options.kinds.end() ? forced->second : p.kind;
  const auto n = static_cast<size_t>(rows);
  if (c.kind == ColumnKind::kNumeric) {
    c.numbers.reserve(n);
    for (size_t i = 0; i < p.counts.size(); ++i) {
      double v = kNaN;
      if (p.kind == ColumnKind::kNumeric) {
        v = p.numbers[i];
      } else if (!ParseNumber(p.strings[i], v)) {
        v = kNaN;
        c.type_violations += p.counts[i];
      }
      c.numbers.insert(c.numbers.end(), static_cast<size_t>(p.counts[i]), v);
    }
    c.numbers.resize(n, kNaN);
  } else {
    c.strings.reserve(n);
    c.missing.reserve(n);
    for (size_t i = 0; i < p.counts.size(); ++i) {
      const auto k = static_cast<size_t>(p.counts[i]);
      if (p.kind == ColumnKind::kCategorical) {
        c.strings.insert(c.strings.end(), k, p.strings[i]);
      } else {
        c.strings.insert(c.strings.end(), k, NumberText(p.numbers[i]));
      }
    }
    c.missing.assign(c.strings.size(), 0);
    c.strings.resize(n);
    c.missing.resize(n, 1);
  }
  return c;
}

}  // namespace

std::string TableToProfileJson(const Table& table) {
  std::string out = "{\"format\":\"";
  out += kProfileFormat;
  out += "\",\"version\":" + std::to_string(kProfileVersion) +
         ",\"rows\":" + std::to_string(table.rows) + ",\"columns\":[";
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const Column& c = table.columns[i];
    if (i > 0) out.push_back(',');
    out += "{\"name\":";
    AppendQuoted(out, c.name);
    out += ",\"kind\":\"";
    out += ColumnKindName(c.kind);
    out += "\"";
    if (c.kind == ColumnKind::kNumeric) {
      AppendNumericProfile(out, c);
    } else {
      AppendCategoricalProfile(out, c);
    }
  }
  out += "]}";
  return out;
}

Result<Table> ParseProfile(std::string_view text, const ReadOptions& options) {
  const std::string source = SourceName(options, "profile");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(source + ": not JSON: " + e.what());
  }
  if (!doc.is_object()) {
    return InvalidArgument(source + ": a profile is a JSON object, this is " + JsonTypeName(doc));
  }
  auto format = doc.find("format");
  if (format == doc.end() || !format->is_string() || format->get<std::string>() != kProfileFormat) {
    const std::string shown = format == doc.end()   ? std::string("absent")
                              : format->is_string() ? "'" + format->get<std::string>() + "'"
                                                    : JsonTypeName(*format);
    return InvalidArgument(source + ": not a Cairn profile (\"format\" is " + shown +
                           ", expected 'cairn-profile')");
  }
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() || *version != kProfileVersion) {
    return InvalidArgument(source + ": unsupported profile version " +
                           (version == doc.end() ? std::string("(absent)") : version->dump()) +
                           " (this Cairn reads version 1)");
  }
  int64_t rows = 0;
  auto rows_it = doc.find("rows");
  if (rows_it == doc.end() || !NonNegativeInteger(*rows_it, rows)) {
    return InvalidArgument(source + ": \"rows\" is absent or not a non-negative integer");
  }
  auto columns = doc.find("columns");
  if (columns == doc.end() || !columns->is_array()) {
    return InvalidArgument(source + ": \"columns\" is absent or not an array");
  }
  std::vector<ProfiledColumn> checked;
  checked.reserve(columns->size());
  for (size_t i = 0; i < columns->size(); ++i) {
    CAIRN_ASSIGN_OR_RETURN(ProfiledColumn c, CheckProfileColumn((*columns)[i], i, rows, source));
    for (const ProfiledColumn& other : checked) {
      if (other.name == c.name) {
        return InvalidArgument(source + ": duplicated column name '" + c.name + "'");
      }
    }
    checked.push_back(std::move(c));
  }
  doc = nlohmann::json();  // the expanded table can be large: free the document first
  Table table;
  table.rows = rows;
  try {
    table.columns.reserve(checked.size());
    for (ProfiledColumn& c : checked) {
      table.columns.push_back(ExpandProfileColumn(std::move(c), rows, options));
      c = ProfiledColumn();
    }
  } catch (const std::bad_alloc&) {
    return MakeError(ErrorCode::kResourceExhausted,
                     source + ": the profile's " + std::to_string(rows) + " rows x " +
                         std::to_string(checked.size()) + " columns do not fit in memory");
  } catch (const std::length_error&) {
    return MakeError(ErrorCode::kResourceExhausted,
                     source + ": the profile's " + std::to_string(rows) + " rows x " +
                         std::to_string(checked.size()) + " columns do not fit in memory");
  }
  return table;
}

// ----------------------------------------------------------------- files

Result<Table> ParseDataset(std::string_view name, std::string_view bytes,
                           const ReadOptions& options) {
  const std::string ext = Lower(Extension(name));
  ReadOptions o = options;
  if (o.source_name.empty()) o.source_name = std::string(name);
  // Before the generic rule: a profile's name also ends in .json.
  if (EndsWithProfileSuffix(name)) return ParseProfile(bytes, o);
  if (ext == ".csv") return ParseCsv(bytes, o);
  if (ext == ".jsonl" || ext == ".ndjson" || ext == ".json") return ParseJsonLines(bytes, o);
  return InvalidArgument(std::string(name) +
                         ": unsupported dataset format (accepted: .csv, .jsonl, .ndjson, .json, "
                         ".profile.json)");
}

Result<Table> ReadDatasetFile(const std::string& path, const ReadOptions& options) {
  const std::string ext = Lower(Extension(path));
  if (ext != ".csv" && ext != ".jsonl" && ext != ".ndjson" && ext != ".json") {
    return InvalidArgument(path +
                           ": unsupported dataset format (accepted: .csv, .jsonl, .ndjson, .json, "
                           ".profile.json)");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) return NotFound(path + ": no such file");
    return InvalidArgument(path + ": cannot open: " + std::strerror(e));
  }
  struct stat sb {};
  if (::fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    ::close(fd);
    return InvalidArgument(path + ": not a regular file");
  }
  const auto size = static_cast<size_t>(sb.st_size);
  if (size == 0) {
    ::close(fd);
    return ParseDataset(path, std::string_view(), options);
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return InvalidArgument(path + ": cannot map: " + std::strerror(errno));
  ::madvise(map, size, MADV_SEQUENTIAL);
  auto result = ParseDataset(path, std::string_view(static_cast<const char*>(map), size), options);
  ::munmap(map, size);
  return result;
}

// ------------------------------------------------------- inference log

namespace {

namespace dom = simdjson::dom;

// A column's cells from one record, before they are appended.
struct PendingColumn {
  std::string name;
  ColumnKind natural = ColumnKind::kNumeric;  // from the datatype
  std::vector<Cell> cells;                    // one per row of the record
};

bool IsCategoricalType(std::string_view datatype) {
  return datatype == "BYTES" || datatype == "BOOL";
}

Cell ElementCell(dom::element e) {
  Cell cell;
  switch (e.type()) {
    case dom::element_type::NULL_VALUE:
      break;
    case dom::element_type::BOOL:
      cell.type = Cell::kText;
      cell.text = bool(e.get_bool().value_unsafe()) ? "true" : "false";
      break;
    case dom::element_type::INT64: {
      const int64_t v = e.get_int64().value_unsafe();
      cell.type = Cell::kNumber;
      cell.number = static_cast<double>(v);
      cell.text = std::to_string(v);
      break;
    }
    case dom::element_type::UINT64: {
      const uint64_t v = e.get_uint64().value_unsafe();
      cell.type = Cell::kNumber;
      cell.number = static_cast<double>(v);
      cell.text = std::to_string(v);
      break;
    }
    case dom::element_type::DOUBLE: {
      const double v = e.get_double().value_unsafe();
      cell.type = Cell::kNumber;
      cell.number = v;
      cell.text = NumberText(v);
      break;
    }
    case dom::element_type::STRING:
      cell = TextCell(e.get_string().value_unsafe());
      break;
    default:
      cell.type = Cell::kText;
      cell.text = simdjson::minify(e);
      break;
  }
  return cell;
}

// One tensor of a record: name, datatype, shape [rows] or [rows, k], data.
struct LoggedTensor {
  std::string name;
  std::string datatype;
  int64_t rows = 0;
  int64_t width = 0;  // 0 for [rows], else k
  std::vector<Cell> data;
};

bool ReadTensor(dom::element e, LoggedTensor& t) {
  dom::object o;
  if (e.get_object().get(o)) return false;
  std::string_view name, datatype;
  if (o["name"].get_string().get(name)) name = "";
  if (o["datatype"].get_string().get(datatype)) return false;
  dom::array shape, data;
  if (o["shape"].get_array().get(shape)) return false;
  if (o["data"].get_array().get(data)) return false;
  std::vector<int64_t> dims;
  for (dom::element d : shape) {
    int64_t v;
    if (d.get_int64().get(v) || v < 0) return false;
    dims.push_back(v);
  }
  if (dims.empty() || dims.size() > 2) return false;
  t.name = std::string(name);
  t.datatype = std::string(datatype);
  t.rows = dims[0];
  t.width = dims.size() == 2 ? dims[1] : 0;
  const int64_t expected = t.rows * std::max<int64_t>(t.width, 1);
  if (static_cast<int64_t>(data.size()) != expected) return false;
  t.data.reserve(static_cast<size_t>(expected));
  for (dom::element d : data) t.data.push_back(ElementCell(d));
  return true;
}

// Adds tensor `t` as columns: [rows] -> `name`; [rows, k] -> names[i].
void AddTensorColumns(LoggedTensor& t, const std::vector<std::string>& names,
                      std::vector<PendingColumn>& out) {
  const ColumnKind natural =
      IsCategoricalType(t.datatype) ? ColumnKind::kCategorical : ColumnKind::kNumeric;
  const int64_t width = std::max<int64_t>(t.width, 1);
  for (int64_t j = 0; j < width; ++j) {
    PendingColumn pc;
    pc.name = names[static_cast<size_t>(j)];
    pc.natural = natural;
    pc.cells.reserve(static_cast<size_t>(t.rows));
    for (int64_t r = 0; r < t.rows; ++r) {
      pc.cells.push_back(std::move(t.data[static_cast<size_t>(r * width + j)]));
    }
    out.push_back(std::move(pc));
  }
}

std::vector<std::string> SuffixedNames(const std::string& base, int64_t width) {
  if (width == 0) return {base};
  std::vector<std::string> names;
  for (int64_t j = 0; j < width; ++j) names.push_back(base + "_" + std::to_string(j));
  return names;
}

// Appends a record's pending columns to `table`, which has `rows` rows
// before the record; the record adds `add` rows.
void AppendPending(Table& table, std::vector<PendingColumn>& pending, int64_t add,
                   const ReadOptions* kinds) {
  std::vector<uint8_t> touched(table.columns.size(), 0);
  for (PendingColumn& pc : pending) {
    Column* col = table.Find(pc.name);
    if (col == nullptr) {
      Column c;
      c.name = pc.name;
      c.kind = pc.natural;
      if (kinds != nullptr) {
        auto it = kinds->kinds.find(pc.name);
        if (it != kinds->kinds.end()) c.kind = it->second;
      }
      AppendMissing(c, table.rows);
      table.columns.push_back(std::move(c));
      touched.push_back(0);
      col = &table.columns.back();
    }
    const size_t idx = static_cast<size_t>(col - table.columns.data());
    if (touched[idx]) continue;  // a repeated name within a record: first wins
    touched[idx] = 1;
    for (Cell& cell : pc.cells) AppendCell(*col, std::move(cell));
  }
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (!touched[i]) AppendMissing(table.columns[i], add);
  }
  table.rows += add;
}

}  // namespace

Status AppendLoggedRows(std::string_view jsonl, const LogFilter& filter, LoggedRows& out) {
  dom::parser parser;
  PaddedLine buf;
  auto process = [&](std::string_view line) -> bool {  // false: malformed
    buf.Set(line);
    dom::element root;
    if (parser.parse(buf.data(), buf.size(), false).get(root)) return false;
    dom::object rec;
    if (root.get_object().get(rec)) return false;
    int64_t ts = 0;
    if (rec["ts"].get_int64().get(ts)) return false;
    std::string_view request_id, deployment, role = "live";
    if (rec["request_id"].get_string().get(request_id)) return false;
    if (rec["deployment"].get_string().get(deployment)) return false;
    {
      std::string_view r;
      if (!rec["role"].get_string().get(r)) role = r;
    }
    int64_t status = 200;
    {
      dom::element s;
      if (!rec["status"].get(s)) {
        if (s.get_int64().get(status)) return false;
      }
    }
    const bool wanted = (filter.include_shadow || role != "shadow") && status == 200 &&
                        (filter.deployment.empty() || deployment == filter.deployment) &&
                        ts >= filter.from_ms && ts < filter.to_ms;
    if (!wanted) {
      ++out.skipped_records;
      return true;
    }
    dom::object inputs;
    if (rec["inputs"].get_object().get(inputs)) return false;
    std::string_view kind;
    if (inputs["kind"].get_string().get(kind)) return false;
    if (kind != "columns" && kind != "tensors") return false;
    dom::array in_tensors;
    if (inputs["tensors"].get_array().get(in_tensors)) return false;
    int64_t rows = -1;
    std::vector<PendingColumn> features;
    for (dom::element e : in_tensors) {
      LoggedTensor t;
      if (!ReadTensor(e, t)) return false;
      if (rows >= 0 && t.rows != rows) return false;
      rows = t.rows;
      std::vector<std::string> names;
      const bool unnamed = t.name.empty() || t.name == "input";
      if (kind == "tensors" && unnamed) {
        const int64_t width = std::max<int64_t>(t.width, 1);
        if (static_cast<int64_t>(filter.feature_names.size()) == width) {
          names = filter.feature_names;
        } else {
          for (int64_t j = 0; j < width; ++j) names.push_back(std::to_string(j));
        }
      } else {
        names = SuffixedNames(t.name, t.width);
      }
      AddTensorColumns(t, names, features);
    }
    if (rows < 0) return false;  // no input tensor
    std::vector<PendingColumn> predictions;
    dom::object outputs;
    if (!rec["outputs"].get_object().get(outputs)) {
      bool frame = false;
      {
        bool f;
        if (!outputs["frame"].get_bool().get(f)) frame = f;
      }
      dom::array out_tensors;
      if (outputs["tensors"].get_array().get(out_tensors)) return false;
      bool first = true;
      for (dom::element e : out_tensors) {
        LoggedTensor t;
        if (!ReadTensor(e, t)) return false;
        if (t.rows != rows) return false;
        std::string base = t.name.empty() ? "output" : t.name;
        if (!frame && first) {
          if (t.width == 0 || t.width == 1) {
            AddTensorColumns(t, {"prediction"}, predictions);
          } else if (t.width == 2) {
            // A binary classifier's probabilities: the positive class's score.
            PendingColumn pc;
            pc.name = "prediction";
            pc.natural = IsCategoricalType(t.datatype) ? ColumnKind::kCategorical
                                                       : ColumnKind::kNumeric;
            for (int64_t r = 0; r < rows; ++r) {
              pc.cells.push_back(std::move(t.data[static_cast<size_t>(r * 2 + 1)]));
            }
            predictions.push_back(std::move(pc));
          } else {
            AddTensorColumns(t, SuffixedNames(base, t.width), predictions);
          }
        } else {
          AddTensorColumns(t, SuffixedNames(base, t.width), predictions);
        }
        first = false;
      }
    }
    AppendPending(out.features, features, rows, &filter.options);
    AppendPending(out.predictions, predictions, rows, nullptr);
    for (int64_t r = 0; r < rows; ++r) {
      out.request_ids.emplace_back(request_id);
      out.row_in_request.push_back(static_cast<int32_t>(r));
      out.ts_millis.push_back(ts);
    }
    ++out.requests;
    return true;
  };
  size_t p = 0;
  while (p < jsonl.size()) {
    size_t nl = jsonl.find('\n', p);
    if (nl == std::string_view::npos) nl = jsonl.size();
    std::string_view line = jsonl.substr(p, nl - p);
    p = nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    if (line.empty()) continue;
    if (!process(line)) ++out.malformed_lines;
  }
  // Keep both tables at the same height (a table that got no column yet).
  const auto total = static_cast<int64_t>(out.request_ids.size());
  out.features.rows = std::max(out.features.rows, total);
  out.predictions.rows = std::max(out.predictions.rows, total);
  for (Column& c : out.predictions.columns) AppendMissing(c, total - c.size());
  for (Column& c : out.features.columns) AppendMissing(c, total - c.size());
  return {};
}

}  // namespace cairn::monitor
