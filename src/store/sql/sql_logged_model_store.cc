#include "store/sql/sql_logged_model_store.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string_view>
#include <utility>
#include <variant>

#include "store/sql/dialect.h"
#include "store/sql/query_compiler.h"
#include "store/sql/store_helpers.h"
#include "store/sql/txn.h"

namespace cairn::store::sql {
namespace {

constexpr std::string_view kModelColumns =
    "m.model_id, m.experiment_id, m.name, m.artifact_location, m.creation_time, "
    "m.last_updated_time, m.status, m.status_message, m.lifecycle_stage, m.model_type, "
    "m.source_run_id";

constexpr BulkInsert kUpsertTags{
    "INSERT INTO logged_model_tags (model_id, key, value) VALUES", 3,
    "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"};
constexpr BulkInsert kUpsertParams{
    "INSERT INTO logged_model_params (model_id, key, value) VALUES", 3,
    "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"};
constexpr BulkInsert kInsertMetrics{
    "INSERT INTO logged_model_metrics (model_id, key, timestamp_ms, step, run_id, value, is_nan, "
    "dataset_name, dataset_digest) VALUES",
    9, "ON CONFLICT DO NOTHING"};
constexpr BulkInsert kInsertOutputs{"INSERT INTO run_outputs (run_id, model_id, step) VALUES", 3,
                                    "ON CONFLICT (run_id, model_id, step) DO NOTHING"};

std::unexpected<Error> ModelNotFound(std::string_view model_id) {
  return NotFound("Logged model with ID '" + std::string(model_id) + "' not found.");
}

LoggedModel ReadModel(const Statement& s) {
  LoggedModel m;
  m.model_id = s.TextCopy(0);
  m.experiment_id = std::to_string(s.Int(1));
  m.name = s.TextCopy(2);
  m.artifact_location = s.TextCopy(3);
  m.creation_time = s.Int(4);
  m.last_updated_time = s.Int(5);
  m.status = s.TextCopy(6);
  m.status_message = s.TextCopy(7);
  m.lifecycle_stage = s.TextCopy(8);
  m.model_type = s.TextCopy(9);
  m.source_run_id = s.TextCopy(10);
  return m;
}

// Loads the tags, params and metrics of `models` (any number) in three queries.
Status LoadModelData(Connection& c, std::vector<LoggedModel>& models) {
  if (models.empty()) return {};
  std::map<std::string_view, LoggedModel*> by_id;
  for (LoggedModel& m : models) by_id[m.model_id] = &m;
  // Chunks keep the parameter count far below both engines' limits.
  constexpr size_t kChunk = 200;
  for (size_t first = 0; first < models.size(); first += kChunk) {
    size_t n = std::min(kChunk, models.size() - first);
    std::string in = " WHERE model_id IN " + Placeholders(n);
    auto bind = [&](Statement& s) {
      for (size_t i = 0; i < n; ++i) {
        s.Bind(static_cast<int>(i), Value::Text(models[first + i].model_id));
      }
    };
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("SELECT model_id, key, value FROM logged_model_tags" + in, false));
      bind(*s);
      CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] {
        by_id[s->Text(0)]->tags.push_back(Tag{s->TextCopy(1), s->TextCopy(2)});
      }));
    }
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("SELECT model_id, key, value FROM logged_model_params" + in, false));
      bind(*s);
      CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] {
        by_id[s->Text(0)]->params.push_back(Param{s->TextCopy(1), s->TextCopy(2)});
      }));
    }
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("SELECT model_id, key, value, is_nan, timestamp_ms, step, run_id, "
                            "dataset_name, dataset_digest FROM logged_model_metrics" +
                                in + " ORDER BY model_id, key, step, timestamp_ms, run_id",
                            false));
      bind(*s);
      CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] {
        LoggedModelMetric m;
        m.model_id = s->TextCopy(0);
        m.key = s->TextCopy(1);
        m.value = s->Int(3) != 0 ? std::numeric_limits<double>::quiet_NaN() : s->Double(2);
        m.timestamp = s->Int(4);
        m.step = s->Int(5);
        m.run_id = s->TextCopy(6);
        m.dataset_name = s->TextCopy(7);
        m.dataset_digest = s->TextCopy(8);
        by_id[m.model_id]->metrics.push_back(std::move(m));
      }));
    }
  }
  for (LoggedModel& m : models) {
    SortByKey(m.tags);
    SortByKey(m.params);
  }
  return {};
}

Result<LoggedModel> ReadOneModel(Connection& c, const std::string& model_id) {
  std::vector<LoggedModel> one;
  {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " + std::string(kModelColumns) +
                                             " FROM logged_models m WHERE m.model_id = ?"));
    s->BindAll(model_id);
    CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
    if (!row) return ModelNotFound(model_id);
    one.push_back(ReadModel(*s));
  }
  CAIRN_RETURN_IF_ERROR(LoadModelData(c, one));
  return std::move(one[0]);
}

Status CheckModelExists(Connection& c, const std::string& model_id) {
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT 1 FROM logged_models WHERE model_id = ?"));
  s->BindAll(model_id);
  CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return ModelNotFound(model_id);
  return {};
}

// Key/value rows for `model_id`, the last value of a repeated key winning
// (PostgreSQL refuses an upsert that touches one row twice).
template <typename KV>
std::vector<Value> KeyValueRows(const std::string& model_id, const std::vector<KV>& items) {
  std::map<std::string_view, std::string_view> last;
  for (const KV& kv : items) last[kv.key] = kv.value;
  std::vector<Value> rows;
  rows.reserve(last.size() * 3);
  for (const auto& [k, v] : last) {
    rows.insert(rows.end(), {Value::Text(model_id), Value::Text(k), Value::Text(v)});
  }
  return rows;
}

// ---- search compilation: typed comparisons -> SQL text + binds ----

struct SearchSql {
  std::string sql;
  std::vector<Value> binds;  // views into the query's strings
};

std::unexpected<Error> Unsupported(const std::string& what) { return InvalidArgument(what); }

Result<std::string_view> StringColumn(std::string_view key) {
  if (key == "name") return std::string_view("m.name");
  if (key == "model_id") return std::string_view("m.model_id");
  if (key == "source_run_id") return std::string_view("m.source_run_id");
  if (key == "status") return std::string_view("m.status");
  if (key == "model_type") return std::string_view("m.model_type");
  return Unsupported("Invalid attribute key '" + std::string(key) + "' for logged models");
}

std::string_view NumericColumn(std::string_view key) {
  if (key == "creation_time") return "m.creation_time";
  if (key == "last_updated_time") return "m.last_updated_time";
  return {};
}

std::string_view CompareOp(Comparator op) {
  switch (op) {
    case Comparator::kEq:
      return " = ?";
    case Comparator::kNe:
      return " <> ?";
    case Comparator::kLt:
      return " < ?";
    case Comparator::kLe:
      return " <= ?";
    case Comparator::kGt:
      return " > ?";
    case Comparator::kGe:
      return " >= ?";
    default:
      return {};
  }
}

// `lhs <op> operand` for a string operand (= != LIKE ILIKE IN NOT IN).
Status AppendStringCondition(Dialect d, std::string_view lhs, const Comparison& c, SearchSql& out) {
  auto text = std::get_if<std::string>(&c.value);
  auto list = std::get_if<std::vector<std::string>>(&c.value);
  switch (c.op) {
    case Comparator::kEq:
    case Comparator::kNe:
    case Comparator::kLike:
    case Comparator::kILike:
      if (text == nullptr) {
        return InvalidArgument("Expected a quoted string value for '" + c.key + "'");
      }
      if (c.op == Comparator::kLike || c.op == Comparator::kILike) {
        out.sql.append(LikeCondition(d, lhs, c.op == Comparator::kILike));
      } else {
        out.sql.append(lhs).append(CompareOp(c.op));
      }
      out.binds.push_back(Value::Text(*text));
      return {};
    case Comparator::kIn:
    case Comparator::kNotIn:
      if (list == nullptr) {
        return InvalidArgument("Expected a list of quoted strings for '" + c.key + "'");
      }
      out.sql.append(InListCondition(lhs, list->size(), /*negate=*/c.op == Comparator::kNotIn));
      for (const std::string& v : *list) out.binds.push_back(Value::Text(v));
      return {};
    default:
      return InvalidArgument("Invalid comparator '" + std::string(ComparatorName(c.op)) +
                             "' for '" + c.key + "'");
  }
}

Status AppendComparison(Dialect d, const Comparison& c, SearchSql& out) {
  switch (c.entity) {
    case Entity::kAttribute: {
      if (std::string_view col = NumericColumn(c.key); !col.empty()) {
        std::string_view op = CompareOp(c.op);
        const int64_t* v = std::get_if<int64_t>(&c.value);
        if (op.empty() || v == nullptr) {
          return InvalidArgument("Invalid comparison for numeric attribute '" + c.key + "'");
        }
        out.sql.append(col).append(op);
        out.binds.push_back(Value::Int(*v));
        return {};
      }
      CAIRN_ASSIGN_OR_RETURN(std::string_view col, StringColumn(c.key));
      return AppendStringCondition(d, col, c, out);
    }
    case Entity::kTag:
    case Entity::kParam: {
      out.sql.append(c.entity == Entity::kTag ? "EXISTS (SELECT 1 FROM logged_model_tags x"
                                              : "EXISTS (SELECT 1 FROM logged_model_params x");
      out.sql.append(" WHERE x.model_id = m.model_id AND x.key = ? AND ");
      out.binds.push_back(Value::Text(c.key));
      CAIRN_RETURN_IF_ERROR(AppendStringCondition(d, "x.value", c, out));
      out.sql.push_back(')');
      return {};
    }
    case Entity::kMetric: {
      std::string_view op = CompareOp(c.op);
      const double* v = std::get_if<double>(&c.value);
      if (op.empty() || v == nullptr) {
        return InvalidArgument("Invalid comparison for metric '" + c.key + "'");
      }
      out.sql.append(
          "EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = m.model_id AND "
          "x.key = ? AND x.is_nan = 0 AND x.value");
      out.sql.append(op).push_back(')');
      out.binds.push_back(Value::Text(c.key));
      out.binds.push_back(Value::Double(*v));
      return {};
    }
    default:
      return InvalidArgument("Invalid filter entity '" + std::string(EntityName(c.entity)) +
                             "' for logged models");
  }
}

Result<SearchSql> CompileSearch(const LoggedModelQuery& q, const std::vector<int64_t>& experiments,
                                Dialect d) {
  SearchSql out;
  out.sql = "SELECT " + std::string(kModelColumns) +
            " FROM logged_models m WHERE m.lifecycle_stage = 'active' AND m.experiment_id IN " +
            Placeholders(experiments.size());
  for (int64_t id : experiments) out.binds.push_back(Value::Int(id));
  for (const Comparison& c : q.filter) {
    out.sql.append(" AND ");
    CAIRN_RETURN_IF_ERROR(AppendComparison(d, c, out));
  }
  out.sql.append(" ORDER BY ");
  bool has_creation = false, has_model_id = false;
  for (const OrderBy& ob : q.order_by) {
    const char* dir = ob.ascending ? " ASC, " : " DESC, ";
    if (ob.entity == Entity::kMetric) {
      // The latest value of the metric (by timestamp, then step); models
      // without it (or with NaN) sort last in both directions.
      constexpr std::string_view kLatest =
          "(SELECT CASE WHEN x.is_nan = 1 THEN NULL ELSE x.value END FROM logged_model_metrics x "
          "WHERE x.model_id = m.model_id AND x.key = ? "
          "ORDER BY x.timestamp_ms DESC, x.step DESC, x.run_id ASC LIMIT 1)";
      out.sql.append("CASE WHEN ").append(kLatest).append(" IS NULL THEN 1 ELSE 0 END ASC, ");
      out.sql.append(kLatest).append(dir);
      out.binds.push_back(Value::Text(ob.key));
      out.binds.push_back(Value::Text(ob.key));
      continue;
    }
    if (ob.entity != Entity::kAttribute) {
      return InvalidArgument("Invalid order by field for logged models: " +
                             std::string(EntityName(ob.entity)) + "." + ob.key);
    }
    std::string_view col = NumericColumn(ob.key);
    if (col.empty()) {
      CAIRN_ASSIGN_OR_RETURN(col, StringColumn(ob.key));
    }
    has_creation = has_creation || ob.key == "creation_time";
    has_model_id = has_model_id || ob.key == "model_id";
    out.sql.append(col).append(dir);
  }
  if (!has_creation) out.sql.append("m.creation_time DESC, ");
  if (!has_model_id) out.sql.append("m.model_id ASC, ");
  out.sql.resize(out.sql.size() - 2);  // the last ", "
  out.sql.append(" LIMIT ? OFFSET ?");
  return out;
}

}  // namespace

SqlLoggedModelStore::SqlLoggedModelStore(Database& db, const Clock& clock)
    : db_(db), clock_(clock) {}

Status SqlLoggedModelStore::CreateLoggedModel(const LoggedModel& m) {
  auto experiment = ParseExperimentId(m.experiment_id);
  if (!experiment) return NotFound("No Experiment with id=" + m.experiment_id + " exists");
  const int64_t created = m.creation_time != 0 ? m.creation_time : clock_.NowMillis();
  const int64_t updated = m.last_updated_time != 0 ? m.last_updated_time : created;
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    {
      CAIRN_ASSIGN_OR_RETURN(auto s,
                             c.Prepare("SELECT 1 FROM experiments WHERE experiment_id = ?"));
      s->BindAll(*experiment);
      CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) return NotFound("No Experiment with id=" + m.experiment_id + " exists");
    }
    if (!m.source_run_id.empty()) {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT 1 FROM runs WHERE run_id = ?"));
      s->BindAll(m.source_run_id);
      CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) return NotFound("Run with id=" + m.source_run_id + " not found");
    }
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s,
          c.Prepare("INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, "
                    "creation_time, last_updated_time, status, status_message, lifecycle_stage, "
                    "model_type, source_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
      s->BindAll(m.model_id, *experiment, m.name, m.artifact_location, created, updated, m.status,
                 m.status_message, m.lifecycle_stage, m.model_type, m.source_run_id);
      auto done = s->Exec();
      if (!done) {
        if (done.error().code() == ErrorCode::kAlreadyExists) {
          return AlreadyExists("Logged model with ID '" + m.model_id + "' already exists.");
        }
        return std::unexpected(done.error());
      }
    }
    if (!m.tags.empty()) {
      std::vector<Value> rows = KeyValueRows(m.model_id, m.tags);
      CAIRN_RETURN_IF_ERROR(c.InsertRows(kUpsertTags, rows));
    }
    if (!m.params.empty()) {
      std::vector<Value> rows = KeyValueRows(m.model_id, m.params);
      CAIRN_RETURN_IF_ERROR(c.InsertRows(kUpsertParams, rows));
    }
    return {};
  });
}

Result<LoggedModel> SqlLoggedModelStore::GetLoggedModel(const std::string& model_id) {
  return WithReadTxn(db_, [&](Connection& c) { return ReadOneModel(c, model_id); });
}

Result<LoggedModel> SqlLoggedModelStore::FinalizeLoggedModel(const std::string& model_id,
                                                             const std::string& status,
                                                             const std::string& status_message,
                                                             int64_t time) {
  return WithWriteTxn(db_, [&](Connection& c) -> Result<LoggedModel> {
    {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE logged_models SET status = ?, "
                                               "status_message = ?, last_updated_time = ? "
                                               "WHERE model_id = ?"));
      s->BindAll(status, status_message, time, model_id);
      CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
      if (changed == 0) return ModelNotFound(model_id);
    }
    return ReadOneModel(c, model_id);
  });
}

Status SqlLoggedModelStore::DeleteLoggedModel(const std::string& model_id, int64_t time) {
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE logged_models SET lifecycle_stage = ?, "
                                             "last_updated_time = ? WHERE model_id = ?"));
    s->BindAll(kDeleted, time, model_id);
    CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
    if (changed == 0) return ModelNotFound(model_id);
    return {};
  });
}

Status SqlLoggedModelStore::SetLoggedModelTags(const std::string& model_id,
                                               const std::vector<Tag>& tags) {
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_RETURN_IF_ERROR(CheckModelExists(c, model_id));
    if (tags.empty()) return {};
    std::vector<Value> rows = KeyValueRows(model_id, tags);
    return c.InsertRows(kUpsertTags, rows);
  });
}

Status SqlLoggedModelStore::DeleteLoggedModelTag(const std::string& model_id,
                                                 const std::string& key) {
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_RETURN_IF_ERROR(CheckModelExists(c, model_id));
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?"));
    s->BindAll(model_id, key);
    CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
    if (changed == 0) {
      return NotFound("No tag with key '" + key + "' found for model with ID '" + model_id + "'.");
    }
    return {};
  });
}

Status SqlLoggedModelStore::LogLoggedModelParams(const std::string& model_id,
                                                 const std::vector<Param>& params) {
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_RETURN_IF_ERROR(CheckModelExists(c, model_id));
    if (params.empty()) return {};
    std::vector<Value> rows = KeyValueRows(model_id, params);
    return c.InsertRows(kUpsertParams, rows);
  });
}

Status SqlLoggedModelStore::LogLoggedModelMetrics(const std::vector<LoggedModelMetric>& metrics) {
  if (metrics.empty()) return {};
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    std::vector<std::string_view> checked;
    for (const LoggedModelMetric& m : metrics) {
      if (std::find(checked.begin(), checked.end(), m.model_id) != checked.end()) continue;
      CAIRN_RETURN_IF_ERROR(CheckModelExists(c, m.model_id));
      checked.push_back(m.model_id);
    }
    std::vector<Value> rows;
    rows.reserve(metrics.size() * kInsertMetrics.columns);
    for (const LoggedModelMetric& m : metrics) {
      bool nan = std::isnan(m.value);
      rows.insert(rows.end(), {Value::Text(m.model_id), Value::Text(m.key), Value::Int(m.timestamp),
                               Value::Int(m.step), Value::Text(m.run_id),
                               Value::Double(nan ? 0.0 : m.value), Value::Int(nan ? 1 : 0),
                               Value::Text(m.dataset_name), Value::Text(m.dataset_digest)});
    }
    // Like MLflow, logging values does not change last_updated_time.
    return c.InsertRows(kInsertMetrics, rows);
  });
}

Result<LoggedModelPage> SqlLoggedModelStore::SearchLoggedModels(const LoggedModelQuery& q) {
  std::vector<int64_t> experiments;
  for (const std::string& id : q.experiment_ids) {
    if (auto v = ParseExperimentId(id)) experiments.push_back(*v);
  }
  LoggedModelPage page;
  if (experiments.empty() || q.max_results <= 0) return page;
  CAIRN_ASSIGN_OR_RETURN(SearchSql compiled, CompileSearch(q, experiments, db_.dialect()));
  const int64_t limit =
      q.max_results < std::numeric_limits<int64_t>::max() ? q.max_results + 1 : q.max_results;
  return WithReadTxn(db_, [&](Connection& c) -> Result<LoggedModelPage> {
    {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(compiled.sql, /*cached=*/false));
      int i = 0;
      for (const Value& v : compiled.binds) s->Bind(i++, v);
      s->Bind(i++, Value::Int(limit));
      s->Bind(i++, Value::Int(q.offset));
      CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { page.models.push_back(ReadModel(*s)); }));
    }
    page.next_offset = TrimPage(page.models, q.max_results, q.offset);
    CAIRN_RETURN_IF_ERROR(LoadModelData(c, page.models));
    return page;
  });
}

Status SqlLoggedModelStore::LogRunOutputs(const std::string& run_id,
                                          const std::vector<LoggedModelOutput>& outputs) {
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT 1 FROM runs WHERE run_id = ?"));
      s->BindAll(run_id);
      CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) return NotFound("Run with id=" + run_id + " not found");
    }
    // One row at a time, in order, so output_id keeps the order logged even
    // when a repeat in the same call is dropped.
    for (const LoggedModelOutput& o : outputs) {
      std::vector<Value> row = {Value::Text(run_id), Value::Text(o.model_id), Value::Int(o.step)};
      CAIRN_RETURN_IF_ERROR(c.InsertRows(kInsertOutputs, row));
    }
    return {};
  });
}

Result<std::vector<LoggedModelOutput>> SqlLoggedModelStore::GetRunOutputs(
    const std::string& run_id) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<LoggedModelOutput>> {
    std::vector<LoggedModelOutput> out;
    CAIRN_ASSIGN_OR_RETURN(
        auto s,
        c.Prepare("SELECT model_id, step FROM run_outputs WHERE run_id = ? ORDER BY output_id"));
    s->BindAll(run_id);
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] {
      out.push_back(LoggedModelOutput{s->TextCopy(0), s->Int(1)});
    }));
    return out;
  });
}

}  // namespace cairn::store::sql
