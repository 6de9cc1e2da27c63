// RegistryClient and registry_json: the JSON mapping of MLflow's registry
// objects and of the native /api/v1 shapes, and the requests the client
// sends (method, URL, body), through a recording fake sender;
// then round trips against a live App (SQLite + a local artifact folder,
// 127.0.0.1:0) for the calls `cairn models` does not make.

#include "client/registry_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "client/registry_json.h"
#include "client/tracking_client.h"
#include "support/live_server.h"

namespace cairn::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ------------------------------------------------------------ JSON mapping

TEST(RegistryJsonTest, ParsesMlflowRegisteredModelWithLatestVersions) {
  json j = json::parse(R"({
    "name": "fraud", "creation_timestamp": "1700000000000", "last_updated_timestamp": 1700000000500,
    "user_id": "alice", "description": "catches fraud",
    "latest_versions": [{"name": "fraud", "version": "3", "current_stage": "Production",
                          "source": "runs:/abc/model", "run_id": "abc", "status": "READY"}],
    "tags": [{"key": "team", "value": "risk"}],
    "aliases": [{"alias": "champion", "version": "3"}],
    "protected_targets": ["Production", "champion"],
    "deployment_job_id": "ignored"
  })");
  auto d = ParseRegisteredModelDetails(j);
  ASSERT_TRUE(d) << d.error().ToString();
  EXPECT_EQ(d->model.name, "fraud");
  EXPECT_EQ(d->model.creation_time, 1700000000000);
  EXPECT_EQ(d->model.last_updated_time, 1700000000500);
  EXPECT_EQ(d->model.user_id, "alice");
  EXPECT_EQ(d->model.description, "catches fraud");
  EXPECT_EQ(d->model.tags, (std::vector<store::Tag>{{"team", "risk"}}));
  EXPECT_EQ(d->model.aliases, (std::vector<store::ModelAlias>{{"champion", 3}}));
  EXPECT_EQ(d->model.protected_targets, (std::vector<std::string>{"Production", "champion"}));
  ASSERT_EQ(d->latest_versions.size(), 1u);
  EXPECT_EQ(d->latest_versions[0].version, 3);
  EXPECT_EQ(d->latest_versions[0].current_stage, "Production");
  EXPECT_EQ(d->latest_versions[0].run_id, "abc");
}

TEST(RegistryJsonTest, ParsesModelVersionWithSignatureObjectAndStorageLocation) {
  json j = json::parse(R"({
    "name": "fraud", "version": "12", "creation_timestamp": 5, "last_updated_timestamp": 6,
    "user_id": "bob", "current_stage": "Staging", "description": "d", "source": "runs:/r1/model",
    "run_id": "r1", "status": "READY", "status_message": "", "run_link": "http://x",
    "tags": [{"key": "k", "value": "v"}], "aliases": ["challenger", "champion"],
    "model_id": "m-123", "storage_location": "mlflow-artifacts:/_registry/fraud/12",
    "signature": {"inputs": "[{\"type\": \"double\", \"name\": \"x\"}]", "outputs": null}
  })");
  auto v = ParseModelVersion(j);
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->version, 12);
  EXPECT_EQ(v->creation_time, 5);
  EXPECT_EQ(v->current_stage, "Staging");
  EXPECT_EQ(v->source, "runs:/r1/model");
  EXPECT_EQ(v->run_link, "http://x");
  EXPECT_EQ(v->model_id, "m-123");
  EXPECT_EQ(v->storage_location, "mlflow-artifacts:/_registry/fraud/12");
  EXPECT_EQ(v->aliases, (std::vector<std::string>{"challenger", "champion"}));
  EXPECT_EQ(v->tags, (std::vector<store::Tag>{{"k", "v"}}));
  // The signature object is kept as compact JSON text.
  EXPECT_EQ(json::parse(v->signature_json), j["signature"]);

  // A signature sent as a string is kept verbatim.
  j["signature"] = R"({"inputs": "[]"})";
  EXPECT_EQ(ParseModelVersion(j)->signature_json, R"({"inputs": "[]"})");
}

TEST(RegistryJsonTest, WrongTypesAreUnexpectedResponses) {
  auto bad_version = ParseModelVersion(json{{"version", "three"}});
  ASSERT_FALSE(bad_version);
  EXPECT_EQ(bad_version.error().code(), ErrorCode::kInternal);
  EXPECT_NE(bad_version.error().message().find("'version' is not an integer"), std::string::npos);
  EXPECT_FALSE(ParseRegisteredModel(json{{"aliases", "champion"}}));
  EXPECT_FALSE(ParseRegisteredModel(json::array()));
  EXPECT_FALSE(ParseApprovalRequest(json{{"archive_existing", 3}}));
  EXPECT_FALSE(ParseWebhook(json{{"events", json::array({1})}}));
}

TEST(RegistryJsonTest, ModelVersionAndRegisteredModelRoundTrip) {
  store::ModelVersion v;
  v.name = "fraud";
  v.version = 7;
  v.creation_time = 11;
  v.last_updated_time = 12;
  v.user_id = "carol";
  v.current_stage = "Production";
  v.source = "mlflow-artifacts:/1/abc/artifacts/model";
  v.run_id = "abc";
  v.storage_location = "mlflow-artifacts:/_registry/fraud/7";
  v.signature_json = R"({"inputs":"[]","outputs":"[]"})";
  v.tags = {{"a", "b"}};
  v.aliases = {"champion"};
  json vj = ModelVersionJson(v);
  EXPECT_EQ(vj["version"], "7");  // MLflow sends versions as strings
  EXPECT_TRUE(vj["signature"].is_object());
  auto back = ParseModelVersion(vj);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->version, 7);
  EXPECT_EQ(back->storage_location, v.storage_location);
  EXPECT_EQ(json::parse(back->signature_json), json::parse(v.signature_json));
  EXPECT_EQ(back->aliases, v.aliases);
  EXPECT_EQ(back->tags, v.tags);

  store::RegisteredModel m;
  m.name = "fraud";
  m.aliases = {{"champion", 7}};
  m.protected_targets = {"champion"};
  json mj = RegisteredModelJson(m, {v});
  EXPECT_EQ(mj["aliases"][0], (json{{"alias", "champion"}, {"version", "7"}}));
  EXPECT_EQ(mj["latest_versions"][0]["version"], "7");
  auto mback = ParseRegisteredModelDetails(mj);
  ASSERT_TRUE(mback);
  EXPECT_EQ(mback->model.aliases, m.aliases);
  EXPECT_EQ(mback->model.protected_targets, m.protected_targets);
  ASSERT_EQ(mback->latest_versions.size(), 1u);
  EXPECT_EQ(mback->latest_versions[0].version, 7);
}

TEST(RegistryJsonTest, ParsesNativeAuditApprovalWebhookDelivery) {
  auto e = ParseAuditEntry(json::parse(R"({
    "id": 41, "time": 1000, "actor": "alice", "action": "alias.set", "entity_type": "alias",
    "entity_id": "fraud@champion", "model_name": "fraud",
    "before": {"version": "2"}, "after": "{\"version\": \"3\"}"})"));
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_EQ(e->id, 41);
  EXPECT_EQ(e->action, "alias.set");
  EXPECT_EQ(e->entity_id, "fraud@champion");
  EXPECT_EQ(json::parse(e->before), (json{{"version", "2"}}));
  EXPECT_EQ(e->after, "{\"version\": \"3\"}");
  json ej = AuditEntryJson(*e);
  EXPECT_EQ(ej["after"], (json{{"version", "3"}}));  // embedded, not a string

  auto a = ParseApprovalRequest(json::parse(R"({
    "id": "9", "model_name": "fraud", "kind": "stage", "target": "Production", "version": "4",
    "archive_existing": true, "status": "pending", "requested_by": "bob", "requested_at": 77,
    "comment": "ship it"})"));
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ(a->id, 9);
  EXPECT_EQ(a->version, 4);
  EXPECT_TRUE(a->archive_existing);
  EXPECT_EQ(a->requested_by, "bob");
  EXPECT_EQ(a->comment, "ship it");
  auto a2 = ParseApprovalRequest(ApprovalRequestJson(*a));
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->target, "Production");
  EXPECT_EQ(a2->requested_at, 77);

  auto w = ParseWebhook(json::parse(
      R"({"id": 3, "model_name": "fraud", "url": "http://hook", "events": ["alias.set"],
          "active": true, "creation_time": 5})"));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->id, 3);
  EXPECT_EQ(w->events, (std::vector<std::string>{"alias.set"}));
  EXPECT_FALSE(WebhookJson(*w).contains("secret"));

  auto d = ParseWebhookDelivery(json::parse(
      R"({"id": 8, "webhook_id": 3, "event": "alias.set", "payload": {"model": "fraud"},
          "status": "failed", "attempts": 8, "last_http_status": 500, "last_error": "boom"})"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->attempts, 8);
  EXPECT_EQ(d->last_http_status, 500);
  EXPECT_EQ(json::parse(d->payload), (json{{"model", "fraud"}}));
}

TEST(RegistryJsonTest, ChangeOutcomeAppliedPendingAndInferred) {
  auto applied = ParseChangeOutcome(json::parse(
      R"({"outcome": "applied", "model_version": {"name": "fraud", "version": "3",
          "aliases": ["champion"]}})"));
  ASSERT_TRUE(applied);
  EXPECT_FALSE(applied->pending());
  ASSERT_TRUE(applied->model_version);
  EXPECT_EQ(applied->model_version->aliases, (std::vector<std::string>{"champion"}));

  auto pending = ParseChangeOutcome(json::parse(
      R"({"outcome": "pending", "approval": {"id": 5, "kind": "alias", "target": "champion",
          "version": 3, "status": "pending"}})"));
  ASSERT_TRUE(pending);
  EXPECT_TRUE(pending->pending());
  ASSERT_TRUE(pending->approval);
  EXPECT_EQ(pending->approval->id, 5);
  EXPECT_EQ(ChangeOutcomeJson(*pending)["approval"]["id"], 5);

  // No "outcome": inferred from what is present.
  EXPECT_EQ(ParseChangeOutcome(json{{"approval", {{"id", 1}, {"status", "rejected"}}}})->outcome,
            "rejected");
  EXPECT_FALSE(ParseChangeOutcome(json::object()));
}

TEST(RegistryJsonTest, LineageWithRunParentsAndSiblings) {
  json j = json::parse(R"({
    "model_version": {"name": "fraud", "version": "2", "run_id": "r2"},
    "run": {"info": {"run_id": "r2", "experiment_id": "1", "status": "FINISHED"},
            "data": {"params": [{"key": "lr", "value": "0.1"}]}},
    "parent_runs": [{"info": {"run_id": "p1", "experiment_id": "1"}}],
    "siblings": [{"name": "other", "version": "1", "run_id": "r2"}]})");
  auto l = ParseLineage(j);
  ASSERT_TRUE(l) << l.error().ToString();
  EXPECT_EQ(l->model_version.version, 2);
  ASSERT_TRUE(l->run);
  EXPECT_EQ(l->run->info.run_id, "r2");
  ASSERT_EQ(l->run->params.size(), 1u);
  EXPECT_EQ(l->run->params[0].value, "0.1");
  ASSERT_EQ(l->parent_runs.size(), 1u);
  EXPECT_EQ(l->parent_runs[0].info.run_id, "p1");
  ASSERT_EQ(l->siblings.size(), 1u);
  EXPECT_EQ(l->siblings[0].name, "other");
  json back = LineageJson(*l);
  EXPECT_EQ(back["run"]["info"]["run_id"], "r2");

  j["run"] = nullptr;
  auto no_run = ParseLineage(j);
  ASSERT_TRUE(no_run);
  EXPECT_FALSE(no_run->run);
  EXPECT_TRUE(LineageJson(*no_run)["run"].is_null());
  EXPECT_FALSE(ParseLineage(json{{"run", nullptr}}));
}

TEST(RegistryJsonTest, RunIdFromSource) {
  EXPECT_EQ(RunIdFromSource("runs:/abc123/model"), "abc123");
  EXPECT_EQ(RunIdFromSource("runs:/abc123"), "abc123");
  EXPECT_EQ(RunIdFromSource("mlflow-artifacts:/1/abc/artifacts/model"), "");
  EXPECT_EQ(RunIdFromSource("models:/m-1"), "");
}

// ----------------------------------------------------- requests (fake sender)

// Records every request and answers from a queue (default: {}).
struct FakeServer {
  std::vector<RegistryHttpRequest> requests;
  std::deque<Result<HttpResponse>> answers;

  void Answer(const json& j) { answers.push_back(HttpResponse{200, j.dump()}); }
  // An HTTP error as the server sends it: {"error_code", "message"}.
  void Fail(ErrorCode code, std::string message) {
    answers.push_back(HttpResponse{
        HttpStatusFor(code),
        json{{"error_code", std::string(MlflowErrorCodeFor(code))}, {"message", message}}.dump()});
  }
  void Raw(int status, std::string body) {
    answers.push_back(HttpResponse{status, std::move(body)});
  }
  RegistrySendFn Sender() {
    return [this](const RegistryHttpRequest& r) -> Result<HttpResponse> {
      requests.push_back(r);
      if (answers.empty()) return HttpResponse{200, "{}"};
      auto a = std::move(answers.front());
      answers.pop_front();
      return a;
    };
  }
  json Body(size_t i) const { return json::parse(requests.at(i).body); }
};

class RegistryClientTest : public testing::Test {
 protected:
  void SetUp() override {
    auto c =
        RegistryClient::CreateWithSender("http://cairn:5000/", {.user = "alice"}, server_.Sender());
    ASSERT_TRUE(c) << c.error().ToString();
    client_ = std::make_unique<RegistryClient>(std::move(*c));
  }

  FakeServer server_;
  std::unique_ptr<RegistryClient> client_;
};

TEST_F(RegistryClientTest, UserComesFromOptionsThenClientOptionsThenEnvironment) {
  // The header itself is the transport's (http_transport_test.cc); the live
  // tests below see the server record it as the actor.
  EXPECT_EQ(client_->tracking_uri(), "http://cairn:5000");
  EXPECT_EQ(client_->user(), "alice");
  server_.Answer(json{{"registered_model", {{"name", "fraud"}}}});
  ASSERT_TRUE(client_->GetRegisteredModel("fraud"));
  ASSERT_EQ(server_.requests.size(), 1u);
  EXPECT_EQ(server_.requests[0].url,
            "http://cairn:5000/api/2.0/mlflow/registered-models/get?name=fraud");

  unsetenv("CAIRN_USER");
  FakeServer s;
  auto none = RegistryClient::CreateWithSender("http://h:1", {}, s.Sender());
  ASSERT_TRUE(none);
  EXPECT_EQ(none->user(), "");
  auto from_client =
      RegistryClient::CreateWithSender("http://h:1", {.client = {.user = "carol"}}, s.Sender());
  ASSERT_TRUE(from_client);
  EXPECT_EQ(from_client->user(), "carol");
  auto both = RegistryClient::CreateWithSender(
      "http://h:1", {.client = {.user = "carol"}, .user = "dave"}, s.Sender());
  ASSERT_TRUE(both);
  EXPECT_EQ(both->user(), "dave");

  setenv("CAIRN_USER", "from-env", 1);
  auto env = RegistryClient::CreateWithSender("http://h:1", {}, s.Sender());
  unsetenv("CAIRN_USER");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->user(), "from-env");

  auto bad =
      RegistryClient::CreateWithSender("http://h:1", {.user = "eve\r\nX-Admin: 1"}, s.Sender());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(RegistryClient::Create("ftp://h:1"));
}

TEST_F(RegistryClientTest, MlflowEndpointsMethodsAndFields) {
  server_.Answer(json{{"registered_model", {{"name", "fraud"}}}});
  ASSERT_TRUE(client_->CreateRegisteredModel("fraud", "desc", {{"team", "risk"}}));
  server_.Answer(json{{"model_version", {{"name", "fraud"}, {"version", "1"}}}});
  ASSERT_TRUE(client_->GetModelVersion("fraud", 1));
  server_.Answer(json{{"artifact_uri", "mlflow-artifacts:/_registry/fraud/1"}});
  auto uri = client_->GetModelVersionDownloadUri("fraud", 1);
  ASSERT_TRUE(uri);
  EXPECT_EQ(*uri, "mlflow-artifacts:/_registry/fraud/1");
  server_.Answer(json{{"model_version", {{"name", "fraud"}, {"version", "1"}}}});
  ASSERT_TRUE(client_->GetModelVersionByAlias("fraud", "champion"));
  ASSERT_TRUE(client_->DeleteAlias("fraud", "champion"));
  ASSERT_TRUE(client_->GetLatestVersions("fraud", {"Production"}));
  ASSERT_TRUE(client_->SetModelVersionTag("fraud", 1, "k", "v"));

  const auto& r = server_.requests;
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].method, "POST");
  EXPECT_EQ(r[0].url, "http://cairn:5000/api/2.0/mlflow/registered-models/create");
  EXPECT_EQ(server_.Body(0), (json{{"name", "fraud"},
                                   {"description", "desc"},
                                   {"tags", {{{"key", "team"}, {"value", "risk"}}}}}));
  EXPECT_EQ(r[1].method, "GET");
  EXPECT_EQ(r[1].url, "http://cairn:5000/api/2.0/mlflow/model-versions/get?name=fraud&version=1");
  EXPECT_EQ(
      r[2].url,
      "http://cairn:5000/api/2.0/mlflow/model-versions/get-download-uri?name=fraud&version=1");
  EXPECT_EQ(r[3].url,
            "http://cairn:5000/api/2.0/mlflow/registered-models/alias?name=fraud&alias=champion");
  EXPECT_EQ(r[4].method, "DELETE");
  EXPECT_EQ(r[4].url, "http://cairn:5000/api/2.0/mlflow/registered-models/alias");
  EXPECT_EQ(server_.Body(4), (json{{"name", "fraud"}, {"alias", "champion"}}));
  EXPECT_EQ(r[5].method, "POST");
  EXPECT_EQ(r[5].url, "http://cairn:5000/api/2.0/mlflow/registered-models/get-latest-versions");
  EXPECT_EQ(server_.Body(5), (json{{"name", "fraud"}, {"stages", {"Production"}}}));
  EXPECT_EQ(server_.Body(6),
            (json{{"name", "fraud"}, {"version", "1"}, {"key", "k"}, {"value", "v"}}));
}

TEST_F(RegistryClientTest, SearchSendsQueryAndFollowsPagesUpToTheLimit) {
  server_.Answer(
      json{{"registered_models", {{{"name", "a"}}, {{"name", "b"}}}}, {"next_page_token", "t1"}});
  server_.Answer(json{{"registered_models", {{{"name", "c"}}}}, {"next_page_token", "t2"}});
  auto all = client_->SearchAllRegisteredModels(
      {.filter = "name LIKE 'f%'", .order_by = {"name ASC"}, .max_results = 2}, 3);
  ASSERT_TRUE(all) << all.error().ToString();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].model.name, "c");
  ASSERT_EQ(server_.requests.size(), 2u);  // stops at the limit despite "t2"
  EXPECT_EQ(server_.requests[0].url,
            "http://cairn:5000/api/2.0/mlflow/registered-models/search?"
            "filter=name%20LIKE%20%27f%25%27&max_results=2&order_by=name%20ASC");
  EXPECT_EQ(server_.requests[1].url,
            "http://cairn:5000/api/2.0/mlflow/registered-models/search?"
            "filter=name%20LIKE%20%27f%25%27&max_results=1&order_by=name%20ASC&page_token=t1");

  server_.requests.clear();
  server_.Answer(json{{"model_versions", {{{"name", "a"}, {"version", "2"}}}}});
  auto versions = client_->SearchAllModelVersions({.filter = "name='a'"});
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].version, 2);
  EXPECT_EQ(server_.requests[0].url,
            "http://cairn:5000/api/2.0/mlflow/model-versions/search?filter=name%3D%27a%27");
}

TEST_F(RegistryClientTest, RegisterModelCreatesTheModelOnlyWhenMissing) {
  // First registration: the model is created, then the version.
  server_.Answer(json{{"registered_model", {{"name", "fraud"}}}});
  server_.Answer(json{{"model_version", {{"name", "fraud"}, {"version", "1"}}}});
  auto first =
      client_->RegisterModel({.source = "runs:/r1/model", .name = "fraud", .tags = {{"k", "v"}}});
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_TRUE(first->created_registered_model);
  EXPECT_EQ(first->version.version, 1);
  EXPECT_EQ(server_.requests[1].url, "http://cairn:5000/api/2.0/mlflow/model-versions/create");
  EXPECT_EQ(server_.Body(1), (json{{"name", "fraud"},
                                   {"source", "runs:/r1/model"},
                                   {"run_id", "r1"},  // taken from the source
                                   {"tags", {{{"key", "k"}, {"value", "v"}}}}}));

  // Second: the model exists (RESOURCE_ALREADY_EXISTS is not an error).
  server_.requests.clear();
  server_.Fail(ErrorCode::kAlreadyExists, "Registered Model (name=fraud) already exists.");
  server_.Answer(json{{"model_version", {{"name", "fraud"}, {"version", "2"}}}});
  auto second = client_->RegisterModel(
      {.source = "mlflow-artifacts:/x/model", .name = "fraud", .run_id = "r9"});
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_FALSE(second->created_registered_model);
  EXPECT_EQ(second->version.version, 2);
  EXPECT_EQ(server_.Body(1)["run_id"], "r9");

  // Any other failure stops before the version.
  server_.requests.clear();
  server_.Fail(ErrorCode::kInvalidArgument, "bad name");
  auto bad = client_->RegisterModel({.source = "s", .name = "x"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "bad name");
  EXPECT_EQ(server_.requests.size(), 1u);
}

TEST_F(RegistryClientTest, NativeChangesReturnOutcomes) {
  server_.Answer(json{{"outcome", "pending"},
                      {"approval", {{"id", 12}, {"target", "champion"}, {"version", "3"}}}});
  auto alias = client_->SetAlias("fraud model", "champion", 3, "why");
  ASSERT_TRUE(alias) << alias.error().ToString();
  EXPECT_TRUE(alias->pending());
  EXPECT_EQ(alias->approval->id, 12);
  EXPECT_EQ(server_.requests[0].method, "POST");
  EXPECT_EQ(server_.requests[0].url,
            "http://cairn:5000/api/v1/models/fraud%20model/aliases/champion");
  EXPECT_EQ(server_.Body(0), (json{{"version", "3"}, {"comment", "why"}}));

  server_.Answer(json{
      {"outcome", "applied"},
      {"model_version", {{"name", "fraud"}, {"version", "3"}, {"current_stage", "Production"}}}});
  auto stage = client_->TransitionStage("fraud", 3, "Production", true);
  ASSERT_TRUE(stage);
  EXPECT_FALSE(stage->pending());
  EXPECT_EQ(stage->model_version->current_stage, "Production");
  EXPECT_EQ(server_.requests[1].url, "http://cairn:5000/api/v1/models/fraud/versions/3/stage");
  EXPECT_EQ(server_.Body(1),
            (json{{"stage", "Production"}, {"archive_existing_versions", true}, {"comment", ""}}));

  server_.Answer(json{{"outcome", "applied"}, {"model_version", {{"version", "2"}}}});
  auto rollback = client_->RollbackAlias("a/b", "champion");
  ASSERT_TRUE(rollback);
  EXPECT_EQ(rollback->model_version->version, 2);
  EXPECT_EQ(server_.requests[2].url,
            "http://cairn:5000/api/v1/models/a%2Fb/aliases/champion/rollback");

  server_.Answer(json{{"registered_model",
                       {{"name", "fraud"}, {"protected_targets", {"Production", "champion"}}}}});
  auto prot = client_->SetProtectedTargets("fraud", {"champion", "Production"});
  ASSERT_TRUE(prot);
  EXPECT_EQ(prot->protected_targets, (std::vector<std::string>{"Production", "champion"}));
  EXPECT_EQ(server_.requests[3].method, "PUT");
  EXPECT_EQ(server_.requests[3].url, "http://cairn:5000/api/v1/models/fraud/protected-targets");
  EXPECT_EQ(server_.Body(3), (json{{"targets", {"champion", "Production"}}}));
}

TEST_F(RegistryClientTest, ApprovalsAuditWebhooksLineageUrls) {
  server_.Answer(json{{"approvals", {{{"id", 1}, {"status", "pending"}}}}});
  auto approvals = client_->ListApprovals("fraud");
  ASSERT_TRUE(approvals);
  ASSERT_EQ(approvals->size(), 1u);
  EXPECT_EQ(server_.requests[0].url,
            "http://cairn:5000/api/v1/approvals?model=fraud&status=pending");

  server_.Answer(json{{"outcome", "rejected"}, {"approval", {{"id", 1}, {"status", "rejected"}}}});
  auto rejected = client_->DecideApproval(1, false, "not yet");
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->outcome, "rejected");
  EXPECT_EQ(server_.requests[1].url, "http://cairn:5000/api/v1/approvals/1/reject");
  EXPECT_EQ(server_.Body(1), (json{{"comment", "not yet"}}));

  server_.Answer(
      json{{"entries", {{{"id", 2}, {"action", "alias.set"}}}}, {"next_page_token", "p2"}});
  auto audit = client_->SearchAudit(
      {.model = "fraud", .actor = "bob", .since = 10, .until = 20, .max_results = 5});
  ASSERT_TRUE(audit);
  EXPECT_EQ(audit->next_page_token, "p2");
  ASSERT_EQ(audit->entries.size(), 1u);
  EXPECT_EQ(audit->entries[0].action, "alias.set");
  EXPECT_EQ(
      server_.requests[2].url,
      "http://cairn:5000/api/v1/models/fraud/audit?actor=bob&since=10&until=20&max_results=5");

  server_.Answer(json{{"webhook", {{"id", 4}, {"url", "http://hook"}, {"model_name", "fraud"}}}});
  auto hook = client_->CreateWebhook(
      {.model = "fraud", .url = "http://hook", .events = {"alias.set"}, .secret = "s3"});
  ASSERT_TRUE(hook);
  EXPECT_EQ(hook->id, 4);
  EXPECT_EQ(server_.Body(3), (json{{"model", "fraud"},
                                   {"url", "http://hook"},
                                   {"events", {"alias.set"}},
                                   {"secret", "s3"}}));
  server_.Answer(json{{"deliveries", {{{"id", 1}, {"webhook_id", 4}, {"status", "delivered"}}}}});
  auto deliveries = client_->ListDeliveries(4, 10);
  ASSERT_TRUE(deliveries);
  EXPECT_EQ((*deliveries)[0].status, "delivered");
  EXPECT_EQ(server_.requests[4].url,
            "http://cairn:5000/api/v1/webhooks/4/deliveries?max_results=10");
  ASSERT_TRUE(client_->DeleteWebhook(4));
  EXPECT_EQ(server_.requests[5].method, "DELETE");
  EXPECT_EQ(server_.requests[5].url, "http://cairn:5000/api/v1/webhooks/4");

  server_.Answer(json{{"model_version", {{"name", "fraud"}, {"version", "3"}}}});
  ASSERT_TRUE(client_->GetLineage("fraud", 3));
  EXPECT_EQ(server_.requests[6].url, "http://cairn:5000/api/v1/models/fraud/versions/3/lineage");
}

TEST_F(RegistryClientTest, ServerErrorsPassThroughVerbatim) {
  server_.Fail(ErrorCode::kNotFound, "Registered Model with name=nope not found");
  auto r = client_->GetRegisteredModel("nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message(), "Registered Model with name=nope not found");

  server_.answers.push_back(HttpResponse{200, "not json"});
  auto garbage = client_->GetModelVersion("x", 1);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code(), ErrorCode::kInternal);

  server_.Answer(json::object());  // no "registered_model"
  auto missing = client_->GetRegisteredModel("x");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("no registered_model"), std::string::npos);
}

TEST_F(RegistryClientTest, DownloadsALocalLocationRecursively) {
  fs::path root = fs::temp_directory_path() / ("cairn-reg-dl-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "src/data");
  std::ofstream(root / "src/MLmodel") << "flavors: {}\n";
  std::ofstream(root / "src/data/model.bin") << "weights";
  server_.Answer(json{{"artifact_uri", "file://" + (root / "src").string()}});
  auto local = client_->DownloadModelVersion("fraud", 1, (root / "dst").string());
  ASSERT_TRUE(local) << local.error().ToString();
  EXPECT_EQ(*local, (root / "dst").string());
  std::ifstream in(root / "dst/data/model.bin");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "weights");
  EXPECT_TRUE(fs::exists(root / "dst/MLmodel"));

  auto missing = client_->DownloadArtifactUri("file://" + (root / "nothing").string(),
                                              (root / "dst2").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  fs::remove_all(root);
}

TEST_F(RegistryClientTest, StockMlflowServerFallsBackForAliasesAndStages) {
  const std::string html = "<!doctype html><title>404 Not Found</title>";
  // set-alias: /api/v1 is missing -> MLflow's POST registered-models/alias,
  // then the version is read back.
  server_.Raw(404, html);
  server_.Answer(json::object());
  server_.Answer(
      json{{"model_version", {{"name", "fraud"}, {"version", "3"}, {"aliases", {"champion"}}}}});
  auto alias = client_->SetAlias("fraud", "champion", 3);
  ASSERT_TRUE(alias) << alias.error().ToString();
  EXPECT_EQ(alias->outcome, "applied");
  EXPECT_EQ(alias->model_version->aliases, (std::vector<std::string>{"champion"}));
  ASSERT_EQ(server_.requests.size(), 3u);
  EXPECT_EQ(server_.requests[1].method, "POST");
  EXPECT_EQ(server_.requests[1].url, "http://cairn:5000/api/2.0/mlflow/registered-models/alias");
  EXPECT_EQ(server_.Body(1), (json{{"name", "fraud"}, {"alias", "champion"}, {"version", "3"}}));

  // transition: Cairn's ENDPOINT_NOT_FOUND counts as missing too.
  server_.requests.clear();
  server_.Fail(ErrorCode::kEndpointNotFound, "No endpoint");
  server_.Answer(json{{"model_version", {{"version", "3"}, {"current_stage", "Staging"}}}});
  auto stage = client_->TransitionStage("fraud", 3, "Staging", false);
  ASSERT_TRUE(stage) << stage.error().ToString();
  EXPECT_EQ(stage->model_version->current_stage, "Staging");
  EXPECT_EQ(server_.requests[1].url,
            "http://cairn:5000/api/2.0/mlflow/model-versions/transition-stage");
  EXPECT_EQ(server_.Body(1), (json{{"name", "fraud"},
                                   {"version", "3"},
                                   {"stage", "Staging"},
                                   {"archive_existing_versions", false}}));

  // A model Cairn does not know is an error, not a fallback.
  server_.requests.clear();
  server_.Fail(ErrorCode::kNotFound, "Registered Model with name=nope not found");
  auto unknown = client_->SetAlias("nope", "champion", 1);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(server_.requests.size(), 1u);

  // Native-only features say what they need.
  server_.Raw(404, html);
  auto rollback = client_->RollbackAlias("fraud", "champion");
  ASSERT_FALSE(rollback);
  EXPECT_EQ(rollback.error().code(), ErrorCode::kUnimplemented);
  EXPECT_NE(rollback.error().message().find("rollback needs a `cairn server`"), std::string::npos)
      << rollback.error().message();
}

TEST_F(RegistryClientTest, NonJsonErrorBodiesNameTheStatusAndUrl) {
  server_.Raw(502, "Bad Gateway");
  auto r = client_->GetRegisteredModel("x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "HTTP 502 from GET http://cairn:5000/api/2.0/mlflow/registered-models/get?name=x: "
            "Bad Gateway");
}

TEST_F(RegistryClientTest, DownloadResolvesRunsUrisThroughTheRun) {
  fs::path root = fs::temp_directory_path() / ("cairn-reg-runs-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "artifacts/model");
  std::ofstream(root / "artifacts/model/MLmodel") << "flavors: {}\n";
  // What a stock MLflow server answers for a runs:/ source.
  server_.Answer(json{{"artifact_uri", "runs:/r1/model"}});
  server_.Answer(
      json{{"run",
            {{"info",
              {{"run_id", "r1"}, {"artifact_uri", "file://" + (root / "artifacts").string()}}}}}});
  auto local = client_->DownloadModelVersion("fraud", 1, (root / "dst").string());
  ASSERT_TRUE(local) << local.error().ToString();
  EXPECT_TRUE(fs::exists(root / "dst/MLmodel"));
  EXPECT_EQ(server_.requests[1].url, "http://cairn:5000/api/2.0/mlflow/runs/get?run_id=r1");

  // models:/<model_id>: the logged model's artifact_uri.
  server_.requests.clear();
  server_.Answer(json{{"artifact_uri", "models:/m-42"}});
  server_.Answer(json{{"model",
                       {{"info",
                         {{"model_id", "m-42"},
                          {"artifact_uri", "file://" + (root / "artifacts/model").string()}}}}}});
  auto logged = client_->DownloadModelVersion("fraud", 2, (root / "dst2").string());
  ASSERT_TRUE(logged) << logged.error().ToString();
  EXPECT_TRUE(fs::exists(root / "dst2/MLmodel"));
  EXPECT_EQ(server_.requests[1].url, "http://cairn:5000/api/2.0/mlflow/logged-models/m-42");
  fs::remove_all(root);
}

// ------------------------------------------------------------- live server

class RegistryClientLiveTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = test::LiveServer::Start("cairn-registry-client");
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static RegistryClient Client(const std::string& user) {
    auto c = RegistryClient::Create(server_->uri(), {.user = user});
    EXPECT_TRUE(c) << c.error().ToString();
    return std::move(*c);
  }

  // A run whose artifacts hold model/MLmodel and model/data/w (= `weights`).
  static std::string ModelRun(const std::string& weights) {
    auto tc = TrackingClient::Create(server_->uri());
    EXPECT_TRUE(tc);
    auto run = tc->CreateRun({});
    EXPECT_TRUE(run) << run.error().ToString();
    fs::path src = fs::path(server_->dir()) / ("src-" + run->info.run_id);
    fs::create_directories(src / "data");
    std::ofstream(src / "MLmodel") << "flavors:\n  python_function:\n    loader_module: m\n";
    std::ofstream(src / "data/w") << weights;
    auto n = tc->LogArtifacts(run->info.run_id, src.string(), "model");
    EXPECT_TRUE(n) << n.error().ToString();
    return run->info.run_id;
  }

  static inline test::LiveServer* server_ = nullptr;
};

TEST_F(RegistryClientLiveTest, ModelAndVersionLifecycle) {
  RegistryClient c = Client("carol");
  auto m = c.CreateRegisteredModel("live-m", "first model", {{"team", "risk"}});
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->name, "live-m");
  EXPECT_EQ(m->user_id, "carol");
  auto dup = c.CreateRegisteredModel("live-m");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);

  ASSERT_TRUE(c.SetRegisteredModelTag("live-m", "stage", "beta"));
  ASSERT_TRUE(c.DeleteRegisteredModelTag("live-m", "team"));
  auto got = c.GetRegisteredModel("live-m");
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->model.description, "first model");
  EXPECT_EQ(got->model.tags, (std::vector<store::Tag>{{"stage", "beta"}}));

  std::string run1 = ModelRun("one"), run2 = ModelRun("two");
  auto v1 = c.CreateModelVersion({.name = "live-m",
                                  .source = "runs:/" + run1 + "/model",
                                  .run_id = run1,
                                  .description = "v1"});
  ASSERT_TRUE(v1) << v1.error().ToString();
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v1->description, "v1");
  auto v2 = c.RegisterModel({.source = "runs:/" + run2 + "/model", .name = "live-m"});
  ASSERT_TRUE(v2) << v2.error().ToString();
  EXPECT_FALSE(v2->created_registered_model);
  EXPECT_EQ(v2->version.version, 2);
  EXPECT_EQ(v2->version.run_id, run2);
  ASSERT_TRUE(c.SetModelVersionTag("live-m", 2, "validated", "yes"));
  EXPECT_EQ(c.GetModelVersion("live-m", 2)->tags, (std::vector<store::Tag>{{"validated", "yes"}}));

  auto latest = c.GetLatestVersions("live-m");
  ASSERT_TRUE(latest) << latest.error().ToString();
  ASSERT_EQ(latest->size(), 1u);  // one per stage: "None" holds 1 and 2
  EXPECT_EQ((*latest)[0].version, 2);

  // Paging: one per page, followed to the end and up to a limit.
  auto page = c.SearchModelVersions({.filter = "name='live-m'", .max_results = 1});
  ASSERT_TRUE(page) << page.error().ToString();
  EXPECT_EQ(page->versions.size(), 1u);
  EXPECT_FALSE(page->next_page_token.empty());
  auto all = c.SearchAllModelVersions({.filter = "name='live-m'", .max_results = 1});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ(c.SearchAllModelVersions({.filter = "name='live-m'"}, 1)->size(), 1u);

  // The registry's copy outlives nothing of the run: download by version.
  auto uri = c.GetModelVersionDownloadUri("live-m", 1);
  ASSERT_TRUE(uri) << uri.error().ToString();
  EXPECT_EQ(*uri, "mlflow-artifacts:/_registry/live-m/1");
  fs::path dst = fs::path(server_->dir()) / "dl";
  auto local = c.DownloadModelVersion("live-m", 1, dst.string());
  ASSERT_TRUE(local) << local.error().ToString();
  std::ifstream in(dst / "data/w");
  std::string weights((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(weights, "one");

  // The global audit log names carol for the model's creation.
  auto audit = c.SearchAudit({.entity_type = "registered_model", .entity_id = "live-m"});
  ASSERT_TRUE(audit) << audit.error().ToString();
  ASSERT_FALSE(audit->entries.empty());
  EXPECT_EQ(audit->entries.back().action, "registered_model.create");
  EXPECT_EQ(audit->entries.back().actor, "carol");

  ASSERT_TRUE(c.DeleteModelVersion("live-m", 1));
  auto deleted = c.GetModelVersion("live-m", 1);
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(c.DeleteRegisteredModel("live-m"));
  auto gone = c.GetRegisteredModel("live-m");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(gone.error().message().find("live-m"), std::string::npos) << gone.error().message();
}

TEST_F(RegistryClientLiveTest, UnreachableServerIsUnavailable) {
  auto c = RegistryClient::Create("http://127.0.0.1:1");
  ASSERT_TRUE(c);
  auto r = c->GetRegisteredModel("x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("cannot reach the tracking server at http://127.0.0.1:1"),
            std::string::npos);
}

}  // namespace
}  // namespace cairn::client
