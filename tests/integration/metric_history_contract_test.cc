// Metric history stored in chunks (migration 7, store/sql/metric_chunks.h),
// on both backends: the drivers' blob binds, history written by many batch
// shapes, and a database at schema 6 upgraded with its history intact.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/ids.h"
#include "store/metadata_store.h"
#include "store/sql/dialect.h"
#include "store/sql/migrations.h"
#include "store/sql/sql_metadata_store.h"
#include "store_fixture.h"

namespace cairn::store {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

class MetricHistoryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { db_.Create(GetParam()); }
  void TearDown() override {
    store_.reset();
    db_.Drop();
  }

  // Opens the store; migrates it unless `upto` says to stop at a version.
  void Open(int upto = 0) {
    auto opened = OpenMetadataStore(db_.uri);
    ASSERT_TRUE(opened) << opened.error().ToString();
    store_ = std::move(*opened);
    if (upto == 0) {
      auto v = store_->Migrate();
      ASSERT_TRUE(v) << v.error().ToString();
      return;
    }
    auto conn = Sql().database().Writer();
    ASSERT_TRUE(conn) << conn.error().ToString();
    ASSERT_EQ(test_db::MigrateUpTo(**conn, upto), "");
  }

  sql::SqlMetadataStore& Sql() { return dynamic_cast<sql::SqlMetadataStore&>(*store_); }

  std::string CreateRun() {
    store::NewRun r;
    r.run_id = NewRunId();
    r.experiment_id = "0";
    r.start_time = 1;
    auto s = store_->CreateRun(r);
    EXPECT_TRUE(s) << s.error().ToString();
    return r.run_id;
  }

  std::vector<Metric> History(const std::string& run, const std::string& key) {
    auto h = store_->GetMetricHistory(run, key, 0, 0);
    EXPECT_TRUE(h) << h.error().ToString();
    return h ? *h : std::vector<Metric>{};
  }

  test_db::FreshDatabase db_;
  std::unique_ptr<MetadataStore> store_;
};

// Every byte value (NUL and the backslash of PostgreSQL's escapes
// included), and the empty blob, come back as they went in.
TEST_P(MetricHistoryTest, DriversRoundTripBlobs) {
  if (IsSkipped()) return;
  Open();
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  auto conn = Sql().database().Writer();
  ASSERT_TRUE(conn);
  ASSERT_TRUE((*conn)->ExecScript(sql::RewriteDdl((*conn)->dialect(),
                                                  "CREATE TABLE b (k BIGINT, v @BLOB@)")));
  const std::vector<std::string> values = {all, "", std::string(70000, '\0') + "\\x41"};
  for (size_t i = 0; i < values.size(); ++i) {
    auto s = (*conn)->Prepare("INSERT INTO b (k, v) VALUES (?, ?)", false);
    ASSERT_TRUE(s);
    (*s)->BindAll(static_cast<int64_t>(i), sql::Value::Blob(values[i]));
    ASSERT_TRUE((*s)->Exec());
  }
  std::vector<sql::Value> rows = {sql::Value::Int(9), sql::Value::Blob(all)};
  ASSERT_TRUE((*conn)->InsertRows({"INSERT INTO b (k, v) VALUES", 2, ""}, rows));
  auto s = (*conn)->Prepare("SELECT k, v FROM b ORDER BY k", false);
  ASSERT_TRUE(s);
  std::vector<std::string> got;
  std::string scratch;
  while (*(*s)->Next()) got.emplace_back((*s)->Blob(1, scratch));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], all);
  EXPECT_EQ(got[1], "");
  EXPECT_EQ(got[2], values[2]);
  EXPECT_EQ(got[3], all);
  if ((*conn)->dialect() != sql::Dialect::kPostgres) return;
  // A server configured for the old escape output form reads the same.
  ASSERT_TRUE((*conn)->ExecScript("SET bytea_output = 'escape'"));
  auto e = (*conn)->Prepare("SELECT v FROM b WHERE k = 0", false);
  ASSERT_TRUE(e);
  ASSERT_TRUE(*(*e)->Next());
  EXPECT_EQ((*e)->Text(0).substr(0, 4), "\\000") << "not the escape form";
  EXPECT_EQ((*e)->Blob(0, scratch), all);
}

// One point at a time, many steps of one key per batch, and a batch that
// mixes keys: each key's history is every distinct point, in order, across
// however many chunks it was written in.
TEST_P(MetricHistoryTest, HistoryAcrossChunksOfEveryShape) {
  if (IsSkipped()) return;
  Open();
  std::string run = CreateRun();
  std::vector<Metric> expected;
  for (int i = 0; i < 5; ++i) {  // single points, newest step first
    Metric m{"loss", 1.0 / (10 - i), 100 + i, 10 - i};
    ASSERT_TRUE(store_->LogBatch(run, {m}, {}, {}));
    expected.push_back(m);
  }
  std::vector<Metric> batch;
  for (int i = 0; i < 900; ++i) batch.push_back(Metric{"loss", i * 0.5, 1000 + i, 11 + i});
  batch.push_back(Metric{"acc", kNaN, 7, 3});
  batch.push_back(Metric{"acc", kInf, 7, 2});
  batch.push_back(Metric{"acc", -kInf, 7, 2});
  ASSERT_TRUE(store_->LogBatch(run, batch, {}, {}));
  for (int i = 0; i < 900; ++i) expected.push_back(batch[static_cast<size_t>(i)]);
  // A retried batch adds nothing.
  ASSERT_TRUE(store_->LogBatch(run, batch, {}, {}));

  std::sort(expected.begin(), expected.end(),
            [](const Metric& a, const Metric& b) { return a.step < b.step; });
  auto loss = History(run, "loss");
  ASSERT_EQ(loss.size(), expected.size());
  for (size_t i = 0; i < loss.size(); ++i) {
    EXPECT_EQ(loss[i].key, "loss");
    EXPECT_EQ(loss[i].step, expected[i].step) << i;
    EXPECT_EQ(loss[i].timestamp, expected[i].timestamp) << i;
    EXPECT_EQ(loss[i].value, expected[i].value) << i;
  }
  auto acc = History(run, "acc");
  ASSERT_EQ(acc.size(), 3u);
  EXPECT_EQ(acc[0].value, -kInf);  // step 2: -inf < inf
  EXPECT_EQ(acc[1].value, kInf);
  EXPECT_TRUE(std::isnan(acc[2].value));  // step 3
  // Paging applies to the merged history.
  auto page = store_->GetMetricHistory(run, "loss", 3, 4);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].step, expected[4].step);
  EXPECT_EQ((*page)[2].step, expected[6].step);
  auto past = store_->GetMetricHistory(run, "loss", 10, 100000);
  ASSERT_TRUE(past);
  EXPECT_TRUE(past->empty());
}

// A database at schema 6 (history one row per point in `metrics`) is
// upgraded by Migrate(): every point is in the history afterwards, NaN and
// infinities included, series past the first conversion window and past a
// chunk's 1000 points too, and `metrics` is gone. Logging then appends.
TEST_P(MetricHistoryTest, SchemaSixHistoryIsConvertedToChunks) {
  if (IsSkipped()) return;
  Open(/*upto=*/6);
  ASSERT_EQ(store_->SchemaVersion().value_or(0), 6);
  std::vector<std::string> runs;
  {
    auto conn = Sql().database().Writer();
    ASSERT_TRUE(conn);
    ASSERT_TRUE((*conn)->Begin(sql::TxnMode::kWrite));
    for (int r = 0; r < 3; ++r) {
      runs.push_back(NewRunId());
      auto s = (*conn)->Prepare(
          "INSERT INTO runs (run_id, experiment_id, start_time) VALUES (?, 0, 1)", false);
      ASSERT_TRUE(s);
      (*s)->BindAll(runs.back());
      ASSERT_TRUE((*s)->Exec());
    }
    // 300 series for run 0 (past the 256-series window), a 2,500-point
    // series for run 1, special values for run 2.
    std::vector<sql::Value> series;
    std::vector<std::string> keys;
    for (int k = 0; k < 300; ++k) keys.push_back("k" + std::to_string(k));
    for (const std::string& k : keys) {
      series.push_back(sql::Value::Text(runs[0]));
      series.push_back(sql::Value::Text(k));
    }
    for (int r = 1; r < 3; ++r) {
      series.push_back(sql::Value::Text(runs[static_cast<size_t>(r)]));
      series.push_back(sql::Value::Text("long"));
    }
    ASSERT_TRUE((*conn)->InsertRows({"INSERT INTO metric_series (run_id, key) VALUES", 2, ""},
                                    series));
    std::vector<sql::Value> points;
    auto add = [&](int64_t series_id, int64_t step, int64_t ts, double v, int nan) {
      points.insert(points.end(), {sql::Value::Int(series_id), sql::Value::Int(step),
                                   sql::Value::Int(ts), sql::Value::Double(v),
                                   sql::Value::Int(nan)});
    };
    auto id_of = [&](const std::string& run, const std::string& key) -> int64_t {
      auto s = (*conn)->Prepare("SELECT series_id FROM metric_series WHERE run_id = ? AND key = ?",
                                false);
      (*s)->BindAll(run, key);
      EXPECT_TRUE(*(*s)->Next());
      return (*s)->Int(0);
    };
    for (int k = 0; k < 300; ++k) {
      int64_t id = id_of(runs[0], keys[static_cast<size_t>(k)]);
      add(id, 1, 10, k, 0);
      add(id, 0, 20, -k, 0);
    }
    int64_t long_id = id_of(runs[1], "long");
    for (int i = 0; i < 2500; ++i) add(long_id, i, 5000 - i, i * 0.25, 0);
    int64_t special = id_of(runs[2], "long");
    add(special, 0, 1, 0, 1);  // NaN as schema 6 stored it
    add(special, 1, 1, kInf, 0);
    add(special, 2, 1, -kInf, 0);
    ASSERT_TRUE((*conn)->InsertRows(
        {"INSERT INTO metrics (series_id, step, timestamp_ms, value, is_nan) VALUES", 5, ""},
        points));
    ASSERT_TRUE((*conn)->Commit());
  }
  auto v = store_->Migrate();
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_GE(*v, 7);

  for (int k : {0, 1, 255, 256, 299}) {
    auto h = History(runs[0], "k" + std::to_string(k));
    ASSERT_EQ(h.size(), 2u) << k;
    EXPECT_EQ(h[0].step, 0);
    EXPECT_EQ(h[0].value, -k);
    EXPECT_EQ(h[0].timestamp, 20);
    EXPECT_EQ(h[1].value, k);
  }
  auto h = History(runs[1], "long");
  ASSERT_EQ(h.size(), 2500u);
  for (size_t i = 0; i < h.size(); ++i) {
    ASSERT_EQ(h[i].step, static_cast<int64_t>(i));
    ASSERT_EQ(h[i].value, static_cast<double>(i) * 0.25);
    ASSERT_EQ(h[i].timestamp, 5000 - static_cast<int64_t>(i));
  }
  auto sp = History(runs[2], "long");
  ASSERT_EQ(sp.size(), 3u);
  EXPECT_TRUE(std::isnan(sp[0].value));
  EXPECT_EQ(sp[1].value, kInf);
  EXPECT_EQ(sp[2].value, -kInf);
  {
    auto conn = Sql().database().Reader();
    ASSERT_TRUE(conn);
    auto gone = (*conn)->Prepare("SELECT count(*) FROM metrics", false);
    EXPECT_FALSE(gone && (*gone)->Next()) << "the metrics table is still there";
  }
  ASSERT_TRUE(store_->LogBatch(runs[1], {Metric{"long", -1, 1, 2500}}, {}, {}));
  EXPECT_EQ(History(runs[1], "long").size(), 2501u);
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }
INSTANTIATE_TEST_SUITE_P(Backends, MetricHistoryTest, ::testing::Values("sqlite", "postgres"),
                         BackendName);

}  // namespace
}  // namespace cairn::store
