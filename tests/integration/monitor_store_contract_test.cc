// The MonitorStore contract (store/monitor_store.h, migration 4), run against
// every backend like store_contract_test.cc, on a fresh database per test
// (store_fixture.h): monitors and their webhook, window claims (and their
// races across two store instances, i.e. two processes' worth of
// connections), completion (all or nothing, proven with a fault-injecting
// driver), results and their NaN round trip, labels and the join, alerts and
// their webhook deliveries, cascade delete, and the upgrade of a schema-3
// database.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/metadata_store.h"
#include "store/monitor_store.h"
#include "store/sql/dialect.h"
#include "store/sql/driver.h"
#include "store/sql/migrations.h"
#include "store/sql/sql_metadata_store.h"
#include "store/sql/sql_monitor_store.h"
#include "store_fixture.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace cairn::store {
namespace {

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kT0 = 1'764'169'200'000;  // an hour boundary
constexpr int64_t kLease = 300'000;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// ---- a driver that fails statements naming a table (fault injection) ----

class FailingConnection final : public sql::Connection {
 public:
  FailingConnection(sql::Connection& inner, std::string fail_on)
      : inner_(inner), fail_on_(std::move(fail_on)) {}
  sql::Dialect dialect() const override { return inner_.dialect(); }
  Status ExecScript(std::string_view s) override { return inner_.ExecScript(s); }
  Result<sql::StatementRef> Prepare(std::string_view s, bool cached) override {
    if (s.find(fail_on_) != std::string_view::npos) return Internal("injected failure");
    return inner_.Prepare(s, cached);
  }
  Status Begin(sql::TxnMode mode) override { return inner_.Begin(mode); }
  Status Commit() override { return inner_.Commit(); }
  void Rollback() override { inner_.Rollback(); }
  Status InsertRows(const sql::BulkInsert& spec, std::span<const sql::Value> values) override {
    if (spec.head.find(fail_on_) != std::string_view::npos) return Internal("injected failure");
    return inner_.InsertRows(spec, values);
  }
  bool broken() const override { return inner_.broken(); }

 private:
  sql::Connection& inner_;
  std::string fail_on_;
};

class FailingDatabase final : public sql::Database {
 public:
  FailingDatabase(sql::Database& inner, std::string fail_on)
      : inner_(inner), fail_on_(std::move(fail_on)) {}
  sql::Dialect dialect() const override { return inner_.dialect(); }
  Result<sql::ConnectionLease> Writer() override { return Wrap(inner_.Writer()); }
  Result<sql::ConnectionLease> Reader() override { return Wrap(inner_.Reader()); }

 protected:
  void Release(sql::Connection*, void* token) override { delete static_cast<Held*>(token); }

 private:
  struct Held {
    Held(sql::ConnectionLease l, const std::string& fail_on)
        : lease(std::move(l)), conn(*lease, fail_on) {}
    sql::ConnectionLease lease;
    FailingConnection conn;
  };
  Result<sql::ConnectionLease> Wrap(Result<sql::ConnectionLease> l) {
    if (!l) return std::unexpected(l.error());
    auto* held = new Held(std::move(*l), fail_on_);
    return sql::ConnectionLease(this, &held->conn, held);
  }
  sql::Database& inner_;
  std::string fail_on_;
};

// ---- helpers ----

MonitorResult R(std::string feature, std::string statistic, double value) {
  MonitorResult r;
  r.feature = std::move(feature);
  r.statistic = std::move(statistic);
  r.value = value;
  return r;
}

StoredPrediction P(std::string request_id, int32_t row, std::string prediction,
                   std::optional<double> score = std::nullopt) {
  return StoredPrediction{std::move(request_id), row, std::move(prediction), score};
}

AlertChange Fire(std::string rule, std::string feature, std::string statistic, double value) {
  AlertChange a;
  a.kind = AlertChange::Kind::kFire;
  a.rule = std::move(rule);
  a.feature = feature;
  a.statistic = statistic;
  a.value = value;
  a.payload_json = "{\"event\":\"monitor.alert.fired\",\"alert_id\":0,\"feature\":\"" + feature +
                   "\",\"statistic\":\"" + statistic + "\"}";
  return a;
}

AlertChange Resolve(int64_t alert_id) {
  AlertChange a;
  a.kind = AlertChange::Kind::kResolve;
  a.alert_id = alert_id;
  a.payload_json =
      "{\"event\":\"monitor.alert.resolved\",\"alert_id\":" + std::to_string(alert_id) + "}";
  return a;
}

class MonitorStoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_.Create(GetParam());
    if (HasFatalFailure() || IsSkipped()) return;
    auto s = OpenMetadataStore(db_.uri);
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
    auto v = store_->Migrate();
    ASSERT_TRUE(v) << v.error().ToString();
    ASSERT_GE(*v, 4);
  }
  void TearDown() override {
    store_.reset();
    db_.Drop();
  }

  MonitorStore& mon() { return store_->monitors(); }
  RegistryStore& reg() { return store_->registry(); }
  sql::Database& raw() { return dynamic_cast<sql::SqlMetadataStore&>(*store_).database(); }

  // One integer a query returns (row counts).
  int64_t Count(const std::string& query) {
    auto conn = raw().Reader();
    EXPECT_TRUE(conn) << conn.error().ToString();
    if (!conn) return -1;
    auto s = (*conn)->Prepare(query, false);
    EXPECT_TRUE(s) << s.error().ToString();
    if (!s) return -1;
    auto row = (*s)->Next();
    EXPECT_TRUE(row && *row);
    return row && *row ? (*s)->Int(0) : -1;
  }

  void NewModel(const std::string& name) {
    RegisteredModel m;
    m.name = name;
    auto r = reg().CreateRegisteredModel(m, Actor{"alice", 1000});
    ASSERT_TRUE(r) << r.error().ToString();
  }

  Monitor Create(const std::string& name, const std::string& model, bool with_webhook = true,
                 int64_t created_at = kT0) {
    Monitor m;
    m.name = name;
    m.model_name = model;
    m.spec_json = "{\"name\":\"" + name + "\",\"window\":\"1h\"}";
    m.created_at = created_at;
    std::optional<Webhook> hook;
    if (with_webhook) {
      hook = Webhook{};
      hook->url = "http://127.0.0.1:9/" + name;
      hook->secret = "s3cret";
      hook->events = {"monitor.alert.fired", "monitor.alert.resolved"};
    }
    auto r = mon().CreateMonitor(m, hook);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : Monitor{};
  }

  int64_t Claim(int64_t monitor_id, int64_t start, bool manual = false,
                const std::string& owner = "host:1:a", int64_t now = kT0 + kHour + 1000) {
    auto r = mon().ClaimWindow(monitor_id, start, start + kHour, manual, owner, now, kLease);
    EXPECT_TRUE(r) << r.error().ToString();
    EXPECT_TRUE(r && r->has_value()) << "claim of " << start << " was refused";
    return r && r->has_value() ? **r : 0;
  }

  Status Complete(int64_t window_id, std::vector<MonitorResult> results,
                  std::vector<StoredPrediction> predictions = {},
                  std::vector<AlertChange> alerts = {}, std::string status = "done",
                  int64_t finished_at = kT0 + kHour + 2000) {
    WindowCompletion c;
    c.window_id = window_id;
    c.status = std::move(status);
    c.rows = static_cast<int64_t>(predictions.size());
    c.report_json = "{\"window\":" + std::to_string(window_id) + "}";
    c.finished_at = finished_at;
    c.results = std::move(results);
    c.predictions = std::move(predictions);
    c.alerts = std::move(alerts);
    return mon().CompleteWindow(c);
  }

  // A window's perf_dirty_seq as stored now.
  int64_t Seq(int64_t window_id) {
    auto w = mon().GetWindow(window_id);
    EXPECT_TRUE(w) << w.error().ToString();
    return w ? w->perf_dirty_seq : -1;
  }

  std::vector<WebhookDelivery> Deliveries(int64_t webhook_id) {
    auto d = reg().ListDeliveries(webhook_id, 0);
    EXPECT_TRUE(d) << d.error().ToString();
    return d ? *d : std::vector<WebhookDelivery>{};
  }

  test_db::FreshDatabase db_;
  std::unique_ptr<MetadataStore> store_;
};

// ------------------------------------------------------------- monitors

TEST_P(MonitorStoreContractTest, CreateGetListAndWebhook) {
  NewModel("fraud");
  Monitor a = Create("fraud-drift", "fraud");
  ASSERT_GT(a.id, 0);
  EXPECT_EQ(a.name, "fraud-drift");
  EXPECT_EQ(a.model_name, "fraud");
  EXPECT_EQ(a.spec_json, "{\"name\":\"fraud-drift\",\"window\":\"1h\"}");
  EXPECT_TRUE(a.active);
  EXPECT_EQ(a.created_at, kT0);
  EXPECT_EQ(a.updated_at, kT0);
  EXPECT_EQ(a.last_fired_at, 0);
  ASSERT_GT(a.webhook_id, 0);

  // The webhook is a registry webhook of the model, subscribed to the two events.
  auto hook = reg().GetWebhook(a.webhook_id);
  ASSERT_TRUE(hook) << hook.error().ToString();
  EXPECT_EQ(hook->url, "http://127.0.0.1:9/fraud-drift");
  EXPECT_EQ(hook->secret, "s3cret");
  EXPECT_EQ(hook->model_name, "fraud");
  EXPECT_EQ(hook->events,
            (std::vector<std::string>{"monitor.alert.fired", "monitor.alert.resolved"}));

  // A monitor of a model the registry does not know, without a webhook.
  Monitor b = Create("adhoc", "unregistered", false, kT0 + 5);
  EXPECT_EQ(b.webhook_id, 0);
  EXPECT_GT(b.id, a.id);

  auto got = mon().GetMonitor("fraud-drift");
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->id, a.id);
  EXPECT_EQ(got->webhook_id, a.webhook_id);
  EXPECT_EQ(got->spec_json, a.spec_json);

  auto list = mon().ListMonitors();
  ASSERT_TRUE(list) << list.error().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "adhoc");
  EXPECT_EQ((*list)[1].name, "fraud-drift");

  // A taken name: nothing is created (not even a second webhook).
  Monitor dup;
  dup.name = "fraud-drift";
  dup.model_name = "fraud";
  Webhook w;
  w.url = "http://127.0.0.1:9/other";
  auto again = mon().CreateMonitor(dup, w);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.error().message(), "Monitor 'fraud-drift' already exists");
  EXPECT_EQ(Count("SELECT count(*) FROM webhooks"), 1);

  auto missing = mon().GetMonitor("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "Monitor 'nope' not found");
}

TEST_P(MonitorStoreContractTest, MarkFiredIsCompareAndSet) {
  Monitor m = Create("m", "fraud", false);
  auto first = mon().MarkFired(m.id, 0, kT0 + 60'000);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_TRUE(*first);
  auto stale = mon().MarkFired(m.id, 0, kT0 + 61'000);
  ASSERT_TRUE(stale);
  EXPECT_FALSE(*stale);
  EXPECT_EQ(mon().GetMonitor("m")->last_fired_at, kT0 + 60'000);

  // Many replicas fire the same tick: exactly one wins.
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto r = mon().MarkFired(m.id, kT0 + 60'000, kT0 + 120'000 + t);
      if (r && *r) ++wins;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
  int64_t fired = mon().GetMonitor("m")->last_fired_at;
  EXPECT_GE(fired, kT0 + 120'000);
  EXPECT_LT(fired, kT0 + 120'008);

  auto unknown = mon().MarkFired(m.id + 1000, 0, 1);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

// ------------------------------------------------------------- windows

TEST_P(MonitorStoreContractTest, ClaimWindowInsertsHoldsAndTakesOver) {
  Monitor m = Create("m", "fraud", false);
  const int64_t now = kT0 + kHour + 1000;
  auto first = mon().ClaimWindow(m.id, kT0, kT0 + kHour, false, "a", now, kLease);
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_TRUE(first->has_value());
  const int64_t id = **first;

  auto w = mon().GetWindow(id);
  ASSERT_TRUE(w) << w.error().ToString();
  EXPECT_EQ(w->monitor_id, m.id);
  EXPECT_EQ(w->start_ms, kT0);
  EXPECT_EQ(w->end_ms, kT0 + kHour);
  EXPECT_FALSE(w->manual);
  EXPECT_EQ(w->status, "running");
  EXPECT_EQ(w->owner, "a");
  EXPECT_EQ(w->claimed_at, now);
  EXPECT_EQ(w->report_json, "");

  // A live claim holds, even at the lease's edge.
  auto held = mon().ClaimWindow(m.id, kT0, kT0 + kHour, false, "b", now + kLease, kLease);
  ASSERT_TRUE(held);
  EXPECT_FALSE(held->has_value());

  // A claim older than the lease is taken over: same row, new owner.
  auto taken = mon().ClaimWindow(m.id, kT0, kT0 + kHour, false, "b", now + kLease + 1, kLease);
  ASSERT_TRUE(taken) << taken.error().ToString();
  ASSERT_TRUE(taken->has_value());
  EXPECT_EQ(**taken, id);
  EXPECT_EQ(mon().GetWindow(id)->owner, "b");
  EXPECT_EQ(mon().GetWindow(id)->claimed_at, now + kLease + 1);

  // A finished window is never claimed again, however old.
  ASSERT_TRUE(Complete(id, {}, {}, {}, "empty"));
  auto done = mon().ClaimWindow(m.id, kT0, kT0 + kHour, false, "c", now + 100 * kLease, kLease);
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->has_value());

  // Manual windows are never unique, even on a scheduled window's start.
  int64_t m1 = Claim(m.id, kT0, true);
  int64_t m2 = Claim(m.id, kT0, true);
  EXPECT_NE(m1, id);
  EXPECT_NE(m1, m2);
  EXPECT_TRUE(mon().GetWindow(m1)->manual);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_windows"), 3);

  auto unknown = mon().ClaimWindow(m.id + 1000, kT0, kT0 + kHour, false, "a", now, kLease);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  auto gone = mon().GetWindow(id + 1000);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
}

// Two "processes" (two stores, two connection pools on one database) and
// several threads each claim the same window: exactly one wins; after the
// lease, exactly one takes it over.
TEST_P(MonitorStoreContractTest, ConcurrentClaimsHaveExactlyOneWinner) {
  auto other = OpenMetadataStore(db_.uri);
  ASSERT_TRUE(other) << other.error().ToString();
  Monitor m = Create("m", "fraud", false);
  MonitorStore* stores[2] = {&mon(), &(*other)->monitors()};

  for (int round = 0; round < 3; ++round) {
    const int64_t start = kT0 + round * kHour;
    const int64_t now = start + kHour + 1000;
    std::atomic<int> wins{0};
    std::atomic<int> errors{0};
    std::mutex mu;
    std::set<int64_t> ids;
    auto race = [&](int64_t at) {
      std::vector<std::thread> threads;
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
          auto r = stores[t % 2]->ClaimWindow(m.id, start, start + kHour, false,
                                              "owner-" + std::to_string(t), at, kLease);
          if (!r) {
            ++errors;
            return;
          }
          if (r->has_value()) {
            ++wins;
            std::lock_guard<std::mutex> lock(mu);
            ids.insert(**r);
          }
        });
      }
      for (auto& th : threads) th.join();
    };
    race(now);
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(wins.load(), 1) << "round " << round;
    EXPECT_EQ(
        Count("SELECT count(*) FROM monitor_windows WHERE start_ms = " + std::to_string(start)), 1);
    // The winner died: after the lease, one of the others takes over.
    wins = 0;
    race(now + kLease + 1);
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(wins.load(), 1) << "round " << round;
    EXPECT_EQ(ids.size(), 1u);
    auto w = mon().GetWindow(*ids.begin());
    ASSERT_TRUE(w);
    EXPECT_EQ(w->claimed_at, now + kLease + 1);
  }
  other->reset();
}

// Two workers that both think they own a window (one took it over after
// the lease) complete it at once: exactly one completion is stored.
TEST_P(MonitorStoreContractTest, ConcurrentCompletionsHaveExactlyOneWinner) {
  NewModel("fraud");
  auto other = OpenMetadataStore(db_.uri);
  ASSERT_TRUE(other) << other.error().ToString();
  Monitor m = Create("m", "fraud");
  MonitorStore* stores[2] = {&mon(), &(*other)->monitors()};
  const int64_t id = Claim(m.id, kT0);
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      WindowCompletion c;
      c.window_id = id;
      c.status = "done";
      c.rows = t;
      c.finished_at = kT0 + kHour + t;
      c.results = {R("amount", "drift_score", t)};
      c.predictions = {P("r" + std::to_string(t), 0, "1")};
      c.alerts = {Fire("drifted[*] >= 1", "amount", "drifted", 1)};
      Status s = stores[t % 2]->CompleteWindow(c);
      if (s) {
        ++ok;
      } else if (s.error().code() == ErrorCode::kFailedPrecondition) {
        ++refused;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(refused.load(), 5);
  auto w = mon().GetWindow(id);
  ASSERT_TRUE(w);
  // The stored rows all come from the one completion that won.
  const int64_t winner = w->rows;
  EXPECT_EQ(w->finished_at, kT0 + kHour + winner);
  auto results = mon().ListResults(m.id, "amount", "drift_score", 0, kT0 + 1);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].value, static_cast<double>(winner));
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_predictions"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_predictions WHERE request_id = 'r" +
                  std::to_string(winner) + "'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_alerts"), 1);
  EXPECT_EQ(Deliveries(m.webhook_id).size(), 1u);
  other->reset();
}

TEST_P(MonitorStoreContractTest, CompleteWindowStoresEverythingOnce) {
  NewModel("fraud");
  Monitor m = Create("m", "fraud");
  const int64_t id = Claim(m.id, kT0);
  ASSERT_TRUE(Complete(id,
                       {R("amount", "drift_score", 0.25), R("amount", "drifted", 1),
                        R("", "drift_share", 0.5), R("", "rows", 3)},
                       {P("r1", 0, "1", 0.9), P("r2", 0, "0", 0.1), P("r3", 0, "1")}));
  auto w = mon().GetWindow(id);
  ASSERT_TRUE(w) << w.error().ToString();
  EXPECT_EQ(w->status, "done");
  EXPECT_EQ(w->rows, 3);
  EXPECT_EQ(w->finished_at, kT0 + kHour + 2000);
  EXPECT_EQ(w->report_json, "{\"window\":" + std::to_string(id) + "}");
  EXPECT_EQ(w->error, "");
  EXPECT_FALSE(w->perf_dirty);

  auto results = mon().ListResults(m.id, "", "", 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(results) << results.error().ToString();
  ASSERT_EQ(results->size(), 4u);
  // Ordered by window_start, then feature, then statistic.
  EXPECT_EQ((*results)[0].feature, "");
  EXPECT_EQ((*results)[0].statistic, "drift_share");
  EXPECT_EQ((*results)[0].value, 0.5);
  EXPECT_EQ((*results)[1].statistic, "rows");
  EXPECT_EQ((*results)[2].feature, "amount");
  EXPECT_EQ((*results)[2].statistic, "drift_score");
  EXPECT_EQ((*results)[2].value, 0.25);
  EXPECT_EQ((*results)[2].window_id, id);
  EXPECT_EQ((*results)[2].window_start, kT0);
  EXPECT_EQ((*results)[2].window_end, kT0 + kHour);
  EXPECT_EQ((*results)[3].statistic, "drifted");

  // A second completion (another worker) is refused and writes nothing.
  Status again =
      Complete(id, {R("amount", "drift_score", 0.99), R("x", "new", 1)}, {P("r9", 0, "1")},
               {Fire("drifted[*] >= 1", "amount", "drifted", 1)}, "failed");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(mon().GetWindow(id)->status, "done");
  auto after = mon().ListResults(m.id, "", "", 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(after);
  EXPECT_EQ(after->size(), 4u);
  EXPECT_EQ((*after)[2].value, 0.25);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_predictions"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_alerts"), 0);
  EXPECT_TRUE(Deliveries(m.webhook_id).empty());

  Status unknown = Complete(id + 1000, {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  const int64_t other = Claim(m.id, kT0 + kHour);
  Status bad_status = Complete(other, {}, {}, {}, "running");
  ASSERT_FALSE(bad_status);
  EXPECT_EQ(bad_status.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(mon().GetWindow(other)->status, "running");

  // A failed window keeps its error.
  WindowCompletion f;
  f.window_id = other;
  f.status = "failed";
  f.error = "Registered Model with name=fraud not found";
  f.finished_at = kT0 + 2 * kHour + 5;
  ASSERT_TRUE(mon().CompleteWindow(f));
  auto fw = mon().GetWindow(other);
  ASSERT_TRUE(fw);
  EXPECT_EQ(fw->status, "failed");
  EXPECT_EQ(fw->error, "Registered Model with name=fraud not found");
}

// Thousands of rows per window go through the bulk path.
TEST_P(MonitorStoreContractTest, CompleteWindowWithManyRows) {
  Monitor m = Create("m", "fraud", false);
  const int64_t id = Claim(m.id, kT0);
  std::vector<MonitorResult> results;
  for (int f = 0; f < 500; ++f) {
    results.push_back(R("f" + std::to_string(f), "drift_score", f / 1000.0));
    results.push_back(R("f" + std::to_string(f), "missing_rate", 0));
  }
  std::vector<StoredPrediction> preds;
  for (int i = 0; i < 5000; ++i) preds.push_back(P("req-" + std::to_string(i), i % 3, "1", 0.5));
  ASSERT_TRUE(Complete(id, results, preds));
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_results"), 1000);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_predictions"), 5000);
  auto series = mon().ListResults(m.id, "f123", "drift_score", 0, kT0 + 1);
  ASSERT_TRUE(series);
  ASSERT_EQ(series->size(), 1u);
  EXPECT_DOUBLE_EQ((*series)[0].value, 0.123);
}

TEST_P(MonitorStoreContractTest, FailingCompletionRollsBackEverything) {
  NewModel("fraud");
  Monitor m = Create("m", "fraud");
  const int64_t id = Claim(m.id, kT0);
  // The alert insert comes after the window, results and predictions.
  FailingDatabase failing(raw(), "monitor_alerts");
  SystemClock clock;
  sql::SqlMonitorStore broken(failing, clock);
  WindowCompletion c;
  c.window_id = id;
  c.status = "done";
  c.rows = 2;
  c.report_json = "{}";
  c.finished_at = kT0 + kHour + 2000;
  c.results = {R("amount", "drifted", 1)};
  c.predictions = {P("r1", 0, "1"), P("r2", 0, "0")};
  c.alerts = {Fire("drifted[*] >= 1", "amount", "drifted", 1)};
  Status s = broken.CompleteWindow(c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "injected failure");

  auto w = mon().GetWindow(id);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->status, "running");
  EXPECT_EQ(w->report_json, "");
  EXPECT_EQ(w->finished_at, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_results"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_predictions"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_alerts"), 0);
  EXPECT_TRUE(Deliveries(m.webhook_id).empty());

  // Failing on the results' bulk insert too.
  FailingDatabase failing_results(raw(), "monitor_results");
  sql::SqlMonitorStore broken2(failing_results, clock);
  ASSERT_FALSE(broken2.CompleteWindow(c));
  EXPECT_EQ(mon().GetWindow(id)->status, "running");

  // The window is still claimable work: the real completion goes through.
  ASSERT_TRUE(mon().CompleteWindow(c));
  EXPECT_EQ(mon().GetWindow(id)->status, "done");
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_results"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_predictions"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_alerts"), 1);
  EXPECT_EQ(Deliveries(m.webhook_id).size(), 1u);
}

TEST_P(MonitorStoreContractTest, NanAndInfinityRoundTrip) {
  Monitor m = Create("m", "fraud", false);
  const int64_t id = Claim(m.id, kT0);
  ASSERT_TRUE(Complete(id,
                       {R("a", "drift_score", kNaN), R("b", "drift_score", kInf),
                        R("c", "drift_score", -kInf), R("d", "drift_score", 0.0)},
                       {P("r1", 0, "1", kNaN)},
                       {Fire("drift_score[*] != 0", "a", "drift_score", kNaN)}));
  auto results = mon().ListResults(m.id, "", "drift_score", 0, kT0 + 1);
  ASSERT_TRUE(results) << results.error().ToString();
  ASSERT_EQ(results->size(), 4u);
  EXPECT_TRUE(std::isnan((*results)[0].value));
  EXPECT_EQ((*results)[1].value, kInf);
  EXPECT_EQ((*results)[2].value, -kInf);
  EXPECT_EQ((*results)[3].value, 0.0);
  EXPECT_FALSE(std::isnan((*results)[3].value));

  auto alerts = mon().ListAlerts(m.id, "", 10);
  ASSERT_TRUE(alerts);
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_TRUE(std::isnan((*alerts)[0].value));

  ASSERT_TRUE(mon().LogLabels("fraud", {{"r1", 0, "1"}}, kT0));
  auto joined = mon().LabeledPredictions(id, "fraud");
  ASSERT_TRUE(joined);
  ASSERT_EQ(joined->size(), 1u);
  ASSERT_TRUE((*joined)[0].prediction.score.has_value());
  EXPECT_TRUE(std::isnan(*(*joined)[0].prediction.score));

  // Replacing a NaN with a number (UpdateWindowPerformance upserts).
  ASSERT_TRUE(mon().UpdateWindowPerformance(id, {R("a", "drift_score", 0.5)}, {}, kT0 + 1,
                                            Seq(id), ""));
  auto fixed = mon().ListResults(m.id, "a", "drift_score", 0, kT0 + 1);
  ASSERT_TRUE(fixed);
  ASSERT_EQ(fixed->size(), 1u);
  EXPECT_EQ((*fixed)[0].value, 0.5);
}

TEST_P(MonitorStoreContractTest, ListResultsFilters) {
  Monitor m = Create("m", "fraud", false);
  Monitor other = Create("other", "fraud", false);
  for (int k = 0; k < 3; ++k) {
    const int64_t id = Claim(m.id, kT0 + k * kHour);
    ASSERT_TRUE(Complete(id, {R("amount", "drift_score", k), R("country", "drift_score", 10 + k),
                              R("amount", "missing_rate", 0.1 * k), R("", "drift_share", k)}));
  }
  const int64_t o = Claim(other.id, kT0);
  ASSERT_TRUE(Complete(o, {R("amount", "drift_score", 99)}));
  const int64_t all = std::numeric_limits<int64_t>::max();

  auto every = mon().ListResults(m.id, "", "", 0, all);
  ASSERT_TRUE(every);
  EXPECT_EQ(every->size(), 12u);
  for (size_t i = 1; i < every->size(); ++i) {
    EXPECT_LE((*every)[i - 1].window_start, (*every)[i].window_start);
  }

  auto series = mon().ListResults(m.id, "amount", "drift_score", 0, all);
  ASSERT_TRUE(series);
  ASSERT_EQ(series->size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ((*series)[k].window_start, kT0 + k * kHour);
    EXPECT_EQ((*series)[k].value, k);
  }

  auto by_stat = mon().ListResults(m.id, "", "drift_score", 0, all);
  ASSERT_TRUE(by_stat);
  ASSERT_EQ(by_stat->size(), 6u);
  EXPECT_EQ((*by_stat)[0].feature, "amount");
  EXPECT_EQ((*by_stat)[1].feature, "country");

  auto by_feature = mon().ListResults(m.id, "amount", "", 0, all);
  ASSERT_TRUE(by_feature);
  ASSERT_EQ(by_feature->size(), 6u);
  EXPECT_EQ((*by_feature)[0].statistic, "drift_score");
  EXPECT_EQ((*by_feature)[1].statistic, "missing_rate");

  // [from, to) on window_start.
  auto range = mon().ListResults(m.id, "amount", "drift_score", kT0 + kHour, kT0 + 2 * kHour);
  ASSERT_TRUE(range);
  ASSERT_EQ(range->size(), 1u);
  EXPECT_EQ((*range)[0].window_start, kT0 + kHour);

  auto dataset = mon().ListResults(m.id, "", "drift_share", 0, all);
  ASSERT_TRUE(dataset);
  EXPECT_EQ(dataset->size(), 3u);
  auto none = mon().ListResults(m.id, "nope", "", 0, all);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(MonitorStoreContractTest, ListWindowsAndLastScheduled) {
  Monitor m = Create("m", "fraud", false);
  auto none = mon().LastScheduledWindow(m.id);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  std::vector<int64_t> ids;
  for (int k = 0; k < 4; ++k) ids.push_back(Claim(m.id, kT0 + k * kHour));
  ASSERT_TRUE(Complete(ids[0], {}, {}, {}, "empty"));
  const int64_t manual = Claim(m.id, kT0 + 10 * kHour, true);

  auto last = mon().LastScheduledWindow(m.id);
  ASSERT_TRUE(last);
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->id, ids[3]);
  EXPECT_EQ((*last)->status, "running");

  auto all = mon().ListWindows(m.id, 0, std::numeric_limits<int64_t>::max(), 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].id, manual);  // newest first, manual ones too
  EXPECT_TRUE((*all)[0].manual);
  EXPECT_EQ((*all)[1].id, ids[3]);
  EXPECT_EQ((*all)[4].id, ids[0]);
  EXPECT_EQ((*all)[4].status, "empty");
  EXPECT_EQ((*all)[4].report_json, "{\"window\":" + std::to_string(ids[0]) + "}");

  auto limited = mon().ListWindows(m.id, 0, std::numeric_limits<int64_t>::max(), 2);
  ASSERT_TRUE(limited);
  ASSERT_EQ(limited->size(), 2u);
  EXPECT_EQ((*limited)[1].id, ids[3]);

  auto range = mon().ListWindows(m.id, kT0 + kHour, kT0 + 3 * kHour, 100);
  ASSERT_TRUE(range);
  ASSERT_EQ(range->size(), 2u);
  EXPECT_EQ((*range)[0].id, ids[2]);
  EXPECT_EQ((*range)[1].id, ids[1]);
}

TEST_P(MonitorStoreContractTest, LatestResultsPerMonitor) {
  Monitor a = Create("a", "fraud", false);
  Monitor b = Create("b", "fraud", false);
  Monitor c = Create("c", "fraud", false);  // never processed
  const int64_t a1 = Claim(a.id, kT0);
  ASSERT_TRUE(Complete(a1, {R("x", "drift_score", 1)}));
  const int64_t a2 = Claim(a.id, kT0 + kHour);
  ASSERT_TRUE(Complete(a2, {R("x", "drift_score", 2), R("", "drift_share", 0.5)}));
  const int64_t a3 = Claim(a.id, kT0 + 2 * kHour);  // newer but failed
  ASSERT_TRUE(Complete(a3, {}, {}, {}, "failed"));
  Claim(a.id, kT0 + 3 * kHour);  // newer still, running
  const int64_t b1 = Claim(b.id, kT0);
  ASSERT_TRUE(Complete(b1, {R("y", "drifted", 0)}));

  auto latest = mon().LatestResults();
  ASSERT_TRUE(latest) << latest.error().ToString();
  ASSERT_EQ(latest->size(), 3u);
  EXPECT_EQ((*latest)[0].first.name, "a");
  ASSERT_EQ((*latest)[0].second.size(), 2u);
  EXPECT_EQ((*latest)[0].second[0].feature, "");
  EXPECT_EQ((*latest)[0].second[0].value, 0.5);
  EXPECT_EQ((*latest)[0].second[1].value, 2);
  EXPECT_EQ((*latest)[0].second[1].window_id, a2);
  EXPECT_EQ((*latest)[0].second[1].window_end, kT0 + 2 * kHour);
  EXPECT_EQ((*latest)[1].first.name, "b");
  ASSERT_EQ((*latest)[1].second.size(), 1u);
  EXPECT_EQ((*latest)[1].second[0].statistic, "drifted");
  EXPECT_EQ((*latest)[2].first.id, c.id);
  EXPECT_TRUE((*latest)[2].second.empty());
}

// ------------------------------------------------------ labels and joins

TEST_P(MonitorStoreContractTest, LabelsJoinPredictionsAndMarkWindowsDirty) {
  Monitor m = Create("m", "fraud", false);
  Monitor other_model = Create("o", "churn", false);

  // Labels before any prediction: all unknown, kept.
  auto early = mon().LogLabels("fraud", {{"r1", 0, "1"}, {"r2", 0, "0"}}, kT0);
  ASSERT_TRUE(early) << early.error().ToString();
  EXPECT_EQ(*early, 2);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_labels"), 2);

  // The window that stores their predictions has its performance due.
  const int64_t w1 = Claim(m.id, kT0);
  ASSERT_TRUE(Complete(
      w1, {R("", "accuracy", 0.5)},
      {P("r1", 0, "1", 0.8), P("r2", 0, "1", 0.7), P("r3", 0, "0", 0.2), P("r3", 1, "1", 0.6)}));
  EXPECT_TRUE(mon().GetWindow(w1)->perf_dirty);
  auto joined = mon().LabeledPredictions(w1, "fraud");
  ASSERT_TRUE(joined) << joined.error().ToString();
  ASSERT_EQ(joined->size(), 2u);
  EXPECT_EQ((*joined)[0].prediction.request_id, "r1");
  EXPECT_EQ((*joined)[0].prediction.prediction, "1");
  EXPECT_EQ((*joined)[0].prediction.score, 0.8);
  EXPECT_EQ((*joined)[0].label, "1");
  EXPECT_EQ((*joined)[1].prediction.request_id, "r2");
  EXPECT_EQ((*joined)[1].label, "0");

  // A window without matching labels stays clean.
  const int64_t w2 = Claim(m.id, kT0 + kHour);
  ASSERT_TRUE(Complete(w2, {}, {P("s1", 0, "1")}));
  EXPECT_FALSE(mon().GetWindow(w2)->perf_dirty);

  auto dirty = mon().DirtyWindows(m.id, 10);
  ASSERT_TRUE(dirty);
  ASSERT_EQ(dirty->size(), 1u);
  EXPECT_EQ((*dirty)[0].id, w1);

  // Performance recomputed: results replaced, dirty cleared.
  ASSERT_TRUE(mon().UpdateWindowPerformance(w1, {R("", "accuracy", 0.75), R("", "labeled_rows", 2)},
                                            {}, kT0 + 2 * kHour, Seq(w1), ""));
  EXPECT_FALSE(mon().GetWindow(w1)->perf_dirty);
  auto acc = mon().ListResults(m.id, "", "accuracy", 0, kT0 + 1);
  ASSERT_TRUE(acc);
  ASSERT_EQ(acc->size(), 1u);
  EXPECT_EQ((*acc)[0].value, 0.75);
  EXPECT_TRUE(mon().DirtyWindows(m.id, 10)->empty());

  // Later labels: row 1 of r3 and s1 are known (rows count), r3/2 and r9
  // are not; a relabel of r2 overwrites. Both windows become dirty.
  auto later = mon().LogLabels(
      "fraud", {{"r3", 1, "1"}, {"r3", 2, "0"}, {"r2", 0, "1"}, {"s1", 0, "0"}, {"r9", 0, "1"}},
      kT0 + 3 * kHour);
  ASSERT_TRUE(later) << later.error().ToString();
  EXPECT_EQ(*later, 2);
  dirty = mon().DirtyWindows(m.id, 10);
  ASSERT_TRUE(dirty);
  ASSERT_EQ(dirty->size(), 2u);
  EXPECT_EQ((*dirty)[0].id, w1);  // oldest first
  EXPECT_EQ((*dirty)[1].id, w2);
  auto limited = mon().DirtyWindows(m.id, 1);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 1u);

  joined = mon().LabeledPredictions(w1, "fraud");
  ASSERT_TRUE(joined);
  ASSERT_EQ(joined->size(), 3u);
  EXPECT_EQ((*joined)[1].prediction.request_id, "r2");
  EXPECT_EQ((*joined)[1].label, "1");  // overwritten
  EXPECT_EQ((*joined)[2].prediction.request_id, "r3");
  EXPECT_EQ((*joined)[2].prediction.row, 1);
  EXPECT_EQ((*joined)[2].prediction.score, 0.6);

  // Labels are per model: the same request ids under another model are
  // unknown there and do not touch this model's windows.
  ASSERT_TRUE(mon().UpdateWindowPerformance(w1, {}, {}, kT0 + 4 * kHour, Seq(w1), ""));
  ASSERT_TRUE(mon().UpdateWindowPerformance(w2, {}, {}, kT0 + 4 * kHour, Seq(w2), ""));
  auto churn = mon().LogLabels("churn", {{"r1", 0, "0"}}, kT0 + 4 * kHour);
  ASSERT_TRUE(churn);
  EXPECT_EQ(*churn, 1);
  EXPECT_TRUE(mon().DirtyWindows(m.id, 10)->empty());
  EXPECT_TRUE(mon().DirtyWindows(other_model.id, 10)->empty());
  joined = mon().LabeledPredictions(w1, "fraud");
  ASSERT_TRUE(joined);
  EXPECT_EQ((*joined)[0].label, "1");

  // In one batch, the last label for a (request, row) wins.
  auto dup = mon().LogLabels("fraud", {{"r1", 0, "0"}, {"r1", 0, "2"}}, kT0 + 5 * kHour);
  ASSERT_TRUE(dup) << dup.error().ToString();
  EXPECT_EQ(*dup, 0);
  joined = mon().LabeledPredictions(w1, "fraud");
  ASSERT_TRUE(joined);
  EXPECT_EQ((*joined)[0].label, "2");

  auto empty = mon().LogLabels("fraud", {}, kT0);
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, 0);
  auto gone = mon().LabeledPredictions(w1 + 1000, "fraud");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
}

TEST_P(MonitorStoreContractTest, ManyLabelsInChunks) {
  Monitor m = Create("m", "fraud", false);
  const int64_t w = Claim(m.id, kT0);
  std::vector<StoredPrediction> preds;
  for (int i = 0; i < 1500; ++i) preds.push_back(P("req-" + std::to_string(i), 0, "1"));
  ASSERT_TRUE(Complete(w, {}, preds));
  std::vector<Label> labels;
  for (int i = 500; i < 2000; ++i) labels.push_back({"req-" + std::to_string(i), 0, "1"});
  auto unknown = mon().LogLabels("fraud", labels, kT0);
  ASSERT_TRUE(unknown) << unknown.error().ToString();
  EXPECT_EQ(*unknown, 500);
  auto joined = mon().LabeledPredictions(w, "fraud");
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->size(), 1000u);
  EXPECT_TRUE(mon().GetWindow(w)->perf_dirty);
}

TEST_P(MonitorStoreContractTest, UpdateWindowPerformanceNeedsADoneWindow) {
  Monitor m = Create("m", "fraud", false);
  const int64_t w = Claim(m.id, kT0);
  Status running =
      mon().UpdateWindowPerformance(w, {R("", "accuracy", 1)}, {}, kT0, 0, "{\"performance\":1}");
  ASSERT_FALSE(running);
  EXPECT_EQ(running.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_results"), 0);
  EXPECT_EQ(mon().GetWindow(w)->report_json, "");  // nothing written
  Status unknown = mon().UpdateWindowPerformance(w + 1000, {}, {}, kT0, 0, "");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

// The lost-labels race: labels logged while a window's performance is being
// recomputed (after DirtyWindows read the window, before the update) keep
// it dirty, so the next recomputation sees them.
TEST_P(MonitorStoreContractTest, LabelsLoggedDuringARecomputationKeepTheWindowDirty) {
  Monitor m = Create("m", "fraud", false);
  const int64_t w = Claim(m.id, kT0);
  ASSERT_TRUE(Complete(w, {}, {P("r1", 0, "1"), P("r2", 0, "0"), P("r3", 0, "1")}));
  EXPECT_FALSE(mon().GetWindow(w)->perf_dirty);
  const int64_t seq0 = Seq(w);
  EXPECT_EQ(seq0, 0);

  // Each marking LogLabels increments the sequence.
  ASSERT_TRUE(mon().LogLabels("fraud", {{"r1", 0, "1"}}, kT0 + 2 * kHour));
  auto dirty = mon().DirtyWindows(m.id, 10);
  ASSERT_TRUE(dirty) << dirty.error().ToString();
  ASSERT_EQ(dirty->size(), 1u);
  EXPECT_TRUE((*dirty)[0].perf_dirty);
  const int64_t seen = (*dirty)[0].perf_dirty_seq;
  EXPECT_EQ(seen, seq0 + 1);
  // The recomputation reads the labels joined so far...
  auto joined = mon().LabeledPredictions(w, "fraud");
  ASSERT_TRUE(joined);
  ASSERT_EQ(joined->size(), 1u);
  // ...while more labels arrive (and labels that match nothing of this
  // window do not mark it).
  ASSERT_TRUE(mon().LogLabels("fraud", {{"r2", 0, "0"}}, kT0 + 2 * kHour + 1));
  ASSERT_TRUE(mon().LogLabels("fraud", {{"zz", 0, "0"}}, kT0 + 2 * kHour + 2));
  EXPECT_EQ(Seq(w), seen + 1);

  // Its results are written, but the window stays dirty.
  Status stale = mon().UpdateWindowPerformance(w, {R("", "accuracy", 1), R("", "labeled_rows", 1)},
                                               {}, kT0 + 2 * kHour + 3, seen, "");
  ASSERT_TRUE(stale) << stale.error().ToString();
  auto after = mon().GetWindow(w);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->perf_dirty);
  EXPECT_EQ(after->perf_dirty_seq, seen + 1);
  auto rows = mon().ListResults(m.id, "", "labeled_rows", 0, kT0 + 1);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].value, 1);

  // The next recomputation sees both labels and, with no label in
  // between, clears the mark.
  dirty = mon().DirtyWindows(m.id, 10);
  ASSERT_TRUE(dirty);
  ASSERT_EQ(dirty->size(), 1u);
  const int64_t seen2 = (*dirty)[0].perf_dirty_seq;
  EXPECT_EQ(seen2, seen + 1);
  joined = mon().LabeledPredictions(w, "fraud");
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->size(), 2u);
  ASSERT_TRUE(mon().UpdateWindowPerformance(w, {R("", "accuracy", 1), R("", "labeled_rows", 2)},
                                            {}, kT0 + 2 * kHour + 4, seen2, ""));
  EXPECT_FALSE(mon().GetWindow(w)->perf_dirty);
  EXPECT_TRUE(mon().DirtyWindows(m.id, 10)->empty());
  rows = mon().ListResults(m.id, "", "labeled_rows", 0, kT0 + 1);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].value, 2);

  // A late update with an old sequence does not dirty a clean window, and
  // the sequence is never reset.
  ASSERT_TRUE(mon().UpdateWindowPerformance(w, {}, {}, kT0 + 2 * kHour + 5, seq0, ""));
  EXPECT_FALSE(mon().GetWindow(w)->perf_dirty);
  EXPECT_EQ(Seq(w), seen2);

  // CompleteWindow's own mark (labels that came before the predictions)
  // increments the sequence too, and clears with it.
  ASSERT_TRUE(mon().LogLabels("fraud", {{"q1", 0, "1"}}, kT0 + 3 * kHour));
  const int64_t w2 = Claim(m.id, kT0 + kHour);
  ASSERT_TRUE(Complete(w2, {}, {P("q1", 0, "1")}));
  auto stored = mon().GetWindow(w2);
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->perf_dirty);
  EXPECT_EQ(stored->perf_dirty_seq, 1);
  ASSERT_TRUE(mon().LogLabels("fraud", {{"q1", 0, "0"}}, kT0 + 3 * kHour + 1));  // relabel
  ASSERT_TRUE(mon().UpdateWindowPerformance(w2, {}, {}, kT0 + 3 * kHour + 2,
                                            stored->perf_dirty_seq, ""));
  EXPECT_TRUE(mon().GetWindow(w2)->perf_dirty);
  ASSERT_TRUE(mon().UpdateWindowPerformance(w2, {}, {}, kT0 + 3 * kHour + 3, Seq(w2), ""));
  EXPECT_FALSE(mon().GetWindow(w2)->perf_dirty);
}

TEST_P(MonitorStoreContractTest, UpdateWindowPerformanceReplacesTheReportWhenGiven) {
  Monitor m = Create("m", "fraud", false);
  const int64_t w = Claim(m.id, kT0);
  ASSERT_TRUE(Complete(w, {}, {P("r1", 0, "1")}));
  const std::string original = "{\"window\":" + std::to_string(w) + "}";
  EXPECT_EQ(mon().GetWindow(w)->report_json, original);
  // "" leaves the report as it is.
  ASSERT_TRUE(mon().UpdateWindowPerformance(w, {R("", "accuracy", 1)}, {}, kT0 + 2 * kHour,
                                            Seq(w), ""));
  EXPECT_EQ(mon().GetWindow(w)->report_json, original);
  // A report replaces it, also when the window stays dirty.
  const std::string with_perf = "{\"window\":" + std::to_string(w) +
                                ",\"performance\":{\"rows\":1,\"accuracy\":1}}";
  ASSERT_TRUE(mon().LogLabels("fraud", {{"r1", 0, "1"}}, kT0 + 2 * kHour));
  ASSERT_TRUE(mon().UpdateWindowPerformance(w, {R("", "accuracy", 1)}, {}, kT0 + 2 * kHour,
                                            Seq(w) - 1, with_perf));
  auto stored = mon().GetWindow(w);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->report_json, with_perf);
  EXPECT_TRUE(stored->perf_dirty);
  auto listed = mon().ListWindows(m.id, 0, kT0 + kHour, 0);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].report_json, with_perf);
}

// ----------------------------------------------------------------- alerts

TEST_P(MonitorStoreContractTest, AlertsFireOnceResolveAndSendDeliveries) {
  NewModel("fraud");
  Monitor m = Create("m", "fraud");
  const int64_t w1 = Claim(m.id, kT0);
  const int64_t t1 = kT0 + kHour + 2000;
  ASSERT_TRUE(Complete(w1, {R("amount", "drifted", 1)}, {},
                       {Fire("drifted[*] >= 1", "amount", "drifted", 1),
                        Fire("drifted[*] >= 1", "country", "drifted", 1)},
                       "done", t1));
  auto alerts = mon().ListAlerts(m.id, "firing", 10);
  ASSERT_TRUE(alerts) << alerts.error().ToString();
  ASSERT_EQ(alerts->size(), 2u);
  const MonitorAlert country = (*alerts)[0];  // newest first
  const MonitorAlert amount = (*alerts)[1];
  EXPECT_GT(country.id, amount.id);
  EXPECT_EQ(amount.monitor_id, m.id);
  EXPECT_EQ(amount.rule, "drifted[*] >= 1");
  EXPECT_EQ(amount.feature, "amount");
  EXPECT_EQ(amount.statistic, "drifted");
  EXPECT_EQ(amount.status, "firing");
  EXPECT_EQ(amount.value, 1);
  EXPECT_EQ(amount.fired_at, t1);
  EXPECT_EQ(amount.fired_window_start, kT0);
  EXPECT_EQ(amount.resolved_at, 0);

  auto d = Deliveries(m.webhook_id);  // newest first
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1].event, "monitor.alert.fired");
  EXPECT_EQ(d[1].payload,
            "{\"event\":\"monitor.alert.fired\",\"alert_id\":" + std::to_string(amount.id) +
                ",\"feature\":\"amount\",\"statistic\":\"drifted\"}");
  EXPECT_EQ(d[1].status, "pending");
  EXPECT_EQ(d[1].attempts, 0);
  EXPECT_EQ(d[1].next_attempt_at, t1);
  EXPECT_EQ(d[1].created_at, t1);
  EXPECT_NE(d[0].payload.find("\"alert_id\":" + std::to_string(country.id) + ","),
            std::string::npos);
  // The dispatcher sees them as due.
  auto due = reg().DueDeliveries(t1, 10);
  ASSERT_TRUE(due);
  EXPECT_EQ(due->size(), 2u);

  // Still holding: a second fire of an open incident changes nothing.
  const int64_t w2 = Claim(m.id, kT0 + kHour);
  const int64_t t2 = kT0 + 2 * kHour + 2000;
  ASSERT_TRUE(Complete(w2, {}, {},
                       {Fire("drifted[*] >= 1", "amount", "drifted", 1), Resolve(country.id)},
                       "done", t2));
  alerts = mon().ListAlerts(m.id, "", 10);
  ASSERT_TRUE(alerts);
  ASSERT_EQ(alerts->size(), 2u);
  EXPECT_EQ((*alerts)[0].id, country.id);
  EXPECT_EQ((*alerts)[0].status, "resolved");
  EXPECT_EQ((*alerts)[0].resolved_at, t2);
  EXPECT_EQ((*alerts)[0].resolved_window_start, kT0 + kHour);
  EXPECT_EQ((*alerts)[1].status, "firing");
  d = Deliveries(m.webhook_id);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].event, "monitor.alert.resolved");
  EXPECT_EQ(d[0].payload, "{\"event\":\"monitor.alert.resolved\",\"alert_id\":" +
                              std::to_string(country.id) + "}");
  EXPECT_EQ(d[0].next_attempt_at, t2);

  // Resolving twice sends nothing; a new incident of the resolved
  // (rule, feature) opens with a new id. Through UpdateWindowPerformance.
  const int64_t t3 = kT0 + 5 * kHour;
  ASSERT_TRUE(mon().UpdateWindowPerformance(
      w2, {R("", "recall", 0.5)},
      {Resolve(country.id), Fire("drifted[*] >= 1", "country", "drifted", 1),
       Fire("recall < 0.8", "", "recall", 0.5)},
      t3, Seq(w2), ""));
  auto firing = mon().ListAlerts(m.id, "firing", 10);
  ASSERT_TRUE(firing);
  ASSERT_EQ(firing->size(), 3u);
  EXPECT_EQ((*firing)[0].rule, "recall < 0.8");
  EXPECT_EQ((*firing)[0].feature, "");
  EXPECT_EQ((*firing)[0].fired_window_start, kT0 + kHour);
  EXPECT_EQ((*firing)[0].fired_at, t3);
  EXPECT_EQ((*firing)[1].feature, "country");
  EXPECT_GT((*firing)[1].id, country.id);
  d = Deliveries(m.webhook_id);
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0].event, "monitor.alert.fired");
  EXPECT_EQ(d[0].next_attempt_at, t3);

  auto limited = mon().ListAlerts(m.id, "", 2);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 2u);
  auto resolved = mon().ListAlerts(m.id, "resolved", 10);
  ASSERT_TRUE(resolved);
  ASSERT_EQ(resolved->size(), 1u);
  EXPECT_EQ((*resolved)[0].id, country.id);
}

TEST_P(MonitorStoreContractTest, AlertsWithoutWebhookSendNothing) {
  Monitor m = Create("m", "fraud", false);
  const int64_t w = Claim(m.id, kT0);
  ASSERT_TRUE(Complete(w, {}, {}, {Fire("drift_share > 0.3", "", "drift_share", 0.6)}));
  auto alerts = mon().ListAlerts(m.id, "firing", 10);
  ASSERT_TRUE(alerts);
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ((*alerts)[0].value, 0.6);
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_deliveries"), 0);
}

// ----------------------------------------------------------- delete

TEST_P(MonitorStoreContractTest, DeleteMonitorCascades) {
  NewModel("fraud");
  Monitor m = Create("m", "fraud");
  Monitor keep = Create("keep", "fraud");
  for (const Monitor* mm : {&m, &keep}) {
    const int64_t w = Claim(mm->id, kT0);
    ASSERT_TRUE(Complete(w, {R("amount", "drifted", 1)}, {P("r1", 0, "1"), P("r2", 0, "0")},
                         {Fire("drifted[*] >= 1", "amount", "drifted", 1)}));
    Claim(mm->id, kT0 + kHour);
  }
  ASSERT_TRUE(mon().LogLabels("fraud", {{"r1", 0, "1"}}, kT0));
  ASSERT_EQ(Deliveries(m.webhook_id).size(), 1u);
  const std::string id = std::to_string(m.id);

  ASSERT_TRUE(mon().DeleteMonitor("m"));
  auto gone = mon().GetMonitor("m");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_windows WHERE monitor_id = " + id), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_results WHERE monitor_id = " + id), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_predictions WHERE monitor_id = " + id), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_alerts WHERE monitor_id = " + id), 0);
  auto hook = reg().GetWebhook(m.webhook_id);
  ASSERT_FALSE(hook);
  EXPECT_EQ(hook.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = " +
                  std::to_string(m.webhook_id)),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_events WHERE webhook_id = " +
                  std::to_string(m.webhook_id)),
            0);

  // The other monitor, its webhook and the model's labels are untouched.
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_windows"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_results"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_predictions"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_alerts"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_labels"), 1);
  EXPECT_EQ(Deliveries(keep.webhook_id).size(), 1u);
  EXPECT_TRUE(mon().GetMonitor("keep"));

  Status again = mon().DeleteMonitor("m");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kNotFound);

  // The name is free again; ids are not reused.
  Monitor re = Create("m", "fraud");
  EXPECT_GT(re.id, keep.id);
}

// Deleting the registered model takes its webhooks; the monitor stays,
// without a webhook, and its alerts still record (sending nothing).
TEST_P(MonitorStoreContractTest, MonitorOutlivesItsModelsWebhook) {
  NewModel("fraud");
  Monitor m = Create("m", "fraud");
  ASSERT_GT(m.webhook_id, 0);
  ASSERT_TRUE(reg().DeleteRegisteredModel("fraud", Actor{"alice", kT0}));
  auto got = mon().GetMonitor("m");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->webhook_id, 0);
  const int64_t w = Claim(m.id, kT0);
  ASSERT_TRUE(Complete(w, {}, {}, {Fire("drifted[*] >= 1", "amount", "drifted", 1)}));
  EXPECT_EQ(Count("SELECT count(*) FROM monitor_alerts"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_deliveries"), 0);
  ASSERT_TRUE(mon().DeleteMonitor("m"));
}

// ----------------------------------------------------------- upgrade

// A database at schema 3 (built by applying migrations 1-3 only, with
// data in it) gets migration 4 from Migrate(), keeping its data.
class MonitorStoreUpgradeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { db_.Create(GetParam()); }
  void TearDown() override { db_.Drop(); }
  test_db::FreshDatabase db_;
};

TEST_P(MonitorStoreUpgradeTest, SchemaThreeGetsMigrationFour) {
  {
    auto opened = OpenMetadataStore(db_.uri);
    ASSERT_TRUE(opened) << opened.error().ToString();
    auto* sql_store = dynamic_cast<sql::SqlMetadataStore*>(opened->get());
    ASSERT_NE(sql_store, nullptr);
    {
      auto conn = sql_store->database().Writer();
      ASSERT_TRUE(conn) << conn.error().ToString();
      ASSERT_EQ(test_db::MigrateUpTo(**conn, 3), "");
    }
    auto v3 = (*opened)->SchemaVersion();
    ASSERT_TRUE(v3);
    ASSERT_EQ(*v3, 3);
    RegisteredModel rm;
    rm.name = "fraud";
    ASSERT_TRUE((*opened)->registry().CreateRegisteredModel(rm, Actor{"alice", 1000}));
    ASSERT_TRUE((*opened)->CreateExperiment({"old", "", {}, 1000}));
  }
  auto opened = OpenMetadataStore(db_.uri);
  ASSERT_TRUE(opened) << opened.error().ToString();
  auto v = (*opened)->Migrate();
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_GE(*v, 4);  // and every later migration
  EXPECT_TRUE((*opened)->GetExperimentByName("old"));
  EXPECT_TRUE((*opened)->registry().GetRegisteredModel("fraud"));
  Monitor m;
  m.name = "after-upgrade";
  m.model_name = "fraud";
  Webhook w;
  w.url = "http://127.0.0.1:9/hook";
  auto created = (*opened)->monitors().CreateMonitor(m, w);
  ASSERT_TRUE(created) << created.error().ToString();
  EXPECT_GT(created->webhook_id, 0);
  auto claim = (*opened)->monitors().ClaimWindow(created->id, kT0, kT0 + kHour, false, "a",
                                                 kT0 + kHour, kLease);
  ASSERT_TRUE(claim) << claim.error().ToString();
  EXPECT_TRUE(claim->has_value());
  // Migrating again is a no-op.
  auto again = (*opened)->Migrate();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *v);
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Backends, MonitorStoreContractTest,
                         ::testing::Values("sqlite", "postgres"), BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, MonitorStoreUpgradeTest, ::testing::Values("sqlite", "postgres"),
                         BackendName);

}  // namespace
}  // namespace cairn::store
