// The metadata store contract: one suite, run against every backend.
//
//   sqlite    a fresh database file in a temporary folder per test
//   postgres  a fresh schema per test (search_path) in the database at
//             $CAIRN_TEST_POSTGRES_URI; skipped when unset, unless
//             CAIRN_REQUIRE_POSTGRES=1, which turns "unset or unreachable"
//             into a failure.
//
// Start a server with: PG_FAST=1 scripts/services/postgres.sh start
// then: CAIRN_TEST_POSTGRES_URI=postgresql://postgres@127.0.0.1:15432/cairn

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <random>
#include <set>
#include <thread>

#include "core/ids.h"
#include "store/metadata_store.h"
#include "store/postgres/postgres_database.h"
#include "store_fixture.h"

namespace cairn::store {

// Readable failure messages.
void PrintTo(const Tag& t, std::ostream* os) { *os << t.key << "=" << t.value; }
void PrintTo(const Param& p, std::ostream* os) { *os << p.key << "=" << p.value; }

namespace {

namespace fs = std::filesystem;

using test_db::Env;
using test_db::PgExec;
using test_db::PostgresRequired;
using test_db::RandomSuffix;
using test_db::WithQuery;

// A TCP port nothing listens on (bound, then released).
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

Metric M(std::string key, double value, int64_t step = 0, int64_t ts = 1000) {
  return Metric{std::move(key), value, ts, step};
}

Comparison Cmp(Entity e, std::string key, Comparator op, Operand v = std::monostate{}) {
  return Comparison{e, std::move(key), op, std::move(v)};
}

ExperimentQuery EQ(std::vector<Comparison> filter = {}, std::vector<OrderBy> order = {},
                   ViewType view = ViewType::kActiveOnly) {
  ExperimentQuery q;
  q.filter = std::move(filter);
  q.order_by = std::move(order);
  q.view = view;
  return q;
}

// ---------------------------------------------------------------- fixture

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      dir_ = fs::temp_directory_path() / ("cairn_store_test_" + RandomSuffix());
      // A nested folder that does not exist yet: the store creates it.
      uri_ = "sqlite://" + (dir_ / "nested" / "cairn.db").string();
    } else {
      std::string base = Env("CAIRN_TEST_POSTGRES_URI");
      if (base.empty()) {
        if (PostgresRequired())
          FAIL() << "CAIRN_REQUIRE_POSTGRES=1 but CAIRN_TEST_POSTGRES_URI unset";
        GTEST_SKIP() << "CAIRN_TEST_POSTGRES_URI not set";
      }
      schema_ = "cairn_t_" + RandomSuffix();
      std::string err = PgExec(base, "CREATE SCHEMA " + schema_);
      if (!err.empty()) {
        if (PostgresRequired()) FAIL() << "PostgreSQL unreachable at " << base << ": " << err;
        GTEST_SKIP() << "PostgreSQL unreachable at " << base << ": " << err;
      }
      pg_base_ = base;
      uri_ = WithQuery(base, "options=-csearch_path%3D" + schema_);
    }
    store_ = Open();
    ASSERT_NE(store_, nullptr);
    auto v = store_->Migrate();
    ASSERT_TRUE(v) << v.error().ToString();
  }

  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
    if (!schema_.empty()) PgExec(pg_base_, "DROP SCHEMA " + schema_ + " CASCADE");
  }

  std::unique_ptr<MetadataStore> Open() {
    auto s = OpenMetadataStore(uri_);
    EXPECT_TRUE(s) << s.error().ToString();
    return s ? std::move(*s) : nullptr;
  }

  std::string NewExperimentNamed(const std::string& name, int64_t time = 1000,
                                 std::vector<Tag> tags = {}) {
    auto id = store_->CreateExperiment({name, "", std::move(tags), time});
    EXPECT_TRUE(id) << id.error().ToString();
    return id ? *id : "";
  }

  std::string NewRunIn(const std::string& exp, const std::string& name = "", int64_t start = 0,
                       std::string user = "alice") {
    NewRun r;
    r.run_id = NewRunId();
    r.experiment_id = exp;
    r.run_name = name;
    r.user_id = std::move(user);
    r.start_time = start;
    r.artifact_uri = "file:///tmp/artifacts/" + r.run_id;
    auto s = store_->CreateRun(r);
    EXPECT_TRUE(s) << s.error().ToString();
    return r.run_id;
  }

  void Log(const std::string& run, std::vector<Metric> m, std::vector<Param> p = {},
           std::vector<Tag> t = {}) {
    auto s = store_->LogBatch(run, m, p, t);
    ASSERT_TRUE(s) << s.error().ToString();
  }

  // Names of the runs a search returns, in order.
  std::vector<std::string> Names(RunQuery q) {
    auto page = store_->SearchRuns(q);
    EXPECT_TRUE(page) << page.error().ToString();
    std::vector<std::string> out;
    if (page) {
      for (const store::Run& r : page->runs) out.push_back(r.info.run_name);
    }
    return out;
  }

  RunQuery In(const std::string& exp, std::vector<Comparison> filter = {},
              std::vector<OrderBy> order = {}) {
    RunQuery q;
    q.experiment_ids = {exp};
    q.filter = std::move(filter);
    q.order_by = std::move(order);
    return q;
  }

  std::set<std::string> NameSet(RunQuery q) {
    auto v = Names(std::move(q));
    return {v.begin(), v.end()};
  }

  fs::path dir_;
  std::string schema_, pg_base_, uri_;
  std::unique_ptr<MetadataStore> store_;
};

// ------------------------------------------------------------- migrations

TEST_P(StoreContractTest, MigrateIsIdempotent) {
  auto v1 = store_->SchemaVersion();
  ASSERT_TRUE(v1);
  EXPECT_GE(*v1, 1);
  auto v2 = store_->Migrate();
  ASSERT_TRUE(v2);
  EXPECT_EQ(*v2, *v1);
  // A second process opening the same database sees the same version and
  // its Migrate is a no-op (the Default experiment is not duplicated).
  auto other = Open();
  ASSERT_TRUE(other->Migrate());
  auto exps = other->SearchExperiments({});
  ASSERT_TRUE(exps);
  ASSERT_EQ(exps->experiments.size(), 1u);
  EXPECT_EQ(exps->experiments[0].name, "Default");
}

TEST_P(StoreContractTest, ConcurrentMigrationsOnAFreshDatabaseAgree) {
  // A fresh database (new file / new schema) migrated by four "processes" at once.
  std::string uri;
  std::string schema;
  if (GetParam() == "sqlite") {
    uri = "sqlite://" + (dir_ / "race" / "race.db").string();
  } else {
    schema = "cairn_t_race_" + RandomSuffix();
    ASSERT_EQ(PgExec(pg_base_, "CREATE SCHEMA " + schema), "");
    uri = WithQuery(pg_base_, "options=-csearch_path%3D" + schema);
  }
  std::vector<std::unique_ptr<MetadataStore>> stores;
  for (int i = 0; i < 4; ++i) {
    auto s = OpenMetadataStore(uri);
    ASSERT_TRUE(s) << s.error().ToString();
    stores.push_back(std::move(*s));
  }
  std::vector<Result<int>> results(4, Result<int>(0));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = stores[i]->Migrate(); });
  }
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(*r, *results[0]);
  }
  auto exps = stores[0]->SearchExperiments({});
  ASSERT_TRUE(exps);
  EXPECT_EQ(exps->experiments.size(), 1u);
  stores.clear();
  if (!schema.empty()) PgExec(pg_base_, "DROP SCHEMA " + schema + " CASCADE");
}

// ------------------------------------------------------------ experiments

TEST_P(StoreContractTest, DefaultExperimentExists) {
  auto e = store_->GetExperiment("0");
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_EQ(e->experiment_id, "0");
  EXPECT_EQ(e->name, "Default");
  EXPECT_EQ(e->artifact_location, "");
  EXPECT_EQ(e->lifecycle_stage, "active");
  auto by_name = store_->GetExperimentByName("Default");
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->experiment_id, "0");
}

TEST_P(StoreContractTest, CreateExperimentAssignsIdsFromOne) {
  auto a = store_->CreateExperiment(
      {"exp-a", "s3://bucket/a", {{"team", "vision"}, {"owner", "bob"}}, 1234});
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ(*a, "1");
  EXPECT_EQ(NewExperimentNamed("exp-b"), "2");
  auto e = store_->GetExperiment("1");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "exp-a");
  EXPECT_EQ(e->artifact_location, "s3://bucket/a");
  EXPECT_EQ(e->creation_time, 1234);
  EXPECT_EQ(e->last_update_time, 1234);
  EXPECT_EQ(e->lifecycle_stage, "active");
  EXPECT_EQ(e->tags, (std::vector<Tag>{{"owner", "bob"}, {"team", "vision"}}));
}

TEST_P(StoreContractTest, ExperimentNamesAreUniqueAcrossActiveAndDeleted) {
  std::string id = NewExperimentNamed("dup");
  auto again = store_->CreateExperiment({"dup", "", {}, 1});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_TRUE(again.error().message().starts_with("Experiment(name=dup) already exists. Error: "))
      << again.error().message();
  ASSERT_TRUE(store_->SetExperimentLifecycle(id, kDeleted, 2000));
  auto deleted_clash = store_->CreateExperiment({"dup", "", {}, 1});
  ASSERT_FALSE(deleted_clash);
  EXPECT_EQ(deleted_clash.error().code(), ErrorCode::kAlreadyExists);
  // The failed creation wrote nothing.
  auto all = store_->SearchExperiments(EQ({}, {}, ViewType::kAll));
  ASSERT_TRUE(all);
  EXPECT_EQ(all->experiments.size(), 2u);
}

TEST_P(StoreContractTest, UnknownExperimentsAreNotFound) {
  for (std::string id : {"999", "abc", "-1", ""}) {
    auto e = store_->GetExperiment(id);
    ASSERT_FALSE(e) << id;
    EXPECT_EQ(e.error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(e.error().message(), "No Experiment with id=" + id + " exists");
  }
  auto n = store_->GetExperimentByName("nope");
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(n.error().message(), "Could not find experiment with name nope");
  EXPECT_EQ(store_->SetExperimentTag("42", {"k", "v"}).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->RenameExperiment("42", "x", 1).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->SetExperimentLifecycle("42", kDeleted, 1).error().code(), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, RenameExperiment) {
  std::string id = NewExperimentNamed("before", 1000);
  NewExperimentNamed("taken");
  ASSERT_TRUE(store_->RenameExperiment(id, "after", 5000));
  auto e = store_->GetExperiment(id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "after");
  EXPECT_EQ(e->last_update_time, 5000);
  EXPECT_EQ(store_->GetExperimentByName("before").error().code(), ErrorCode::kNotFound);
  auto clash = store_->RenameExperiment(id, "taken", 6000);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->GetExperiment(id)->name, "after");
}

TEST_P(StoreContractTest, DeleteAndRestoreExperimentCascadesToRuns) {
  std::string exp = NewExperimentNamed("lifecycle", 1000);
  std::string r1 = NewRunIn(exp, "r1");
  std::string r2 = NewRunIn(exp, "r2");
  std::string other = NewRunIn("0", "other");
  ASSERT_TRUE(store_->SetExperimentLifecycle(exp, kDeleted, 7000));
  auto e = store_->GetExperiment(exp);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->lifecycle_stage, "deleted");
  EXPECT_EQ(e->last_update_time, 7000);
  EXPECT_EQ(store_->GetRun(r1)->info.lifecycle_stage, "deleted");
  EXPECT_EQ(store_->GetRun(r2)->info.lifecycle_stage, "deleted");
  EXPECT_EQ(store_->GetRun(other)->info.lifecycle_stage, "active");
  // A deleted experiment takes no new runs.
  NewRun r{NewRunId(), exp, "late", "u", 1, "", {}};
  EXPECT_EQ(store_->CreateRun(r).error().code(), ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(store_->SetExperimentLifecycle(exp, kActive, 8000));
  EXPECT_EQ(store_->GetExperiment(exp)->lifecycle_stage, "active");
  EXPECT_EQ(store_->GetExperiment(exp)->last_update_time, 8000);
  EXPECT_EQ(store_->GetRun(r1)->info.lifecycle_stage, "active");
  EXPECT_EQ(store_->SetExperimentLifecycle(exp, "archived", 1).error().code(),
            ErrorCode::kInvalidArgument);
}

TEST_P(StoreContractTest, ExperimentTags) {
  std::string id = NewExperimentNamed("tagged");
  ASSERT_TRUE(store_->SetExperimentTag(id, {"a", "1"}));
  ASSERT_TRUE(store_->SetExperimentTag(id, {"b", "2"}));
  ASSERT_TRUE(store_->SetExperimentTag(id, {"a", "3"}));  // overwrite
  EXPECT_EQ(store_->GetExperiment(id)->tags, (std::vector<Tag>{{"a", "3"}, {"b", "2"}}));
  ASSERT_TRUE(store_->DeleteExperimentTag(id, "a"));
  EXPECT_EQ(store_->GetExperiment(id)->tags, (std::vector<Tag>{{"b", "2"}}));
  auto missing = store_->DeleteExperimentTag(id, "a");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "No tag with name: a in experiment with id " + id);
  ASSERT_TRUE(store_->SetExperimentLifecycle(id, kDeleted, 1));
  EXPECT_EQ(store_->SetExperimentTag(id, {"c", "1"}).error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(StoreContractTest, SearchExperiments) {
  // Default exists (created "now"); these are older, with distinct times.
  NewExperimentNamed("alpha", 100, {{"team", "vision"}});
  NewExperimentNamed("Beta", 200, {{"team", "nlp"}});
  NewExperimentNamed("gamma", 300, {{"team", "vision"}});
  std::string del = NewExperimentNamed("delta", 400);
  ASSERT_TRUE(store_->SetExperimentLifecycle(del, kDeleted, 500));

  auto names = [&](ExperimentQuery q) {
    auto page = store_->SearchExperiments(q);
    EXPECT_TRUE(page) << page.error().ToString();
    std::vector<std::string> out;
    if (page) {
      for (const auto& e : page->experiments) out.push_back(e.name);
    }
    return out;
  };
  using V = std::vector<std::string>;
  auto attr = [](std::string k, Comparator op, Operand v) {
    return Cmp(Entity::kAttribute, std::move(k), op, std::move(v));
  };

  // Default order: creation_time DESC.
  EXPECT_EQ(names({}), (V{"Default", "gamma", "Beta", "alpha"}));
  EXPECT_EQ(names(EQ({}, {}, ViewType::kDeletedOnly)), (V{"delta"}));
  EXPECT_EQ(names(EQ({}, {}, ViewType::kAll)).size(), 5u);
  EXPECT_EQ(names(EQ({attr("name", Comparator::kEq, std::string("gamma"))})), (V{"gamma"}));
  EXPECT_EQ(names(EQ({attr("name", Comparator::kNe, std::string("gamma"))})),
            (V{"Default", "Beta", "alpha"}));
  EXPECT_EQ(names(EQ({attr("name", Comparator::kLike, std::string("%a"))})),
            (V{"gamma", "Beta", "alpha"}));
  EXPECT_EQ(names(EQ({attr("name", Comparator::kLike, std::string("b%"))})), (V{}));
  EXPECT_EQ(names(EQ({attr("name", Comparator::kILike, std::string("b%"))})), (V{"Beta"}));
  EXPECT_EQ(names(EQ({attr("creation_time", Comparator::kGt, int64_t{150}),
                      attr("creation_time", Comparator::kLe, int64_t{300})})),
            (V{"gamma", "Beta"}));
  EXPECT_EQ(names(EQ({Cmp(Entity::kTag, "team", Comparator::kEq, std::string("vision"))})),
            (V{"gamma", "alpha"}));
  EXPECT_EQ(names(EQ({Cmp(Entity::kTag, "team", Comparator::kIsNull)})), (V{"Default"}));
  EXPECT_EQ(names(EQ({}, {{Entity::kAttribute, "name", true}})),
            (V{"Beta", "Default", "alpha", "gamma"}));
  EXPECT_EQ(names(EQ({}, {{Entity::kAttribute, "experiment_id", false}})),
            (V{"gamma", "Beta", "alpha", "Default"}));
  EXPECT_EQ(names(EQ({}, {{Entity::kAttribute, "last_update_time", true}})).front(), "alpha");

  // Paging: two per page, no duplicates, then the end.
  ExperimentQuery q = EQ();
  q.max_results = 2;
  auto p1 = store_->SearchExperiments(q);
  ASSERT_TRUE(p1);
  EXPECT_EQ(p1->experiments.size(), 2u);
  EXPECT_EQ(p1->next_offset, 2);
  q.offset = p1->next_offset;
  auto p2 = store_->SearchExperiments(q);
  ASSERT_TRUE(p2);
  EXPECT_EQ(p2->experiments.size(), 2u);
  EXPECT_EQ(p2->next_offset, -1);
  EXPECT_EQ(p2->experiments[0].name, "Beta");
  EXPECT_EQ(p1->experiments[0].tags.size(), 0u);
  EXPECT_EQ(p1->experiments[1].tags, (std::vector<Tag>{{"team", "vision"}}));

  auto bad = store_->SearchExperiments(EQ({attr("color", Comparator::kEq, std::string("x"))}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

// ------------------------------------------------------------------- runs

TEST_P(StoreContractTest, CreateGetUpdateRun) {
  std::string exp = NewExperimentNamed("runs");
  NewRun r;
  r.run_id = NewRunId();
  r.experiment_id = exp;
  r.run_name = "first";
  r.user_id = "alice";
  r.start_time = 1111;
  r.artifact_uri = "file:///a/b";
  r.tags = {{"mlflow.source.name", "train.py"}};
  ASSERT_TRUE(store_->CreateRun(r));
  auto got = store_->GetRun(r.run_id);
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->info.run_id, r.run_id);
  EXPECT_EQ(got->info.experiment_id, exp);
  EXPECT_EQ(got->info.run_name, "first");
  EXPECT_EQ(got->info.user_id, "alice");
  EXPECT_EQ(got->info.status, "RUNNING");
  EXPECT_EQ(got->info.start_time, 1111);
  EXPECT_EQ(got->info.end_time, std::nullopt);
  EXPECT_EQ(got->info.artifact_uri, "file:///a/b");
  EXPECT_EQ(got->info.lifecycle_stage, "active");
  EXPECT_EQ(got->tags,
            (std::vector<Tag>{{"mlflow.runName", "first"}, {"mlflow.source.name", "train.py"}}));

  auto updated = store_->UpdateRun(r.run_id, {"FINISHED", 2222, "renamed"});
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_EQ(updated->status, "FINISHED");
  EXPECT_EQ(updated->end_time, 2222);
  EXPECT_EQ(updated->run_name, "renamed");
  got = store_->GetRun(r.run_id);
  EXPECT_EQ(got->info.run_name, "renamed");
  EXPECT_EQ(got->tags[0], (Tag{"mlflow.runName", "renamed"}));
  // A partial update leaves the other fields alone.
  updated = store_->UpdateRun(r.run_id, {"FAILED", std::nullopt, std::nullopt});
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->end_time, 2222);
  EXPECT_EQ(updated->run_name, "renamed");

  EXPECT_EQ(store_->CreateRun(r).error().code(), ErrorCode::kAlreadyExists);
  NewRun orphan{NewRunId(), "999", "x", "u", 1, "", {}};
  auto o = store_->CreateRun(orphan);
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(o.error().message(), "No Experiment with id=999 exists");
  auto unknown = store_->UpdateRun("feedbeef", {"FINISHED", 1, std::nullopt});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, UnknownRunIsNotFound) {
  auto r = store_->GetRun("0123456789abcdef0123456789abcdef");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message(), "Run with id=0123456789abcdef0123456789abcdef not found");
  auto b = store_->LogBatch("nope", {M("m", 1)}, {}, {});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(b.error().message(), "Run with id=nope not found");
  EXPECT_EQ(store_->GetMetricHistory("nope", "m", 0, 0).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->SetRunLifecycle("nope", kDeleted, 1).error().code(), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, DeleteAndRestoreRun) {
  std::string run = NewRunIn("0", "r");
  ASSERT_TRUE(store_->SetRunLifecycle(run, kDeleted, 500));
  EXPECT_EQ(store_->GetRun(run)->info.lifecycle_stage, "deleted");
  auto b = store_->LogBatch(run, {M("m", 1)}, {}, {});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(b.error().message(),
            "The run " + run + " must be in the 'active' state. Current state is deleted.");
  EXPECT_EQ(Names(In("0")), (std::vector<std::string>{}));
  ASSERT_TRUE(store_->SetRunLifecycle(run, kActive, 600));
  EXPECT_EQ(store_->GetRun(run)->info.lifecycle_stage, "active");
  EXPECT_EQ(Names(In("0")), (std::vector<std::string>{"r"}));
  EXPECT_EQ(store_->SetRunLifecycle(run, "gone", 1).error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(StoreContractTest, DeleteRunTag) {
  std::string run = NewRunIn("0");
  Log(run, {}, {}, {{"a", "1"}, {"b", "2"}});
  ASSERT_TRUE(store_->DeleteRunTag(run, "a"));
  EXPECT_EQ(store_->GetRun(run)->tags, (std::vector<Tag>{{"b", "2"}}));
  auto missing = store_->DeleteRunTag(run, "a");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "No tag with name: a in run with id " + run);
}

// --------------------------------------------------------------- LogBatch

TEST_P(StoreContractTest, LogBatchWritesMetricsParamsTags) {
  std::string run = NewRunIn("0");
  Log(run, {M("loss", 0.5, 0, 10), M("loss", 0.25, 1, 20), M("acc", 0.9, 0, 10)},
      {{"lr", "0.01"}, {"layers", "3"}}, {{"stage", "dev"}, {"stage", "prod"}});
  auto r = store_->GetRun(run);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->metrics.size(), 2u);
  EXPECT_EQ(r->metrics[0].key, "acc");
  EXPECT_DOUBLE_EQ(r->metrics[0].value, 0.9);
  EXPECT_EQ(r->metrics[1].key, "loss");
  EXPECT_DOUBLE_EQ(r->metrics[1].value, 0.25);
  EXPECT_EQ(r->metrics[1].step, 1);
  EXPECT_EQ(r->metrics[1].timestamp, 20);
  EXPECT_EQ(r->params, (std::vector<Param>{{"layers", "3"}, {"lr", "0.01"}}));
  // A key repeated in one batch: the last value wins.
  EXPECT_EQ(r->tags, (std::vector<Tag>{{"stage", "prod"}}));
  auto h = store_->GetMetricHistory(run, "loss", 0, 0);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->size(), 2u);
}

TEST_P(StoreContractTest, LogBatchIsAtomic) {
  std::string run = NewRunIn("0");
  Log(run, {}, {{"lr", "0.1"}}, {});
  auto s = store_->LogBatch(run, {M("loss", 1.0), M("acc", 2.0)}, {{"new", "x"}, {"lr", "0.2"}},
                            {{"t", "v"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.error().message(),
            "Changing param values is not allowed. Param with key='lr' was already logged with "
            "value='0.1' for run ID='" +
                run + "'. Attempted logging new value '0.2'.");
  auto r = store_->GetRun(run);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->metrics.empty());
  EXPECT_TRUE(r->tags.empty());
  EXPECT_EQ(r->params, (std::vector<Param>{{"lr", "0.1"}}));
  EXPECT_TRUE(store_->GetMetricHistory(run, "loss", 0, 0)->empty());
  // The same value again is accepted, and the rest of that batch lands.
  Log(run, {M("loss", 1.0)}, {{"lr", "0.1"}}, {});
  EXPECT_EQ(store_->GetRun(run)->metrics.size(), 1u);
}

TEST_P(StoreContractTest, RunNameTagUpdatesRunName) {
  std::string run = NewRunIn("0", "old");
  Log(run, {}, {}, {{"mlflow.runName", "new-name"}});
  auto r = store_->GetRun(run);
  EXPECT_EQ(r->info.run_name, "new-name");
  EXPECT_EQ(Names(In("0", {Cmp(Entity::kAttribute, "run_name", Comparator::kEq,
                               std::string("new-name"))})),
            (std::vector<std::string>{"new-name"}));
}

TEST_P(StoreContractTest, NanAndInfinityRoundTrip) {
  std::string run = NewRunIn("0");
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Log(run, {M("n", nan, 0), M("p", inf, 0), M("q", -inf, 0), M("h", nan, 0), M("h", -inf, 1),
            M("h", inf, 2), M("h", 1.5, 3)});
  auto r = store_->GetRun(run);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->metrics.size(), 4u);  // h n p q
  EXPECT_EQ(r->metrics[0].value, 1.5);
  EXPECT_TRUE(std::isnan(r->metrics[1].value));
  EXPECT_EQ(r->metrics[2].value, inf);
  EXPECT_EQ(r->metrics[3].value, -inf);
  auto h = store_->GetMetricHistory(run, "h", 0, 0);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 4u);
  EXPECT_TRUE(std::isnan((*h)[0].value));
  EXPECT_EQ((*h)[1].value, -inf);
  EXPECT_EQ((*h)[2].value, inf);
  EXPECT_EQ((*h)[3].value, 1.5);
  // Extreme finite values keep every bit.
  Log(run, {M("tiny", 4.9406564584124654e-324), M("big", 1.7976931348623157e308),
            M("third", 1.0 / 3.0)});
  r = store_->GetRun(run);
  for (const Metric& m : r->metrics) {
    if (m.key == "tiny") {
      EXPECT_EQ(m.value, 4.9406564584124654e-324);
    } else if (m.key == "big") {
      EXPECT_EQ(m.value, 1.7976931348623157e308);
    } else if (m.key == "third") {
      EXPECT_EQ(m.value, 1.0 / 3.0);
    }
  }
}

TEST_P(StoreContractTest, LatestMetricIsGreatestStepThenTimestampThenValue) {
  std::string run = NewRunIn("0");
  auto latest = [&](const std::string& key) {
    auto r = store_->GetRun(run);
    for (const Metric& m : r->metrics) {
      if (m.key == key) return m;
    }
    ADD_FAILURE() << "no metric " << key;
    return Metric{};
  };
  // Out of order within one batch.
  Log(run, {M("a", 5, 3, 100), M("a", 9, 1, 900), M("a", 7, 2, 50)});
  EXPECT_EQ(latest("a").value, 5);
  EXPECT_EQ(latest("a").step, 3);
  // An older step in a later batch does not replace it.
  Log(run, {M("a", 100, 2, 5000)});
  EXPECT_EQ(latest("a").value, 5);
  // Same step: the later timestamp wins; same step and timestamp: the larger value.
  Log(run, {M("a", 4, 3, 200)});
  EXPECT_EQ(latest("a").value, 4);
  Log(run, {M("a", 3, 3, 200)});
  EXPECT_EQ(latest("a").value, 4);
  Log(run, {M("a", 6, 3, 200)});
  EXPECT_EQ(latest("a").value, 6);
  Log(run, {M("a", -1, 4, 1)});
  EXPECT_EQ(latest("a").value, -1);
  EXPECT_EQ(latest("a").timestamp, 1);
}

TEST_P(StoreContractTest, MetricHistoryIsOrderedAndPaged) {
  std::string run = NewRunIn("0");
  Log(run, {M("m", 3, 2, 10), M("m", 1, 0, 30), M("m", 2, 1, 20), M("m", 22, 1, 10),
            M("other", 0, 0, 0)});
  Log(run, {M("m", 0, 0, 5)});
  auto h = store_->GetMetricHistory(run, "m", 0, 0);
  ASSERT_TRUE(h);
  std::vector<double> values;
  for (const Metric& m : *h) values.push_back(m.value);
  EXPECT_EQ(values, (std::vector<double>{0, 1, 22, 2, 3}));
  auto page = store_->GetMetricHistory(run, "m", 2, 2);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].value, 22);
  EXPECT_EQ((*page)[1].value, 2);
  EXPECT_EQ((*page)[1].timestamp, 20);
  EXPECT_TRUE(store_->GetMetricHistory(run, "never", 0, 0)->empty());
  // An identical point logged again (a client retry) is kept once.
  Log(run, {M("m", 3, 2, 10)});
  EXPECT_EQ(store_->GetMetricHistory(run, "m", 0, 0)->size(), 5u);
}

TEST_P(StoreContractTest, LargeBatch) {
  std::string run = NewRunIn("0");
  std::vector<Metric> metrics;
  for (int i = 0; i < 2500; ++i) metrics.push_back(M("k" + std::to_string(i % 50), i, i, i));
  Log(run, metrics);
  auto r = store_->GetRun(run);
  ASSERT_EQ(r->metrics.size(), 50u);
  EXPECT_EQ(r->metrics[0].key, "k0");
  EXPECT_EQ(r->metrics[0].value, 2450);
  EXPECT_EQ(store_->GetMetricHistory(run, "k7", 0, 0)->size(), 50u);
}

// History is keyed by a series id per (run, key): runs sharing key names,
// and a batch that mixes known and new keys, keep every series apart.
TEST_P(StoreContractTest, MetricHistoriesAreSeparatePerRunAndKey) {
  std::string r1 = NewRunIn("0");
  std::string r2 = NewRunIn("0");
  Log(r1, {M("a", 1, 0, 1), M("b", 2, 0, 1)});
  Log(r2, {M("b", 20, 0, 1), M("c", 30, 0, 1)});
  Log(r1, {M("c", 3, 0, 1), M("a", 11, 1, 2), M("b", 2, 0, 1)});  // b: a retry
  auto values = [&](const std::string& run, const std::string& key) {
    std::vector<double> out;
    auto h = store_->GetMetricHistory(run, key, 0, 0);
    EXPECT_TRUE(h) << h.error().ToString();
    if (h) {
      for (const Metric& m : *h) {
        EXPECT_EQ(m.key, key);
        out.push_back(m.value);
      }
    }
    return out;
  };
  EXPECT_EQ(values(r1, "a"), (std::vector<double>{1, 11}));
  EXPECT_EQ(values(r1, "b"), (std::vector<double>{2}));
  EXPECT_EQ(values(r1, "c"), (std::vector<double>{3}));
  EXPECT_EQ(values(r2, "a"), (std::vector<double>{}));
  EXPECT_EQ(values(r2, "b"), (std::vector<double>{20}));
  EXPECT_EQ(values(r2, "c"), (std::vector<double>{30}));
}

// More distinct keys than one id lookup takes at once (SQLite chunks IN
// lists at 256), half of them already known on the second batch.
TEST_P(StoreContractTest, BatchWithManyKnownAndNewKeys) {
  std::string run = NewRunIn("0");
  auto batch = [](int from, int to, int step) {
    std::vector<Metric> m;
    for (int k = from; k < to; ++k) m.push_back(M("key" + std::to_string(k), k + step, step, 1));
    return m;
  };
  Log(run, batch(0, 400, 0));
  Log(run, batch(200, 600, 1));
  auto r = store_->GetRun(run);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->metrics.size(), 600u);
  for (int k : {0, 199, 200, 255, 256, 399, 400, 599}) {
    auto h = store_->GetMetricHistory(run, "key" + std::to_string(k), 0, 0);
    ASSERT_TRUE(h);
    std::vector<int64_t> steps;
    for (const Metric& m : *h) {
      EXPECT_EQ(m.value, k + m.step);
      steps.push_back(m.step);
    }
    EXPECT_EQ(steps, k < 200   ? (std::vector<int64_t>{0})
                     : k < 400 ? (std::vector<int64_t>{0, 1})
                               : (std::vector<int64_t>{1}))
        << "key" << k;
  }
}

// Writers racing to create the same new keys of one run: every batch
// succeeds and all points land in one series per key.
TEST_P(StoreContractTest, ConcurrentBatchesToOneRunShareSeries) {
  constexpr int kThreads = 6;
  constexpr int kBatches = 5;
  constexpr int kKeys = 20;
  std::string run = NewRunIn("0");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Metric> m;
        // Each batch brings new keys that every thread logs at once.
        for (int k = 0; k < kKeys; ++k) {
          m.push_back(M("b" + std::to_string(b) + "k" + std::to_string(k), t, t, b));
        }
        auto s = store_->LogBatch(run, m, {}, {});
        if (!s) {
          ADD_FAILURE() << s.error().ToString();
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto r = store_->GetRun(run);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->metrics.size(), static_cast<size_t>(kBatches * kKeys));
  for (int b = 0; b < kBatches; ++b) {
    auto h = store_->GetMetricHistory(run, "b" + std::to_string(b) + "k7", 0, 0);
    ASSERT_TRUE(h);
    std::vector<int64_t> steps;
    for (const Metric& m : *h) steps.push_back(m.step);
    EXPECT_EQ(steps, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  }
}

// ---------------------------------------------------------------- inputs

TEST_P(StoreContractTest, LogInputsDeduplicates) {
  std::string exp = NewExperimentNamed("data");
  std::string r1 = NewRunIn(exp, "r1");
  std::string r2 = NewRunIn(exp, "r2");
  DatasetInput train{{{"mlflow.data.context", "training"}},
                     {"iris", "abc123", "local", "/data/iris.csv", "{\"cols\":4}", ""}};
  DatasetInput eval{{{"mlflow.data.context", "eval"}},
                    {"iris", "def456", "local", "/data/iris2.csv", "", ""}};
  ASSERT_TRUE(store_->LogInputs(r1, {train, eval}));
  ASSERT_TRUE(store_->LogInputs(r1, {train}));  // again: no duplicate
  ASSERT_TRUE(store_->LogInputs(r2, {train}));
  auto run = store_->GetRun(r1);
  ASSERT_TRUE(run);
  ASSERT_EQ(run->inputs.size(), 2u);
  EXPECT_EQ(run->inputs[0].dataset.name, "iris");
  EXPECT_EQ(run->inputs[0].dataset.digest, "abc123");
  EXPECT_EQ(run->inputs[0].dataset.source, "/data/iris.csv");
  EXPECT_EQ(run->inputs[0].dataset.schema, "{\"cols\":4}");
  EXPECT_EQ(run->inputs[0].tags, (std::vector<Tag>{{"mlflow.data.context", "training"}}));
  EXPECT_EQ(run->inputs[1].dataset.digest, "def456");
  EXPECT_EQ(run->inputs[1].tags, (std::vector<Tag>{{"mlflow.data.context", "eval"}}));
  EXPECT_EQ(store_->GetRun(r2)->inputs.size(), 1u);
  EXPECT_EQ(store_->LogInputs("nope", {train}).error().code(), ErrorCode::kNotFound);
}

// ---------------------------------------------------------------- search

class SearchTest : public StoreContractTest {
 protected:
  void SetUp() override {
    StoreContractTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    exp_ = NewExperimentNamed("search");
    // name, start, user, metrics, params, tags
    a_ = NewRunIn(exp_, "a", 100, "alice");
    b_ = NewRunIn(exp_, "b", 200, "bob");
    c_ = NewRunIn(exp_, "c", 300, "Carol");
    d_ = NewRunIn(exp_, "d", 400, "dave");
    Log(a_, {M("acc", 0.5), M("loss", 3)}, {{"model", "ResNet"}, {"lr", "0.1"}}, {{"env", "prod"}});
    Log(b_, {M("acc", 0.7), M("loss", 2)}, {{"model", "resnet"}, {"lr", "0.01"}}, {{"env", "dev"}});
    Log(c_, {M("acc", 0.9)}, {{"model", "VGG"}}, {{"env", "Prod"}});
    Log(d_, {M("acc", std::numeric_limits<double>::quiet_NaN())}, {}, {});
    ASSERT_TRUE(store_->UpdateRun(b_, {"FINISHED", 250, std::nullopt}));
    ASSERT_TRUE(store_->LogInputs(
        a_, {{{{"mlflow.data.context", "training"}}, {"mnist", "d1", "s", "src", "", ""}}}));
    ASSERT_TRUE(store_->LogInputs(
        b_, {{{{"mlflow.data.context", "eval"}}, {"cifar", "d2", "s", "src", "", ""}}}));
  }

  std::set<std::string> Where(Comparison c) { return NameSet(In(exp_, {std::move(c)})); }

  std::string exp_, a_, b_, c_, d_;
};

using S = std::set<std::string>;
using V = std::vector<std::string>;

TEST_P(SearchTest, MetricComparators) {
  EXPECT_EQ(Where(Cmp(Entity::kMetric, "acc", Comparator::kEq, 0.7)), (S{"b"}));
  EXPECT_EQ(Where(Cmp(Entity::kMetric, "acc", Comparator::kNe, 0.7)), (S{"a", "c", "d"}));
  EXPECT_EQ(Where(Cmp(Entity::kMetric, "acc", Comparator::kLt, 0.7)), (S{"a"}));
  EXPECT_EQ(Where(Cmp(Entity::kMetric, "acc", Comparator::kLe, 0.7)), (S{"a", "b"}));
  EXPECT_EQ(Where(Cmp(Entity::kMetric, "acc", Comparator::kGt, 0.7)), (S{"c"}));
  EXPECT_EQ(Where(Cmp(Entity::kMetric, "acc", Comparator::kGe, 0.7)), (S{"b", "c"}));
  // Runs without the metric never match, whatever the comparator.
  EXPECT_EQ(Where(Cmp(Entity::kMetric, "loss", Comparator::kNe, 99.0)), (S{"a", "b"}));
  EXPECT_EQ(Where(Cmp(Entity::kMetric, "loss", Comparator::kGt, int64_t{2})), (S{"a"}));
  EXPECT_EQ(Where(Cmp(Entity::kMetric, "absent", Comparator::kGe, -1e300)), (S{}));
  // Two conditions on one metric, and on two metrics.
  EXPECT_EQ(NameSet(In(exp_, {Cmp(Entity::kMetric, "acc", Comparator::kGt, 0.4),
                              Cmp(Entity::kMetric, "acc", Comparator::kLt, 0.8)})),
            (S{"a", "b"}));
  EXPECT_EQ(NameSet(In(exp_, {Cmp(Entity::kMetric, "acc", Comparator::kGt, 0.4),
                              Cmp(Entity::kMetric, "loss", Comparator::kLt, 2.5)})),
            (S{"b"}));
}

TEST_P(SearchTest, ParamAndTagComparators) {
  for (Entity e : {Entity::kParam, Entity::kTag}) {
    std::string key = e == Entity::kParam ? "model" : "env";
    std::string upper = e == Entity::kParam ? "ResNet" : "Prod";
    std::string lower_like = e == Entity::kParam ? "res%" : "prod%";
    SCOPED_TRACE(key);
    if (e == Entity::kParam) {
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kEq, upper)), (S{"a"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kNe, upper)), (S{"b", "c"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kLike, lower_like)), (S{"b"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kILike, lower_like)), (S{"a", "b"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kIn, V{"VGG", "resnet", "zzz"})), (S{"b", "c"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kNotIn, V{"VGG"})), (S{"a", "b"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kIsNull)), (S{"d"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kIsNotNull)), (S{"a", "b", "c"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kLike, std::string("%Net"))), (S{"a"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kLike, std::string("_GG"))), (S{"c"}));
    } else {
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kEq, upper)), (S{"c"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kNe, upper)), (S{"a", "b"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kLike, lower_like)), (S{"a"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kILike, lower_like)), (S{"a", "c"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kIn, V{"dev", "Prod"})), (S{"b", "c"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kNotIn, V{"dev", "Prod"})), (S{"a"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kIsNull)), (S{"d"}));
      EXPECT_EQ(Where(Cmp(e, key, Comparator::kIsNotNull)), (S{"a", "b", "c"}));
    }
    EXPECT_EQ(Where(Cmp(e, key, Comparator::kIn, V{})), (S{}));
  }
  EXPECT_EQ(NameSet(In(exp_, {Cmp(Entity::kParam, "lr", Comparator::kEq, std::string("0.1")),
                              Cmp(Entity::kTag, "env", Comparator::kEq, std::string("prod"))})),
            (S{"a"}));
}

TEST_P(SearchTest, AttributeComparators) {
  using A = Entity;
  EXPECT_EQ(Where(Cmp(A::kAttribute, "run_name", Comparator::kEq, std::string("c"))), (S{"c"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "run_name", Comparator::kNe, std::string("c"))),
            (S{"a", "b", "d"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "run_id", Comparator::kIn, V{a_, d_})), (S{"a", "d"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "run_id", Comparator::kNotIn, V{a_, d_})), (S{"b", "c"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "status", Comparator::kEq, std::string("FINISHED"))),
            (S{"b"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "status", Comparator::kIn, V{"RUNNING"})), (S{"a", "c", "d"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "user_id", Comparator::kLike, std::string("c%"))), (S{}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "user_id", Comparator::kILike, std::string("c%"))), (S{"c"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "artifact_uri", Comparator::kLike, std::string("%" + b_))),
            (S{"b"}));
  EXPECT_EQ(
      Where(Cmp(A::kAttribute, "lifecycle_stage", Comparator::kEq, std::string("active"))).size(),
      4u);
  EXPECT_EQ(Where(Cmp(A::kAttribute, "start_time", Comparator::kGt, int64_t{200})), (S{"c", "d"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "start_time", Comparator::kLe, int64_t{200})), (S{"a", "b"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "start_time", Comparator::kEq, int64_t{300})), (S{"c"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "start_time", Comparator::kNe, int64_t{300})),
            (S{"a", "b", "d"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "start_time", Comparator::kGe, int64_t{400})), (S{"d"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "start_time", Comparator::kLt, int64_t{101})), (S{"a"}));
  EXPECT_EQ(Where(Cmp(A::kAttribute, "end_time", Comparator::kGt, int64_t{0})), (S{"b"}));
  auto bad = store_->SearchRuns(
      In(exp_, {Cmp(A::kAttribute, "colour", Comparator::kEq, std::string("x"))}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(SearchTest, DatasetComparators) {
  EXPECT_EQ(Where(Cmp(Entity::kDataset, "name", Comparator::kEq, std::string("mnist"))), (S{"a"}));
  EXPECT_EQ(Where(Cmp(Entity::kDataset, "name", Comparator::kIn, V{"mnist", "cifar"})),
            (S{"a", "b"}));
  EXPECT_EQ(Where(Cmp(Entity::kDataset, "digest", Comparator::kEq, std::string("d2"))), (S{"b"}));
  EXPECT_EQ(Where(Cmp(Entity::kDataset, "context", Comparator::kEq, std::string("training"))),
            (S{"a"}));
  EXPECT_EQ(Where(Cmp(Entity::kDataset, "context", Comparator::kILike, std::string("EV%"))),
            (S{"b"}));
  EXPECT_EQ(Where(Cmp(Entity::kDataset, "name", Comparator::kNe, std::string("mnist"))), (S{"b"}));
}

TEST_P(SearchTest, ViewTypeAndExperimentScope) {
  ASSERT_TRUE(store_->SetRunLifecycle(d_, kDeleted, 1));
  RunQuery q = In(exp_);
  EXPECT_EQ(NameSet(q), (S{"a", "b", "c"}));
  q.view = ViewType::kDeletedOnly;
  EXPECT_EQ(NameSet(q), (S{"d"}));
  q.view = ViewType::kAll;
  EXPECT_EQ(NameSet(q), (S{"a", "b", "c", "d"}));
  NewRunIn("0", "in-default");
  q.experiment_ids = {exp_, "0"};
  EXPECT_EQ(NameSet(q).size(), 5u);
  q.experiment_ids = {"0"};
  EXPECT_EQ(NameSet(q), (S{"in-default"}));
  q.experiment_ids = {"12345"};
  EXPECT_EQ(NameSet(q), (S{}));
  q.experiment_ids = {"not-a-number"};
  EXPECT_EQ(NameSet(q), (S{}));
}

TEST_P(SearchTest, OrderingPutsMissingLast) {
  // Default: start_time DESC.
  EXPECT_EQ(Names(In(exp_)), (V{"d", "c", "b", "a"}));
  // acc: a .5, b .7, c .9, d NaN -> NaN after numbers in both directions.
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kMetric, "acc", true}})), (V{"a", "b", "c", "d"}));
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kMetric, "acc", false}})), (V{"c", "b", "a", "d"}));
  // loss: a 3, b 2; c, d missing -> last, tie broken by start_time DESC.
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kMetric, "loss", true}})), (V{"b", "a", "d", "c"}));
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kMetric, "loss", false}})), (V{"a", "b", "d", "c"}));
  // Params and tags, missing last both ways.
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kParam, "lr", true}})), (V{"b", "a", "d", "c"}));
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kParam, "lr", false}})), (V{"a", "b", "d", "c"}));
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kTag, "env", true}})), (V{"c", "b", "a", "d"}));
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kTag, "env", false}})), (V{"a", "b", "c", "d"}));
  // Attributes.
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kAttribute, "start_time", true}})),
            (V{"a", "b", "c", "d"}));
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kAttribute, "run_name", false}})),
            (V{"d", "c", "b", "a"}));
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kAttribute, "end_time", true}})).front(), "b");
  EXPECT_EQ(Names(In(exp_, {}, {{Entity::kAttribute, "end_time", false}})).front(), "b");
  // Filter + order on one metric.
  EXPECT_EQ(Names(In(exp_, {Cmp(Entity::kMetric, "acc", Comparator::kGt, 0.6)},
                     {{Entity::kMetric, "acc", false}})),
            (V{"c", "b"}));
  // Two keys: status, then acc.
  EXPECT_EQ(
      Names(In(exp_, {}, {{Entity::kAttribute, "status", true}, {Entity::kMetric, "acc", false}})),
      (V{"b", "c", "a", "d"}));
}

TEST_P(SearchTest, TiesBreakOnStartTimeThenRunId) {
  std::string exp = NewExperimentNamed("ties");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(NewRunIn(exp, "t" + std::to_string(i), 777));
    Log(ids.back(), {M("same", 1.0)});
  }
  std::sort(ids.begin(), ids.end());
  auto page = store_->SearchRuns(In(exp, {}, {{Entity::kMetric, "same", true}}));
  ASSERT_TRUE(page);
  std::vector<std::string> got;
  for (const store::Run& r : page->runs) got.push_back(r.info.run_id);
  EXPECT_EQ(got, ids);
}

TEST_P(SearchTest, PagingWithoutDuplicates) {
  std::string exp = NewExperimentNamed("paging");
  std::set<std::string> all;
  for (int i = 0; i < 23; ++i) {
    std::string id = NewRunIn(exp, "p" + std::to_string(i), i % 4);  // many ties
    Log(id, {M("m", i % 3)});
    all.insert(id);
  }
  for (bool by_metric : {false, true}) {
    RunQuery q = In(exp);
    if (by_metric) q.order_by = {{Entity::kMetric, "m", false}};
    q.max_results = 5;
    std::set<std::string> seen;
    int pages = 0;
    for (;;) {
      auto page = store_->SearchRuns(q);
      ASSERT_TRUE(page) << page.error().ToString();
      ++pages;
      for (const store::Run& r : page->runs) EXPECT_TRUE(seen.insert(r.info.run_id).second);
      if (page->next_offset == -1) {
        EXPECT_EQ(page->runs.size(), 3u);
        break;
      }
      EXPECT_EQ(page->runs.size(), 5u);
      EXPECT_EQ(page->next_offset, q.offset + 5);
      q.offset = page->next_offset;
    }
    EXPECT_EQ(pages, 5);
    EXPECT_EQ(seen, all);
  }
  // Exactly a full last page: no next page.
  RunQuery q = In(exp);
  q.max_results = 23;
  auto page = store_->SearchRuns(q);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->runs.size(), 23u);
  EXPECT_EQ(page->next_offset, -1);
}

TEST_P(SearchTest, MetricOrderPagesAcrossNanAndMissingValues) {
  std::string exp = NewExperimentNamed("mixed");
  // v0..v6 have values, n0..n1 NaN, x0..x4 no such metric; start times distinct.
  std::vector<double> values = {5, 1, 4, 0.5, 3, 2, 6};
  int64_t t = 1000;
  for (size_t i = 0; i < values.size(); ++i) {
    Log(NewRunIn(exp, "v" + std::to_string(i), t++), {M("score", values[i])});
  }
  for (int i = 0; i < 2; ++i) {
    Log(NewRunIn(exp, "n" + std::to_string(i), t++),
        {M("score", std::numeric_limits<double>::quiet_NaN())});
  }
  for (int i = 0; i < 5; ++i) Log(NewRunIn(exp, "x" + std::to_string(i), t++), {M("other", 1)});

  const V asc = {"v3", "v1", "v5", "v4", "v2", "v0", "v6",
                 "n1", "n0", "x4", "x3", "x2", "x1", "x0"};
  const V desc = {"v6", "v0", "v2", "v4", "v5", "v1", "v3",
                  "n1", "n0", "x4", "x3", "x2", "x1", "x0"};
  for (bool ascending : {true, false}) {
    for (int64_t page_size : {1, 3, 7, 8, 14, 100}) {
      RunQuery q = In(exp, {}, {{Entity::kMetric, "score", ascending}});
      q.max_results = page_size;
      V got;
      for (int guard = 0; guard < 20; ++guard) {
        auto page = store_->SearchRuns(q);
        ASSERT_TRUE(page) << page.error().ToString();
        for (const store::Run& r : page->runs) got.push_back(r.info.run_name);
        if (page->next_offset == -1) break;
        q.offset = page->next_offset;
      }
      EXPECT_EQ(got, ascending ? asc : desc) << "page size " << page_size;
    }
  }
}

TEST_P(SearchTest, ReturnedRunsCarryFullData) {
  auto page = store_->SearchRuns(In(exp_, {}, {{Entity::kAttribute, "run_name", true}}));
  ASSERT_TRUE(page);
  ASSERT_EQ(page->runs.size(), 4u);
  const store::Run& a = page->runs[0];
  EXPECT_EQ(a.info.run_id, a_);
  EXPECT_EQ(a.info.user_id, "alice");
  ASSERT_EQ(a.metrics.size(), 2u);
  EXPECT_EQ(a.metrics[0].key, "acc");
  EXPECT_EQ(a.params, (std::vector<Param>{{"lr", "0.1"}, {"model", "ResNet"}}));
  EXPECT_EQ(a.tags, (std::vector<Tag>{{"env", "prod"}, {"mlflow.runName", "a"}}));
  ASSERT_EQ(a.inputs.size(), 1u);
  EXPECT_EQ(a.inputs[0].dataset.name, "mnist");
  EXPECT_EQ(a.inputs[0].tags, (std::vector<Tag>{{"mlflow.data.context", "training"}}));
  const store::Run& b = page->runs[1];
  EXPECT_EQ(b.info.status, "FINISHED");
  EXPECT_EQ(b.info.end_time, 250);
  EXPECT_EQ(b.params, (std::vector<Param>{{"lr", "0.01"}, {"model", "resnet"}}));
  EXPECT_TRUE(page->runs[3].params.empty());
  EXPECT_TRUE(std::isnan(page->runs[3].metrics.at(0).value));
}

TEST_P(SearchTest, SqlInFilterValuesIsInert) {
  const std::string evil = "x' OR '1'='1";
  for (Entity e : {Entity::kParam, Entity::kTag}) {
    EXPECT_EQ(Where(Cmp(e, "model", Comparator::kEq, evil)), (S{}));
    EXPECT_EQ(Where(Cmp(e, evil, Comparator::kEq, std::string("ResNet"))), (S{}));
    EXPECT_EQ(Where(Cmp(e, "model", Comparator::kLike, evil)), (S{}));
    EXPECT_EQ(Where(Cmp(e, "model", Comparator::kIn, V{evil})), (S{}));
  }
  EXPECT_EQ(Where(Cmp(Entity::kAttribute, "run_name", Comparator::kEq,
                      std::string("a'; DROP TABLE runs; --"))),
            (S{}));
  EXPECT_EQ(Where(Cmp(Entity::kMetric, "acc') OR 1=1 --", Comparator::kGt, -1.0)), (S{}));
  // A param value holding SQL is stored and found verbatim.
  std::string run = NewRunIn(exp_, "evil");
  Log(run, {}, {{"q", evil}}, {});
  EXPECT_EQ(Where(Cmp(Entity::kParam, "q", Comparator::kEq, evil)), (S{"evil"}));
  EXPECT_EQ(NameSet(In(exp_)).size(), 5u);  // nothing broke
}

// ------------------------------------------------------------ concurrency

TEST_P(StoreContractTest, ConcurrentBatchesToDifferentRuns) {
  constexpr int kThreads = 6;
  constexpr int kBatches = 15;
  constexpr int kPerBatch = 40;
  std::vector<std::string> runs;
  for (int t = 0; t < kThreads; ++t) runs.push_back(NewRunIn("0", "t" + std::to_string(t)));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Metric> m;
        for (int i = 0; i < kPerBatch; ++i) {
          m.push_back(M("m" + std::to_string(i % 4), b * 1000 + i, b * kPerBatch + i, b));
        }
        std::vector<Param> p{{"p" + std::to_string(b), std::to_string(t)}};
        if (!store_->LogBatch(runs[t], m, p, {{"last", std::to_string(b)}})) ++failures;
        // Readers run alongside the writers.
        if (!store_->GetRun(runs[(t + 1) % kThreads])) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    auto r = store_->GetRun(runs[t]);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->params.size(), static_cast<size_t>(kBatches));
    EXPECT_EQ(r->tags, (std::vector<Tag>{{"last", std::to_string(kBatches - 1)},
                                         {"mlflow.runName", "t" + std::to_string(t)}}));
    ASSERT_EQ(r->metrics.size(), 4u);
    size_t points = 0;
    for (int k = 0; k < 4; ++k) {
      points += store_->GetMetricHistory(runs[t], "m" + std::to_string(k), 0, 0)->size();
    }
    EXPECT_EQ(points, static_cast<size_t>(kBatches * kPerBatch));
  }
}

// Concurrent writers whose batches fail and succeed side by side (on SQLite
// they share group-committed transactions): a failing batch writes nothing,
// its neighbours write everything, and each caller gets its own answer.
TEST_P(StoreContractTest, ConcurrentFailingAndSucceedingBatchesStayIsolated) {
  constexpr int kThreads = 8;
  constexpr int kBatches = 20;
  std::vector<std::string> runs;
  for (int t = 0; t < kThreads; ++t) {
    runs.push_back(NewRunIn("0", "g" + std::to_string(t)));
    Log(runs[t], {}, {{"fixed", "1"}});
  }
  std::atomic<int> wrong_answers{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        const bool bad = (b + t) % 3 == 0;  // changes an immutable param
        std::vector<Metric> m{M("ok", b, b, 1), M("b" + std::to_string(b), b, b, 1)};
        // The new key is inserted before the changed one is detected, so a
        // failing batch must undo a write it already made.
        std::vector<Param> p{{"new" + std::to_string(b), "x"}, {"fixed", bad ? "2" : "1"}};
        auto s = store_->LogBatch(runs[t], m, p, {{"t" + std::to_string(b), "v"}});
        if (static_cast<bool>(s) == bad) ++wrong_answers;
        if (!s && s.error().code() != ErrorCode::kInvalidArgument) ++wrong_answers;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong_answers.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    auto r = store_->GetRun(runs[t]);
    ASSERT_TRUE(r);
    size_t good = 0;
    for (int b = 0; b < kBatches; ++b) {
      const bool bad = (b + t) % 3 == 0;
      auto h = store_->GetMetricHistory(runs[t], "b" + std::to_string(b), 0, 0);
      ASSERT_TRUE(h);
      EXPECT_EQ(h->size(), bad ? 0u : 1u) << "run " << t << " batch " << b;
      bool has_tag = std::any_of(r->tags.begin(), r->tags.end(),
                                 [&](const Tag& g) { return g.key == "t" + std::to_string(b); });
      EXPECT_EQ(has_tag, !bad) << "run " << t << " batch " << b;
      if (!bad) ++good;
    }
    EXPECT_EQ(store_->GetMetricHistory(runs[t], "ok", 0, 0)->size(), good);
    EXPECT_EQ(r->params.size(), good + 1);
    for (const Param& p : r->params) {
      if (p.key == "fixed") continue;
      int b = std::stoi(p.key.substr(3));
      EXPECT_NE((b + t) % 3, 0) << "param of failed batch " << b << " was kept";
    }
  }
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::Values("sqlite", "postgres"),
                         BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, SearchTest, ::testing::Values("sqlite", "postgres"),
                         BackendName);

// ------------------------------------------------- backend-specific cases

TEST(StoreOpenTest, UnreachablePostgresIsUnavailableNamingHostAndPort) {
  int port = UnusedPort();
  auto s = OpenMetadataStore("postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/cairn");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(s.error().message().starts_with("metadata store unavailable: "))
      << s.error().message();
  EXPECT_NE(s.error().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << s.error().message();
}

TEST(StoreOpenTest, UnknownSchemeIsInvalid) {
  auto s = OpenMetadataStore("mysql://root@localhost/db");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
}

TEST(StoreOpenTest, InMemorySqliteWorks) {
  auto s = OpenMetadataStore("sqlite:///:memory:");
  ASSERT_TRUE(s) << s.error().ToString();
  ASSERT_TRUE((*s)->Migrate());
  auto id = (*s)->CreateExperiment({"mem", "", {}, 1});
  ASSERT_TRUE(id);
  NewRun r{NewRunId(), *id, "r", "u", 1, "", {}};
  ASSERT_TRUE((*s)->CreateRun(r));
  ASSERT_TRUE((*s)->LogBatch(r.run_id, {M("m", 1)}, {}, {}));
  // Reads see the writes (one database, not one per connection).
  EXPECT_EQ((*s)->GetRun(r.run_id)->metrics.size(), 1u);
  RunQuery q;
  q.experiment_ids = {*id};
  EXPECT_EQ((*s)->SearchRuns(q)->runs.size(), 1u);
  // A second in-memory store is a different database.
  auto other = OpenMetadataStore("sqlite:///:memory:");
  ASSERT_TRUE(other && (*other)->Migrate());
  EXPECT_EQ((*other)->GetExperiment(*id).error().code(), ErrorCode::kNotFound);
}

TEST(StoreOpenTest, SqliteLikeIsCaseSensitiveOnEveryConnection) {
  fs::path dir = fs::temp_directory_path() / ("cairn_like_" + RandomSuffix());
  auto s = OpenMetadataStore("sqlite://" + (dir / "x.db").string());
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->Migrate());
  NewRun r{NewRunId(), "0", "Upper", "u", 1, "", {}};
  ASSERT_TRUE((*s)->CreateRun(r));
  RunQuery q;
  q.experiment_ids = {"0"};
  q.filter = {Cmp(Entity::kAttribute, "run_name", Comparator::kLike, std::string("upper"))};
  // Several searches in parallel so more than one reader connection is used.
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 20; ++k) {
        auto page = (*s)->SearchRuns(q);
        if (!page || !page->runs.empty()) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  s->reset();
  fs::remove_all(dir);
}

// A backend killed under an open pool: the operation that hits the dead
// connection fails with kUnavailable (or succeeds if the pool noticed first),
// and the store recovers without being reopened.
TEST(PostgresRecoveryTest, LostConnectionsAreDiscardedAndReplaced) {
  std::string base = Env("CAIRN_TEST_POSTGRES_URI");
  if (base.empty()) {
    if (PostgresRequired()) FAIL() << "CAIRN_REQUIRE_POSTGRES=1 but CAIRN_TEST_POSTGRES_URI unset";
    GTEST_SKIP() << "CAIRN_TEST_POSTGRES_URI not set";
  }
  std::string schema = "cairn_t_rec_" + RandomSuffix();
  std::string err = PgExec(base, "CREATE SCHEMA " + schema);
  if (!err.empty()) {
    if (PostgresRequired()) FAIL() << err;
    GTEST_SKIP() << err;
  }
  std::string app = "cairn_rec_" + RandomSuffix();
  std::string uri =
      WithQuery(WithQuery(base, "options=-csearch_path%3D" + schema), "application_name=" + app);
  auto store = OpenMetadataStore(uri);
  ASSERT_TRUE(store) << store.error().ToString();
  ASSERT_TRUE((*store)->Migrate());
  // Several connections in the pool.
  std::vector<std::thread> warm;
  for (int i = 0; i < 4; ++i) warm.emplace_back([&] { (void)(*store)->GetExperiment("0"); });
  for (auto& t : warm) t.join();

  ASSERT_EQ(PgExec(base,
                   "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                   "application_name = '" +
                       app + "'"),
            "");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto first = (*store)->GetExperiment("0");
  if (!first) {
    EXPECT_EQ(first.error().code(), ErrorCode::kUnavailable);
    EXPECT_TRUE(first.error().message().starts_with("metadata store unavailable: "))
        << first.error().message();
  }
  for (int i = 0; i < 3; ++i) {
    auto again = (*store)->GetExperiment("0");
    ASSERT_TRUE(again) << again.error().ToString();
    EXPECT_EQ(again->name, "Default");
  }
  store->reset();
  PgExec(base, "DROP SCHEMA " + schema + " CASCADE");
}

// The same at the driver level, where the failure is certain: a backend
// terminated while its connection is leased.
TEST(PostgresRecoveryTest, OperationOnDeadConnectionIsUnavailable) {
  std::string base = Env("CAIRN_TEST_POSTGRES_URI");
  if (base.empty()) {
    if (PostgresRequired()) FAIL() << "CAIRN_REQUIRE_POSTGRES=1 but CAIRN_TEST_POSTGRES_URI unset";
    GTEST_SKIP() << "CAIRN_TEST_POSTGRES_URI not set";
  }
  PGconn* probe = PQconnectdb(base.c_str());
  postgres::PostgresOptions o;
  o.host = PQhost(probe);
  o.port = std::atoi(PQport(probe));
  o.user = PQuser(probe);
  o.dbname = PQdb(probe);
  bool ok = PQstatus(probe) == CONNECTION_OK;
  PQfinish(probe);
  if (!ok) {
    if (PostgresRequired()) FAIL() << "PostgreSQL unreachable";
    GTEST_SKIP() << "PostgreSQL unreachable";
  }
  o.max_connections = 2;
  auto db = postgres::OpenPostgresDatabase(o);
  ASSERT_TRUE(db) << db.error().ToString();
  {
    auto conn = (*db)->Writer();
    ASSERT_TRUE(conn);
    auto kill = (*conn)->Prepare("SELECT pg_terminate_backend(pg_backend_pid())", false);
    ASSERT_TRUE(kill);
    (void)(*kill)->Next();  // the server drops us while answering
    auto after = (*conn)->Prepare("SELECT 1", false);
    Result<bool> row = after ? (*after)->Next() : Result<bool>(std::unexpected(after.error()));
    ASSERT_FALSE(row);
    EXPECT_EQ(row.error().code(), ErrorCode::kUnavailable);
    EXPECT_TRUE(row.error().message().starts_with("metadata store unavailable: "))
        << row.error().message();
    EXPECT_TRUE((*conn)->broken());
  }
  auto conn = (*db)->Reader();
  ASSERT_TRUE(conn) << conn.error().ToString();
  auto one = (*conn)->Prepare("SELECT 41 + 1", false);
  ASSERT_TRUE(one);
  auto row = (*one)->Next();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*one)->Int(0), 42);
}

}  // namespace
}  // namespace cairn::store
