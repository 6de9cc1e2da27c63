#include "registry/registry_service.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "store/logged_model_store.h"
#include "tracking/page_token.h"

namespace cairn::registry {
namespace {

using store::ModelVersion;

constexpr char kMlModel[] = R"(artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: model.pkl
    python_version: 3.11.2
  sklearn:
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.9.1
mlflow_version: 2.22.0
signature:
  inputs: '[{"type": "double", "name": "age", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
)";

class RegistryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::OpenMetadataStore("sqlite:///:memory:");
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    store_ = std::move(*opened);
    ASSERT_TRUE(store_->Migrate().has_value());
    char tmpl[] = "/tmp/cairn-registry-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto repo = blob::ArtifactRepository::Open("file://" + dir_ + "/artifacts");
    ASSERT_TRUE(repo.has_value()) << repo.error().ToString();
    repo_ = std::move(*repo);
    service_ = std::make_unique<RegistryService>(*store_, repo_.get(), "mlflow-artifacts:/", clock_,
                                                 [this] { ++notified_; });
  }
  void TearDown() override {
    service_.reset();
    repo_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A run in the Default experiment whose artifacts are in the repository.
  std::string MakeRun(const std::string& id_char, const std::vector<store::Tag>& tags = {}) {
    store::NewRun r;
    r.run_id = std::string(32, id_char[0]);
    r.experiment_id = "0";
    r.run_name = "run-" + id_char;
    r.user_id = "alice";
    r.start_time = clock_.NowMillis();
    r.artifact_uri = "mlflow-artifacts:/0/" + r.run_id + "/artifacts";
    r.tags = tags;
    auto s = store_->CreateRun(r);
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    return r.run_id;
  }
  void Put(const std::string& path, const std::string& bytes) {
    auto s = repo_->UploadBytes(path, bytes);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }
  // Logs a model folder "model" (MLmodel + model.pkl) under the run.
  void LogModel(const std::string& run_id, const std::string& mlmodel = kMlModel) {
    Put("0/" + run_id + "/artifacts/model/MLmodel", mlmodel);
    Put("0/" + run_id + "/artifacts/model/model.pkl", "pickled-bytes");
  }
  std::string Read(const std::string& path) {
    auto f = repo_->Download(path);
    if (!f) return "<" + f.error().ToString() + ">";
    std::ifstream in(f->local_path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void CreateModel(const std::string& name) {
    auto m = service_->CreateRegisteredModel(name, "", {}, "alice");
    ASSERT_TRUE(m.has_value()) << m.error().ToString();
  }
  ModelVersion CreateVersion(const std::string& name, const std::string& source,
                             const std::string& run_id = "") {
    CreateVersionRequest r;
    r.name = name;
    r.source = source;
    r.run_id = run_id;
    auto v = service_->CreateModelVersion(r, "alice");
    EXPECT_TRUE(v.has_value()) << v.error().ToString();
    return v.value_or(ModelVersion{});
  }
  std::vector<store::WebhookDelivery> Deliveries(int64_t webhook_id) {
    auto d = service_->ListDeliveries(webhook_id, 100);
    EXPECT_TRUE(d.has_value()) << d.error().ToString();
    return d.value_or(std::vector<store::WebhookDelivery>{});
  }
  int64_t Hook(const std::string& model = "") {
    store::Webhook w;
    w.model_name = model;
    w.url = "http://127.0.0.1:9/hook";
    w.secret = "k";
    auto h = service_->CreateWebhook(w, "alice");
    EXPECT_TRUE(h.has_value()) << h.error().ToString();
    return h ? h->id : 0;
  }

  FakeClock clock_;
  std::unique_ptr<store::MetadataStore> store_;
  std::string dir_;
  std::unique_ptr<blob::ArtifactRepository> repo_;
  std::unique_ptr<RegistryService> service_;
  int notified_ = 0;
};

TEST_F(RegistryServiceTest, RegisteredModelNameRules) {
  auto bad = service_->CreateRegisteredModel("a/b", "", {}, "alice");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "Invalid model name 'a/b'. Names cannot contain '/' or ':'.");
  EXPECT_FALSE(service_->CreateRegisteredModel("", "", {}, "alice").has_value());
  auto bad_tag = service_->CreateRegisteredModel("m", "", {{"bad*key", "v"}}, "alice");
  ASSERT_FALSE(bad_tag.has_value());
  EXPECT_EQ(bad_tag.error().code(), ErrorCode::kInvalidArgument);

  CreateModel("fraud");
  auto dup = service_->CreateRegisteredModel("fraud", "", {}, "bob");
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  auto m = service_->GetRegisteredModel("fraud");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->user_id, "alice");
  EXPECT_EQ(m->creation_time, clock_.NowMillis());

  auto renamed = service_->RenameRegisteredModel("fraud", "", "alice");
  ASSERT_FALSE(renamed.has_value());
  EXPECT_NE(renamed.error().message().find("'new_name'"), std::string::npos);
}

TEST_F(RegistryServiceTest, VersionFromRunIsCopiedWithSignature) {
  CreateModel("fraud");
  std::string run = MakeRun("a");
  LogModel(run);
  ModelVersion v = CreateVersion("fraud", "runs:/" + run + "/model");
  EXPECT_EQ(v.version, 1);
  EXPECT_EQ(v.source, "runs:/" + run + "/model");
  EXPECT_EQ(v.run_id, run);  // filled from the runs:/ source
  EXPECT_EQ(v.storage_location, "mlflow-artifacts:/_registry/fraud/1");
  EXPECT_EQ(v.user_id, "alice");
  ASSERT_FALSE(v.signature_json.empty());
  auto sig = nlohmann::json::parse(v.signature_json);
  EXPECT_EQ(sig["inputs"][0]["name"], "age");
  EXPECT_EQ(Read("_registry/fraud/1/model.pkl"), "pickled-bytes");
  EXPECT_EQ(Read("_registry/fraud/1/MLmodel"), kMlModel);
  EXPECT_EQ(service_->GetDownloadUri("fraud", 1).value(), "mlflow-artifacts:/_registry/fraud/1");

  // Deleting the run's artifacts leaves the version's copy intact.
  ASSERT_TRUE(repo_->Delete("0/" + run).has_value());
  EXPECT_EQ(Read("_registry/fraud/1/model.pkl"), "pickled-bytes");

  // A second version from the registry URI of the first.
  ModelVersion v2 = CreateVersion("fraud", "mlflow-artifacts:/_registry/fraud/1");
  EXPECT_EQ(v2.version, 2);
  EXPECT_EQ(v2.storage_location, "mlflow-artifacts:/_registry/fraud/2");
  EXPECT_EQ(Read("_registry/fraud/2/model.pkl"), "pickled-bytes");
}

TEST_F(RegistryServiceTest, MissingSourceIsInvalidAndCreatesNothing) {
  CreateModel("fraud");
  std::string run = MakeRun("a");
  CreateVersionRequest r;
  r.name = "fraud";
  r.source = "runs:/" + run + "/nope";
  auto v = service_->CreateModelVersion(r, "alice");
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(v.error().message(), "Model version source 'runs:/" + run + "/nope' does not exist");
  r.source = "mlflow-artifacts:/0/nothing/here";
  EXPECT_FALSE(service_->CreateModelVersion(r, "alice").has_value());
  r.source = "mlflow-artifacts:/0/../../etc";
  auto escape = service_->CreateModelVersion(r, "alice");
  ASSERT_FALSE(escape.has_value());
  EXPECT_EQ(escape.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->GetModelVersion("fraud", 1).error().code(), ErrorCode::kNotFound);

  LogModel(run);
  EXPECT_EQ(CreateVersion("fraud", "runs:/" + run + "/model").version, 1);

  r.name = "no-such-model";
  r.source = "runs:/" + run + "/model";
  auto unknown = service_->CreateModelVersion(r, "alice");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryServiceTest, MalformedMlModelIsRejected) {
  CreateModel("fraud");
  std::string run = MakeRun("a");
  LogModel(run, "flavors: [not, a, mapping]\n");
  CreateVersionRequest r;
  r.name = "fraud";
  r.source = "runs:/" + run + "/model";
  auto v = service_->CreateModelVersion(r, "alice");
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(v.error().message().find("MLmodel"), std::string::npos) << v.error().message();
  EXPECT_NE(v.error().message().find("flavors"), std::string::npos) << v.error().message();
  EXPECT_EQ(service_->GetModelVersion("fraud", 1).error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(repo_->List("_registry").value().empty());
}

TEST_F(RegistryServiceTest, ForeignSourceIsKeptAndFolderWithoutMlModelHasNoSignature) {
  CreateModel("fraud");
  ModelVersion v = CreateVersion("fraud", "s3://bucket/models/fraud");
  EXPECT_EQ(v.storage_location, "s3://bucket/models/fraud");
  EXPECT_EQ(v.signature_json, "");

  Put("loose/weights.bin", "w");
  ModelVersion v2 = CreateVersion("fraud", "mlflow-artifacts:/loose");
  EXPECT_EQ(v2.storage_location, "mlflow-artifacts:/_registry/fraud/2");
  EXPECT_EQ(v2.signature_json, "");
  EXPECT_EQ(Read("_registry/fraud/2/weights.bin"), "w");
}

TEST_F(RegistryServiceTest, LoggedModelSource) {
  CreateModel("fraud");
  std::string run = MakeRun("b");
  store::LoggedModel lm;
  lm.model_id = "m-" + std::string(32, 'c');
  lm.experiment_id = "0";
  lm.name = "sk";
  lm.artifact_location = "mlflow-artifacts:/0/models/" + lm.model_id + "/artifacts";
  lm.creation_time = clock_.NowMillis();
  lm.last_updated_time = lm.creation_time;
  lm.source_run_id = run;
  ASSERT_TRUE(store_->logged_models().CreateLoggedModel(lm).has_value());
  Put("0/models/" + lm.model_id + "/artifacts/MLmodel", kMlModel);
  Put("0/models/" + lm.model_id + "/artifacts/model.pkl", "lm-bytes");

  ModelVersion v = CreateVersion("fraud", "models:/" + lm.model_id);
  EXPECT_EQ(v.model_id, lm.model_id);
  EXPECT_EQ(v.run_id, run);
  EXPECT_EQ(v.storage_location, "mlflow-artifacts:/_registry/fraud/1");
  EXPECT_EQ(Read("_registry/fraud/1/model.pkl"), "lm-bytes");
  EXPECT_FALSE(v.signature_json.empty());

  // MLflow 3: "runs:/<run>/sk" with no files at that run path is the run's
  // logged model named "sk".
  ModelVersion from_run = CreateVersion("fraud", "runs:/" + run + "/sk");
  EXPECT_EQ(from_run.model_id, lm.model_id);
  EXPECT_EQ(from_run.run_id, run);
  EXPECT_EQ(Read("_registry/fraud/2/model.pkl"), "lm-bytes");
  CreateVersionRequest none;
  none.name = "fraud";
  none.source = "runs:/" + run + "/other";
  auto no_model = service_->CreateModelVersion(none, "alice");
  ASSERT_FALSE(no_model.has_value());
  EXPECT_EQ(no_model.error().code(), ErrorCode::kInvalidArgument);

  CreateVersionRequest r;
  r.name = "fraud";
  r.source = "models:/m-" + std::string(32, 'd');
  auto missing = service_->CreateModelVersion(r, "alice");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryServiceTest, RegisteredVersionSource) {
  CreateModel("fraud");
  CreateModel("fraud-copy");
  std::string run = MakeRun("a");
  LogModel(run);
  CreateVersion("fraud", "runs:/" + run + "/model");
  ModelVersion copy = CreateVersion("fraud-copy", "models:/fraud/1");
  EXPECT_EQ(copy.storage_location, "mlflow-artifacts:/_registry/fraud-copy/1");
  EXPECT_EQ(copy.run_id, run);
  EXPECT_EQ(Read("_registry/fraud-copy/1/model.pkl"), "pickled-bytes");
}

TEST_F(RegistryServiceTest, NamesArePercentEncodedInTheCopyPath) {
  CreateModel("my model");
  std::string run = MakeRun("a");
  LogModel(run);
  ModelVersion v = CreateVersion("my model", "runs:/" + run + "/model");
  // The folder is "my%20model"; the URI encodes that name once more.
  EXPECT_EQ(v.storage_location, "mlflow-artifacts:/_registry/my%2520model/1");
  EXPECT_EQ(Read("_registry/my%20model/1/model.pkl"), "pickled-bytes");
  // The URI resolves back to the folder.
  ModelVersion again = CreateVersion("my model", v.storage_location);
  EXPECT_EQ(Read("_registry/my%20model/2/model.pkl"), "pickled-bytes");
  EXPECT_EQ(again.version, 2);
}

TEST_F(RegistryServiceTest, DeletingVersionsAndModelsRemovesCopies) {
  CreateModel("fraud");
  std::string run = MakeRun("a");
  LogModel(run);
  CreateVersion("fraud", "runs:/" + run + "/model");
  CreateVersion("fraud", "runs:/" + run + "/model");
  ASSERT_TRUE(service_->DeleteModelVersion("fraud", 1, "alice").has_value());
  EXPECT_TRUE(repo_->List("_registry/fraud/1").value().empty());
  EXPECT_EQ(Read("_registry/fraud/2/model.pkl"), "pickled-bytes");
  ASSERT_TRUE(service_->DeleteRegisteredModel("fraud", "alice").has_value());
  EXPECT_TRUE(repo_->List("_registry/fraud/2").value().empty());
  // The run's own files are not the registry's to delete.
  EXPECT_EQ(Read("0/" + run + "/artifacts/model/model.pkl"), "pickled-bytes");
}

TEST_F(RegistryServiceTest, AliasesStagesAndEvents) {
  CreateModel("fraud");
  int64_t hook = Hook("fraud");
  std::string run = MakeRun("a");
  LogModel(run);
  CreateVersion("fraud", "runs:/" + run + "/model");
  CreateVersion("fraud", "runs:/" + run + "/model");

  auto reserved = service_->SetAlias("fraud", "latest", 1, "alice");
  ASSERT_FALSE(reserved.has_value());
  EXPECT_EQ(reserved.error().message(), "'latest' alias name (case insensitive) is reserved.");
  EXPECT_FALSE(service_->SetAlias("fraud", "v3", 1, "alice").has_value());
  auto missing = service_->SetAlias("fraud", "champion", 9, "alice");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

  int before = notified_;
  auto set = service_->SetAlias("fraud", "champion", 2, "alice");
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_FALSE(set->pending);
  ASSERT_TRUE(set->version.has_value());
  EXPECT_EQ(set->version->version, 2);
  EXPECT_EQ(set->version->aliases, std::vector<std::string>{"champion"});
  EXPECT_GT(notified_, before);
  EXPECT_EQ(service_->GetVersionByAlias("fraud", "champion")->version, 2);

  auto staged = service_->TransitionStage("fraud", 1, "production", false, "bob");
  ASSERT_TRUE(staged.has_value()) << staged.error().ToString();
  EXPECT_EQ(staged->version->current_stage, "Production");
  auto bad_stage = service_->TransitionStage("fraud", 1, "prod", false, "bob");
  ASSERT_FALSE(bad_stage.has_value());
  EXPECT_EQ(bad_stage.error().message(),
            "Invalid Model Version stage: prod. Value must be one of None, Staging, Production, "
            "Archived.");
  auto latest = service_->GetLatestVersions("fraud", {"PRODUCTION"});
  ASSERT_TRUE(latest.has_value());
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ((*latest)[0].version, 1);

  ASSERT_TRUE(service_->DeleteAlias("fraud", "champion", "alice").has_value());
  EXPECT_EQ(service_->GetVersionByAlias("fraud", "champion").error().code(),
            ErrorCode::kInvalidArgument);  // as MLflow
  // Deleting it again succeeds (as MLflow); "latest" is the highest version.
  EXPECT_TRUE(service_->DeleteAlias("fraud", "champion", "alice").has_value());
  auto latest_alias = service_->GetVersionByAlias("fraud", "LATEST");
  ASSERT_TRUE(latest_alias.has_value()) << latest_alias.error().ToString();
  EXPECT_EQ(latest_alias->version, 2);

  // The webhook saw every event, oldest first or newest first: compare as a set.
  std::map<std::string, nlohmann::json> by_event;
  for (const auto& d : Deliveries(hook)) by_event[d.event] = nlohmann::json::parse(d.payload);
  ASSERT_TRUE(by_event.contains("model_version.created"));
  ASSERT_TRUE(by_event.contains("alias.set"));
  ASSERT_TRUE(by_event.contains("alias.deleted"));
  ASSERT_TRUE(by_event.contains("model_version.stage_transitioned"));
  const auto& created = by_event["model_version.created"];
  EXPECT_EQ(created["event"], "model_version.created");
  EXPECT_EQ(created["model_name"], "fraud");
  EXPECT_TRUE(created["version"] == "1" || created["version"] == "2");
  EXPECT_EQ(created["actor"], "alice");
  EXPECT_EQ(by_event["alias.set"]["alias"], "champion");
  EXPECT_EQ(by_event["alias.set"]["version"], "2");
  EXPECT_EQ(by_event["alias.set"]["time"], clock_.NowMillis());
  EXPECT_EQ(by_event["alias.deleted"]["version"], "2");
  EXPECT_EQ(by_event["model_version.stage_transitioned"]["stage"], "Production");
  EXPECT_EQ(by_event["model_version.stage_transitioned"]["actor"], "bob");
  EXPECT_TRUE(by_event["model_version.stage_transitioned"]["alias"].is_null());
}

TEST_F(RegistryServiceTest, ProtectedTargetsNeedAnotherUsersApproval) {
  CreateModel("fraud");
  std::string run = MakeRun("a");
  LogModel(run);
  CreateVersion("fraud", "runs:/" + run + "/model");
  CreateVersion("fraud", "runs:/" + run + "/model");
  auto bad = service_->SetProtectedTargets("fraud", {"latest"}, "alice");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(service_->SetProtectedTargets("fraud", {"champion", "production"}, "alice"));
  EXPECT_EQ(service_->GetRegisteredModel("fraud")->protected_targets,
            (std::vector<std::string>{"Production", "champion"}));

  // Alias: pending, nothing changes.
  auto pending = service_->SetAlias("fraud", "champion", 2, "alice", "ship it");
  ASSERT_TRUE(pending.has_value()) << pending.error().ToString();
  EXPECT_TRUE(pending->pending);
  ASSERT_TRUE(pending->approval.has_value());
  EXPECT_EQ(pending->approval->kind, "alias");
  EXPECT_EQ(pending->approval->target, "champion");
  EXPECT_EQ(pending->approval->version, 2);
  EXPECT_EQ(pending->approval->requested_by, "alice");
  EXPECT_EQ(pending->approval->comment, "ship it");
  EXPECT_EQ(service_->GetVersionByAlias("fraud", "champion").error().code(),
            ErrorCode::kInvalidArgument);  // as MLflow
  int64_t id = pending->approval->id;
  EXPECT_EQ(service_->ListApprovals("fraud", "pending")->size(), 1u);

  auto self = service_->DecideApproval(id, true, "", "alice");
  ASSERT_FALSE(self.has_value());
  EXPECT_EQ(self.error().code(), ErrorCode::kPermissionDenied);

  auto approved = service_->DecideApproval(id, true, "ok", "bob");
  ASSERT_TRUE(approved.has_value()) << approved.error().ToString();
  EXPECT_FALSE(approved->pending);
  ASSERT_TRUE(approved->version.has_value());
  EXPECT_EQ(approved->version->version, 2);
  EXPECT_EQ(approved->approval->status, "approved");
  EXPECT_EQ(approved->approval->decided_by, "bob");
  EXPECT_EQ(service_->GetVersionByAlias("fraud", "champion")->version, 2);
  auto again = service_->DecideApproval(id, false, "", "carol");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kFailedPrecondition);

  // Stage: rejected, nothing changes.
  auto stage = service_->TransitionStage("fraud", 1, "Production", true, "alice");
  ASSERT_TRUE(stage.has_value());
  ASSERT_TRUE(stage->pending);
  EXPECT_EQ(stage->approval->target, "Production");
  EXPECT_TRUE(stage->approval->archive_existing);
  auto rejected = service_->DecideApproval(stage->approval->id, false, "no", "bob");
  ASSERT_TRUE(rejected.has_value()) << rejected.error().ToString();
  EXPECT_EQ(rejected->approval->status, "rejected");
  EXPECT_FALSE(rejected->version.has_value());
  EXPECT_EQ(service_->GetModelVersion("fraud", 1)->current_stage, "None");

  // Unprotected targets still change at once.
  EXPECT_FALSE(service_->TransitionStage("fraud", 1, "Staging", false, "alice")->pending);
  // A protected alias cannot be deleted around the approval.
  auto del = service_->DeleteAlias("fraud", "champion", "alice");
  ASSERT_FALSE(del.has_value());
  EXPECT_EQ(del.error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(RegistryServiceTest, RollbackUsesAliasHistory) {
  CreateModel("fraud");
  std::string run = MakeRun("a");
  LogModel(run);
  for (int i = 0; i < 3; ++i) CreateVersion("fraud", "runs:/" + run + "/model");
  ASSERT_TRUE(service_->SetAlias("fraud", "champion", 1, "alice"));
  auto none = service_->RollbackAlias("fraud", "champion", "alice");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), ErrorCode::kFailedPrecondition);

  clock_.Advance(10);
  ASSERT_TRUE(service_->SetAlias("fraud", "champion", 3, "alice"));
  clock_.Advance(10);
  ASSERT_TRUE(service_->SetAlias("fraud", "champion", 3, "alice"));  // same again
  auto back = service_->RollbackAlias("fraud", "champion", "bob");
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_FALSE(back->pending);
  EXPECT_EQ(back->version->version, 1);
  EXPECT_EQ(service_->GetVersionByAlias("fraud", "champion")->version, 1);
  // Rolling back again returns to the version held before: 3.
  EXPECT_EQ(service_->RollbackAlias("fraud", "champion", "bob")->version->version, 3);

  // A protected alias rolls back through an approval.
  ASSERT_TRUE(service_->SetProtectedTargets("fraud", {"champion"}, "alice"));
  auto pending = service_->RollbackAlias("fraud", "champion", "bob");
  ASSERT_TRUE(pending.has_value());
  EXPECT_TRUE(pending->pending);
  EXPECT_EQ(pending->approval->version, 1);
  EXPECT_EQ(service_->RollbackAlias("fraud", "nope", "bob").error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryServiceTest, Lineage) {
  CreateModel("fraud");
  CreateModel("other");
  std::string grandparent = MakeRun("1");
  std::string parent = MakeRun("2", {{"mlflow.parentRunId", grandparent}});
  std::string run = MakeRun("3", {{"mlflow.parentRunId", parent}});
  LogModel(run);
  CreateVersion("fraud", "runs:/" + run + "/model");
  CreateVersion("other", "runs:/" + run + "/model");
  CreateVersion("fraud", "s3://elsewhere/m");  // no run

  auto l = service_->GetLineage("fraud", 1);
  ASSERT_TRUE(l.has_value()) << l.error().ToString();
  ASSERT_TRUE(l->run.has_value());
  EXPECT_EQ(l->run->info.run_id, run);
  ASSERT_EQ(l->parent_runs.size(), 2u);
  EXPECT_EQ(l->parent_runs[0].info.run_id, parent);
  EXPECT_EQ(l->parent_runs[1].info.run_id, grandparent);
  ASSERT_EQ(l->siblings.size(), 1u);
  EXPECT_EQ(l->siblings[0].name, "other");

  auto none = service_->GetLineage("fraud", 2);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->run.has_value());
  EXPECT_TRUE(none->siblings.empty());
}

TEST_F(RegistryServiceTest, WebhookValidation) {
  CreateModel("fraud");
  store::Webhook w;
  w.url = "ftp://example.com/x";
  w.secret = "k";
  EXPECT_EQ(service_->CreateWebhook(w, "alice").error().code(), ErrorCode::kInvalidArgument);
  w.url = "https://example.com/x";
  w.events = {"alias.set", "nonsense"};
  auto bad_event = service_->CreateWebhook(w, "alice");
  ASSERT_FALSE(bad_event.has_value());
  EXPECT_NE(bad_event.error().message().find("nonsense"), std::string::npos);
  w.events = {"alias.set"};
  w.secret = "";
  EXPECT_EQ(service_->CreateWebhook(w, "alice").error().code(), ErrorCode::kInvalidArgument);
  w.secret = "k";
  w.model_name = "missing";
  EXPECT_EQ(service_->CreateWebhook(w, "alice").error().code(), ErrorCode::kNotFound);
  w.model_name = "fraud";
  auto ok = service_->CreateWebhook(w, "alice");
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(ok->secret, "");
  EXPECT_EQ(ok->events, std::vector<std::string>{"alias.set"});
  auto listed = service_->ListWebhooks("fraud");
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].secret, "");
  // The store keeps the secret for the dispatcher.
  EXPECT_EQ(store_->registry().GetWebhook(ok->id)->secret, "k");
  ASSERT_TRUE(service_->DeleteWebhook(ok->id, "alice").has_value());
  EXPECT_EQ(service_->ListDeliveries(ok->id, 10).error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryServiceTest, SearchWithFiltersAndPages) {
  for (std::string n : {"alpha", "beta", "gamma"}) CreateModel(n);
  ASSERT_TRUE(service_->SetRegisteredModelTag("beta", {"team", "risk"}, "alice"));
  SearchRequest r;
  r.filter = "tags.team = 'risk'";
  auto page = service_->SearchRegisteredModels(r);
  ASSERT_TRUE(page.has_value()) << page.error().ToString();
  ASSERT_EQ(page->models.size(), 1u);
  EXPECT_EQ(page->models[0].name, "beta");

  r.filter = "name LIKE '%a'";
  r.order_by = {"name DESC"};
  r.max_results = 1;
  page = service_->SearchRegisteredModels(r);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->models.size(), 1u);
  EXPECT_EQ(page->models[0].name, "gamma");
  ASSERT_FALSE(page->next_page_token.empty());
  r.page_token = page->next_page_token;
  page = service_->SearchRegisteredModels(r);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->models.size(), 1u);
  EXPECT_EQ(page->models[0].name, "beta");

  r = {};
  r.filter = "run_id = 'x'";
  auto bad = service_->SearchRegisteredModels(r);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(),
            "Invalid attribute key 'run_id' specified. Valid keys are '{'name'}'");

  std::string run = MakeRun("a");
  LogModel(run);
  CreateVersion("alpha", "runs:/" + run + "/model");
  CreateVersion("alpha", "runs:/" + run + "/model");
  CreateVersion("beta", "s3://x/y");
  SearchRequest vr;
  vr.filter = "run_id = '" + run + "' AND version_number >= 2";
  auto versions = service_->SearchModelVersions(vr);
  ASSERT_TRUE(versions.has_value()) << versions.error().ToString();
  ASSERT_EQ(versions->versions.size(), 1u);
  EXPECT_EQ(versions->versions[0].name, "alpha");
  EXPECT_EQ(versions->versions[0].version, 2);
  vr.filter = "source_path = 's3://x/y'";
  versions = service_->SearchModelVersions(vr);
  ASSERT_TRUE(versions.has_value());
  ASSERT_EQ(versions->versions.size(), 1u);
  EXPECT_EQ(versions->versions[0].name, "beta");
}

TEST_F(RegistryServiceTest, AuditRecordsActors) {
  CreateModel("fraud");
  ASSERT_TRUE(service_->UpdateRegisteredModel("fraud", "desc", "bob").has_value());
  store::AuditQuery q;
  q.model_name = "fraud";
  auto page = service_->SearchAudit(q);
  ASSERT_TRUE(page.has_value()) << page.error().ToString();
  ASSERT_GE(page->entries.size(), 2u);
  EXPECT_EQ(page->entries[0].actor, "bob");  // newest first
  EXPECT_EQ(page->entries[1].actor, "alice");
  q.max_results = 0;
  EXPECT_EQ(service_->SearchAudit(q).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->ListApprovals("", "maybe").error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn::registry

namespace cairn::registry {
namespace {

TEST(RegistryServiceRules, PromptsAreHiddenUnlessAskedAndOnlyActiveStagesArchive) {
  auto store = cairn::store::OpenMetadataStore("sqlite:///:memory:");
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->Migrate().has_value());
  FakeClock clock(1000);
  RegistryService service(**store, nullptr, "mlflow-artifacts:/", clock);
  ASSERT_TRUE(service.CreateRegisteredModel("plain", "", {}, "alice").has_value());
  ASSERT_TRUE(
      service.CreateRegisteredModel("greeting", "", {{"mlflow.prompt.is_prompt", "true"}}, "alice")
          .has_value());
  auto names = [&](const std::string& filter) {
    SearchRequest r;
    r.filter = filter;
    std::vector<std::string> out;
    auto page = service.SearchRegisteredModels(r);
    EXPECT_TRUE(page.has_value()) << page.error().ToString();
    if (page) {
      for (const auto& m : page->models) out.push_back(m.name);
    }
    return out;
  };
  EXPECT_EQ(names(""), std::vector<std::string>{"plain"});
  EXPECT_EQ(names("tags.`mlflow.prompt.is_prompt` = 'true'"), std::vector<std::string>{"greeting"});

  CreateVersionRequest v;
  v.name = "plain";
  v.source = "s3://bucket/model";
  ASSERT_TRUE(service.CreateModelVersion(v, "alice").has_value());
  auto archived = service.TransitionStage("plain", 1, "archived", true, "alice");
  ASSERT_FALSE(archived.has_value());
  EXPECT_EQ(archived.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(archived.error().message().find("is not an Active stage"), std::string::npos);
  EXPECT_TRUE(service.TransitionStage("plain", 1, "archived", false, "alice").has_value());
}

}  // namespace
}  // namespace cairn::registry
