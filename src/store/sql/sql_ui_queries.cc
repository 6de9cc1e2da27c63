// The metadata store's queries for the web UI (docs/ui.md, "Native endpoints
// added for the UI"): counting the runs a search matches and the distinct
// column keys of an experiment. Kept apart from sql_metadata_store.cc, whose
// write path changes often.

#include <algorithm>
#include <string>
#include <vector>

#include "store/sql/column_keys_schema.h"
#include "store/sql/query_compiler.h"
#include "store/sql/sql_metadata_store.h"
#include "store/sql/store_helpers.h"
#include "store/sql/txn.h"

namespace cairn::store::sql {
namespace {

// (source table, key table) pairs of migration 6.
struct KeyTable {
  std::string_view source;
  std::string_view keys;
};
constexpr KeyTable kKeyTables[] = {
    {"metric_series", "experiment_metric_keys"},
    {"params", "experiment_param_keys"},
    {"tags", "experiment_tag_keys"},
};

std::string SqliteTrigger(const KeyTable& t) {
  // "WHERE" before ON CONFLICT: SQLite's parser needs it after a SELECT.
  return "CREATE TRIGGER " + std::string(t.source) + "_record_key AFTER INSERT ON " +
         std::string(t.source) + " BEGIN INSERT INTO " + std::string(t.keys) +
         " (experiment_id, key) SELECT r.experiment_id, NEW.key FROM runs r WHERE r.run_id = "
         "NEW.run_id ON CONFLICT DO NOTHING; END;\n";
}

std::string PostgresTrigger(const KeyTable& t) {
  const std::string fn = "cairn_record_" + std::string(t.keys);
  return "CREATE FUNCTION " + fn +
         "() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN INSERT INTO " + std::string(t.keys) +
         " (experiment_id, key) SELECT DISTINCT r.experiment_id, n.key FROM new_rows n JOIN runs "
         "r ON r.run_id = n.run_id ORDER BY 1, 2 ON CONFLICT DO NOTHING; RETURN NULL; END $fn$;\n"
         "CREATE TRIGGER " +
         std::string(t.source) + "_record_key AFTER INSERT ON " + std::string(t.source) +
         " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION " + fn + "();\n";
}

}  // namespace

Status InstallColumnKeyTriggers(Connection& conn, int64_t) {
  std::string script;
  for (const KeyTable& t : kKeyTables) {
    script += conn.dialect() == Dialect::kPostgres ? PostgresTrigger(t) : SqliteTrigger(t);
    script += "INSERT INTO " + std::string(t.keys) +
              " (experiment_id, key) SELECT DISTINCT r.experiment_id, s.key FROM " +
              std::string(t.source) +
              " s JOIN runs r ON r.run_id = s.run_id WHERE 1 = 1 ON CONFLICT DO NOTHING;\n";
  }
  return conn.ExecScript(script);
}

Result<int64_t> SqlMetadataStore::CountRuns(const RunQuery& q) {
  RunQuery shape = q;
  shape.order_by.clear();
  shape.columns.reset();
  shape.offset = 0;
  shape.max_results = 1;
  RunSearchOptions options;
  options.count_only = true;
  CAIRN_ASSIGN_OR_RETURN(CompiledQuery compiled, CompileRunSearch(shape, db_->dialect(), options));
  if (compiled.matches_nothing) return int64_t{0};
  return WithReadTxn(*db_, [&](Connection& c) -> Result<int64_t> {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(compiled.sql, /*cached=*/false));
    compiled.BindTo(*s);
    CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
    if (!row) return Internal("COUNT(*) returned no row");
    return s->Int(0);
  });
}

Result<ExperimentColumns> SqlMetadataStore::GetExperimentColumns(const std::string& experiment_id) {
  auto id = ParseExperimentId(experiment_id);
  if (!id) return NotFound("No Experiment with id=" + experiment_id + " exists");
  return WithReadTxn(*db_, [&](Connection& c) -> Result<ExperimentColumns> {
    {
      CAIRN_ASSIGN_OR_RETURN(auto s,
                             c.Prepare("SELECT 1 FROM experiments WHERE experiment_id = ?"));
      s->BindAll(*id);
      CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) return NotFound("No Experiment with id=" + experiment_id + " exists");
    }
    ExperimentColumns out;
    auto read = [&](std::string_view sql, std::vector<std::string>& keys) -> Status {
      CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
      s->BindAll(*id);
      CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { keys.push_back(s->TextCopy(0)); }));
      // Byte order whatever the database's collation.
      std::sort(keys.begin(), keys.end());
      return {};
    };
    // Kept on write by migration 6's triggers (column_keys_schema.h).
    CAIRN_RETURN_IF_ERROR(
        read("SELECT key FROM experiment_param_keys WHERE experiment_id = ?", out.params));
    CAIRN_RETURN_IF_ERROR(
        read("SELECT key FROM experiment_metric_keys WHERE experiment_id = ?", out.metrics));
    CAIRN_RETURN_IF_ERROR(
        read("SELECT key FROM experiment_tag_keys WHERE experiment_id = ?", out.tags));
    return out;
  });
}

}  // namespace cairn::store::sql
