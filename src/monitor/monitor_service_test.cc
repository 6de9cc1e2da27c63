#include "monitor/monitor_service.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <utility>

#include "serving/inference_log.h"

namespace cairn::monitor {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kMinute = 60'000;
// 2025-11-26T12:00:00Z, hour-aligned.
constexpr int64_t kT0 = 1'764'158'400'000;

constexpr const char* kSignature =
    R"({"inputs":[{"name":"amount","type":"double","required":true},)"
    R"({"name":"country","type":"string","required":true}],"outputs":null,"params":null})";

std::string DateOf(int64_t ms) {
  std::time_t s = ms / 1000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

// One logged request: one row (amount, country), a probability answered.
std::string RecordLine(int64_t ts, const std::string& request_id, const std::string& deployment,
                       double amount, const std::string& country, double score, bool shadow = false,
                       int status = 200) {
  auto input = std::make_shared<serving::ModelInput>();
  input->kind = serving::ModelInput::Kind::kColumns;
  input->rows = 1;
  std::vector<double> a = {amount};
  input->tensors.push_back(
      serving::Tensor::FromValues<double>("amount", serving::DataType::kFp64, {1}, a).value());
  input->tensors.push_back(serving::Tensor::FromStrings("country", {1}, {country}).value());
  auto output = std::make_shared<serving::ModelOutput>();
  std::vector<double> p = {score};
  output->tensors.push_back(
      serving::Tensor::FromValues<double>("prediction", serving::DataType::kFp64, {1}, p).value());
  serving::InferenceRecord r;
  r.ts_millis = ts;
  r.request_id = request_id;
  r.deployment = deployment;
  r.model = deployment;
  r.version = "1";
  r.shadow = shadow;
  r.status = status;
  r.input = input;
  r.output = output;
  return serving::InferenceRecordToJson(r);
}

// A MonitorStore that forwards to a real one and runs `after_labels_read`
// (once) right after a LabeledPredictions call: labels logged by another
// client while the service recomputes a window's performance.
class InterleavingMonitorStore final : public store::MonitorStore {
 public:
  explicit InterleavingMonitorStore(store::MonitorStore& inner) : inner_(inner) {}
  std::function<void()> after_labels_read;

  Result<store::Monitor> CreateMonitor(const store::Monitor& m,
                                       const std::optional<store::Webhook>& w) override {
    return inner_.CreateMonitor(m, w);
  }
  Result<store::Monitor> GetMonitor(const std::string& name) override {
    return inner_.GetMonitor(name);
  }
  Result<std::vector<store::Monitor>> ListMonitors() override { return inner_.ListMonitors(); }
  Status DeleteMonitor(const std::string& name) override { return inner_.DeleteMonitor(name); }
  Result<bool> MarkFired(int64_t id, int64_t expected, int64_t fired_at) override {
    return inner_.MarkFired(id, expected, fired_at);
  }
  Result<std::optional<int64_t>> ClaimWindow(int64_t monitor_id, int64_t start, int64_t end,
                                             bool manual, const std::string& owner, int64_t now,
                                             int64_t lease_ms) override {
    return inner_.ClaimWindow(monitor_id, start, end, manual, owner, now, lease_ms);
  }
  Status CompleteWindow(const store::WindowCompletion& c) override {
    return inner_.CompleteWindow(c);
  }
  Result<std::optional<store::MonitorWindow>> LastScheduledWindow(int64_t monitor_id) override {
    return inner_.LastScheduledWindow(monitor_id);
  }
  Result<std::vector<store::MonitorWindow>> ListWindows(int64_t monitor_id, int64_t from,
                                                        int64_t to, int limit) override {
    return inner_.ListWindows(monitor_id, from, to, limit);
  }
  Result<store::MonitorWindow> GetWindow(int64_t id) override { return inner_.GetWindow(id); }
  Result<std::vector<store::MonitorResult>> ListResults(int64_t monitor_id,
                                                        const std::string& feature,
                                                        const std::string& statistic,
                                                        int64_t from, int64_t to) override {
    return inner_.ListResults(monitor_id, feature, statistic, from, to);
  }
  Result<std::vector<std::pair<store::Monitor, std::vector<store::MonitorResult>>>> LatestResults()
      override {
    return inner_.LatestResults();
  }
  Status UpdateWindowPerformance(int64_t window_id,
                                 const std::vector<store::MonitorResult>& results,
                                 const std::vector<store::AlertChange>& alerts, int64_t now,
                                 int64_t seen_seq, const std::string& report_json) override {
    return inner_.UpdateWindowPerformance(window_id, results, alerts, now, seen_seq, report_json);
  }
  Result<int64_t> LogLabels(const std::string& model, const std::vector<store::Label>& labels,
                            int64_t now) override {
    return inner_.LogLabels(model, labels, now);
  }
  Result<std::vector<store::LabeledPrediction>> LabeledPredictions(
      int64_t window_id, const std::string& model) override {
    auto out = inner_.LabeledPredictions(window_id, model);
    if (after_labels_read) std::exchange(after_labels_read, nullptr)();
    return out;
  }
  Result<std::vector<store::MonitorWindow>> DirtyWindows(int64_t monitor_id, int limit) override {
    return inner_.DirtyWindows(monitor_id, limit);
  }
  Result<std::vector<store::MonitorAlert>> ListAlerts(int64_t monitor_id,
                                                      const std::string& status,
                                                      int limit) override {
    return inner_.ListAlerts(monitor_id, status, limit);
  }

 private:
  store::MonitorStore& inner_;
};

class MonitorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-monitor-service-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = store::OpenMetadataStore("sqlite://" + dir_ + "/cairn.db");
    ASSERT_TRUE(s.has_value()) << s.error().message();
    store_ = std::move(*s);
    auto migrated = store_->Migrate();
    ASSERT_TRUE(migrated.has_value()) << migrated.error().message();
    auto a = blob::ArtifactRepository::Open(dir_ + "/artifacts");
    ASSERT_TRUE(a.has_value()) << a.error().message();
    artifacts_ = std::move(*a);
    service_ = MakeService("owner-a");
    RegisterModel("fraud", kSignature);
    WriteReference(dir_ + "/train.csv", 200, 1, /*extra_column=*/false);
  }

  void TearDown() override {
    service_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // `monitors` null: the metadata store's own; `on_alert_changes` as given.
  std::unique_ptr<MonitorService> MakeService(const std::string& owner,
                                              std::function<void()> on_alert_changes = {},
                                              store::MonitorStore* monitors = nullptr) {
    MonitorServiceOptions o;
    o.owner = owner;
    o.threads = 1;
    o.on_alert_changes = std::move(on_alert_changes);
    return std::make_unique<MonitorService>(
        *store_, monitors != nullptr ? *monitors : store_->monitors(), artifacts_.get(), clock_, o);
  }

  // A service that reads local files only under `roots`.
  std::unique_ptr<MonitorService> MakeConfinedService(std::vector<std::string> roots) {
    MonitorServiceOptions o;
    o.owner = "confined";
    o.threads = 1;
    o.local_roots = std::move(roots);
    return std::make_unique<MonitorService>(*store_, store_->monitors(), artifacts_.get(), clock_,
                                            o);
  }

  void RegisterModel(const std::string& name, const std::string& signature) {
    store::RegisteredModel m;
    m.name = name;
    m.creation_time = clock_.NowMillis();
    store::Actor actor{"test", clock_.NowMillis()};
    ASSERT_TRUE(store_->registry().CreateRegisteredModel(m, actor).has_value());
    store::NewModelVersion v;
    v.name = name;
    v.source = "file:///models/" + name;
    v.signature_json = signature;
    auto created = store_->registry().CreateModelVersion(v, actor, store::Event{});
    ASSERT_TRUE(created.has_value()) << created.error().message();
  }

  static void WriteFile(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }

  // amount ~ N(100, 10), country in {US, FR, DE}; a prediction column.
  static void WriteReference(const std::string& path, int rows, uint32_t seed, bool extra_column) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> amount(100, 10);
    const char* countries[] = {"US", "FR", "DE"};
    std::string csv =
        extra_column ? "amount,country,zip,prediction\n" : "amount,country,prediction\n";
    for (int i = 0; i < rows; ++i) {
      csv += fmt::format("{:.3f},{}", amount(rng), countries[rng() % 3]);
      if (extra_column) csv += ",75001";
      csv += fmt::format(",{}\n", i % 2 == 0 ? 0.9 : 0.2);
    }
    WriteFile(path, csv);
  }

  // `n` requests spread over [start, end) as one segment of the log, in the
  // artifact repository where `cairn serve` uploads it. Request ids are
  // `<prefix><i>`; even rows are answered 0.9, odd rows 0.2.
  void LogTraffic(int64_t start, int64_t end, int n, double mean, uint32_t seed,
                  const std::string& prefix, const std::string& extra_lines = "") {
    std::mt19937 rng(seed);
    std::normal_distribution<double> amount(mean, 10);
    const char* countries[] = {"US", "FR", "DE"};
    std::string text;
    for (int i = 0; i < n; ++i) {
      int64_t ts = start + (end - start) * i / n;
      text += RecordLine(ts, prefix + std::to_string(i), "fraud", amount(rng), countries[rng() % 3],
                         i % 2 == 0 ? 0.9 : 0.2);
      text += "\n";
    }
    text += extra_lines;
    auto up = artifacts_->UploadBytes(
        fmt::format("inference-log/fraud/{}/{}-{}.jsonl", DateOf(start), start, seq_++), text);
    ASSERT_TRUE(up.has_value()) << up.error().message();
  }

  MonitorSpec Spec(const std::string& name) {
    MonitorSpec s;
    s.name = name;
    s.model = "fraud";
    s.reference = dir_ + "/train.csv";
    s.window = "1h";
    s.grace = "2m";
    s.schedule = "*/10 * * * *";
    s.alert_webhook = "http://127.0.0.1:9/hook";
    s.alert_secret = "s3cret";
    return s;
  }

  MonitorInfo MustCreate(const MonitorSpec& spec) {
    auto info = service_->Create(spec);
    EXPECT_TRUE(info.has_value()) << (info ? "" : info.error().message());
    return info ? *info : MonitorInfo{};
  }

  std::vector<store::MonitorWindow> Windows(int64_t monitor_id) {
    auto w = store_->monitors().ListWindows(monitor_id, 0, INT64_MAX, 1000);
    EXPECT_TRUE(w.has_value());
    auto out = w ? *w : std::vector<store::MonitorWindow>{};
    std::reverse(out.begin(), out.end());  // oldest first
    return out;
  }

  std::optional<double> ResultValue(int64_t monitor_id, int64_t window_start,
                                    const std::string& feature, const std::string& statistic) {
    auto r = store_->monitors().ListResults(monitor_id, feature, statistic, window_start,
                                            window_start + 1);
    EXPECT_TRUE(r.has_value());
    for (const auto& x : r.value_or(std::vector<store::MonitorResult>{})) {
      if (x.feature == feature && x.statistic == statistic) return x.value;
    }
    return std::nullopt;
  }

  std::vector<store::MonitorAlert> Alerts(int64_t monitor_id, const std::string& status) {
    auto a = store_->monitors().ListAlerts(monitor_id, status, 100);
    EXPECT_TRUE(a.has_value());
    return a.value_or(std::vector<store::MonitorAlert>{});
  }

  std::string dir_;
  FakeClock clock_{kT0};
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<blob::ArtifactRepository> artifacts_;
  std::unique_ptr<MonitorService> service_;
  int seq_ = 0;
};

// ------------------------------------------------------------------ create

void ExpectSpecError(const Result<MonitorInfo>& r, const std::string& fragment) {
  ASSERT_FALSE(r.has_value()) << "expected an error naming " << fragment;
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().message();
  EXPECT_NE(r.error().message().find(fragment), std::string::npos) << r.error().message();
}

TEST_F(MonitorServiceTest, CreateValidatesEachFieldAndNamesIt) {
  auto s = Spec("m");
  s.name = "bad name!";
  ExpectSpecError(service_->Create(s), "'name'");
  s = Spec(std::string(257, 'x'));
  ExpectSpecError(service_->Create(s), "'name'");
  s = Spec("m");
  s.model = "nope";
  ExpectSpecError(service_->Create(s), "'model'");
  s = Spec("m");
  s.window = "1x";
  ExpectSpecError(service_->Create(s), "'window'");
  s = Spec("m");
  s.window = "0rows";
  ExpectSpecError(service_->Create(s), "'window'");
  s = Spec("m");
  s.grace = "soon";
  ExpectSpecError(service_->Create(s), "'grace'");
  s = Spec("m");
  s.schedule = "0 25 * * *";
  ExpectSpecError(service_->Create(s), "(hour) '25'");
  s = Spec("m");
  s.tests = {{"amount", "magic"}};
  ExpectSpecError(service_->Create(s), "'tests'");
  s = Spec("m");
  s.tests = {{"nope", "psi"}};
  ExpectSpecError(service_->Create(s), "'nope'");
  s = Spec("m");
  s.task = "clustering";
  ExpectSpecError(service_->Create(s), "'task'");
  s = Spec("m");
  s.alerts = {"recal < 0.8"};
  ExpectSpecError(service_->Create(s), "unknown statistic 'recal'");
  s = Spec("m");
  s.alert_webhook = "ftp://example.com/hook";
  ExpectSpecError(service_->Create(s), "'alert_webhook'");
  s = Spec("m");
  s.drift_share = 0;
  ExpectSpecError(service_->Create(s), "'drift_share'");
  s = Spec("m");
  s.columns = {"amount", "nope"};
  ExpectSpecError(service_->Create(s), "column 'nope'");
  s = Spec("m");
  s.reference = dir_ + "/missing.csv";
  ExpectSpecError(service_->Create(s), "'reference'");
  s = Spec("m");
  s.reference = "s3://bucket/train.csv";
  ExpectSpecError(service_->Create(s), "unsupported scheme 's3'");
  // A reference column the model's signature does not have.
  WriteReference(dir_ + "/wide.csv", 50, 2, /*extra_column=*/true);
  s = Spec("m");
  s.reference = dir_ + "/wide.csv";
  ExpectSpecError(service_->Create(s), "column 'zip'");
  // A malformed reference: file and line.
  WriteFile(dir_ + "/bad.csv", "amount,country\n1,US\n2\n");
  s = Spec("m");
  s.reference = dir_ + "/bad.csv";
  ExpectSpecError(service_->Create(s), ":3");
  // No reference and no cairn.reference tag.
  s = Spec("m");
  s.reference = "";
  ExpectSpecError(service_->Create(s), "'reference'");

  auto none = service_->List();
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST_F(MonitorServiceTest, CreateNormalizesAndStoresTheSpec) {
  auto s = Spec("fraud-drift");
  s.alerts = {};
  s.deployment = "";
  s.log_uri = "";
  MonitorInfo info = MustCreate(s);
  EXPECT_EQ(info.monitor.name, "fraud-drift");
  EXPECT_EQ(info.monitor.model_name, "fraud");
  EXPECT_NE(info.monitor.webhook_id, 0);
  EXPECT_EQ(info.spec.deployment, "fraud");
  EXPECT_EQ(info.spec.log_uri, "mlflow-artifacts:/inference-log");
  ASSERT_EQ(info.spec.alerts.size(), 1u);
  EXPECT_EQ(info.spec.alerts[0], "drifted[*] >= 1");
  EXPECT_EQ(info.spec.alert_secret, "");

  auto got = service_->Get("fraud-drift");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->spec.alerts, info.spec.alerts);
  EXPECT_EQ(got->spec.reference, dir_ + "/train.csv");
  EXPECT_EQ(got->monitor.spec_json.find("s3cret"), std::string::npos);  // never stored in the spec
  auto hook = store_->registry().GetWebhook(info.monitor.webhook_id);
  ASSERT_TRUE(hook.has_value());
  EXPECT_EQ(hook->url, "http://127.0.0.1:9/hook");
  EXPECT_EQ(hook->secret, "s3cret");

  auto again = service_->Create(Spec("fraud-drift"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);

  ASSERT_TRUE(service_->Delete("fraud-drift").has_value());
  auto gone = service_->Get("fraud-drift");
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
}

TEST_F(MonitorServiceTest, SpecJsonRoundTripAndFieldErrors) {
  auto s = Spec("m");
  s.columns = {"amount"};
  s.tests = {{"amount", "psi"}};
  s.thresholds = {{"amount", 0.2}};
  s.alerts = {"recall < 0.8 for 2"};
  auto back = MonitorSpecFromJson(MonitorSpecToJson(s));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->name, "m");
  EXPECT_EQ(back->columns, s.columns);
  EXPECT_EQ(back->tests, s.tests);
  EXPECT_EQ(back->thresholds, s.thresholds);
  EXPECT_EQ(back->alerts, s.alerts);
  EXPECT_EQ(back->schedule, "*/10 * * * *");
  EXPECT_EQ(back->alert_secret, "");  // omitted

  auto wrong_type = MonitorSpecFromJson(R"({"name": "m", "window": 3600})");
  ASSERT_FALSE(wrong_type.has_value());
  EXPECT_NE(wrong_type.error().message().find("'window'"), std::string::npos);
  auto unknown = MonitorSpecFromJson(R"({"name": "m", "windw": "1h"})");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find("'windw'"), std::string::npos);
  auto bad_list = MonitorSpecFromJson(R"({"alerts": "drift_share > 0.3"})");
  ASSERT_FALSE(bad_list.has_value());
  EXPECT_NE(bad_list.error().message().find("'alerts'"), std::string::npos);
  EXPECT_FALSE(MonitorSpecFromJson("{").has_value());
}

TEST_F(MonitorServiceTest, ReferenceFromRunsUriAndArtifactStoreAndTag) {
  // runs:/ with a file:// artifact root.
  store::NewRun run;
  run.run_id = std::string(32, 'a');
  run.experiment_id = "0";
  run.start_time = kT0;
  run.artifact_uri = "file://" + dir_ + "/runs/a/artifacts";
  ASSERT_TRUE(store_->CreateRun(run).has_value());
  WriteReference(dir_ + "/runs/a/artifacts/data/train.csv", 50, 3, false);
  auto s = Spec("from-run");
  s.reference = "runs:/" + run.run_id + "/data/train.csv";
  MustCreate(s);

  // runs:/ with an mlflow-artifacts:/ root, read through the repository.
  store::NewRun run2 = run;
  run2.run_id = std::string(32, 'b');
  run2.artifact_uri = "mlflow-artifacts:/0/" + run2.run_id + "/artifacts";
  ASSERT_TRUE(store_->CreateRun(run2).has_value());
  ASSERT_TRUE(
      artifacts_
          ->UploadBytes("0/" + run2.run_id + "/artifacts/train.csv", "amount,country\n1,US\n2,FR\n")
          .has_value());
  s = Spec("from-run2");
  s.reference = "runs:/" + run2.run_id + "/train.csv";
  MustCreate(s);

  s = Spec("from-artifacts");
  s.reference = "mlflow-artifacts:/0/" + run2.run_id + "/artifacts/train.csv";
  MustCreate(s);

  s = Spec("missing-run");
  s.reference = "runs:/" + std::string(32, 'c') + "/train.csv";
  ExpectSpecError(service_->Create(s), "'reference'");

  // No --reference: the latest version's tag cairn.reference.
  ASSERT_TRUE(store_->registry()
                  .SetModelVersionTag("fraud", 1,
                                      {"cairn.reference", "file://" + dir_ + "/train.csv"},
                                      store::Actor{"test", kT0})
                  .has_value());
  s = Spec("from-tag");
  s.reference = "";
  MonitorInfo info = MustCreate(s);
  EXPECT_EQ(info.spec.reference, "file://" + dir_ + "/train.csv");
}

TEST_F(MonitorServiceTest, ModelWithoutSignatureAcceptsAnyReferenceColumns) {
  RegisterModel("plain", "");
  WriteReference(dir_ + "/wide.csv", 50, 2, /*extra_column=*/true);
  auto s = Spec("plain-monitor");
  s.model = "plain";
  s.reference = dir_ + "/wide.csv";
  MustCreate(s);
}

// ----------------------------------------------------------------- windows

TEST_F(MonitorServiceTest, DriftShiftFiresOnlyForShiftedFeatureThenResolves) {
  MonitorInfo info = MustCreate(Spec("fraud-drift"));
  const std::string malformed =
      "not json\n" + RecordLine(kT0 + 5, "shadow-1", "fraud", 1e6, "XX", 0.5, true) + "\n" +
      RecordLine(kT0 + 6, "other-1", "other", 1e6, "XX", 0.5) + "\n" +
      RecordLine(kT0 + 7, "failed-1", "fraud", 1e6, "XX", 0.5, false, 500) + "\n";
  LogTraffic(kT0, kT0 + kHour, 100, 100, 11, "w1-", malformed);
  LogTraffic(kT0 + kHour, kT0 + 2 * kHour, 100, 150, 12, "w2-");  // amount shifted
  LogTraffic(kT0 + 2 * kHour, kT0 + 3 * kHour, 100, 100, 13, "w3-");

  // Not complete before end + grace.
  clock_.Set(kT0 + kHour + kMinute);
  ASSERT_EQ(service_->RunDue().value(), 0);
  EXPECT_TRUE(Windows(info.monitor.id).empty());

  clock_.Set(kT0 + kHour + 10 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 1);
  auto w = Windows(info.monitor.id);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].start_ms, kT0);
  EXPECT_EQ(w[0].end_ms, kT0 + kHour);
  EXPECT_EQ(w[0].status, "done");
  EXPECT_EQ(w[0].rows, 100);
  json report = json::parse(w[0].report_json);
  EXPECT_EQ(report["rows"], 100);
  EXPECT_EQ(report["requests"], 100);
  EXPECT_EQ(report["skipped_records"], 3);
  EXPECT_EQ(report["malformed_lines"], 1);
  EXPECT_EQ(report["window"]["start"], kT0);
  EXPECT_FALSE(report["window"]["manual"].get<bool>());
  EXPECT_TRUE(report["performance"].is_null());
  EXPECT_EQ(ResultValue(info.monitor.id, kT0, "amount", "drifted"), 0.0);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0, "country", "drifted"), 0.0);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0, "", "rows"), 100.0);
  EXPECT_TRUE(ResultValue(info.monitor.id, kT0, "amount", "drift_score").has_value());
  EXPECT_TRUE(ResultValue(info.monitor.id, kT0, "amount", "missing_rate").has_value());
  EXPECT_TRUE(Alerts(info.monitor.id, "").empty());

  clock_.Set(kT0 + 2 * kHour + 10 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 1);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0 + kHour, "amount", "drifted"), 1.0);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0 + kHour, "country", "drifted"), 0.0);
  // amount, country and the prediction are compared; only amount drifted.
  EXPECT_DOUBLE_EQ(ResultValue(info.monitor.id, kT0 + kHour, "", "drift_share").value_or(-1),
                   1.0 / 3);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0 + kHour, "prediction", "drifted"), 0.0);
  auto firing = Alerts(info.monitor.id, "firing");
  ASSERT_EQ(firing.size(), 1u);
  EXPECT_EQ(firing[0].feature, "amount");
  EXPECT_EQ(firing[0].rule, "drifted[*] >= 1");
  EXPECT_EQ(firing[0].statistic, "drifted");
  EXPECT_EQ(firing[0].fired_window_start, kT0 + kHour);
  json report2 = json::parse(Windows(info.monitor.id)[1].report_json);
  bool amount_holds = false;
  for (const auto& r : report2["rules"]) {
    if (r["feature"] == "amount") amount_holds = r["holds"].get<bool>();
    if (r["feature"] == "country") {
      EXPECT_FALSE(r["holds"].get<bool>());
    }
  }
  EXPECT_TRUE(amount_holds);

  // Processed once: the same tick again does nothing.
  ASSERT_EQ(service_->RunDue().value(), 0);

  clock_.Set(kT0 + 3 * kHour + 10 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 1);
  EXPECT_TRUE(Alerts(info.monitor.id, "firing").empty());
  auto resolved = Alerts(info.monitor.id, "resolved");
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].resolved_window_start, kT0 + 2 * kHour);

  // The webhook outbox has one fired and one resolved delivery, with the payload.
  auto deliveries = store_->registry().ListDeliveries(info.monitor.webhook_id, 100);
  ASSERT_TRUE(deliveries.has_value());
  ASSERT_EQ(deliveries->size(), 2u);
  std::map<std::string, json> by_event;
  for (const auto& d : *deliveries) by_event[d.event] = json::parse(d.payload);
  ASSERT_TRUE(by_event.contains("monitor.alert.fired"));
  ASSERT_TRUE(by_event.contains("monitor.alert.resolved"));
  const json& fired = by_event["monitor.alert.fired"];
  EXPECT_EQ(fired["event"], "monitor.alert.fired");
  EXPECT_EQ(fired["monitor"], "fraud-drift");
  EXPECT_EQ(fired["model"], "fraud");
  EXPECT_EQ(fired["alert_id"], firing[0].id);
  EXPECT_EQ(fired["rule"], "drifted[*] >= 1");
  EXPECT_EQ(fired["feature"], "amount");
  EXPECT_EQ(fired["statistic"], "drifted");
  EXPECT_EQ(fired["value"], 1);
  EXPECT_EQ(fired["window_start"], kT0 + kHour);
  EXPECT_EQ(fired["window_end"], kT0 + 2 * kHour);
  EXPECT_EQ(fired["fired_at"], kT0 + 2 * kHour + 10 * kMinute);
  const json& res = by_event["monitor.alert.resolved"];
  EXPECT_EQ(res["alert_id"], firing[0].id);
  EXPECT_EQ(res["feature"], "amount");
  EXPECT_EQ(res["window_start"], kT0 + 2 * kHour);
}

TEST_F(MonitorServiceTest, ForTwoRuleFiresOnTheSecondConsecutiveWindow) {
  auto s = Spec("share");
  s.alerts = {"drift_share >= 0.3 for 2"};
  MonitorInfo info = MustCreate(s);
  LogTraffic(kT0, kT0 + kHour, 100, 150, 21, "a-");              // shifted
  LogTraffic(kT0 + kHour, kT0 + 2 * kHour, 100, 100, 22, "b-");  // normal: breaks the run
  LogTraffic(kT0 + 2 * kHour, kT0 + 3 * kHour, 100, 150, 23, "c-");
  LogTraffic(kT0 + 3 * kHour, kT0 + 4 * kHour, 100, 150, 24, "d-");
  LogTraffic(kT0 + 4 * kHour, kT0 + 5 * kHour, 100, 100, 25, "e-");

  std::vector<size_t> firing_after;
  for (int k = 1; k <= 5; ++k) {
    clock_.Set(kT0 + k * kHour + 10 * kMinute);
    ASSERT_EQ(service_->RunDue().value(), 1) << k;
    firing_after.push_back(Alerts(info.monitor.id, "firing").size());
  }
  EXPECT_EQ(firing_after, (std::vector<size_t>{0, 0, 0, 1, 0}));
  auto all = Alerts(info.monitor.id, "");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].feature, "");
  EXPECT_EQ(all[0].fired_window_start, kT0 + 3 * kHour);
  EXPECT_EQ(all[0].status, "resolved");
}

TEST_F(MonitorServiceTest, EmptyWindowIsRecordedWithoutAlertChanges) {
  MonitorInfo info = MustCreate(Spec("gaps"));
  LogTraffic(kT0, kT0 + kHour, 100, 150, 31, "a-");  // shifted: fires
  // Nothing logged in the second hour.
  LogTraffic(kT0 + 2 * kHour, kT0 + 3 * kHour, 100, 100, 33, "c-");

  clock_.Set(kT0 + kHour + 10 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 1);
  ASSERT_EQ(Alerts(info.monitor.id, "firing").size(), 1u);

  clock_.Set(kT0 + 2 * kHour + 10 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 1);
  auto w = Windows(info.monitor.id);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[1].status, "empty");
  EXPECT_EQ(w[1].rows, 0);
  json report = json::parse(w[1].report_json);
  EXPECT_TRUE(report["drift"].is_null());
  EXPECT_TRUE(report["rules"].empty());
  EXPECT_FALSE(ResultValue(info.monitor.id, kT0 + kHour, "amount", "drifted").has_value());
  EXPECT_EQ(Alerts(info.monitor.id, "firing").size(), 1u);  // unchanged

  clock_.Set(kT0 + 3 * kHour + 10 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 1);
  EXPECT_TRUE(Alerts(info.monitor.id, "firing").empty());
}

TEST_F(MonitorServiceTest, WindowsAreProcessedOnceAcrossServicesAndRestarts) {
  MonitorInfo info = MustCreate(Spec("once"));
  for (int k = 0; k < 7; ++k) {
    LogTraffic(kT0 + k * kHour, kT0 + (k + 1) * kHour, 20, 100, 40 + k, fmt::format("r{}-", k));
  }
  auto b = MakeService("owner-b");
  clock_.Set(kT0 + 5 * kHour + 10 * kMinute);
  // Two replicas tick at the same time.
  std::atomic<int> total{0};
  std::thread ta([&] { total += service_->RunDue().value_or(-100); });
  std::thread tb([&] { total += b->RunDue().value_or(-100); });
  ta.join();
  tb.join();
  EXPECT_EQ(total.load(), 5);
  EXPECT_EQ(b->RunDue().value(), 0);

  // A restart: a new service on the same store does not redo them.
  service_.reset();
  service_ = MakeService("owner-c");
  EXPECT_EQ(service_->RunDue().value(), 0);
  clock_.Set(kT0 + 6 * kHour + 10 * kMinute);
  EXPECT_EQ(service_->RunDue().value(), 1);
  EXPECT_EQ(b->RunDue().value(), 0);

  auto w = Windows(info.monitor.id);
  ASSERT_EQ(w.size(), 6u);
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_EQ(w[i].start_ms, kT0 + static_cast<int64_t>(i) * kHour);
    EXPECT_EQ(w[i].status, "done");
    EXPECT_EQ(w[i].rows, 20);
  }
}

TEST_F(MonitorServiceTest, ScheduleGatesTicks) {
  auto s = Spec("hourly");
  s.schedule = "@hourly";
  s.window = "10m";
  MonitorInfo info = MustCreate(s);
  // Complete windows wait for the schedule: it first fires at 13:00.
  clock_.Set(kT0 + 30 * kMinute);
  EXPECT_EQ(service_->RunDue().value(), 0);
  clock_.Set(kT0 + kHour);
  EXPECT_EQ(service_->RunDue().value(), 5);  // [12:00, 12:50); [12:50, 13:00) needs 13:02
  clock_.Set(kT0 + kHour + 5 * kMinute);
  EXPECT_EQ(service_->RunDue().value(), 0);  // next fire 14:00
  clock_.Set(kT0 + 2 * kHour);
  EXPECT_EQ(service_->RunDue().value(), 6);
  auto w = Windows(info.monitor.id);
  ASSERT_EQ(w.size(), 11u);
  EXPECT_EQ(w.back().start_ms, kT0 + 100 * kMinute);
  EXPECT_EQ(w.back().status, "empty");
  auto m = store_->monitors().GetMonitor("hourly");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->last_fired_at, kT0 + 2 * kHour);
}

TEST_F(MonitorServiceTest, RowCountWindows) {
  auto s = Spec("rows");
  s.window = "100rows";
  s.schedule = "@every 1m";
  MonitorInfo info = MustCreate(s);
  LogTraffic(kT0 + 1000, kT0 + 2000, 250, 100, 60, "x-");
  clock_.Set(kT0 + 10 * kMinute);
  EXPECT_EQ(service_->RunDue().value(), 2);
  auto w = Windows(info.monitor.id);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].rows, 100);
  EXPECT_EQ(w[1].rows, 100);
  EXPECT_EQ(w[0].start_ms, kT0);
  EXPECT_EQ(w[1].start_ms, w[0].end_ms);
  // 50 rows left: not a complete window until 50 more arrive.
  clock_.Set(kT0 + 20 * kMinute);
  EXPECT_EQ(service_->RunDue().value(), 0);
  LogTraffic(kT0 + 3000, kT0 + 4000, 60, 100, 61, "y-");
  clock_.Set(kT0 + 30 * kMinute);
  EXPECT_EQ(service_->RunDue().value(), 1);
  EXPECT_EQ(Windows(info.monitor.id).back().rows, 100);

  // Manual: the last 100 rows.
  auto manual = service_->RunNow("rows");
  ASSERT_TRUE(manual.has_value()) << manual.error().message();
  EXPECT_TRUE(manual->window.manual);
  EXPECT_EQ(manual->window.rows, 100);
}

// ---------------------------------------------------------- labels, perf

TEST_F(MonitorServiceTest, LabelsArrivingLaterChangeThePerformanceSeries) {
  auto s = Spec("perf");
  s.alerts = {"recall < 0.8"};
  s.task = "classification";
  MonitorInfo info = MustCreate(s);
  LogTraffic(kT0, kT0 + kHour, 10, 100, 70, "p-");
  LogTraffic(kT0 + kHour, kT0 + 2 * kHour, 10, 100, 71, "q-");

  // Labels for the second window arrive before it is processed.
  std::vector<store::Label> early;
  for (int i = 0; i < 10; ++i) early.push_back({"q-" + std::to_string(i), 0, "1"});
  auto logged_early = service_->LogLabels("fraud", early);
  ASSERT_TRUE(logged_early.has_value()) << logged_early.error().message();
  EXPECT_EQ(logged_early->logged, 10);
  EXPECT_EQ(logged_early->unknown_request_ids, 10);  // not seen yet; kept

  clock_.Set(kT0 + kHour + 10 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 1);
  EXPECT_FALSE(ResultValue(info.monitor.id, kT0, "", "recall").has_value());

  // Labels for window 1: all correct (even rows scored 0.9 -> "1", odd 0.2 -> "0").
  std::vector<store::Label> correct;
  for (int i = 0; i < 10; ++i)
    correct.push_back({"p-" + std::to_string(i), 0, i % 2 == 0 ? "1" : "0"});
  correct.push_back({"nobody-1", 0, "1"});
  correct.push_back({"nobody-2", 0, "0"});
  auto logged = service_->LogLabels("fraud", correct);
  ASSERT_TRUE(logged.has_value());
  EXPECT_EQ(logged->logged, 12);
  EXPECT_EQ(logged->unknown_request_ids, 2);

  clock_.Set(kT0 + kHour + 20 * kMinute);  // next tick recomputes window 1
  ASSERT_EQ(service_->RunDue().value(), 0);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0, "", "recall"), 1.0);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0, "", "accuracy"), 1.0);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0, "", "labeled_rows"), 10.0);
  EXPECT_TRUE(ResultValue(info.monitor.id, kT0, "", "roc_auc").has_value());
  EXPECT_TRUE(Alerts(info.monitor.id, "firing").empty());
  // The stored report shows the performance too; the rest is kept.
  {
    auto w = Windows(info.monitor.id);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_FALSE(w[0].perf_dirty);
    json report = json::parse(w[0].report_json);
    ASSERT_TRUE(report["performance"].is_object()) << w[0].report_json;
    EXPECT_EQ(report["performance"]["task"], "classification");
    EXPECT_EQ(report["performance"]["rows"], 10);
    EXPECT_EQ(report["performance"]["recall"], 1.0);
    EXPECT_EQ(report["performance"]["accuracy"], 1.0);
    EXPECT_EQ(report["rows"], 10);
    EXPECT_EQ(report["window"]["start"], kT0);
    EXPECT_TRUE(report["drift"].is_object());
    EXPECT_TRUE(report["quality"].is_object());
    EXPECT_TRUE(report["rules"].is_array());
    EXPECT_EQ(w[0].report_json.find("\"window\""), 1u);  // member order kept
  }

  // Corrected labels: odd rows were positives too -> recall 0.5, fires.
  std::vector<store::Label> corrected;
  for (int i = 1; i < 10; i += 2) corrected.push_back({"p-" + std::to_string(i), 0, "1"});
  ASSERT_TRUE(service_->LogLabels("fraud", corrected).has_value());
  clock_.Set(kT0 + kHour + 30 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 0);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0, "", "recall"), 0.5);
  EXPECT_EQ(json::parse(Windows(info.monitor.id)[0].report_json)["performance"]["recall"], 0.5);
  auto firing = Alerts(info.monitor.id, "firing");
  ASSERT_EQ(firing.size(), 1u);
  EXPECT_EQ(firing[0].statistic, "recall");
  EXPECT_DOUBLE_EQ(firing[0].value, 0.5);

  // Window 2 joins the early labels when it is processed: all "1", half
  // predicted "0" -> recall 0.5: the incident stays open (no second alert).
  clock_.Set(kT0 + 2 * kHour + 10 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 1);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0 + kHour, "", "recall"), 0.5);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0 + kHour, "", "labeled_rows"), 10.0);
  EXPECT_EQ(Alerts(info.monitor.id, "").size(), 1u);
  // Computed right after its completion: in its report as well.
  {
    auto w = Windows(info.monitor.id);
    ASSERT_EQ(w.size(), 2u);
    EXPECT_FALSE(w[1].perf_dirty);
    json report = json::parse(w[1].report_json);
    ASSERT_TRUE(report["performance"].is_object()) << w[1].report_json;
    EXPECT_EQ(report["performance"]["rows"], 10);
    EXPECT_EQ(report["performance"]["recall"], 0.5);
    EXPECT_TRUE(report["drift"].is_object());
  }

  auto unknown_model = service_->LogLabels("nope", correct);
  ASSERT_FALSE(unknown_model.has_value());
  EXPECT_EQ(unknown_model.error().code(), ErrorCode::kNotFound);
}

TEST_F(MonitorServiceTest, ParseLabelsCsv) {
  auto labels = service_->ParseLabelsCsv("request_id,label,row\n007,1,0\nabc,cat,2\nx,0,\n");
  ASSERT_TRUE(labels.has_value()) << labels.error().message();
  ASSERT_EQ(labels->size(), 3u);
  EXPECT_EQ((*labels)[0].request_id, "007");
  EXPECT_EQ((*labels)[0].label, "1");
  EXPECT_EQ((*labels)[1].label, "cat");
  EXPECT_EQ((*labels)[1].row, 2);
  EXPECT_EQ((*labels)[2].row, 0);

  auto no_row = service_->ParseLabelsCsv("label,request_id\nyes,r1\n");
  ASSERT_TRUE(no_row.has_value());
  EXPECT_EQ((*no_row)[0].request_id, "r1");
  EXPECT_EQ((*no_row)[0].row, 0);

  auto bad_row = service_->ParseLabelsCsv("request_id,label,row\na,1,0\nb,1,-3\n");
  ASSERT_FALSE(bad_row.has_value());
  EXPECT_NE(bad_row.error().message().find("line 3"), std::string::npos);
  auto empty_label = service_->ParseLabelsCsv("request_id,label\na,1\nb,\n");
  ASSERT_FALSE(empty_label.has_value());
  EXPECT_NE(empty_label.error().message().find("line 3"), std::string::npos);
  auto no_label = service_->ParseLabelsCsv("request_id,value\na,1\n");
  ASSERT_FALSE(no_label.has_value());
  EXPECT_NE(no_label.error().message().find("label"), std::string::npos);
}

// ------------------------------------------------------------------ faults

TEST_F(MonitorServiceTest, DeletedModelFailsTheWindowAndTheTickGoesOn) {
  RegisterModel("other", kSignature);
  MonitorInfo doomed = MustCreate(Spec("doomed"));
  auto s = Spec("healthy");
  s.model = "other";
  s.deployment = "fraud";  // reads the same log
  MonitorInfo healthy = MustCreate(s);
  LogTraffic(kT0, kT0 + kHour, 20, 100, 80, "d-");
  ASSERT_TRUE(
      store_->registry().DeleteRegisteredModel("fraud", store::Actor{"test", kT0}).has_value());

  clock_.Set(kT0 + kHour + 10 * kMinute);
  EXPECT_EQ(service_->RunDue().value(), 2);
  auto w = Windows(doomed.monitor.id);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].status, "failed");
  EXPECT_NE(w[0].error.find("'fraud' no longer exists"), std::string::npos) << w[0].error;
  auto ok = Windows(healthy.monitor.id);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].status, "done");
  EXPECT_EQ(ok[0].rows, 20);
  // The monitor stays until deleted; a manual run fails with the same message.
  ASSERT_TRUE(service_->Get("doomed").has_value());
  auto manual = service_->RunNow("doomed");
  ASSERT_TRUE(manual.has_value());
  EXPECT_EQ(manual->window.status, "failed");
  EXPECT_NE(manual->window.error.find("no longer exists"), std::string::npos);
}

TEST_F(MonitorServiceTest, UnreadableLogFailsTheWindow) {
  MonitorInfo info = MustCreate(Spec("no-store"));
  // A process without the artifact store cannot read mlflow-artifacts:/.
  MonitorServiceOptions o;
  o.owner = "no-artifacts";
  MonitorService blind(*store_, store_->monitors(), nullptr, clock_, o);
  clock_.Set(kT0 + kHour + 10 * kMinute);
  EXPECT_EQ(blind.RunDue().value(), 1);
  auto w = Windows(info.monitor.id);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].status, "failed");
  EXPECT_NE(w[0].error.find("inference log"), std::string::npos) << w[0].error;
  json report = json::parse(w[0].report_json);
  EXPECT_EQ(report["error"], w[0].error);
}

TEST_F(MonitorServiceTest, LocalLogFolder) {
  auto s = Spec("local-log");
  s.log_uri = "file://" + dir_ + "/log";
  MonitorInfo info = MustCreate(s);
  std::string text;
  for (int i = 0; i < 30; ++i) {
    text += RecordLine(kT0 + i * 1000, "l-" + std::to_string(i), "fraud", 150, "US", 0.9) + "\n";
  }
  WriteFile(dir_ + "/log/fraud/" + DateOf(kT0) + "/" + std::to_string(kT0) + "-0.jsonl", text);
  // An unpublished segment is ignored.
  WriteFile(dir_ + "/log/fraud/" + DateOf(kT0) + "/" + std::to_string(kT0) + "-1.jsonl.part", text);
  clock_.Set(kT0 + kHour + 10 * kMinute);
  EXPECT_EQ(service_->RunDue().value(), 1);
  auto w = Windows(info.monitor.id);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].rows, 30);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0, "amount", "drifted"), 1.0);
}

// ------------------------------------------------------- local file roots

// The refusal of a local file outside the roots, as a Create answers it.
std::string OutsideMessage(const std::string& field, const std::string& uri) {
  return fmt::format(
      "monitor spec: '{0}' {0} '{1}' is outside the folders this server reads local files from "
      "(--monitor-data-root DIR, CAIRN_MONITOR_DATA_ROOT); ",
      field, uri);
}

void ExpectOutside(const Result<MonitorInfo>& r, const std::string& field, const std::string& uri) {
  ASSERT_FALSE(r.has_value()) << uri << " was accepted";
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().message();
  EXPECT_TRUE(r.error().message().starts_with(OutsideMessage(field, uri))) << r.error().message();
  if (field == "reference") {
    EXPECT_TRUE(r.error().message().ends_with(
        "log it as a run artifact and use runs:/ or mlflow-artifacts:/ instead"))
        << r.error().message();
  }
}

TEST_F(MonitorServiceTest, LocalRootsConfineReferences) {
  const std::string data = dir_ + "/data";
  const std::string outside = dir_ + "/outside";
  WriteReference(data + "/train.csv", 50, 4, false);
  WriteReference(outside + "/secret.csv", 50, 5, false);
  auto confined = MakeConfinedService({data});
  auto create = [&](const std::string& name, const std::string& reference) {
    auto s = Spec(name);
    s.reference = reference;
    return confined->Create(s);
  };

  // Inside: a path, file://, a path through "..", that stays inside.
  EXPECT_TRUE(create("in-path", data + "/train.csv").has_value());
  EXPECT_TRUE(create("in-file-uri", "file://" + data + "/train.csv").has_value());
  fs::create_directories(data + "/sub");
  EXPECT_TRUE(create("in-dotdot", data + "/sub/../train.csv").has_value());

  // Outside: a path, file://, ".." out of a root, ".." below a missing
  // folder, the same for a file that does not exist (the same message: no
  // telling whether it exists).
  ExpectOutside(create("out-path", outside + "/secret.csv"), "reference", outside + "/secret.csv");
  ExpectOutside(create("out-uri", "file://" + outside + "/secret.csv"), "reference",
                "file://" + outside + "/secret.csv");
  ExpectOutside(create("out-dotdot", data + "/../outside/secret.csv"), "reference",
                data + "/../outside/secret.csv");
  ExpectOutside(create("out-missing-dotdot", data + "/nope/../../outside/secret.csv"), "reference",
                data + "/nope/../../outside/secret.csv");
  ExpectOutside(create("out-absent", outside + "/absent.csv"), "reference",
                outside + "/absent.csv");
  ExpectOutside(create("out-passwd", "/etc/passwd"), "reference", "/etc/passwd");
  // A root's name as a prefix is not the root.
  WriteReference(data + "-evil/train.csv", 50, 4, false);
  ExpectOutside(create("out-prefix", data + "-evil/train.csv"), "reference",
                data + "-evil/train.csv");

  // Links inside a root: to a file outside (refused), to nothing outside
  // (refused alike), to a file inside (read).
  fs::create_symlink(outside + "/secret.csv", data + "/link-out.csv");
  fs::create_symlink(outside + "/absent.csv", data + "/dangling.csv");
  fs::create_symlink(data + "/train.csv", data + "/link-in.csv");
  fs::create_directory_symlink(outside, data + "/dir-out");
  ExpectOutside(create("link-out", data + "/link-out.csv"), "reference", data + "/link-out.csv");
  ExpectOutside(create("dangling", data + "/dangling.csv"), "reference", data + "/dangling.csv");
  ExpectOutside(create("dir-out", data + "/dir-out/secret.csv"), "reference",
                data + "/dir-out/secret.csv");
  EXPECT_TRUE(create("link-in", data + "/link-in.csv").has_value());

  // A missing file inside a root is named as missing.
  auto missing = create("in-missing", data + "/absent.csv");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find(data + "/absent.csv: no such file"), std::string::npos)
      << missing.error().message();

  // runs:/ of a run whose artifact folder is outside, and ".." out of one
  // whose folder is inside.
  store::NewRun run;
  run.run_id = std::string(32, 'e');
  run.experiment_id = "0";
  run.start_time = kT0;
  run.artifact_uri = "file://" + outside;
  ASSERT_TRUE(store_->CreateRun(run).has_value());
  ExpectOutside(create("runs-out", "runs:/" + run.run_id + "/secret.csv"), "reference",
                "runs:/" + run.run_id + "/secret.csv");
  store::NewRun inside = run;
  inside.run_id = std::string(32, 'f');
  inside.artifact_uri = "file://" + data + "/runs/f/artifacts";
  ASSERT_TRUE(store_->CreateRun(inside).has_value());
  WriteReference(data + "/runs/f/artifacts/ref.csv", 50, 6, false);
  EXPECT_TRUE(create("runs-in", "runs:/" + inside.run_id + "/ref.csv").has_value());
  ExpectOutside(create("runs-dotdot", "runs:/" + inside.run_id + "/../../../../outside/secret.csv"),
                "reference", "runs:/" + inside.run_id + "/../../../../outside/secret.csv");

  // The model version's tag cairn.reference (no reference given).
  ASSERT_TRUE(store_->registry()
                  .SetModelVersionTag("fraud", 1, {"cairn.reference", outside + "/secret.csv"},
                                      store::Actor{"test", kT0})
                  .has_value());
  ExpectOutside(create("from-tag", ""), "reference", outside + "/secret.csv");

  // A root given through a link, or relative, is compared by its real path.
  fs::create_directory_symlink(data, dir_ + "/data-link");
  auto via_link = MakeConfinedService({dir_ + "/data-link"});
  auto s = Spec("root-link");
  s.reference = data + "/train.csv";
  EXPECT_TRUE(via_link->Create(s).has_value());
  s = Spec("root-link-out");
  s.reference = outside + "/secret.csv";
  ExpectOutside(via_link->Create(s), "reference", outside + "/secret.csv");

  // No roots: nothing is readable; unrestricted (the default): anything.
  auto none = MakeConfinedService({});
  s = Spec("none");
  s.reference = data + "/train.csv";
  ExpectOutside(none->Create(s), "reference", data + "/train.csv");
  s = Spec("unrestricted");
  s.reference = outside + "/secret.csv";
  EXPECT_TRUE(service_->Create(s).has_value());
}

TEST_F(MonitorServiceTest, LocalRootsConfineTheLogFolder) {
  const std::string data = dir_ + "/data";
  const std::string outside = dir_ + "/outside";
  WriteReference(data + "/train.csv", 200, 1, false);
  fs::create_directories(outside + "/log");
  fs::create_directories(data + "/log");
  auto confined = MakeConfinedService({data});
  auto s = Spec("log-out");
  s.reference = data + "/train.csv";
  s.log_uri = "file://" + outside + "/log";
  ExpectOutside(confined->Create(s), "log_uri", "file://" + outside + "/log");
  s.log_uri = outside + "/log";
  ExpectOutside(confined->Create(s), "log_uri", outside + "/log");
  // The deployment is a folder name under the log folder: no way out either.
  s.log_uri = data + "/log";
  s.deployment = "../../outside/log";
  ExpectOutside(confined->Create(s), "log_uri", data + "/log");
  // The default log (the artifact store) and a folder inside are accepted.
  s = Spec("log-default");
  s.reference = data + "/train.csv";
  EXPECT_TRUE(confined->Create(s).has_value());
  s = Spec("log-in");
  s.reference = data + "/train.csv";
  s.log_uri = "file://" + data + "/log";
  MonitorInfo info = confined->Create(s).value();

  // Windows read the folder's segments; one that is a link to a file
  // outside fails the window with the same refusal, and is not read.
  std::string text;
  for (int i = 0; i < 30; ++i) {
    text += RecordLine(kT0 + i * 1000, "l-" + std::to_string(i), "fraud", 150, "US", 0.9) + "\n";
  }
  const std::string day = data + "/log/fraud/" + DateOf(kT0);
  WriteFile(day + "/" + std::to_string(kT0) + "-0.jsonl", text);
  clock_.Set(kT0 + 10 * kMinute);
  auto first = confined->RunNow("log-in");
  ASSERT_TRUE(first.has_value()) << first.error().message();
  EXPECT_EQ(first->window.rows, 30);
  WriteFile(outside + "/stolen.jsonl", text);
  fs::create_symlink(outside + "/stolen.jsonl", day + "/" + std::to_string(kT0 + 1) + "-1.jsonl");
  auto second = confined->RunNow("log-in");
  ASSERT_TRUE(second.has_value()) << second.error().message();
  EXPECT_EQ(second->window.status, "failed");
  EXPECT_EQ(second->window.rows, 0);
  EXPECT_TRUE(
      second->window.error.starts_with("log_uri 'file://" + data +
                                       "/log' is outside the folders this server reads local files "
                                       "from"))
      << second->window.error;
  // The unrestricted service reads both segments.
  auto both = service_->RunNow("log-in");
  ASSERT_TRUE(both.has_value()) << both.error().message();
  EXPECT_EQ(both->window.rows, 60);
}

TEST_F(MonitorServiceTest, LocalRootsAreCheckedOnEveryLoadNotOnlyAtCreate) {
  const std::string data = dir_ + "/data";
  const std::string outside = dir_ + "/outside";
  WriteReference(data + "/real.csv", 200, 1, false);
  WriteReference(outside + "/secret.csv", 200, 9, false);
  fs::create_directories(data);
  fs::create_symlink(data + "/real.csv", data + "/ref.csv");
  auto s = Spec("swap");
  s.reference = data + "/ref.csv";
  MonitorInfo info = MakeConfinedService({data})->Create(s).value();
  // The link now points outside; a service that loads the reference anew
  // (a restarted server) refuses it and the window fails with the refusal.
  fs::remove(data + "/ref.csv");
  fs::create_symlink(outside + "/secret.csv", data + "/ref.csv");
  auto restarted = MakeConfinedService({data});
  LogTraffic(kT0 + 5 * kMinute, kT0 + 50 * kMinute, 40, 100, 1, "r-");
  clock_.Set(kT0 + kHour + 10 * kMinute);
  EXPECT_EQ(restarted->RunDue().value(), 1);
  auto w = Windows(info.monitor.id);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].status, "failed");
  EXPECT_NE(w[0].error.find("reference '" + data + "/ref.csv' is outside the folders"),
            std::string::npos)
      << w[0].error;
}

TEST_F(MonitorServiceTest, ArtifactStorePathsCannotClimbOutOfTheStore) {
  // A readable CSV right next to the artifact folder: a ".." that reached it
  // would create the monitor.
  WriteReference(dir_ + "/secret.csv", 50, 5, false);
  WriteReference(dir_ + "/artifacts/secret.csv", 50, 5, false);
  auto confined = MakeConfinedService({dir_ + "/data"});
  store::NewRun run;
  run.run_id = std::string(32, 'd');
  run.experiment_id = "0";
  run.start_time = kT0;
  run.artifact_uri = "mlflow-artifacts:/0/" + run.run_id + "/artifacts";
  ASSERT_TRUE(store_->CreateRun(run).has_value());
  for (const std::string& reference : {std::string("mlflow-artifacts:/../secret.csv"),
                                       std::string("mlflow-artifacts:/0/../../secret.csv"),
                                       "runs:/" + run.run_id + "/../../../../secret.csv",
                                       "runs:/" + run.run_id + "/../../../secret.csv"}) {
    for (MonitorService* service : {confined.get(), service_.get()}) {
      auto s = Spec("climb");
      s.reference = reference;
      auto r = service->Create(s);
      ASSERT_FALSE(r.has_value()) << reference;
      EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().message();
      EXPECT_NE(r.error().message().find("reference '" + reference + "' cannot be read"),
                std::string::npos)
          << r.error().message();
    }
  }
}

// ------------------------------------------------------------------ manual

TEST_F(MonitorServiceTest, RunNowNeverChangesAlertState) {
  MonitorInfo info = MustCreate(Spec("manual"));
  LogTraffic(kT0, kT0 + kHour, 100, 150, 92, "m-");
  clock_.Set(kT0 + kHour);
  auto out = service_->RunNow("manual");
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_TRUE(out->window.manual);
  EXPECT_EQ(out->window.start_ms, kT0);
  EXPECT_EQ(out->window.end_ms, kT0 + kHour);
  EXPECT_EQ(out->window.status, "done");
  EXPECT_TRUE(out->alert_changes.empty());
  json report = json::parse(out->window.report_json);
  EXPECT_TRUE(report["window"]["manual"].get<bool>());
  bool amount_holds = false;
  for (const auto& r : report["rules"]) {
    if (r["feature"] == "amount") amount_holds = r["holds"].get<bool>();
  }
  EXPECT_TRUE(amount_holds);
  EXPECT_TRUE(Alerts(info.monitor.id, "").empty());
  // Manual windows are not the schedule's: the scheduled window is still processed.
  clock_.Set(kT0 + kHour + 10 * kMinute);
  EXPECT_EQ(service_->RunDue().value(), 1);
  auto firing = Alerts(info.monitor.id, "firing");
  ASSERT_EQ(firing.size(), 1u) << Windows(info.monitor.id).back().report_json;
  EXPECT_EQ(firing[0].feature, "amount");

  // A CSV batch.
  auto batch = service_->RunNow("manual", std::string("amount,country\n100,US\n101,FR\n99,DE\n"));
  ASSERT_TRUE(batch.has_value()) << batch.error().message();
  EXPECT_EQ(batch->window.rows, 3);
  EXPECT_TRUE(batch->window.manual);
  EXPECT_EQ(Alerts(info.monitor.id, "firing").size(), 1u);

  auto missing = service_->RunNow("nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

// Labels logged while a window's performance is recomputed (after the
// service read the window and its labels, before it stored the result) are
// not lost: the window stays dirty and the next tick counts them.
TEST_F(MonitorServiceTest, LabelsLoggedDuringARecomputationAreCountedNextTick) {
  InterleavingMonitorStore interleaving(store_->monitors());
  service_ = MakeService("owner-a", {}, &interleaving);
  auto s = Spec("race");
  s.task = "classification";
  MonitorInfo info = MustCreate(s);
  LogTraffic(kT0, kT0 + kHour, 10, 100, 80, "p-");
  clock_.Set(kT0 + kHour + 10 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 1);

  std::vector<store::Label> first, second;
  for (int i = 0; i < 10; ++i) {
    (i < 5 ? first : second).push_back({"p-" + std::to_string(i), 0, i % 2 == 0 ? "1" : "0"});
  }
  ASSERT_TRUE(service_->LogLabels("fraud", first).has_value());
  // The second half arrives while the next tick recomputes the window.
  interleaving.after_labels_read = [&] {
    auto logged = store_->monitors().LogLabels("fraud", second, clock_.NowMillis());
    ASSERT_TRUE(logged.has_value()) << logged.error().message();
  };
  clock_.Set(kT0 + kHour + 20 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 0);
  EXPECT_FALSE(interleaving.after_labels_read);  // it ran
  EXPECT_EQ(ResultValue(info.monitor.id, kT0, "", "labeled_rows"), 5.0);
  auto w = Windows(info.monitor.id);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(w[0].perf_dirty);
  EXPECT_EQ(json::parse(w[0].report_json)["performance"]["rows"], 5);

  // The next tick sees all ten and clears the mark.
  clock_.Set(kT0 + kHour + 30 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 0);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0, "", "labeled_rows"), 10.0);
  w = Windows(info.monitor.id);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_FALSE(w[0].perf_dirty);
  EXPECT_EQ(json::parse(w[0].report_json)["performance"]["rows"], 10);

  // Without labels in between, one recomputation clears it.
  std::vector<store::Label> relabel = {{"p-0", 0, "0"}};
  ASSERT_TRUE(service_->LogLabels("fraud", relabel).has_value());
  EXPECT_TRUE(Windows(info.monitor.id)[0].perf_dirty);
  clock_.Set(kT0 + kHour + 40 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 0);
  EXPECT_FALSE(Windows(info.monitor.id)[0].perf_dirty);
  EXPECT_DOUBLE_EQ(ResultValue(info.monitor.id, kT0, "", "accuracy").value_or(-1), 0.9);
}

// on_alert_changes runs once per committed completion or performance update
// that changed alerts, and never otherwise.
TEST_F(MonitorServiceTest, OnAlertChangesRunsExactlyWhenAlertChangesCommit) {
  std::atomic<int> calls = 0;
  service_ = MakeService("owner-a", [&] { ++calls; });
  auto s = Spec("notify");
  s.alerts = {"drifted[*] >= 1", "recall < 0.8"};
  s.task = "classification";
  MonitorInfo info = MustCreate(s);
  LogTraffic(kT0, kT0 + kHour, 100, 100, 61, "a-");              // normal
  LogTraffic(kT0 + kHour, kT0 + 2 * kHour, 100, 150, 62, "b-");  // amount shifted
  LogTraffic(kT0 + 2 * kHour, kT0 + 3 * kHour, 100, 150, 63, "c-");
  LogTraffic(kT0 + 3 * kHour, kT0 + 4 * kHour, 100, 100, 64, "d-");

  clock_.Set(kT0 + kHour + 10 * kMinute);  // nothing fires
  ASSERT_EQ(service_->RunDue().value(), 1);
  EXPECT_EQ(calls, 0);
  clock_.Set(kT0 + 2 * kHour + 10 * kMinute);  // amount fires
  ASSERT_EQ(service_->RunDue().value(), 1);
  ASSERT_EQ(Alerts(info.monitor.id, "firing").size(), 1u);
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(service_->RunDue().value(), 0);  // nothing processed
  EXPECT_EQ(calls, 1);
  clock_.Set(kT0 + 3 * kHour + 10 * kMinute);  // still drifted: same incident, no change
  ASSERT_EQ(service_->RunDue().value(), 1);
  EXPECT_EQ(calls, 1);
  clock_.Set(kT0 + 4 * kHour + 10 * kMinute);  // resolves
  ASSERT_EQ(service_->RunDue().value(), 1);
  EXPECT_TRUE(Alerts(info.monitor.id, "firing").empty());
  EXPECT_EQ(calls, 2);

  // Manual windows never change alerts: no call.
  ASSERT_TRUE(service_->RunNow("notify").has_value());
  EXPECT_EQ(calls, 2);

  // Labels: a good recall changes nothing; a bad one fires through the
  // performance update.
  std::vector<store::Label> good;
  for (int i = 0; i < 100; ++i) good.push_back({"a-" + std::to_string(i), 0, i % 2 == 0 ? "1" : "0"});
  ASSERT_TRUE(service_->LogLabels("fraud", good).has_value());
  clock_.Set(kT0 + 4 * kHour + 20 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 0);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0, "", "recall"), 1.0);
  EXPECT_EQ(calls, 2);
  std::vector<store::Label> bad;
  for (int i = 0; i < 100; ++i) bad.push_back({"b-" + std::to_string(i), 0, "1"});
  ASSERT_TRUE(service_->LogLabels("fraud", bad).has_value());
  clock_.Set(kT0 + 4 * kHour + 30 * kMinute);
  ASSERT_EQ(service_->RunDue().value(), 0);
  EXPECT_EQ(ResultValue(info.monitor.id, kT0 + kHour, "", "recall"), 0.5);
  auto firing = Alerts(info.monitor.id, "firing");
  ASSERT_EQ(firing.size(), 1u);
  EXPECT_EQ(firing[0].statistic, "recall");
  EXPECT_EQ(calls, 3);
}

// --------------------------------------------------------------- scheduler

TEST_F(MonitorServiceTest, SchedulerRunsTicksAndStopsPromptly) {
  MonitorInfo info = MustCreate(Spec("sched"));
  LogTraffic(kT0, kT0 + kHour, 20, 100, 95, "s-");
  clock_.Set(kT0 + kHour + 10 * kMinute);
  MonitorScheduler scheduler(*service_, std::chrono::milliseconds(20));
  scheduler.Start();
  scheduler.Start();  // no-op
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Windows(info.monitor.id).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Windows(info.monitor.id).size(), 1u);
  scheduler.Stop();
  scheduler.Stop();  // idempotent

  // A long interval does not delay Stop.
  MonitorScheduler slow(*service_, std::chrono::hours(1));
  slow.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto t0 = std::chrono::steady_clock::now();
  slow.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace cairn::monitor
