#include "api/registry_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cairn::api {
namespace {

using nlohmann::json;

store::ModelVersion SampleVersion() {
  store::ModelVersion v;
  v.name = "fraud";
  v.version = 3;
  v.creation_time = 100;
  v.last_updated_time = 200;
  v.current_stage = "Production";
  v.description = "";
  v.source = "runs:/abc/model";
  v.run_id = "abc";
  v.status = "READY";
  v.tags = {{"k", "v"}};
  v.aliases = {"champion"};
  v.storage_location = "mlflow-artifacts:/_registry/fraud/3";
  v.signature_json = R"({"inputs": "[{\"type\": \"double\"}]", "outputs": null})";
  return v;
}

TEST(RegistryJsonTest, ModelVersionShapeIsMlflows) {
  store::ModelVersion v = SampleVersion();
  JsonWriter w;
  WriteModelVersion(w, v);
  EXPECT_EQ(w.str(),
            R"({"name":"fraud","version":"3","creation_timestamp":100,)"
            R"("last_updated_timestamp":200,"current_stage":"Production","description":"",)"
            R"("source":"runs:/abc/model","run_id":"abc","status":"READY",)"
            R"("tags":[{"key":"k","value":"v"}],"run_link":"","aliases":["champion"],)"
            R"("storage_location":"mlflow-artifacts:/_registry/fraud/3",)"
            R"("signature":{"inputs":"[{\"type\": \"double\"}]","outputs":null}})");
}

TEST(RegistryJsonTest, ModelVersionOptionalFields) {
  store::ModelVersion v = SampleVersion();
  v.user_id = "ann";
  v.status_message = "copied";
  v.model_id = "m-123";
  v.signature_json.clear();
  v.storage_location.clear();
  v.aliases.clear();
  v.tags.clear();
  JsonWriter w;
  WriteModelVersion(w, v);
  json j = json::parse(w.str());
  EXPECT_EQ(j["user_id"], "ann");
  EXPECT_EQ(j["status_message"], "copied");
  EXPECT_EQ(j["model_id"], "m-123");
  EXPECT_EQ(j["version"], "3");
  EXPECT_TRUE(j["creation_timestamp"].is_number_integer());
  EXPECT_EQ(j["aliases"], json::array());
  EXPECT_EQ(j["tags"], json::array());
  EXPECT_FALSE(j.contains("signature"));
  EXPECT_FALSE(j.contains("storage_location"));
}

TEST(RegistryJsonTest, ModelVersionWithoutOptionalFieldsOmitsThem) {
  store::ModelVersion v = SampleVersion();
  JsonWriter w;
  WriteModelVersion(w, v);
  json j = json::parse(w.str());
  EXPECT_FALSE(j.contains("user_id"));
  EXPECT_FALSE(j.contains("status_message"));
  EXPECT_FALSE(j.contains("model_id"));
}

TEST(RegistryJsonTest, MalformedSignatureIsKeptAsText) {
  store::ModelVersion v = SampleVersion();
  v.signature_json = "{not json";
  JsonWriter w;
  WriteModelVersion(w, v);
  json j = json::parse(w.str());
  EXPECT_EQ(j["signature"], "{not json");
}

TEST(RegistryJsonTest, RegisteredModelShape) {
  store::RegisteredModel m;
  m.name = "fraud";
  m.creation_time = 1;
  m.last_updated_time = 2;
  m.description = "detects fraud";
  m.tags = {{"team", "risk"}};
  m.aliases = {{"champion", 3}, {"shadow", 12}};
  m.protected_targets = {"Production", "champion"};
  JsonWriter w;
  WriteRegisteredModel(w, m);
  EXPECT_EQ(w.str(),
            R"({"name":"fraud","creation_timestamp":1,"last_updated_timestamp":2,)"
            R"("description":"detects fraud","tags":[{"key":"team","value":"risk"}],)"
            R"("aliases":[{"alias":"champion","version":"3"},{"alias":"shadow","version":"12"}],)"
            R"("protected_targets":["Production","champion"]})");
}

TEST(RegistryJsonTest, RegisteredModelEmptyDescriptionOmittedAndLatestVersions) {
  store::RegisteredModel m;
  m.name = "fraud";
  m.user_id = "bob";
  std::vector<store::ModelVersion> latest = {SampleVersion()};
  std::string body = RenderRegisteredModelResponse(m, &latest);
  json j = json::parse(body);
  ASSERT_TRUE(j.contains("registered_model"));
  const json& rm = j["registered_model"];
  EXPECT_FALSE(rm.contains("description"));
  EXPECT_EQ(rm["user_id"], "bob");
  ASSERT_EQ(rm["latest_versions"].size(), 1u);
  EXPECT_EQ(rm["latest_versions"][0]["version"], "3");
  EXPECT_EQ(rm["latest_versions"][0]["current_stage"], "Production");
  EXPECT_EQ(rm["aliases"], json::array());
  EXPECT_EQ(rm["protected_targets"], json::array());

  json without = json::parse(RenderRegisteredModelResponse(m));
  EXPECT_FALSE(without["registered_model"].contains("latest_versions"));
}

TEST(RegistryJsonTest, ModelVersionResponseWraps) {
  json j = json::parse(RenderModelVersionResponse(SampleVersion()));
  EXPECT_EQ(j["model_version"]["name"], "fraud");
  EXPECT_EQ(j.size(), 1u);
}

TEST(RegistryJsonTest, ModelVersionsResponseHasTokenOnlyWhenSet) {
  json last = json::parse(RenderModelVersionsResponse({SampleVersion()}));
  ASSERT_EQ(last["model_versions"].size(), 1u);
  EXPECT_EQ(last["model_versions"][0]["version"], "3");
  EXPECT_FALSE(last.contains("next_page_token"));
  json page = json::parse(RenderModelVersionsResponse({}, "tok"));
  EXPECT_EQ(page["model_versions"], json::array());
  EXPECT_EQ(page["next_page_token"], "tok");
}

TEST(RegistryJsonTest, AuditEntryEmbedsDocuments) {
  store::AuditEntry e;
  e.id = 9;
  e.time = 50;
  e.actor = "ann";
  e.action = "alias.set";
  e.entity_type = "alias";
  e.entity_id = "fraud@champion";
  e.model_name = "fraud";
  e.before = "";
  e.after = R"({"alias":"champion","version":3})";
  JsonWriter w;
  WriteAuditEntry(w, e);
  EXPECT_EQ(w.str(),
            R"({"id":9,"time":50,"actor":"ann","action":"alias.set","entity_type":"alias",)"
            R"("entity_id":"fraud@champion","model_name":"fraud","before":null,)"
            R"("after":{"alias":"champion","version":3}})");
}

TEST(RegistryJsonTest, ApprovalRequestShape) {
  store::ApprovalRequest a;
  a.id = 7;
  a.model_name = "fraud";
  a.kind = "stage";
  a.target = "Production";
  a.version = 4;
  a.archive_existing = true;
  a.requested_by = "ann";
  a.requested_at = 10;
  a.comment = "ship it";
  JsonWriter w;
  WriteApprovalRequest(w, a);
  EXPECT_EQ(w.str(),
            R"({"id":7,"model_name":"fraud","kind":"stage","target":"Production","version":"4",)"
            R"("archive_existing":true,"status":"pending","requested_by":"ann","requested_at":10,)"
            R"("comment":"ship it","decided_by":"","decided_at":0,"decision_comment":""})");
}

TEST(RegistryJsonTest, WebhookNeverShowsSecret) {
  store::Webhook h;
  h.id = 2;
  h.model_name = "fraud";
  h.url = "http://hooks.local/x";
  h.events = {"alias.set", "model_version.created"};
  h.secret = "s3cr3t-value";
  h.creation_time = 11;
  JsonWriter w;
  WriteWebhook(w, h);
  EXPECT_EQ(w.str().find("s3cr3t"), std::string::npos);
  EXPECT_EQ(w.str().find("secret"), std::string::npos);
  EXPECT_EQ(w.str(),
            R"({"id":2,"model_name":"fraud","url":"http://hooks.local/x",)"
            R"("events":["alias.set","model_version.created"],"active":true,"creation_time":11})");
}

TEST(RegistryJsonTest, DeliveryShape) {
  store::WebhookDelivery d;
  d.id = 5;
  d.webhook_id = 2;
  d.event = "alias.set";
  d.payload = R"({"model":"fraud"})";
  d.status = "failed";
  d.attempts = 8;
  d.next_attempt_at = 99;
  d.last_http_status = 503;
  d.last_error = "HTTP 503";
  d.created_at = 1;
  JsonWriter w;
  WriteWebhookDelivery(w, d);
  json j = json::parse(w.str());
  EXPECT_EQ(j["payload"]["model"], "fraud");
  EXPECT_EQ(j["attempts"], 8);
  EXPECT_EQ(j["last_http_status"], 503);
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["delivered_at"], 0);
  EXPECT_EQ(j["webhook_id"], 2);
}

TEST(RegistryJsonTest, LineageShape) {
  registry::Lineage l;
  l.version = SampleVersion();
  store::Run run;
  run.info.run_id = "abc";
  store::Run parent;
  parent.info.run_id = "parent1";
  l.run = run;
  l.parent_runs = {parent};
  store::ModelVersion sib = SampleVersion();
  sib.name = "fraud-lite";
  sib.version = 1;
  l.siblings = {sib};
  JsonWriter w;
  WriteLineage(w, l);
  json j = json::parse(w.str());
  EXPECT_EQ(j["model_version"]["version"], "3");
  EXPECT_EQ(j["run"]["info"]["run_id"], "abc");
  ASSERT_EQ(j["parent_runs"].size(), 1u);
  EXPECT_EQ(j["parent_runs"][0]["info"]["run_id"], "parent1");
  ASSERT_EQ(j["siblings"].size(), 1u);
  EXPECT_EQ(j["siblings"][0]["name"], "fraud-lite");

  l.run.reset();
  l.parent_runs.clear();
  JsonWriter w2;
  WriteLineage(w2, l);
  json j2 = json::parse(w2.str());
  EXPECT_FALSE(j2.contains("run"));
  EXPECT_EQ(j2["parent_runs"], json::array());
}

TEST(RegistryJsonTest, OutcomeApplied) {
  registry::MutationOutcome o;
  o.version = SampleVersion();
  json j = json::parse(RenderMutationOutcome(o));
  EXPECT_EQ(j["outcome"], "applied");
  EXPECT_EQ(j["model_version"]["version"], "3");
  EXPECT_FALSE(j.contains("approval"));
}

TEST(RegistryJsonTest, OutcomePendingAndRejected) {
  store::ApprovalRequest a;
  a.id = 7;
  a.model_name = "fraud";
  a.kind = "alias";
  a.target = "champion";
  a.version = 3;
  registry::MutationOutcome pending;
  pending.pending = true;
  pending.approval = a;
  json j = json::parse(RenderMutationOutcome(pending));
  EXPECT_EQ(j["outcome"], "pending");
  EXPECT_EQ(j["approval"]["id"], 7);
  EXPECT_FALSE(j.contains("model_version"));

  registry::MutationOutcome rejected;
  a.status = "rejected";
  rejected.approval = a;
  json r = json::parse(RenderMutationOutcome(rejected));
  EXPECT_EQ(r["outcome"], "rejected");
  EXPECT_EQ(r["approval"]["status"], "rejected");

  registry::MutationOutcome approved;
  a.status = "approved";
  approved.approval = a;
  approved.version = SampleVersion();
  json ap = json::parse(RenderMutationOutcome(approved));
  EXPECT_EQ(ap["outcome"], "applied");
  EXPECT_EQ(ap["approval"]["status"], "approved");
  EXPECT_EQ(ap["model_version"]["aliases"][0], "champion");
}

TEST(RegistryJsonTest, PendingApprovalMessages) {
  store::ApprovalRequest a;
  a.id = 7;
  a.model_name = "fraud";
  a.kind = "alias";
  a.target = "champion";
  a.version = 3;
  EXPECT_EQ(PendingApprovalMessage(a),
            "Setting alias 'champion' of registered model 'fraud' to version 3 requires "
            "approval: request 7 is pending (approve with `cairn models approvals approve 7`)");
  a.kind = "stage";
  a.target = "Production";
  a.id = 12;
  EXPECT_EQ(PendingApprovalMessage(a),
            "Moving version 3 of registered model 'fraud' to stage 'Production' requires "
            "approval: request 12 is pending (approve with `cairn models approvals approve 12`)");
}

}  // namespace
}  // namespace cairn::api
