#pragma once
// Tables for monitoring: the reference and current data as columns.
//
// A Table is a set of named columns of equal length. A column is numeric
// (doubles; NaN marks a missing value) or categorical (strings with a
// missing flag). Readers build tables from CSV, JSON lines and the inference
// log's JSON lines (serving/inference_log.h documents the record form).
//
// Column kinds: `ReadOptions::kinds` forces a kind per column (the
// reference's kinds when reading the current data, or a signature's); other
// columns are inferred: numeric when every present cell parses as a number
// (std::from_chars; "nan", "inf" accepted), else categorical. In a column
// forced numeric, a present cell that is not a number counts as a type
// violation (Column::type_violations) and is stored as missing. Missing:
// an empty CSV cell, JSON null or an absent key. Booleans in JSON are
// categorical "true"/"false"; numbers in a categorical column keep their
// text ("3", "2.5").
//
// CSV: RFC 4180 (a header row; quoted fields with "" escapes and embedded
// newlines; CRLF or LF; a UTF-8 BOM is skipped). Every row must have the
// header's number of fields: otherwise kInvalidArgument naming the file,
// line and counts ("train.csv:17: 4 fields, the header has 5"). Large files
// are split at line boundaries and parsed by `threads` threads.
//
// Profiles (*.profile.json, below) are a stored reference's distribution:
// the same table kinds, rebuilt from value counts.
//
// Errors: kNotFound for a missing file, kInvalidArgument for a malformed
// file (the message names file and line), an empty file, a duplicated column
// name.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cairn::monitor {

enum class ColumnKind { kNumeric, kCategorical };

std::string_view ColumnKindName(ColumnKind k);  // "numeric", "categorical"

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  std::vector<double> numbers;       // kNumeric: one per row, NaN = missing
  std::vector<std::string> strings;  // kCategorical: one per row ("" when missing)
  std::vector<uint8_t> missing;      // kCategorical: one per row, 1 = missing
  int64_t type_violations = 0;       // cells present but not of the column's kind

  int64_t size() const;
  bool IsMissing(int64_t row) const;
  // The cell as text ("" when missing; numbers shortest round-trip).
  std::string Text(int64_t row) const;
};

struct Table {
  std::vector<Column> columns;
  int64_t rows = 0;

  const Column* Find(std::string_view name) const;
  Column* Find(std::string_view name);
  std::vector<std::string> Names() const;
};

struct ReadOptions {
  std::map<std::string, ColumnKind, std::less<>> kinds;  // forced kinds
  int threads = 0;  // 0: std::thread::hardware_concurrency()
  // Shown in error messages ("train.csv:17: ..."); readers of files set it.
  std::string source_name;
};

Result<Table> ParseCsv(std::string_view text, const ReadOptions& options = {});
Result<Table> ParseJsonLines(std::string_view text, const ReadOptions& options = {});
// By extension: .profile.json (a profile, below; checked first), .csv,
// .jsonl / .ndjson / .json (JSON lines); other extensions are
// kInvalidArgument naming the accepted ones.
Result<Table> ReadDatasetFile(const std::string& path, const ReadOptions& options = {});
// The same by a name's extension, for bytes already in memory.
Result<Table> ParseDataset(std::string_view name, std::string_view bytes,
                           const ReadOptions& options = {});

// ---------------------------------------------------------------- profiles

// A profile is a table's empirical distribution per column: each distinct
// present value with its count, and the number of missing cells. Every drift
// test Cairn runs (KS, chi-squared, z, Wasserstein, Jensen-Shannon, PSI)
// and the reference side of the quality checks (min/max, known categories)
// depend only on value -> count, so a profile is a lossless reference for
// them, and much smaller than the data when values repeat. Row order and
// the link between the cells of a row are NOT kept: a table read back from
// a profile must not be used where rows matter (duplicated-row detection,
// which monitors only run on the current data, never on the reference).
//
// Format (JSON, files named *.profile.json):
//   {"format": "cairn-profile", "version": 1, "rows": N,
//    "columns": [{"name": "amount", "kind": "numeric" | "categorical",
//                 "missing": k, "values": [...], "counts": [...]}]}
// `values` are the distinct present values in ascending order (numbers
// compared as doubles, strings bytewise), numbers for a numeric column
// written shortest round-trip (std::to_chars), so parsing gives the same
// doubles; +-infinity, which JSON numbers cannot hold, as the strings
// "Infinity" / "-Infinity". NaN never appears: missing cells (and, for a
// column forced numeric, type violations) are counted in `missing`.
// `counts[i]` is how many rows hold `values[i]`; sum(counts) + missing ==
// rows for every column. Strings that are not valid UTF-8 have each invalid
// byte replaced by U+FFFD (JSON text is UTF-8).

// The profile of `table` (compact JSON). Pure; thread-compatible.
std::string TableToProfileJson(const Table& table);

// A table with the profile's rows: per column, each value repeated its count
// times (in the profile's order), then the missing cells. So the rows are
// not the original rows (see above). `options.kinds` converts as the other
// readers do: a numeric column forced categorical holds the numbers' text
// (shortest round-trip, so "1.50" in the original file reads back as "1.5");
// a categorical column forced numeric parses each value, and values that
// are not numbers count as type violations and become missing.
//
// kInvalidArgument, prefixed by `options.source_name` (or "profile"), names
// what is wrong: not JSON, the format tag is not "cairn-profile", a version
// other than 1, a missing or mistyped field, an unknown kind, values and
// counts of different lengths, a negative count, a value of the wrong type
// for the kind, counts + missing that do not add up to rows, a duplicated
// column name. kResourceExhausted when the expanded table does not fit in
// memory.
Result<Table> ParseProfile(std::string_view json, const ReadOptions& options = {});

// ------------------------------------------------------------ inference log

// Rows of logged requests: one row per input row (a request of k rows gives
// k rows), with the request each came from.
//
// Features: a "columns" input becomes one column per tensor ([rows] as is;
// [rows, k] as name_0..name_{k-1}). A "tensors" input: an unnamed tensor
// ("" or "input") of shape [rows, k] becomes columns named by
// `feature_names` when given (a column signature's names, in order), else
// "0".."k-1"; a named tensor [rows, k] gives name_0..name_{k-1}. BYTES data
// is categorical; other datatypes numeric; BOOL categorical "true"/"false".
//
// Predictions: the first output tensor is "prediction" ([rows] or
// [rows, 1]); for [rows, 2] (a binary classifier's probabilities) the
// prediction is column 1 as "prediction" (a score); other shapes
// "<name>_<i>". When the model answered a frame, its columns keep their
// names.
struct LoggedRows {
  Table features;
  Table predictions;
  std::vector<std::string> request_ids;  // one per row
  std::vector<int32_t> row_in_request;   // one per row
  std::vector<int64_t> ts_millis;        // one per row
  int64_t requests = 0;          // records kept
  int64_t skipped_records = 0;   // shadow, failed (status != 200), other deployment, outside [from, to)
  int64_t malformed_lines = 0;   // not JSON or not the record shape (counted, never fatal)
};

struct LogFilter {
  std::string deployment;  // "" = any
  int64_t from_ms = 0;     // inclusive
  int64_t to_ms = INT64_MAX;  // exclusive
  bool include_shadow = false;
  std::vector<std::string> feature_names;  // see above
  ReadOptions options;                     // kinds for the feature columns
};

// Appends the matching records of one segment's JSON lines to `out`.
// Columns are created on first sight; a column absent from a later record
// is filled with missing values, so every column keeps `rows` cells.
Status AppendLoggedRows(std::string_view jsonl, const LogFilter& filter, LoggedRows& out);

}  // namespace cairn::monitor
