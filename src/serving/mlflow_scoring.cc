#include "serving/mlflow_scoring.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/json_writer.h"
#include "serving/json_tokens.h"

namespace cairn::serving {
namespace {

namespace sj = simdjson::ondemand;

constexpr std::string_view kRequiredInputFormat =
    "The input must be a JSON dictionary with exactly one of the input fields "
    "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}";
constexpr std::string_view kProtocolChangeInfo =
    "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are "
    "seeing this error, you are likely using an outdated scoring request format. To resolve the "
    "error, either update your request format or adjust your MLflow Model's requirements file to "
    "specify an older version of MLflow (for example, change the 'mlflow' requirement specifier "
    "to 'mlflow==1.30.0'). If you are making a request using the MLflow client "
    "(e.g. via `mlflow.pyfunc.spark_udf()`), upgrade your MLflow client to a version >= 2.0 in "
    "order to use the new request format. For more information about the updated MLflow "
    "Model scoring protocol in MLflow 2.0, see "
    "https://mlflow.org/docs/latest/models.html#deploy-mlflow-models.";
constexpr std::string_view kCsvFailure =
    "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid "
    "CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. "
    "Error: '";

// MLflow's MlflowInvalidInputException prefixes its messages so.
std::unexpected<Error> InvalidInput(std::string_view message) {
  return BadRequest("Invalid input. " + std::string(message));
}

std::unexpected<Error> Malformed(simdjson::error_code e, std::string_view body) {
  std::string shown(body.substr(0, 1000));
  if (body.size() > 1000) shown += "...";
  return InvalidInput(std::string("Ensure that input is a valid JSON formatted string. Error: '") +
                      simdjson::error_message(e) + "'\nInput: \n" + shown + "\n");
}

std::string PyQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string PyList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += PyQuote(items[i]);
  }
  return out + "]";
}

std::string_view PyTypeName(sj::json_type t) {
  switch (t) {
    case sj::json_type::array:
      return "list";
    case sj::json_type::object:
      return "dict";
    case sj::json_type::number:
      return "float";
    case sj::json_type::string:
      return "str";
    case sj::json_type::boolean:
      return "bool";
    case sj::json_type::null:
      return "NoneType";
  }
  return "object";
}

std::string_view TrimJson(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' ||
                        s.back() == '\t' || s.back() == ',' || s.back() == ']' || s.back() == '}'))
    s.remove_suffix(1);
  return s;
}

// One cell or tensor element as read, before its column's type is known.
struct Cell {
  enum class Kind : uint8_t { kNull, kInt, kDouble, kBool, kString, kJson } kind = Kind::kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;  // string value, JSON text of a list/object, or CSV text
};

Result<sj::json_type> TypeOf(sj::value& v, std::string_view body) {
  sj::json_type t{};
  if (auto e = v.type().get(t)) return Malformed(e, body);
  if (t == sj::json_type::null) {
    bool is_null = false;
    if (auto e = v.is_null().get(is_null)) return Malformed(e, body);
    if (!is_null) return Malformed(simdjson::N_ATOM_ERROR, body);
  }
  return t;
}

Result<Cell> ReadCell(sj::value& v, std::string_view body) {
  CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v, body));
  Cell c;
  switch (t) {
    case sj::json_type::null:
      break;
    case sj::json_type::boolean: {
      bool b = false;
      if (auto e = v.get_bool().get(b)) return Malformed(e, body);
      c.kind = Cell::Kind::kBool;
      c.i = b ? 1 : 0;
      break;
    }
    case sj::json_type::number: {
      sj::number_type nt{};
      if (auto e = v.get_number_type().get(nt)) return Malformed(e, body);
      if (nt == sj::number_type::signed_integer) {
        if (auto e = v.get_int64().get(c.i)) return Malformed(e, body);
        c.kind = Cell::Kind::kInt;
      } else {
        if (auto e = v.get_double().get(c.d)) return Malformed(e, body);
        c.kind = Cell::Kind::kDouble;
      }
      c.s = std::string(TrimJson(v.raw_json_token()));
      break;
    }
    case sj::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return Malformed(e, body);
      c.kind = Cell::Kind::kString;
      c.s = std::string(s);
      break;
    }
    case sj::json_type::array: {
      sj::array a;
      std::string_view raw;
      if (auto e = v.get_array().get(a)) return Malformed(e, body);
      if (auto e = a.raw_json().get(raw)) return Malformed(e, body);
      c.kind = Cell::Kind::kJson;
      c.s = std::string(raw);
      break;
    }
    case sj::json_type::object: {
      sj::object o;
      std::string_view raw;
      if (auto e = v.get_object().get(o)) return Malformed(e, body);
      if (auto e = o.raw_json().get(raw)) return Malformed(e, body);
      c.kind = Cell::Kind::kJson;
      c.s = std::string(raw);
      break;
    }
  }
  return c;
}

std::string CellJson(const Cell& c) {
  switch (c.kind) {
    case Cell::Kind::kNull:
      return "null";
    case Cell::Kind::kBool:
      return c.i ? "true" : "false";
    case Cell::Kind::kInt:
      return std::to_string(c.i);
    case Cell::Kind::kDouble:
      return c.s.empty() ? JsonWriter().Double(c.d).str() : c.s;
    case Cell::Kind::kString:
      return JsonWriter().String(c.s).str();
    case Cell::Kind::kJson:
      return c.s;
  }
  return "null";
}

// Turns a column's cells into a typed Column. `from_csv`: a mixed column keeps
// the cells' text as strings (pandas' object column of str).
Column BuildColumn(std::string name, std::vector<Cell>& cells, bool from_csv) {
  Column col;
  col.name = std::move(name);
  bool any_null = false, has_int = false, has_double = false, has_bool = false, has_string = false,
       has_json = false;
  for (const Cell& c : cells) {
    switch (c.kind) {
      case Cell::Kind::kNull:
        any_null = true;
        break;
      case Cell::Kind::kInt:
        has_int = true;
        break;
      case Cell::Kind::kDouble:
        has_double = true;
        break;
      case Cell::Kind::kBool:
        has_bool = true;
        break;
      case Cell::Kind::kString:
        has_string = true;
        break;
      case Cell::Kind::kJson:
        has_json = true;
        break;
    }
  }
  const int kinds = (has_int || has_double) + has_bool + has_string + has_json;
  if (kinds == 0 || (kinds == 1 && (has_int || has_double))) {
    col.type = has_double || !has_int ? ColumnType::kFloat64 : ColumnType::kInt64;
  } else if (kinds == 1 && has_bool) {
    col.type = ColumnType::kBool;
  } else if (kinds == 1 && has_string) {
    col.type = ColumnType::kString;
  } else {
    col.type = from_csv ? ColumnType::kString : ColumnType::kJson;
  }
  if (any_null) col.nulls.resize(cells.size());
  for (size_t r = 0; r < cells.size(); ++r) {
    Cell& c = cells[r];
    const bool null = c.kind == Cell::Kind::kNull;
    if (null) col.nulls[r] = 1;
    switch (col.type) {
      case ColumnType::kInt64:
        col.ints.push_back(c.i);
        break;
      case ColumnType::kFloat64:
        col.doubles.push_back(null ? std::numeric_limits<double>::quiet_NaN()
                              : c.kind == Cell::Kind::kInt ? static_cast<double>(c.i)
                                                           : c.d);
        break;
      case ColumnType::kBool:
        col.bools.push_back(c.i ? 1 : 0);
        break;
      case ColumnType::kString:
        col.strings.push_back(null                                        ? std::string()
                              : c.kind == Cell::Kind::kString || from_csv ? std::move(c.s)
                                                                          : CellJson(c));
        break;
      case ColumnType::kJson:
        col.strings.push_back(null ? std::string("null") : CellJson(c));
        break;
    }
  }
  return col;
}

// ---- dataframe_split / dataframe_records -------------------------------

// Rows of cells, columns named or not, to a DataFrame. `names` empty: 0..n-1.
Result<DataFrame> FrameFromRows(std::vector<std::string> names, bool named,
                                std::vector<std::vector<Cell>>& rows, std::string_view orient) {
  size_t width = names.size();
  size_t max_len = 0;
  for (const auto& r : rows) max_len = std::max(max_len, r.size());
  if (!named) {
    width = max_len;
    for (size_t i = 0; i < width; ++i) names.push_back(std::to_string(i));
  } else if (!rows.empty() && max_len != width) {
    return InvalidInput("Provided dataframe_" + std::string(orient) +
                        " field is not a valid dataframe representation in '" +
                        std::string(orient) + "' format. Error: '" + std::to_string(width) +
                        " columns passed, passed data had " + std::to_string(max_len) +
                        " columns'");
  }
  DataFrame frame;
  frame.num_rows = rows.size();
  for (size_t c = 0; c < width; ++c) {
    std::vector<Cell> cells(rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
      if (c < rows[r].size()) cells[r] = std::move(rows[r][c]);
    }
    frame.columns.push_back(BuildColumn(std::move(names[c]), cells, false));
  }
  return frame;
}

Result<std::vector<Cell>> ReadRow(sj::value& v, std::string_view body) {
  std::vector<Cell> row;
  CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v, body));
  if (t != sj::json_type::array) {  // pandas takes a scalar row as a one-column row
    CAIRN_ASSIGN_OR_RETURN(Cell c, ReadCell(v, body));
    row.push_back(std::move(c));
    return row;
  }
  sj::array a;
  if (auto e = v.get_array().get(a)) return Malformed(e, body);
  for (auto item_result : a) {
    sj::value item;
    if (auto e = std::move(item_result).get(item)) return Malformed(e, body);
    CAIRN_ASSIGN_OR_RETURN(Cell c, ReadCell(item, body));
    row.push_back(std::move(c));
  }
  return row;
}

Result<DataFrame> ParseSplit(sj::value& v, std::string_view body) {
  CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v, body));
  if (t != sj::json_type::object) {
    return InvalidInput("Dataframe split format must be a dictionary. Got " +
                        (t == sj::json_type::array
                             ? std::string("list")
                             : "type <class '" + std::string(PyTypeName(t)) + "'>") +
                        ".");
  }
  sj::object obj;
  if (auto e = v.get_object().get(obj)) return Malformed(e, body);
  std::vector<std::string> keys;
  std::vector<std::string> names;
  bool named = false, has_data = false, extra = false;
  std::optional<size_t> index_len;
  std::vector<std::vector<Cell>> rows;
  for (auto field_result : obj) {
    sj::field field;
    if (auto e = std::move(field_result).get(field)) return Malformed(e, body);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return Malformed(e, body);
    keys.emplace_back(key);
    sj::value fv = field.value();
    const std::string bad =
        "Provided dataframe_split field is not a valid dataframe "
        "representation in 'split' format. Error: '";
    if (key == "columns") {
      named = true;
      sj::array a;
      if (fv.get_array().get(a)) return InvalidInput(bad + "columns must be a list'");
      for (auto item_result : a) {
        sj::value item;
        if (auto e = std::move(item_result).get(item)) return Malformed(e, body);
        CAIRN_ASSIGN_OR_RETURN(Cell c, ReadCell(item, body));
        names.push_back(c.kind == Cell::Kind::kString ? std::move(c.s) : CellJson(c));
      }
    } else if (key == "data") {
      has_data = true;
      sj::array a;
      if (fv.get_array().get(a)) return InvalidInput(bad + "data must be a list'");
      for (auto item_result : a) {
        sj::value item;
        if (auto e = std::move(item_result).get(item)) return Malformed(e, body);
        CAIRN_ASSIGN_OR_RETURN(auto row, ReadRow(item, body));
        rows.push_back(std::move(row));
      }
    } else if (key == "index") {
      sj::array a;
      if (fv.get_array().get(a)) return InvalidInput(bad + "index must be a list'");
      size_t n = 0;
      for (auto item_result : a) {
        sj::value item;
        if (auto e = std::move(item_result).get(item)) return Malformed(e, body);
        CAIRN_RETURN_IF_ERROR(ReadCell(item, body));
        ++n;
      }
      index_len = n;
    } else {
      extra = true;
    }
  }
  if (!has_data || extra) {
    std::string set = "{";
    for (size_t i = 0; i < keys.size(); ++i) set += (i ? ", " : "") + PyQuote(keys[i]);
    set += "}";
    if (keys.empty()) set = "set()";
    return InvalidInput(
        "Dataframe split format must have 'data' field and optionally 'columns' "
        "and 'index' fields. Got " +
        set + ".'");
  }
  if (index_len && *index_len != rows.size()) {
    return InvalidInput(
        "Provided dataframe_split field is not a valid dataframe representation "
        "in 'split' format. Error: 'Length of values (" +
        std::to_string(rows.size()) + ") does not match length of index (" +
        std::to_string(*index_len) + ")'");
  }
  return FrameFromRows(std::move(names), named, rows, "split");
}

Result<DataFrame> ParseRecords(sj::value& v, std::string_view body) {
  CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v, body));
  if (t != sj::json_type::array) {
    return InvalidInput("Dataframe records format must be a list of records. Got " +
                        (t == sj::json_type::object
                             ? std::string("dictionary")
                             : "type <class '" + std::string(PyTypeName(t)) + "'>") +
                        ".");
  }
  sj::array a;
  if (auto e = v.get_array().get(a)) return Malformed(e, body);
  std::vector<std::string> names;
  std::unordered_map<std::string, size_t> position;
  std::vector<std::vector<Cell>> rows;
  enum class Kind { kUnknown, kObjects, kLists } kind = Kind::kUnknown;
  for (auto item_result : a) {
    sj::value item;
    if (auto e = std::move(item_result).get(item)) return Malformed(e, body);
    CAIRN_ASSIGN_OR_RETURN(sj::json_type it, TypeOf(item, body));
    const Kind this_kind = it == sj::json_type::object ? Kind::kObjects : Kind::kLists;
    if (kind == Kind::kUnknown) kind = this_kind;
    if (kind != this_kind) {
      return InvalidInput(
          "Provided dataframe_records field is not a valid dataframe "
          "representation in 'records' format. Error: 'records mix objects "
          "and lists'");
    }
    if (kind == Kind::kLists) {
      CAIRN_ASSIGN_OR_RETURN(auto row, ReadRow(item, body));
      rows.push_back(std::move(row));
      continue;
    }
    sj::object rec;
    if (auto e = item.get_object().get(rec)) return Malformed(e, body);
    std::vector<Cell> row(names.size());
    for (auto field_result : rec) {
      sj::field field;
      if (auto e = std::move(field_result).get(field)) return Malformed(e, body);
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return Malformed(e, body);
      sj::value fv = field.value();
      CAIRN_ASSIGN_OR_RETURN(Cell c, ReadCell(fv, body));
      auto [it_pos, inserted] = position.try_emplace(std::string(key), names.size());
      if (inserted) names.emplace_back(key);
      if (row.size() <= it_pos->second) row.resize(it_pos->second + 1);
      row[it_pos->second] = std::move(c);
    }
    rows.push_back(std::move(row));
  }
  if (kind == Kind::kLists) return FrameFromRows({}, false, rows, "records");
  for (auto& r : rows) r.resize(names.size());  // missing keys are null
  return FrameFromRows(std::move(names), true, rows, "records");
}

// ---- instances / inputs -------------------------------------------------

std::unexpected<Error> TensorError(std::string_view what) {
  return InvalidInput("Ensure that the input is a valid JSON-formatted string.\nError: " +
                      std::string(what));
}

// Infers a tensor's shape and datatype from nested JSON lists (as numpy.array does).
class TensorBuilder {
 public:
  TensorBuilder(std::string name, bool stacked, std::string_view body)
      : name_(std::move(name)), body_(body) {
    if (stacked) shape_.push_back(-1);
  }

  // Adds `v` as the next row of a stacked tensor (a new first dimension).
  Status AddRow(sj::value& v) {
    ++rows_;
    return Walk(v, 1);
  }
  Status SetValue(sj::value& v) { return Walk(v, 0); }

  Result<Tensor> Finish() {
    if (!shape_.empty() && shape_[0] == -1) shape_[0] = rows_;
    if (!rank_) rank_ = shape_.size();
    shape_.resize(*rank_);
    bool has_bool = false, has_int = false, has_double = false, has_string = false,
         has_null = false;
    for (const Cell& c : cells_) {
      has_bool |= c.kind == Cell::Kind::kBool;
      has_int |= c.kind == Cell::Kind::kInt;
      has_double |= c.kind == Cell::Kind::kDouble;
      has_string |= c.kind == Cell::Kind::kString;
      has_null |= c.kind == Cell::Kind::kNull;
    }
    const int kinds = has_bool + (has_int || has_double || has_null) + has_string;
    if (kinds > 1) return TensorError(Label() + " mixes value types");
    if (has_string) {
      std::vector<std::string> strings;
      strings.reserve(cells_.size());
      for (Cell& c : cells_) strings.push_back(std::move(c.s));
      return Tensor::FromStrings(name_, shape_, std::move(strings));
    }
    if (has_bool) {
      std::vector<uint8_t> v;
      for (const Cell& c : cells_) v.push_back(c.i ? 1 : 0);
      return Tensor::FromValues<uint8_t>(name_, DataType::kBool, shape_, v);
    }
    if (has_int && !has_double && !has_null) {
      std::vector<int64_t> v;
      for (const Cell& c : cells_) v.push_back(c.i);
      return Tensor::FromValues<int64_t>(name_, DataType::kInt64, shape_, v);
    }
    std::vector<double> v;
    for (const Cell& c : cells_) {
      v.push_back(c.kind == Cell::Kind::kNull  ? std::numeric_limits<double>::quiet_NaN()
                  : c.kind == Cell::Kind::kInt ? static_cast<double>(c.i)
                                               : c.d);
    }
    return Tensor::FromValues<double>(name_, DataType::kFp64, shape_, v);
  }

 private:
  std::string Label() const { return name_.empty() ? "the input" : "input '" + name_ + "'"; }

  std::unexpected<Error> Ragged(size_t depth) const {
    // numpy.array's message, which MLflow passes on.
    return InvalidInput(
        "setting an array element with a sequence. The requested array has an "
        "inhomogeneous shape after " +
        std::to_string(depth) + " dimensions.");
  }

  Status Walk(sj::value& v, size_t depth) {
    CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v, body_));
    if (t == sj::json_type::object) return TensorError(Label() + " holds an object");
    if (t != sj::json_type::array) {
      if (!rank_) rank_ = depth;
      if (*rank_ != depth) return Ragged(std::min(*rank_, depth));
      CAIRN_ASSIGN_OR_RETURN(Cell c, ReadCell(v, body_));
      cells_.push_back(std::move(c));
      return {};
    }
    if (rank_ && depth >= *rank_) return Ragged(*rank_);
    if (shape_.size() <= depth) shape_.resize(depth + 1, -1);
    sj::array a;
    if (auto e = v.get_array().get(a)) return Malformed(e, body_);
    int64_t n = 0;
    for (auto item_result : a) {
      sj::value item;
      if (auto e = std::move(item_result).get(item)) return Malformed(e, body_);
      CAIRN_RETURN_IF_ERROR(Walk(item, depth + 1));
      ++n;
    }
    if (shape_[depth] == -1) {
      shape_[depth] = n;
    } else if (shape_[depth] != n) {
      return Ragged(depth);
    }
    return {};
  }

  std::string name_;
  std::string_view body_;
  std::vector<int64_t> shape_;
  std::optional<size_t> rank_;
  int64_t rows_ = 0;
  std::vector<Cell> cells_;
};

Result<std::vector<Tensor>> ParseInstances(sj::value& v, std::string_view body) {
  CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v, body));
  std::vector<Tensor> out;
  if (t != sj::json_type::array) {
    TensorBuilder b("", false, body);
    CAIRN_RETURN_IF_ERROR(b.SetValue(v));
    CAIRN_ASSIGN_OR_RETURN(Tensor tensor, b.Finish());
    out.push_back(std::move(tensor));
    return out;
  }
  sj::array a;
  if (auto e = v.get_array().get(a)) return Malformed(e, body);
  // Rows of objects: one stacked tensor per key (the first row's keys).
  std::vector<TensorBuilder> builders;
  std::vector<std::string> keys;
  std::optional<TensorBuilder> whole;
  size_t row = 0;
  for (auto item_result : a) {
    sj::value item;
    if (auto e = std::move(item_result).get(item)) return Malformed(e, body);
    CAIRN_ASSIGN_OR_RETURN(sj::json_type it, TypeOf(item, body));
    const bool is_object = it == sj::json_type::object;
    if (row == 0 && !is_object) whole.emplace("", true, body);
    if (whole) {
      if (is_object) return TensorError("instances mix objects and values");
      CAIRN_RETURN_IF_ERROR(whole->AddRow(item));
      ++row;
      continue;
    }
    if (!is_object) return TensorError("instances mix objects and values");
    sj::object rec;
    if (auto e = item.get_object().get(rec)) return Malformed(e, body);
    if (row == 0) {
      for (auto field_result : rec) {
        sj::field field;
        if (auto e = std::move(field_result).get(field)) return Malformed(e, body);
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return Malformed(e, body);
        keys.emplace_back(key);
        builders.emplace_back(std::string(key), true, body);
        sj::value fv = field.value();
        CAIRN_RETURN_IF_ERROR(builders.back().AddRow(fv));
      }
    } else {
      for (size_t k = 0; k < keys.size(); ++k) {
        sj::value fv;
        auto e = rec.find_field_unordered(keys[k]).get(fv);
        if (e == simdjson::NO_SUCH_FIELD) {
          return InvalidInput("The length of values for each input/column name are not the same");
        }
        if (e) return Malformed(e, body);
        CAIRN_RETURN_IF_ERROR(builders[k].AddRow(fv));
      }
    }
    ++row;
  }
  if (whole) {
    CAIRN_ASSIGN_OR_RETURN(Tensor tensor, whole->Finish());
    out.push_back(std::move(tensor));
  } else if (builders.empty()) {  // []: an empty FP64 tensor of shape [0]
    TensorBuilder b("", true, body);
    CAIRN_ASSIGN_OR_RETURN(Tensor tensor, b.Finish());
    out.push_back(std::move(tensor));
  }
  for (auto& b : builders) {
    CAIRN_ASSIGN_OR_RETURN(Tensor tensor, b.Finish());
    out.push_back(std::move(tensor));
  }
  return out;
}

Result<std::vector<Tensor>> ParseInputs(sj::value& v, std::string_view body) {
  CAIRN_ASSIGN_OR_RETURN(sj::json_type t, TypeOf(v, body));
  std::vector<Tensor> out;
  if (t != sj::json_type::object) {
    TensorBuilder b("", false, body);
    CAIRN_RETURN_IF_ERROR(b.SetValue(v));
    CAIRN_ASSIGN_OR_RETURN(Tensor tensor, b.Finish());
    out.push_back(std::move(tensor));
    return out;
  }
  sj::object obj;
  if (auto e = v.get_object().get(obj)) return Malformed(e, body);
  for (auto field_result : obj) {
    sj::field field;
    if (auto e = std::move(field_result).get(field)) return Malformed(e, body);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return Malformed(e, body);
    TensorBuilder b(std::string(key), false, body);
    sj::value fv = field.value();
    CAIRN_RETURN_IF_ERROR(b.SetValue(fv));
    CAIRN_ASSIGN_OR_RETURN(Tensor tensor, b.Finish());
    out.push_back(std::move(tensor));
  }
  return out;
}

// ---- CSV -----------------------------------------------------------------

bool IsPandasNa(std::string_view s) {
  static const std::unordered_set<std::string_view> kNa = {
      "",     "#N/A",   "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN",
      "-nan", "1.#IND", "1.#QNAN",  "<NA>", "N/A",     "NA",       "NULL",
      "NaN",  "None",   "n/a",      "nan",  "null"};
  return kNa.contains(s);
}

Cell CsvCell(std::string text) {
  Cell c;
  if (IsPandasNa(text)) return c;
  const char* b = text.data();
  const char* e = b + text.size();
  int64_t i = 0;
  auto ri = std::from_chars(*b == '+' ? b + 1 : b, e, i);
  if (ri.ec == std::errc() && ri.ptr == e) {
    c.kind = Cell::Kind::kInt;
    c.i = i;
  } else if (double d = 0; std::from_chars(*b == '+' ? b + 1 : b, e, d).ptr == e) {
    c.kind = Cell::Kind::kDouble;
    c.d = d;
  } else if (text == "True" || text == "TRUE" || text == "true") {
    c.kind = Cell::Kind::kBool;
    c.i = 1;
  } else if (text == "False" || text == "FALSE" || text == "false") {
    c.kind = Cell::Kind::kBool;
  } else {
    c.kind = Cell::Kind::kString;
  }
  c.s = std::move(text);
  return c;
}

std::unexpected<Error> CsvError(const std::string& what) {
  return BadRequest(std::string(kCsvFailure) + what + "'");
}

}  // namespace

size_t Column::size() const {
  switch (type) {
    case ColumnType::kInt64:
      return ints.size();
    case ColumnType::kFloat64:
      return doubles.size();
    case ColumnType::kBool:
      return bools.size();
    case ColumnType::kString:
    case ColumnType::kJson:
      return strings.size();
  }
  return 0;
}

const Column* DataFrame::Find(std::string_view name) const {
  for (const auto& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Result<ScoringContentType> ParseScoringContentType(std::string_view content_type) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  std::string_view mime = trim(content_type.substr(0, content_type.find(';')));
  std::string_view rest = content_type.find(';') == std::string_view::npos
                              ? ""
                              : content_type.substr(content_type.find(';') + 1);
  std::vector<std::string> unexpected;
  while (!rest.empty()) {
    std::string_view param = trim(rest.substr(0, rest.find(';')));
    rest = rest.find(';') == std::string_view::npos ? "" : rest.substr(rest.find(';') + 1);
    if (param.empty()) continue;
    std::string_view key = trim(param.substr(0, param.find('=')));
    std::string_view value =
        param.find('=') == std::string_view::npos ? "" : trim(param.substr(param.find('=') + 1));
    if (key == "charset") {
      std::string lower(value);
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (lower != "utf-8") return InvalidArgument("The scoring server only supports UTF-8");
    } else {
      unexpected.emplace_back(key);
    }
  }
  if (!unexpected.empty()) {
    std::string joined;
    for (size_t i = 0; i < unexpected.size(); ++i) joined += (i ? ", " : "") + unexpected[i];
    return InvalidArgument("Unrecognized content type parameters: " + joined + ". " +
                           std::string(kProtocolChangeInfo));
  }
  if (mime == "application/json") return ScoringContentType::kJson;
  if (mime == "text/csv") return ScoringContentType::kCsv;
  return InvalidArgument(
      "This predictor only supports the following content types: Types: ['text/csv', "
      "'application/json', 'application/vnd.apache.parquet']. Got '" +
      std::string(content_type) + "'.");
}

Result<ScoringRequest> ParseScoringJsonStrict(std::string_view body);

Result<ScoringRequest> ParseScoringJson(std::string_view body) {
  Result<ScoringRequest> parsed = ParseScoringJsonStrict(body);
  if (parsed || parsed.error().code() != ErrorCode::kBadRequest) return parsed;
  // Python clients (and MLflow's own input examples) write NaN bare; pandas
  // reads it as a missing value, which is what null is here.
  std::optional<std::string> nulled = ReplaceNonFiniteTokens(body, {"null", std::nullopt, std::nullopt});
  if (!nulled) return parsed;
  return ParseScoringJsonStrict(*nulled);
}

Result<ScoringRequest> ParseScoringJsonStrict(std::string_view body) {
  thread_local sj::parser parser;
  simdjson::padded_string large;
  const simdjson::padded_string_view padded = PaddedJson(body, large);
  sj::document doc;
  if (auto e = parser.iterate(padded).get(doc)) return Malformed(e, body);
  sj::json_type t{};
  if (auto e = doc.type().get(t)) return Malformed(e, body);
  if (t == sj::json_type::array) {
    return InvalidInput(std::string(kRequiredInputFormat) + ". Received a list.");
  }
  if (t != sj::json_type::object) {
    // type() looks at the first byte only: read the scalar to reject "nope" or "3 x".
    simdjson::error_code e = simdjson::SUCCESS;
    switch (t) {
      case sj::json_type::null: {
        bool is_null = false;
        e = doc.is_null().get(is_null);
        if (!e && !is_null) e = simdjson::N_ATOM_ERROR;
        break;
      }
      case sj::json_type::boolean:
        e = doc.get_bool().error();
        break;
      case sj::json_type::string:
        e = doc.get_string().error();
        break;
      case sj::json_type::number:
        e = doc.get_double().error();
        break;
      default:
        break;
    }
    if (e) return Malformed(e, body);
    std::string_view py = PyTypeName(t);
    if (t == sj::json_type::number) {
      sj::number_type nt{};
      if (!doc.get_number_type().get(nt) && nt != sj::number_type::floating_point_number) {
        py = "int";
      }
    }
    return InvalidInput(std::string(kRequiredInputFormat) +
                        ". Received unexpected input type '<class '" + std::string(py) + "'>.");
  }

  // Pass 1: which of the format fields are present (the error lists them).
  std::vector<std::string> formats;
  {
    sj::object obj;
    if (auto e = doc.get_object().get(obj)) return Malformed(e, body);
    for (auto field_result : obj) {
      sj::field field;
      if (auto e = std::move(field_result).get(field)) return Malformed(e, body);
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return Malformed(e, body);
      if (key == "dataframe_split" || key == "dataframe_records" || key == "instances" ||
          key == "inputs") {
        formats.emplace_back(key);
      }
    }
    const char* trailing = nullptr;
    if (!doc.current_location().get(trailing)) {
      return Malformed(simdjson::TRAILING_CONTENT, body);
    }
  }
  if (formats.size() != 1) {
    return BadRequest(std::string(kRequiredInputFormat) +
                      ". Received dictionary with input fields: " + PyList(formats) + ". " +
                      std::string(kProtocolChangeInfo));
  }

  // Pass 2: parse the one format field and params.
  doc.rewind();
  sj::object obj;
  if (auto e = doc.get_object().get(obj)) return Malformed(e, body);
  ScoringRequest req;
  for (auto field_result : obj) {
    sj::field field;
    if (auto e = std::move(field_result).get(field)) return Malformed(e, body);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return Malformed(e, body);
    sj::value v = field.value();
    if (key == "dataframe_split") {
      req.format = ScoringFormat::kDataframeSplit;
      CAIRN_ASSIGN_OR_RETURN(req.frame, ParseSplit(v, body));
    } else if (key == "dataframe_records") {
      req.format = ScoringFormat::kDataframeRecords;
      CAIRN_ASSIGN_OR_RETURN(req.frame, ParseRecords(v, body));
    } else if (key == "instances") {
      req.format = ScoringFormat::kInstances;
      CAIRN_ASSIGN_OR_RETURN(req.tensors, ParseInstances(v, body));
    } else if (key == "inputs") {
      req.format = ScoringFormat::kInputs;
      CAIRN_ASSIGN_OR_RETURN(req.tensors, ParseInputs(v, body));
    } else if (key == "params") {
      CAIRN_ASSIGN_OR_RETURN(Cell c, ReadCell(v, body));
      if (c.kind != Cell::Kind::kNull) req.params_json = CellJson(c);
    }
  }
  return req;
}

Result<ScoringRequest> ParseScoringCsv(std::string_view body) {
  // Split into records of fields (RFC 4180: "" escapes a quote inside quotes).
  std::vector<std::vector<std::string>> records;
  std::vector<size_t> record_line;  // 1-based line where each record starts
  std::vector<std::string> fields;
  std::string field;
  bool in_quotes = false, any_in_record = false;
  size_t line = 1, record_start = 1, quote_start_line = 0;
  auto end_record = [&] {
    fields.push_back(std::move(field));
    field.clear();
    // pandas skips blank lines.
    if (!(fields.size() == 1 && fields[0].empty() && !any_in_record)) {
      records.push_back(std::move(fields));
      record_line.push_back(record_start);
    }
    fields.clear();
    any_in_record = false;
  };
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < body.size() && body[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      in_quotes = true;
      any_in_record = true;
      quote_start_line = line;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      any_in_record = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
      end_record();
      ++line;
      record_start = line;
    } else {
      field += c;
    }
  }
  if (in_quotes) {
    return CsvError("Error tokenizing data. C error: EOF inside string starting at row " +
                    std::to_string(quote_start_line - 1));
  }
  if (!field.empty() || !fields.empty() || any_in_record) end_record();
  if (records.empty()) return CsvError("No columns to parse from file");

  std::vector<std::string> names = std::move(records[0]);
  std::unordered_map<std::string, int> seen;
  for (size_t c = 0; c < names.size(); ++c) {
    if (names[c].empty()) names[c] = "Unnamed: " + std::to_string(c);
    // pandas renames duplicates "a", "a.1", "a.2".
    int& count = seen[names[c]];
    if (count > 0) names[c] += "." + std::to_string(count);
    ++count;
  }
  const size_t width = names.size();
  const size_t rows = records.size() - 1;
  std::vector<std::vector<Cell>> cells(width, std::vector<Cell>(rows));
  for (size_t r = 0; r < rows; ++r) {
    auto& rec = records[r + 1];
    if (rec.size() > width) {
      return CsvError("Error tokenizing data. C error: Expected " + std::to_string(width) +
                      " fields in line " + std::to_string(record_line[r + 1]) + ", saw " +
                      std::to_string(rec.size()) + "\n");
    }
    for (size_t c = 0; c < rec.size(); ++c) cells[c][r] = CsvCell(std::move(rec[c]));
  }
  ScoringRequest req;
  req.format = ScoringFormat::kCsv;
  req.frame.num_rows = rows;
  for (size_t c = 0; c < width; ++c) {
    req.frame.columns.push_back(BuildColumn(std::move(names[c]), cells[c], true));
  }
  return req;
}

Result<ScoringRequest> ParseScoringRequest(std::string_view content_type, std::string_view body) {
  CAIRN_ASSIGN_OR_RETURN(ScoringContentType type, ParseScoringContentType(content_type));
  if (type == ScoringContentType::kCsv) return ParseScoringCsv(body);
  return ParseScoringJson(body);
}

void WriteScoringValue(JsonWriter& w, const Tensor& t, int64_t i) {
  switch (t.datatype()) {
    case DataType::kBool:
      w.Bool(t.values<uint8_t>()[static_cast<size_t>(i)] != 0);
      break;
    case DataType::kBytes:
      w.StringLossy(t.strings()[static_cast<size_t>(i)]);
      break;
    case DataType::kUint64:
      w.Raw(std::to_string(t.values<uint64_t>()[static_cast<size_t>(i)]));
      break;
    case DataType::kInt64:
      w.Int(t.values<int64_t>()[static_cast<size_t>(i)]);
      break;
    case DataType::kFp16:
    case DataType::kFp32:
    case DataType::kFp64:
      w.Double(t.AsDouble(i));
      break;
    default:
      w.Int(static_cast<int64_t>(t.AsDouble(i)));
      break;
  }
}

namespace {

// Writes elements [offset, offset + stride(dim)) as nested lists by shape.
void WriteNested(JsonWriter& w, const Tensor& t, size_t dim, int64_t& next) {
  if (dim == t.shape().size()) {
    WriteScoringValue(w, t, next++);
    return;
  }
  w.BeginArray();
  for (int64_t k = 0; k < t.shape()[dim]; ++k) WriteNested(w, t, dim + 1, next);
  w.EndArray();
}

void WriteTensorValue(JsonWriter& w, const Tensor& t) {
  int64_t next = 0;
  WriteNested(w, t, 0, next);
}

}  // namespace

std::string WriteScoringPredictions(const Tensor& tensor) {
  JsonWriter w;
  w.BeginObject().Key("predictions");
  WriteTensorValue(w, tensor);
  w.EndObject();
  return w.Take();
}

std::string WriteScoringPredictions(std::span<const Tensor> tensors) {
  JsonWriter w;
  w.BeginObject().Key("predictions").BeginObject();
  for (const auto& t : tensors) {
    w.Key(t.name());
    WriteTensorValue(w, t);
  }
  w.EndObject().EndObject();
  return w.Take();
}

std::string WriteScoringPredictions(const DataFrame& frame) {
  JsonWriter w;
  w.BeginObject().Key("predictions").BeginArray();
  for (size_t r = 0; r < frame.num_rows; ++r) {
    w.BeginObject();
    for (const auto& c : frame.columns) {
      w.Key(c.name);
      if (c.is_null(r)) {
        w.Null();
        continue;
      }
      switch (c.type) {
        case ColumnType::kInt64:
          w.Int(c.ints[r]);
          break;
        case ColumnType::kFloat64:
          w.Double(c.doubles[r]);
          break;
        case ColumnType::kBool:
          w.Bool(c.bools[r] != 0);
          break;
        case ColumnType::kString:
          w.StringLossy(c.strings[r]);
          break;
        case ColumnType::kJson:
          w.Raw(c.strings[r]);
          break;
      }
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

std::string WriteScoringError(const Error& error) {
  JsonWriter w;
  w.BeginObject();
  w.Field("error_code", MlflowErrorCodeFor(error.code()));
  w.Field("message", error.message());
  w.EndObject();
  return w.Take();
}

}  // namespace cairn::serving
