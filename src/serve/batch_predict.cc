// Batch inference over a stream: see batch_predict.h.

#include "serve/batch_predict.h"

#include <charconv>
#include <cmath>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/json_writer.h"
#include "serving/mlflow_scoring.h"
#include "serving/model_input.h"

namespace cairn::serve {
namespace {

// Splits a stream into records: CSV records (newlines inside double quotes
// belong to the field) or lines. Tracks bytes consumed for the progress bar.
class RecordReader {
 public:
  RecordReader(std::istream& in, bool csv_quotes) : in_(in), csv_quotes_(csv_quotes) {}

  // The next record without its line end; false at the end of the input.
  bool Next(std::string& record) {
    record.clear();
    bool quoted = false;
    bool any = false;
    while (true) {
      if (pos_ == buffer_.size()) {
        buffer_.resize(1 << 20);
        in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
        buffer_.resize(static_cast<size_t>(in_.gcount()));
        pos_ = 0;
        if (buffer_.empty()) return any;
      }
      char c = buffer_[pos_++];
      ++bytes_;
      any = true;
      if (csv_quotes_ && c == '"') quoted = !quoted;
      if (c == '\n' && !quoted) {
        if (!record.empty() && record.back() == '\r') record.pop_back();
        return true;
      }
      record.push_back(c);
    }
  }
  uint64_t bytes() const { return bytes_; }

 private:
  std::istream& in_;
  bool csv_quotes_;
  std::vector<char> buffer_;
  size_t pos_ = 0;
  uint64_t bytes_ = 0;
};

// A float written like Python/pandas writes one: "2.0", not "2".
void AppendFloatText(std::string& out, std::string_view text) {
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "inf" : "-inf";
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  AppendFloatText(out, std::string_view(buf, ec == std::errc() ? end : buf));
}

// Shortest round trip for the float itself (0.1f is "0.1", not its double widening).
void AppendFloat(std::string& out, float v) {
  if (std::isnan(v) || std::isinf(v)) return AppendNumber(out, v);
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  AppendFloatText(out, std::string_view(buf, ec == std::errc() ? end : buf));
}

void AppendCsvField(std::string& out, const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// Element i of a tensor as CSV text.
void AppendCsvElement(std::string& out, const serving::Tensor& t, int64_t i) {
  using serving::DataType;
  switch (t.datatype()) {
    case DataType::kBytes:
      return AppendCsvField(out, t.strings()[static_cast<size_t>(i)]);
    case DataType::kBool:
      out += t.AsDouble(i) != 0 ? "True" : "False";
      return;
    case DataType::kFp32:
      return AppendFloat(out, t.values<float>()[static_cast<size_t>(i)]);
    case DataType::kFp16:
    case DataType::kFp64:
      return AppendNumber(out, t.AsDouble(i));
    case DataType::kInt64:
      out += std::to_string(t.values<int64_t>()[static_cast<size_t>(i)]);
      return;
    case DataType::kUint64:
      out += std::to_string(t.values<uint64_t>()[static_cast<size_t>(i)]);
      return;
    default:
      out += std::to_string(static_cast<int64_t>(t.AsDouble(i)));
      return;
  }
}

void WriteJsonElement(JsonWriter& w, const serving::Tensor& t, int64_t i) {
  using serving::DataType;
  switch (t.datatype()) {
    case DataType::kBytes:
      w.String(t.strings()[static_cast<size_t>(i)]);
      return;
    case DataType::kBool:
      w.Bool(t.AsDouble(i) != 0);
      return;
    case DataType::kFp32: {
      std::string s;
      float v = t.values<float>()[static_cast<size_t>(i)];
      if (std::isnan(v) || std::isinf(v)) {
        w.Double(v);
      } else {
        AppendFloat(s, v);
        w.Raw(s);
      }
      return;
    }
    case DataType::kFp16:
    case DataType::kFp64:
      w.Double(t.AsDouble(i));
      return;
    case DataType::kInt64:
      w.Int(t.values<int64_t>()[static_cast<size_t>(i)]);
      return;
    case DataType::kUint64:
      w.Raw(std::to_string(t.values<uint64_t>()[static_cast<size_t>(i)]));
      return;
    default:
      w.Int(static_cast<int64_t>(t.AsDouble(i)));
      return;
  }
}

std::string OutputName(const serving::Tensor& t) { return t.name().empty() ? "predict" : t.name(); }

int64_t PerRow(const serving::Tensor& t) {
  if (t.shape().empty() || t.shape()[0] == 0) return 1;
  return t.element_count() / t.shape()[0];
}

class OutputWriter {
 public:
  OutputWriter(std::ostream& out, TableFormat format) : out_(out), format_(format) {}

  Status Write(const serving::ModelOutput& output, int64_t rows) {
    for (const serving::Tensor& t : output.tensors) {
      if (t.shape().empty() || t.shape()[0] != rows) {
        return Internal("the model returned " +
                        std::to_string(t.shape().empty() ? 0 : t.shape()[0]) + " rows for " +
                        std::to_string(rows));
      }
    }
    std::string text;
    if (format_ == TableFormat::kCsv) {
      if (!header_written_) {
        std::string header;
        for (const serving::Tensor& t : output.tensors) {
          const int64_t k = PerRow(t);
          for (int64_t j = 0; j < k; ++j) {
            if (!header.empty()) header += ',';
            AppendCsvField(header, t.shape().size() > 1 ? OutputName(t) + "_" + std::to_string(j)
                                                        : OutputName(t));
          }
        }
        text += header + "\n";
        header_written_ = true;
      }
      for (int64_t r = 0; r < rows; ++r) {
        bool first = true;
        for (const serving::Tensor& t : output.tensors) {
          const int64_t k = PerRow(t);
          for (int64_t j = 0; j < k; ++j) {
            if (!first) text += ',';
            first = false;
            AppendCsvElement(text, t, r * k + j);
          }
        }
        text += '\n';
      }
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        JsonWriter w;
        w.BeginObject();
        for (const serving::Tensor& t : output.tensors) {
          const int64_t k = PerRow(t);
          w.Key(OutputName(t));
          if (t.shape().size() > 1) w.BeginArray();
          for (int64_t j = 0; j < k; ++j) WriteJsonElement(w, t, r * k + j);
          if (t.shape().size() > 1) w.EndArray();
        }
        w.EndObject();
        text += w.str();
        text += '\n';
      }
    }
    out_ << text;
    if (!out_) return Internal("cannot write the output file");
    return {};
  }

 private:
  std::ostream& out_;
  TableFormat format_;
  bool header_written_ = false;
};

std::string RowRange(int64_t first, int64_t count) {
  if (count <= 0) return "rows from " + std::to_string(first);
  return "rows " + std::to_string(first) + "-" + std::to_string(first + count - 1);
}

Error InRows(const Error& e, int64_t first, int64_t count) {
  return Error(e.code(), RowRange(first, count) + ": " + e.message());
}

struct Predictor {
  serving::Runtime& runtime;
  const std::optional<model::Signature>& signature;
  OutputWriter& writer;
  const BatchPredictOptions& options;
  int64_t rows_done = 0;

  // Parses, conforms and predicts one chunk, then writes its outputs.
  Status Run(Result<serving::ScoringRequest> request, int64_t rows_hint, uint64_t bytes_read) {
    const int64_t first = rows_done + 1;
    if (!request) return std::unexpected(InRows(request.error(), first, rows_hint));
    auto input = serving::ConformScoringInput(std::move(*request), signature);
    if (!input) return std::unexpected(InRows(input.error(), first, rows_hint));
    const int64_t rows = input->rows;
    auto output = runtime.Predict(*input);
    if (!output) return std::unexpected(InRows(output.error(), first, rows));
    if (Status written = writer.Write(*output, rows); !written) {
      return std::unexpected(InRows(written.error(), first, rows));
    }
    rows_done += rows;
    if (options.progress) options.progress(bytes_read, rows_done);
    return {};
  }
};

Status PredictCsv(std::istream& in, int64_t batch_size, Predictor& predictor) {
  RecordReader reader(in, true);
  std::string header;
  if (!reader.Next(header) || header.empty()) return InvalidArgument("the input CSV is empty");
  std::string chunk;
  int64_t in_chunk = 0;
  std::string record;
  auto flush = [&]() -> Status {
    if (in_chunk == 0) return {};
    std::string body = header + "\n" + chunk;
    CAIRN_RETURN_IF_ERROR(predictor.Run(serving::ParseScoringCsv(body), in_chunk, reader.bytes()));
    chunk.clear();
    in_chunk = 0;
    return {};
  };
  while (reader.Next(record)) {
    if (record.empty()) continue;
    chunk += record;
    chunk += '\n';
    if (++in_chunk >= batch_size) CAIRN_RETURN_IF_ERROR(flush());
  }
  return flush();
}

// Chunks of JSON record objects, each chunk predicted as dataframe_records.
Status PredictRecordLines(RecordReader& reader, int64_t batch_size, Predictor& predictor) {
  std::string chunk;
  int64_t in_chunk = 0;
  std::string record;
  auto flush = [&]() -> Status {
    if (in_chunk == 0) return {};
    std::string body = "{\"dataframe_records\": [" + chunk + "]}";
    CAIRN_RETURN_IF_ERROR(
        predictor.Run(serving::ParseScoringJson(body), in_chunk, reader.bytes()));
    chunk.clear();
    in_chunk = 0;
    return {};
  };
  while (reader.Next(record)) {
    size_t start = record.find_first_not_of(" \t\r");
    if (start == std::string::npos) continue;
    if (!chunk.empty()) chunk += ',';
    chunk += record;
    if (++in_chunk >= batch_size) CAIRN_RETURN_IF_ERROR(flush());
  }
  return flush();
}

Status PredictJson(std::istream& in, int64_t batch_size, Predictor& predictor) {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start != std::string::npos && text[start] == '{') {
    // One scoring document (dataframe_split, instances, ...).
    return predictor.Run(serving::ParseScoringJson(text), 0, text.size());
  }
  nlohmann::json records;
  try {
    records = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("the input is not valid JSON: ") + e.what());
  }
  if (!records.is_array()) {
    return InvalidArgument("the input JSON must be a list of records or a scoring document");
  }
  std::string lines;
  for (const auto& r : records) lines += r.dump() + "\n";
  records = nullptr;
  std::istringstream stream(lines);
  RecordReader reader(stream, false);
  return PredictRecordLines(reader, batch_size, predictor);
}

}  // namespace

Result<TableFormat> TableFormatOf(const std::string& path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".csv")) return TableFormat::kCsv;
  if (ends_with(".jsonl") || ends_with(".ndjson")) return TableFormat::kJsonLines;
  if (ends_with(".json")) return TableFormat::kJson;
  return InvalidArgument("'" + path + "': expected a .csv, .json or .jsonl file");
}

Result<int64_t> BatchPredict(serving::Runtime& runtime,
                             const std::optional<model::Signature>& signature, std::istream& in,
                             TableFormat in_format, std::ostream& out, TableFormat out_format,
                             const BatchPredictOptions& options) {
  if (options.batch_size < 1) return InvalidArgument("the batch size must be at least 1");
  OutputWriter writer(out, out_format == TableFormat::kCsv ? TableFormat::kCsv
                                                           : TableFormat::kJsonLines);
  Predictor predictor{runtime, signature, writer, options, 0};
  Status result;
  switch (in_format) {
    case TableFormat::kCsv:
      result = PredictCsv(in, options.batch_size, predictor);
      break;
    case TableFormat::kJsonLines: {
      RecordReader reader(in, false);
      result = PredictRecordLines(reader, options.batch_size, predictor);
      break;
    }
    case TableFormat::kJson:
      result = PredictJson(in, options.batch_size, predictor);
      break;
  }
  if (!result) return std::unexpected(result.error());
  return predictor.rows_done;
}

}  // namespace cairn::serve
