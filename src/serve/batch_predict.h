#pragma once
// Batch inference over a stream (what `cairn predict` runs): reads a table in
// chunks, conforms each chunk to the model's signature, predicts it through a
// Runtime directly (no batcher) and appends the outputs to another stream.
//
// Input formats:
//   - kCsv: a header row, then records (RFC 4180 quoting; a quoted field may
//     hold newlines). Streamed: each chunk of `batch_size` records is parsed
//     with ParseScoringCsv over the header + those records.
//   - kJsonLines: one record object per line ({"col": value, ...}), streamed,
//     each chunk predicted as dataframe_records.
//   - kJson: a list of record objects (chunked as JSON lines), or one MLflow
//     scoring document (dataframe_split, instances, ...) predicted at once.
//     Read whole.
// Output formats:
//   - kCsv: a header, then one column per output tensor (named by the tensor,
//     "predict" when unnamed); a [rows, k] tensor becomes k columns
//     "name_0".."name_{k-1}". Numbers shortest round trip, BOOL True/False,
//     strings quoted when needed.
//   - kJsonLines (also used for kJson): one object per row {"name": value};
//     a [rows, k] tensor's value is a list.
// Errors name the rows of the chunk that failed, 1-based data rows:
//   "rows 1001-2000: column 'age': expected double, got BYTES (strings)".
// Everything before the failing chunk has been written to `out` (callers
// write to a temporary file and rename it on success).
//
// Thread safety: one call per stream; `runtime` as the Runtime's contract.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "core/error.h"
#include "model/signature.h"
#include "serving/runtime.h"

namespace cairn::serve {

enum class TableFormat { kCsv, kJsonLines, kJson };

// By extension: .csv, .jsonl/.ndjson, .json; kInvalidArgument otherwise.
Result<TableFormat> TableFormatOf(const std::string& path);

struct BatchPredictOptions {
  int64_t batch_size = 1000;  // rows per Predict call (>= 1)
  // Called after each chunk with the input bytes consumed and the rows done.
  std::function<void(uint64_t bytes_read, int64_t rows_done)> progress;
};

// Returns the number of rows predicted.
Result<int64_t> BatchPredict(serving::Runtime& runtime,
                             const std::optional<model::Signature>& signature, std::istream& in,
                             TableFormat in_format, std::ostream& out, TableFormat out_format,
                             const BatchPredictOptions& options = {});

}  // namespace cairn::serve
