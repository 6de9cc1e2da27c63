#include "store/sql/query_compiler.h"

#include <charconv>
#include <limits>
#include <map>
#include <optional>
#include <string_view>

#include "store/sql/dialect.h"
#include "store/sql/store_helpers.h"

namespace cairn::store::sql {
namespace {

// SQL operator for the plain binary comparators.
std::optional<std::string_view> BinaryOperator(Comparator c) {
  switch (c) {
    case Comparator::kEq:
      return "=";
    case Comparator::kNe:
      return "<>";
    case Comparator::kLt:
      return "<";
    case Comparator::kLe:
      return "<=";
    case Comparator::kGt:
      return ">";
    case Comparator::kGe:
      return ">=";
    default:
      return std::nullopt;
  }
}

std::unexpected<Error> BadComparator(const Comparison& c) {
  return InvalidArgument("Invalid comparator '" + std::string(ComparatorName(c.op)) + "' for " +
                         std::string(EntityName(c.entity)) + " '" + c.key + "'");
}

std::unexpected<Error> BadOperand(const Comparison& c, std::string_view expected) {
  return InvalidArgument("Invalid value for " + std::string(EntityName(c.entity)) + " '" + c.key +
                         "' with comparator '" + std::string(ComparatorName(c.op)) +
                         "': expected " + std::string(expected));
}

enum class AttrType { kString, kNumber };

struct AttrColumn {
  std::string_view key;
  std::string_view column;
  AttrType type;
  bool nullable;
};

constexpr AttrColumn kRunAttributes[] = {
    {"run_id", "r.run_id", AttrType::kString, false},
    {"run_name", "r.run_name", AttrType::kString, false},
    {"status", "r.status", AttrType::kString, false},
    {"user_id", "r.user_id", AttrType::kString, false},
    {"artifact_uri", "r.artifact_uri", AttrType::kString, false},
    {"lifecycle_stage", "r.lifecycle_stage", AttrType::kString, false},
    {"start_time", "r.start_time", AttrType::kNumber, false},
    {"end_time", "r.end_time", AttrType::kNumber, true},
};

constexpr AttrColumn kExperimentAttributes[] = {
    {"name", "e.name", AttrType::kString, false},
    {"creation_time", "e.creation_time", AttrType::kNumber, false},
    {"last_update_time", "e.last_update_time", AttrType::kNumber, false},
    {"experiment_id", "e.experiment_id", AttrType::kNumber, false},
};

template <size_t N>
const AttrColumn* FindAttribute(const AttrColumn (&table)[N], std::string_view key) {
  for (const AttrColumn& a : table) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

// Accumulates SQL text and its binds in the order placeholders appear.
class SqlBuilder {
 public:
  explicit SqlBuilder(Dialect d) : dialect_(d) {}
  Dialect dialect() const { return dialect_; }

  // Appends text containing one '?' per value bound next.
  SqlBuilder& Sql(std::string_view s) {
    text_.append(s);
    return *this;
  }
  SqlBuilder& Bind(BoundValue v) {
    binds_.push_back(std::move(v));
    return *this;
  }
  // " IN (?, ?, ...)" or a constant condition for an empty list. `lhs` is the
  // column expression.
  void InList(std::string_view lhs, const std::vector<std::string>& values, bool negate) {
    text_.append(InListCondition(lhs, values.size(), negate));
    for (const std::string& v : values) binds_.push_back(BoundValue::Text(v));
  }

  std::string& text() { return text_; }
  std::vector<BoundValue>& binds() { return binds_; }

 private:
  Dialect dialect_;
  std::string text_;
  std::vector<BoundValue> binds_;
};

// A string comparison `lhs <op> value` with = != LIKE ILIKE IN NOT IN.
Status StringCondition(SqlBuilder& b, std::string_view lhs, const Comparison& c) {
  switch (c.op) {
    case Comparator::kEq:
    case Comparator::kNe:
    case Comparator::kLike:
    case Comparator::kILike: {
      const auto* s = std::get_if<std::string>(&c.value);
      if (s == nullptr) return BadOperand(c, "a string");
      if (c.op == Comparator::kEq) {
        b.Sql(lhs).Sql(" = ?");
      } else if (c.op == Comparator::kNe) {
        b.Sql(lhs).Sql(" <> ?");
      } else {
        b.Sql(LikeCondition(b.dialect(), lhs, c.op == Comparator::kILike));
      }
      b.Bind(BoundValue::Text(*s));
      return {};
    }
    case Comparator::kIn:
    case Comparator::kNotIn: {
      const auto* list = std::get_if<std::vector<std::string>>(&c.value);
      if (list == nullptr) return BadOperand(c, "a list of strings");
      b.InList(lhs, *list, c.op == Comparator::kNotIn);
      return {};
    }
    default:
      return BadComparator(c);
  }
}

// A numeric comparison `lhs <op> value` with = != < <= > >=.
Status NumberCondition(SqlBuilder& b, std::string_view lhs, const Comparison& c, bool as_double) {
  auto op = BinaryOperator(c.op);
  if (!op) return BadComparator(c);
  BoundValue v;
  if (const auto* i = std::get_if<int64_t>(&c.value)) {
    v = as_double ? BoundValue::Double(static_cast<double>(*i)) : BoundValue::Int(*i);
  } else if (const auto* d = std::get_if<double>(&c.value)) {
    v = BoundValue::Double(*d);
  } else {
    return BadOperand(c, "a number");
  }
  b.Sql(lhs).Sql(" ").Sql(*op).Sql(" ?").Bind(std::move(v));
  return {};
}

// A condition on a key/value table (params, tags, experiment_tags):
// EXISTS (SELECT 1 FROM <table> x WHERE x.<owner> = <owner_expr> AND x.key = ? AND ...).
Status KeyValueCondition(SqlBuilder& b, std::string_view table, std::string_view owner_col,
                         std::string_view owner_expr, const Comparison& c) {
  bool is_null = c.op == Comparator::kIsNull;
  if (is_null || c.op == Comparator::kIsNotNull) {
    if (!std::holds_alternative<std::monostate>(c.value)) return BadOperand(c, "no value");
  }
  b.Sql(is_null ? "NOT EXISTS (SELECT 1 FROM " : "EXISTS (SELECT 1 FROM ")
      .Sql(table)
      .Sql(" x WHERE x.")
      .Sql(owner_col)
      .Sql(" = ")
      .Sql(owner_expr)
      .Sql(" AND x.key = ?")
      .Bind(BoundValue::Text(c.key));
  if (c.op != Comparator::kIsNull && c.op != Comparator::kIsNotNull) {
    b.Sql(" AND ");
    CAIRN_RETURN_IF_ERROR(StringCondition(b, "x.value", c));
  }
  b.Sql(")");
  return {};
}

Status DatasetCondition(SqlBuilder& b, const Comparison& c) {
  if (c.key == "name" || c.key == "digest") {
    b.Sql(
        "EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_id = i.dataset_id "
        "WHERE i.run_id = r.run_id AND ");
    CAIRN_RETURN_IF_ERROR(StringCondition(b, c.key == "name" ? "d.name" : "d.digest", c));
    b.Sql(")");
    return {};
  }
  if (c.key == "context") {
    b.Sql("EXISTS (SELECT 1 FROM input_tags it WHERE it.run_id = r.run_id AND it.key = ? AND ")
        .Bind(BoundValue::Text("mlflow.data.context"));
    CAIRN_RETURN_IF_ERROR(StringCondition(b, "it.value", c));
    b.Sql(")");
    return {};
  }
  return InvalidArgument("Invalid dataset key '" + c.key +
                         "'; expected one of: name, digest, context");
}

Status AttributeCondition(SqlBuilder& b, const AttrColumn* attr, const Comparison& c) {
  if (attr->type == AttrType::kString) return StringCondition(b, attr->column, c);
  return NumberCondition(b, attr->column, c, /*as_double=*/false);
}

void AppendPaging(SqlBuilder& b, int64_t max_results, int64_t offset) {
  b.Sql(" LIMIT ? OFFSET ?").Bind(BoundValue::Int(max_results + 1)).Bind(BoundValue::Int(offset));
}

Status CheckPaging(int64_t max_results, int64_t offset) {
  if (max_results <= 0) {
    return InvalidArgument("max_results must be positive, got " + std::to_string(max_results));
  }
  if (offset < 0)
    return InvalidArgument("offset must not be negative, got " + std::to_string(offset));
  return {};
}

std::string_view StageFor(ViewType v) {
  return v == ViewType::kDeletedOnly ? std::string_view(kDeleted) : std::string_view(kActive);
}

}  // namespace

std::optional<int64_t> ParseExperimentId(std::string_view id) {
  int64_t v = 0;
  if (id.empty() || id.size() > 18) return std::nullopt;
  auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
  if (ec != std::errc() || p != id.data() + id.size() || v < 0) return std::nullopt;
  return v;
}

void CompiledQuery::BindTo(Statement& stmt) const {
  for (size_t i = 0; i < binds.size(); ++i) {
    const BoundValue& v = binds[i];
    stmt.Bind(static_cast<int>(i), Value{v.kind, v.i, v.d, v.s});
  }
}

bool MetricOrderFastPath(const RunQuery& q) {
  if (q.order_by.empty() || q.order_by[0].entity != Entity::kMetric) return false;
  for (const Comparison& c : q.filter) {
    if (c.entity == Entity::kMetric && c.key == q.order_by[0].key && c.op != Comparator::kNe) {
      return false;  // already an inner join without NaN: the plain query is the fast one
    }
  }
  return true;
}

Result<CompiledQuery> CompileRunSearch(const RunQuery& q, Dialect dialect,
                                       const RunSearchOptions& options) {
  CAIRN_RETURN_IF_ERROR(CheckPaging(q.max_results, q.offset));
  CompiledQuery out;

  std::vector<int64_t> experiment_ids;
  for (const std::string& id : q.experiment_ids) {
    if (auto v = ParseExperimentId(id)) experiment_ids.push_back(*v);
  }
  if (experiment_ids.empty()) out.matches_nothing = true;

  // Metric filters: one inner join per distinct key, so the planner can
  // drive the search from the (key, is_nan, value) index.
  struct MetricJoin {
    std::string alias;
    bool excludes_nan = false;  // some filter on it rejects NaN (all but !=)
  };
  std::map<std::string, MetricJoin> metric_joins;
  for (const Comparison& c : q.filter) {
    if (c.entity != Entity::kMetric) continue;
    if (!BinaryOperator(c.op)) return BadComparator(c);
    auto [it, inserted] = metric_joins.try_emplace(c.key);
    if (inserted) it->second.alias = "m" + std::to_string(metric_joins.size() - 1);
    if (c.op != Comparator::kNe) it->second.excludes_nan = true;
  }
  // The fast path's extra condition: the first order metric is present and a number.
  std::string required_alias;
  if (options.require_first_order_metric && !q.order_by.empty() &&
      q.order_by[0].entity == Entity::kMetric) {
    auto [it, inserted] = metric_joins.try_emplace(q.order_by[0].key);
    if (inserted) it->second.alias = "m" + std::to_string(metric_joins.size() - 1);
    if (!it->second.excludes_nan) {
      it->second.excludes_nan = true;
      required_alias = it->second.alias;
    }
  }

  SqlBuilder joins(dialect);
  SqlBuilder where(dialect);
  SqlBuilder order(dialect);

  for (const auto& [key, join] : metric_joins) {
    joins.Sql(" JOIN latest_metrics ")
        .Sql(join.alias)
        .Sql(" ON ")
        .Sql(join.alias)
        .Sql(".run_id = r.run_id AND ")
        .Sql(join.alias)
        .Sql(".key = ?")
        .Bind(BoundValue::Text(key));
  }

  // Scope: experiments and lifecycle.
  if (experiment_ids.size() == 1) {
    where.Sql("r.experiment_id = ?").Bind(BoundValue::Int(experiment_ids[0]));
  } else if (experiment_ids.empty()) {
    where.Sql("1 = 0");
  } else {
    where.Sql("r.experiment_id IN (");
    for (size_t i = 0; i < experiment_ids.size(); ++i) {
      where.Sql(i == 0 ? "?" : ", ?").Bind(BoundValue::Int(experiment_ids[i]));
    }
    where.Sql(")");
  }
  if (q.view != ViewType::kAll) {
    where.Sql(" AND r.lifecycle_stage = ?").Bind(BoundValue::Text(std::string(StageFor(q.view))));
  }

  if (!required_alias.empty()) {
    // ">= -inf" holds for every number; it is there for SQLite's planner,
    // which otherwise, with statistics saying every run has this metric,
    // prefers sorting the whole experiment to walking the index in order.
    where.Sql(" AND ")
        .Sql(required_alias)
        .Sql(".is_nan = 0 AND ")
        .Sql(required_alias)
        .Sql(".value >= ?")
        .Bind(BoundValue::Double(-std::numeric_limits<double>::infinity()));
  }
  for (const Comparison& c : q.filter) {
    where.Sql(" AND ");
    switch (c.entity) {
      case Entity::kMetric: {
        const std::string& m = metric_joins.at(c.key).alias;
        if (c.op == Comparator::kNe) {
          // NaN differs from every number.
          where.Sql("(").Sql(m).Sql(".is_nan = 1 OR ");
          CAIRN_RETURN_IF_ERROR(NumberCondition(where, m + ".value", c, /*as_double=*/true));
          where.Sql(")");
        } else {
          where.Sql(m).Sql(".is_nan = 0 AND ");
          CAIRN_RETURN_IF_ERROR(NumberCondition(where, m + ".value", c, /*as_double=*/true));
        }
        break;
      }
      case Entity::kParam:
        CAIRN_RETURN_IF_ERROR(KeyValueCondition(where, "params", "run_id", "r.run_id", c));
        break;
      case Entity::kTag:
        CAIRN_RETURN_IF_ERROR(KeyValueCondition(where, "tags", "run_id", "r.run_id", c));
        break;
      case Entity::kAttribute: {
        const AttrColumn* attr = FindAttribute(kRunAttributes, c.key);
        if (attr == nullptr) {
          return InvalidArgument("Invalid attribute key '" + c.key +
                                 "'; expected one of: run_id, run_name, status, user_id, "
                                 "artifact_uri, lifecycle_stage, start_time, end_time");
        }
        CAIRN_RETURN_IF_ERROR(AttributeCondition(where, attr, c));
        break;
      }
      case Entity::kDataset:
        CAIRN_RETURN_IF_ERROR(DatasetCondition(where, c));
        break;
    }
  }

  int order_joins = 0;
  for (const OrderBy& o : q.order_by) {
    std::string_view dir = o.ascending ? " ASC" : " DESC";
    if (!order.text().empty()) order.Sql(", ");
    switch (o.entity) {
      case Entity::kMetric: {
        auto it = metric_joins.find(o.key);
        if (it != metric_joins.end()) {
          const MetricJoin& j = it->second;
          if (!j.excludes_nan) order.Sql(j.alias).Sql(".is_nan ASC, ");
          order.Sql(j.alias).Sql(".value").Sql(dir);
          break;
        }
        std::string alias = "o" + std::to_string(order_joins++);
        joins.Sql(" LEFT JOIN latest_metrics ")
            .Sql(alias)
            .Sql(" ON ")
            .Sql(alias)
            .Sql(".run_id = r.run_id AND ")
            .Sql(alias)
            .Sql(".key = ?")
            .Bind(BoundValue::Text(o.key));
        // Numbers, then NaN, then runs without the metric.
        order.Sql("CASE WHEN ")
            .Sql(alias)
            .Sql(".run_id IS NULL THEN 2 WHEN ")
            .Sql(alias)
            .Sql(".is_nan = 1 THEN 1 ELSE 0 END, ")
            .Sql(alias)
            .Sql(".value")
            .Sql(dir);
        break;
      }
      case Entity::kParam:
      case Entity::kTag: {
        std::string alias = "o" + std::to_string(order_joins++);
        joins.Sql(o.entity == Entity::kParam ? " LEFT JOIN params " : " LEFT JOIN tags ")
            .Sql(alias)
            .Sql(" ON ")
            .Sql(alias)
            .Sql(".run_id = r.run_id AND ")
            .Sql(alias)
            .Sql(".key = ?")
            .Bind(BoundValue::Text(o.key));
        order.Sql(alias).Sql(".value").Sql(dir).Sql(" NULLS LAST");
        break;
      }
      case Entity::kAttribute: {
        const AttrColumn* attr = FindAttribute(kRunAttributes, o.key);
        if (attr == nullptr) return InvalidArgument("Invalid order_by attribute '" + o.key + "'");
        order.Sql(attr->column).Sql(dir);
        if (attr->nullable) order.Sql(" NULLS LAST");
        break;
      }
      case Entity::kDataset:
        return InvalidArgument("Cannot order runs by dataset attribute '" + o.key + "'");
    }
  }
  if (!order.text().empty()) order.Sql(", ");
  order.Sql("r.start_time DESC, r.run_id ASC");

  SqlBuilder all(dialect);
  if (options.count_only) {
    // Order joins are LEFT JOINs on unique (run_id, key) rows: they change
    // no count (callers pass no order_by, so there are none to pay for).
    all.Sql("SELECT COUNT(*) FROM runs r").Sql(joins.text()).Sql(" WHERE ").Sql(where.text());
    for (auto* part : {&joins, &where}) {
      for (auto& v : part->binds()) all.Bind(std::move(v));
    }
    out.sql = std::move(all.text());
    out.binds = std::move(all.binds());
    return out;
  }
  all.Sql("SELECT r.run_id FROM runs r");
  all.Sql(joins.text()).Sql(" WHERE ").Sql(where.text()).Sql(" ORDER BY ").Sql(order.text());
  for (auto* part : {&joins, &where, &order}) {
    for (auto& v : part->binds()) all.Bind(std::move(v));
  }
  AppendPaging(all, q.max_results, q.offset);
  out.sql = std::move(all.text());
  out.binds = std::move(all.binds());
  return out;
}

Result<CompiledQuery> CompileExperimentSearch(const ExperimentQuery& q, Dialect dialect) {
  CAIRN_RETURN_IF_ERROR(CheckPaging(q.max_results, q.offset));
  SqlBuilder b(dialect);
  b.Sql("SELECT ").Sql(kExperimentColumns).Sql(" FROM experiments e WHERE ");
  if (q.view == ViewType::kAll) {
    b.Sql("1 = 1");
  } else {
    b.Sql("e.lifecycle_stage = ?").Bind(BoundValue::Text(std::string(StageFor(q.view))));
  }
  for (const Comparison& c : q.filter) {
    b.Sql(" AND ");
    switch (c.entity) {
      case Entity::kAttribute: {
        const AttrColumn* attr = FindAttribute(kExperimentAttributes, c.key);
        if (attr == nullptr) {
          return InvalidArgument("Invalid attribute key '" + c.key +
                                 "'; expected one of: name, creation_time, last_update_time");
        }
        CAIRN_RETURN_IF_ERROR(AttributeCondition(b, attr, c));
        break;
      }
      case Entity::kTag:
        CAIRN_RETURN_IF_ERROR(
            KeyValueCondition(b, "experiment_tags", "experiment_id", "e.experiment_id", c));
        break;
      default:
        return InvalidArgument("Invalid entity '" + std::string(EntityName(c.entity)) +
                               "' in an experiment filter; expected an attribute or a tag");
    }
  }
  b.Sql(" ORDER BY ");
  if (q.order_by.empty()) b.Sql("e.creation_time DESC, ");
  for (const OrderBy& o : q.order_by) {
    const AttrColumn* attr =
        o.entity == Entity::kAttribute ? FindAttribute(kExperimentAttributes, o.key) : nullptr;
    if (attr == nullptr) {
      return InvalidArgument("Invalid order_by key '" + o.key +
                             "'; expected one of: name, creation_time, last_update_time, "
                             "experiment_id");
    }
    b.Sql(attr->column).Sql(o.ascending ? " ASC, " : " DESC, ");
  }
  b.Sql("e.experiment_id ASC");
  AppendPaging(b, q.max_results, q.offset);
  CompiledQuery out;
  out.sql = std::move(b.text());
  out.binds = std::move(b.binds());
  return out;
}

}  // namespace cairn::store::sql
