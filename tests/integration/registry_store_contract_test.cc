// The registry store contract (store/registry_store.h): one suite, run
// against every backend (see store_fixture.h: a fresh SQLite file or
// PostgreSQL schema per test; PostgreSQL from $CAIRN_TEST_POSTGRES_URI,
// required with CAIRN_REQUIRE_POSTGRES=1).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "core/ids.h"
#include "store/metadata_store.h"
#include "store/registry_store.h"
#include "store_fixture.h"

// Designated initializers name the fields a test sets; the rest keep their
// defaults on purpose (g++ 12 warns about them under -Wextra).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace cairn::store {
namespace {

Actor By(std::string user, int64_t time) { return Actor{std::move(user), time}; }

Event Ev(std::string name, std::string payload = "{}") {
  return Event{std::move(name), std::move(payload)};
}

RegistryComparison Cmp(RegistryComparison::Field f, RegistryComparison::Op op,
                       std::vector<std::string> values, std::string key = "") {
  RegistryComparison c;
  c.field = f;
  c.op = op;
  c.values = std::move(values);
  c.key = std::move(key);
  return c;
}

using F = RegistryComparison::Field;
using Op = RegistryComparison::Op;

class RegistryStoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_.Create(GetParam());
    if (HasFatalFailure() || IsSkipped()) return;
    auto s = OpenMetadataStore(db_.uri);
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
    auto v = store_->Migrate();
    ASSERT_TRUE(v) << v.error().ToString();
    ASSERT_GE(*v, 2);
  }
  void TearDown() override {
    store_.reset();
    db_.Drop();
  }

  RegistryStore& reg() { return store_->registry(); }

  void NewModel(const std::string& name, int64_t time = 1000, std::vector<Tag> tags = {}) {
    RegisteredModel m;
    m.name = name;
    m.description = "about " + name;
    m.tags = std::move(tags);
    auto r = reg().CreateRegisteredModel(m, By("alice", time));
    ASSERT_TRUE(r) << r.error().ToString();
  }

  int64_t NewVersion(const std::string& name, int64_t time = 2000, std::string run_id = "",
                     std::vector<Tag> tags = {}, const Event& ev = {}) {
    NewModelVersion v;
    v.name = name;
    v.source = "runs:/" + (run_id.empty() ? std::string("r") : run_id) + "/model";
    v.run_id = std::move(run_id);
    v.tags = std::move(tags);
    auto r = reg().CreateModelVersion(v, By("bob", time), ev);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? r->version : -1;
  }

  std::vector<AuditEntry> Audit(AuditQuery q = {}) {
    q.max_results = 0;
    auto page = reg().SearchAudit(q);
    EXPECT_TRUE(page) << page.error().ToString();
    return page ? page->entries : std::vector<AuditEntry>{};
  }

  std::vector<std::string> ModelNames(RegistryQuery q) {
    auto page = reg().SearchRegisteredModels(q);
    EXPECT_TRUE(page) << page.error().ToString();
    std::vector<std::string> out;
    if (page) {
      for (const RegisteredModel& m : page->models) out.push_back(m.name);
    }
    return out;
  }

  // "name/version" of each result.
  std::vector<std::string> VersionKeys(RegistryQuery q) {
    auto page = reg().SearchModelVersions(q);
    EXPECT_TRUE(page) << page.error().ToString();
    std::vector<std::string> out;
    if (page) {
      for (const ModelVersion& v : page->versions) {
        out.push_back(v.name + "/" + std::to_string(v.version));
      }
    }
    return out;
  }

  std::vector<WebhookDelivery> Deliveries(int64_t webhook) {
    auto d = reg().ListDeliveries(webhook, 0);
    EXPECT_TRUE(d) << d.error().ToString();
    return d ? *d : std::vector<WebhookDelivery>{};
  }

  test_db::FreshDatabase db_;
  std::unique_ptr<MetadataStore> store_;
};

RegistryQuery Q(std::vector<RegistryComparison> filter = {},
                std::vector<RegistryOrderBy> order = {}, int64_t max_results = 100,
                int64_t offset = 0) {
  RegistryQuery q;
  q.filter = std::move(filter);
  q.order_by = std::move(order);
  q.max_results = max_results;
  q.offset = offset;
  return q;
}

// ------------------------------------------------------- registered models

TEST_P(RegistryStoreContractTest, CreateAndGetRegisteredModel) {
  RegisteredModel m;
  m.name = "fraud";
  m.description = "catches fraud";
  m.tags = {{"team", "risk"}, {"domain", "payments"}};
  m.protected_targets = {"champion", "Production"};
  auto created = reg().CreateRegisteredModel(m, By("alice", 1234));
  ASSERT_TRUE(created) << created.error().ToString();
  EXPECT_EQ(created->name, "fraud");
  EXPECT_EQ(created->creation_time, 1234);
  EXPECT_EQ(created->last_updated_time, 1234);
  EXPECT_EQ(created->user_id, "alice");

  auto got = reg().GetRegisteredModel("fraud");
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->description, "catches fraud");
  EXPECT_EQ(got->tags, (std::vector<Tag>{{"domain", "payments"}, {"team", "risk"}}));
  EXPECT_EQ(got->protected_targets, (std::vector<std::string>{"Production", "champion"}));
  EXPECT_TRUE(got->aliases.empty());

  auto again = reg().CreateRegisteredModel(m, By("alice", 1300));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.error().message(), "Registered Model (name=fraud) already exists.");

  auto missing = reg().GetRegisteredModel("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "Registered Model with name=nope not found");

  auto audit = Audit();
  ASSERT_EQ(audit.size(), 1u);  // the failed create left nothing
  EXPECT_EQ(audit[0].action, "registered_model.create");
  EXPECT_EQ(audit[0].entity_type, "registered_model");
  EXPECT_EQ(audit[0].entity_id, "fraud");
  EXPECT_EQ(audit[0].model_name, "fraud");
  EXPECT_EQ(audit[0].actor, "alice");
  EXPECT_EQ(audit[0].time, 1234);
  EXPECT_EQ(audit[0].before, "");
  EXPECT_NE(audit[0].after.find("\"name\":\"fraud\""), std::string::npos) << audit[0].after;
  EXPECT_NE(audit[0].after.find("\"key\":\"team\",\"value\":\"risk\""), std::string::npos)
      << audit[0].after;
}

TEST_P(RegistryStoreContractTest, UpdateTagsAndProtectedTargetsAreAudited) {
  NewModel("fraud");
  auto up = reg().UpdateRegisteredModel("fraud", "v2 text", By("carol", 5000));
  ASSERT_TRUE(up) << up.error().ToString();
  EXPECT_EQ(up->description, "v2 text");
  EXPECT_EQ(up->last_updated_time, 5000);
  ASSERT_TRUE(reg().SetRegisteredModelTag("fraud", {"k", "v1"}, By("carol", 5001)));
  ASSERT_TRUE(reg().SetRegisteredModelTag("fraud", {"k", "v2"}, By("carol", 5002)));
  ASSERT_TRUE(reg().SetProtectedTargets("fraud", {"Production", "champion", "champion"},
                                        By("carol", 5003)));
  auto got = reg().GetRegisteredModel("fraud");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->tags, (std::vector<Tag>{{"k", "v2"}}));
  EXPECT_EQ(got->protected_targets, (std::vector<std::string>{"Production", "champion"}));
  ASSERT_TRUE(reg().DeleteRegisteredModelTag("fraud", "k", By("carol", 5004)));
  ASSERT_TRUE(reg().DeleteRegisteredModelTag("fraud", "absent", By("carol", 5005)));
  got = reg().GetRegisteredModel("fraud");
  EXPECT_TRUE(got->tags.empty());

  auto audit = Audit(AuditQuery{.model_name = "fraud"});
  std::vector<std::string> actions;
  for (const AuditEntry& e : audit) actions.push_back(e.action);
  EXPECT_EQ(actions, (std::vector<std::string>{
                         "registered_model.delete_tag", "registered_model.set_protected_targets",
                         "registered_model.set_tag", "registered_model.set_tag",
                         "registered_model.update", "registered_model.create"}));
  // The second set_tag's before is the first one's after.
  EXPECT_EQ(audit[2].before, audit[3].after);
  EXPECT_NE(audit[2].after.find("\"value\":\"v2\""), std::string::npos);
  EXPECT_NE(audit[4].before.find("\"description\":\"about fraud\""), std::string::npos);
  EXPECT_NE(audit[4].after.find("\"description\":\"v2 text\""), std::string::npos);

  auto missing = reg().UpdateRegisteredModel("nope", "x", By("carol", 1));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

// ---------------------------------------------------------- model versions

TEST_P(RegistryStoreContractTest, CreateModelVersionAssignsNumbersNeverReused) {
  NewModel("fraud", 1000);
  NewModelVersion v;
  v.name = "fraud";
  v.source = "runs:/abc/model";
  v.run_id = "abc";
  v.run_link = "http://x/abc";
  v.description = "first";
  v.model_id = "m-123";
  v.signature_json = "{\"inputs\":\"[]\"}";
  v.tags = {{"b", "2"}, {"a", "1"}};
  auto one = reg().CreateModelVersion(v, By("bob", 2000), {});
  ASSERT_TRUE(one) << one.error().ToString();
  EXPECT_EQ(one->version, 1);
  EXPECT_EQ(one->name, "fraud");
  EXPECT_EQ(one->current_stage, "None");
  EXPECT_EQ(one->status, "READY");
  EXPECT_EQ(one->user_id, "bob");
  EXPECT_EQ(one->creation_time, 2000);
  EXPECT_EQ(one->source, "runs:/abc/model");
  EXPECT_EQ(one->storage_location, "runs:/abc/model");  // no place(): the source
  EXPECT_EQ(one->run_link, "http://x/abc");
  EXPECT_EQ(one->model_id, "m-123");
  EXPECT_EQ(one->signature_json, "{\"inputs\":\"[]\"}");
  EXPECT_EQ(one->tags, (std::vector<Tag>{{"a", "1"}, {"b", "2"}}));

  EXPECT_EQ(NewVersion("fraud", 2100), 2);
  EXPECT_EQ(NewVersion("fraud", 2200), 3);
  ASSERT_TRUE(reg().DeleteModelVersion("fraud", 3, By("bob", 2300)));
  EXPECT_EQ(NewVersion("fraud", 2400), 4);  // 3 is never given again

  auto model = reg().GetRegisteredModel("fraud");
  ASSERT_TRUE(model);
  EXPECT_EQ(model->last_updated_time, 2400);

  auto gone = reg().GetModelVersion("fraud", 3);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(gone.error().message(), "Model Version (name=fraud, version=3) not found");

  auto no_model = reg().CreateModelVersion(NewModelVersion{.name = "nope"}, By("bob", 1), {});
  ASSERT_FALSE(no_model);
  EXPECT_EQ(no_model.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(no_model.error().message(), "Registered Model with name=nope not found");

  auto audit = Audit(AuditQuery{.entity_type = "model_version"});
  ASSERT_EQ(audit.size(), 5u);
  EXPECT_EQ(audit[0].entity_id, "fraud/4");
  EXPECT_EQ(audit[1].action, "model_version.delete");
  EXPECT_EQ(audit[1].entity_id, "fraud/3");
  EXPECT_EQ(audit[1].after, "");
  EXPECT_NE(audit[1].before.find("\"version\":3"), std::string::npos);
  EXPECT_EQ(audit[4].action, "model_version.create");
  EXPECT_EQ(audit[4].model_name, "fraud");
}

TEST_P(RegistryStoreContractTest, ConcurrentCreatorsGetDistinctConsecutiveNumbers) {
  NewModel("fraud");
  constexpr int kThreads = 8, kEach = 5;
  std::vector<int64_t> got;
  std::mutex mu;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        NewModelVersion v;
        v.name = "fraud";
        v.source = "s3://bucket/" + std::to_string(t);
        auto r = reg().CreateModelVersion(v, By("u" + std::to_string(t), 100 + i), {});
        if (!r) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        got.push_back(r->version);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::sort(got.begin(), got.end());
  std::vector<int64_t> want(kThreads * kEach);
  for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<int64_t>(i) + 1;
  EXPECT_EQ(got, want);
  auto all = reg().SearchModelVersions(Q({}, {}, 0));
  ASSERT_TRUE(all);
  EXPECT_EQ(all->versions.size(), want.size());
  EXPECT_EQ(Audit(AuditQuery{.entity_type = "model_version"}).size(), want.size());
}

TEST_P(RegistryStoreContractTest, PlaceRunsInsideTheTransactionAndItsErrorRollsBack) {
  NewModel("fraud");
  ASSERT_TRUE(reg().CreateWebhook(Webhook{.url = "http://hook"}, By("alice", 1)));
  std::vector<int64_t> placed;
  NewModelVersion v;
  v.name = "fraud";
  v.source = "runs:/abc/model";
  v.place = [&](int64_t version) -> Result<std::string> {
    placed.push_back(version);
    return Unavailable("disk full");
  };
  auto failed = reg().CreateModelVersion(v, By("bob", 10), Ev("model_version.created"));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(failed.error().message(), "disk full");
  EXPECT_FALSE(reg().GetModelVersion("fraud", 1));
  EXPECT_TRUE(Audit(AuditQuery{.entity_type = "model_version"}).empty());
  auto due = reg().DueDeliveries(1'000'000, 100);
  ASSERT_TRUE(due);
  EXPECT_TRUE(due->empty());

  // The event is read after place(), which may fill in its payload (the
  // version number is known only then).
  Event event = Ev("model_version.created", "");
  v.place = [&](int64_t version) -> Result<std::string> {
    placed.push_back(version);
    event.payload = "{\"version\":" + std::to_string(version) + "}";
    return "mlflow-artifacts:/_registry/fraud/" + std::to_string(version);
  };
  auto ok = reg().CreateModelVersion(v, By("bob", 11), event);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->version, 1);  // nothing committed before: the same number
  EXPECT_EQ(ok->storage_location, "mlflow-artifacts:/_registry/fraud/1");
  EXPECT_EQ(ok->source, "runs:/abc/model");
  EXPECT_EQ(placed, (std::vector<int64_t>{1, 1}));
  due = reg().DueDeliveries(1'000'000, 100);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].payload, "{\"version\":1}");
}

TEST_P(RegistryStoreContractTest, UpdateVersionTagsAndDelete) {
  NewModel("fraud");
  NewVersion("fraud", 2000, "", {{"k", "v"}});
  NewVersion("fraud", 2001);
  auto up = reg().UpdateModelVersion("fraud", 1,
                                     ModelVersionUpdate{.description = "better",
                                                        .status = "FAILED_REGISTRATION",
                                                        .status_message = "copy failed"},
                                     By("carol", 3000));
  ASSERT_TRUE(up) << up.error().ToString();
  EXPECT_EQ(up->description, "better");
  EXPECT_EQ(up->status, "FAILED_REGISTRATION");
  EXPECT_EQ(up->status_message, "copy failed");
  EXPECT_EQ(up->last_updated_time, 3000);
  EXPECT_EQ(up->creation_time, 2000);
  auto only_desc = reg().UpdateModelVersion("fraud", 1, ModelVersionUpdate{.description = "best"},
                                            By("carol", 3001));
  ASSERT_TRUE(only_desc);
  EXPECT_EQ(only_desc->status, "FAILED_REGISTRATION");
  EXPECT_EQ(only_desc->description, "best");

  ASSERT_TRUE(reg().SetModelVersionTag("fraud", 1, {"k", "w"}, By("carol", 3002)));
  ASSERT_TRUE(reg().SetModelVersionTag("fraud", 1, {"a", "x"}, By("carol", 3003)));
  auto got = reg().GetModelVersion("fraud", 1);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->tags, (std::vector<Tag>{{"a", "x"}, {"k", "w"}}));
  ASSERT_TRUE(reg().DeleteModelVersionTag("fraud", 1, "a", By("carol", 3004)));
  got = reg().GetModelVersion("fraud", 1);
  EXPECT_EQ(got->tags, (std::vector<Tag>{{"k", "w"}}));
  auto bad = reg().SetModelVersionTag("fraud", 9, {"k", "w"}, By("carol", 1));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "Model Version (name=fraud, version=9) not found");

  ASSERT_TRUE(reg().SetAlias("fraud", "champion", 1, By("carol", 3005), {}));
  ASSERT_TRUE(reg().DeleteModelVersion("fraud", 1, By("carol", 3006)));
  auto alias = reg().GetVersionByAlias("fraud", "champion");
  ASSERT_FALSE(alias);
  EXPECT_EQ(alias.error().message(), "Registered model alias champion not found.");
  auto model = reg().GetRegisteredModel("fraud");
  ASSERT_TRUE(model);
  EXPECT_TRUE(model->aliases.empty());
  auto hist = reg().GetAliasHistory("fraud", "champion");
  ASSERT_TRUE(hist);
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_EQ((*hist)[0].version, 0);  // went with the version
  EXPECT_EQ((*hist)[1].version, 1);
  // Re-registering does not resurrect the old tags.
  EXPECT_EQ(NewVersion("fraud"), 3);
  got = reg().GetModelVersion("fraud", 3);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->tags.empty());
}

TEST_P(RegistryStoreContractTest, TransitionStageArchivesOthers) {
  NewModel("fraud");
  for (int i = 0; i < 4; ++i) NewVersion("fraud");
  ASSERT_TRUE(reg().TransitionStage("fraud", 1, kStageProduction, false, By("a", 10), {}));
  ASSERT_TRUE(reg().TransitionStage("fraud", 2, kStageProduction, false, By("a", 11), {}));
  ASSERT_TRUE(reg().TransitionStage("fraud", 3, kStageStaging, false, By("a", 12), {}));
  auto v2 = reg().GetModelVersion("fraud", 2);
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->current_stage, "Production");
  EXPECT_EQ(reg().GetModelVersion("fraud", 1)->current_stage, "Production");

  auto before = Audit().size();
  auto moved = reg().TransitionStage("fraud", 4, kStageProduction, true, By("boss", 20),
                                     Ev("model_version.stage_transitioned"));
  ASSERT_TRUE(moved) << moved.error().ToString();
  EXPECT_EQ(moved->current_stage, "Production");
  EXPECT_EQ(moved->last_updated_time, 20);
  EXPECT_EQ(reg().GetModelVersion("fraud", 1)->current_stage, "Archived");
  EXPECT_EQ(reg().GetModelVersion("fraud", 2)->current_stage, "Archived");
  EXPECT_EQ(reg().GetModelVersion("fraud", 3)->current_stage, "Staging");  // another stage
  auto audit = Audit();
  ASSERT_EQ(audit.size(), before + 3);
  std::set<std::string> ids;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(audit[i].action, "model_version.transition_stage");
    EXPECT_EQ(audit[i].actor, "boss");
    ids.insert(audit[i].entity_id);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"fraud/1", "fraud/2", "fraud/4"}));
  EXPECT_EQ(audit[0].entity_id, "fraud/4");
  EXPECT_NE(audit[1].before.find("\"current_stage\":\"Production\""), std::string::npos);
  EXPECT_NE(audit[1].after.find("\"current_stage\":\"Archived\""), std::string::npos);

  auto missing = reg().TransitionStage("fraud", 9, kStageStaging, false, By("a", 1), {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_P(RegistryStoreContractTest, GetLatestVersionsPerStage) {
  NewModel("fraud");
  for (int i = 0; i < 6; ++i) NewVersion("fraud");
  ASSERT_TRUE(reg().TransitionStage("fraud", 1, kStageProduction, false, By("a", 1), {}));
  ASSERT_TRUE(reg().TransitionStage("fraud", 2, kStageProduction, false, By("a", 1), {}));
  ASSERT_TRUE(reg().TransitionStage("fraud", 3, kStageStaging, false, By("a", 1), {}));
  ASSERT_TRUE(reg().TransitionStage("fraud", 4, kStageArchived, false, By("a", 1), {}));
  // 5 and 6 stay in None.
  auto all = reg().GetLatestVersions("fraud", {});
  ASSERT_TRUE(all) << all.error().ToString();
  std::vector<std::pair<std::string, int64_t>> got;
  for (const ModelVersion& v : *all) got.emplace_back(v.current_stage, v.version);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, int64_t>>{
                     {"None", 6}, {"Staging", 3}, {"Production", 2}, {"Archived", 4}}));
  auto prod = reg().GetLatestVersions("fraud", {"Production", "Staging"});
  ASSERT_TRUE(prod);
  ASSERT_EQ(prod->size(), 2u);
  EXPECT_EQ((*prod)[0].version, 3);
  EXPECT_EQ((*prod)[1].version, 2);
  auto none = reg().GetLatestVersions("nope", {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
}

TEST_P(RegistryStoreContractTest, GetLatestVersionsOfManyModelsMatchesOneByOne) {
  // 450 models (past one 200-name query), with versions in several stages
  // for some, none for others.
  std::vector<std::string> names;
  for (int m = 0; m < 450; ++m) {
    const std::string name = "m" + std::to_string(m);
    NewModel(name);
    for (int i = 0; i < m % 4; ++i) NewVersion(name);
    if (m % 4 >= 2) {
      ASSERT_TRUE(reg().TransitionStage(name, 1, kStageProduction, false, By("a", 1), {}));
    }
    names.push_back(name);
  }
  // Unknown and repeated names are answered too.
  names.push_back("no-such-model");
  names.push_back("m3");
  auto many = reg().GetLatestVersionsOf(names);
  ASSERT_TRUE(many) << many.error().ToString();
  ASSERT_EQ(many->size(), names.size());
  auto key = [](const std::vector<ModelVersion>& list) {
    std::vector<std::tuple<std::string, std::string, int64_t>> out;
    for (const ModelVersion& v : list) out.emplace_back(v.name, v.current_stage, v.version);
    return out;
  };
  size_t with_versions = 0;
  for (size_t i = 0; i + 2 < names.size(); ++i) {
    auto one = reg().GetLatestVersions(names[i], {});
    ASSERT_TRUE(one) << names[i];
    EXPECT_EQ(key((*many)[i]), key(*one)) << names[i];
    if (!one->empty()) ++with_versions;
  }
  EXPECT_EQ(with_versions, 337u);  // the 3 of every 4 models with a version
  EXPECT_TRUE((*many)[450].empty());
  // m3: versions 1..3, 1 in Production -> None 3, Production 1.
  EXPECT_EQ(key((*many)[451]), (std::vector<std::tuple<std::string, std::string, int64_t>>{
                                   {"m3", "None", 3}, {"m3", "Production", 1}}));
  EXPECT_EQ(key((*many)[451]), key((*many)[3]));
  auto empty = reg().GetLatestVersionsOf({});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

// ----------------------------------------------------------------- aliases

TEST_P(RegistryStoreContractTest, AliasesMoveAndKeepHistory) {
  NewModel("fraud");
  for (int i = 0; i < 3; ++i) NewVersion("fraud");
  auto bad = reg().SetAlias("fraud", "champion", 7, By("a", 1), {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(bad.error().message(), "Model Version (name=fraud, version=7) not found");

  ASSERT_TRUE(reg().SetAlias("fraud", "champion", 1, By("ann", 100), {}));
  ASSERT_TRUE(reg().SetAlias("fraud", "champion", 2, By("ben", 200), {}));
  ASSERT_TRUE(reg().SetAlias("fraud", "challenger", 3, By("ann", 250), {}));
  auto v = reg().GetVersionByAlias("fraud", "champion");
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->version, 2);
  EXPECT_EQ(v->aliases, (std::vector<std::string>{"champion"}));
  EXPECT_TRUE(reg().GetModelVersion("fraud", 1)->aliases.empty());

  auto model = reg().GetRegisteredModel("fraud");
  ASSERT_TRUE(model);
  EXPECT_EQ(model->aliases, (std::vector<ModelAlias>{{"challenger", 3}, {"champion", 2}}));

  ASSERT_TRUE(reg().DeleteAlias("fraud", "champion", By("cy", 300), {}));
  auto gone = reg().GetVersionByAlias("fraud", "champion");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(gone.error().message(), "Registered model alias champion not found.");
  auto again = reg().DeleteAlias("fraud", "champion", By("cy", 301), {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(), "Registered model alias champion not found.");
  ASSERT_TRUE(reg().SetAlias("fraud", "champion", 3, By("dee", 400), {}));

  auto hist = reg().GetAliasHistory("fraud", "champion");
  ASSERT_TRUE(hist);
  ASSERT_EQ(hist->size(), 4u);
  EXPECT_EQ((*hist)[0].version, 3);
  EXPECT_EQ((*hist)[0].actor, "dee");
  EXPECT_EQ((*hist)[0].time, 400);
  EXPECT_EQ((*hist)[1].version, 0);
  EXPECT_EQ((*hist)[1].actor, "cy");
  EXPECT_EQ((*hist)[2].version, 2);
  EXPECT_EQ((*hist)[3].version, 1);
  EXPECT_EQ((*hist)[3].time, 100);
  auto none = reg().GetAliasHistory("fraud", "never");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());

  auto audit = Audit(AuditQuery{.entity_type = "alias", .entity_id = "fraud@champion"});
  ASSERT_EQ(audit.size(), 4u);
  EXPECT_EQ(audit[0].action, "alias.set");
  EXPECT_EQ(audit[0].before, "");
  EXPECT_EQ(audit[1].action, "alias.delete");
  EXPECT_EQ(audit[1].after, "");
  EXPECT_EQ(audit[1].before, "{\"name\":\"fraud\",\"alias\":\"champion\",\"version\":2}");
  EXPECT_EQ(audit[2].before, "{\"name\":\"fraud\",\"alias\":\"champion\",\"version\":1}");
  EXPECT_EQ(audit[2].after, "{\"name\":\"fraud\",\"alias\":\"champion\",\"version\":2}");
}

TEST_P(RegistryStoreContractTest, ConcurrentSetAliasBothSucceedAndAreAudited) {
  NewModel("fraud");
  for (int i = 0; i < 2; ++i) NewVersion("fraud");
  for (int round = 0; round < 5; ++round) {
    const std::string alias = "a" + std::to_string(round);
    std::atomic<int> ok{0};
    std::thread t1([&] { ok += reg().SetAlias("fraud", alias, 1, By("one", 10), {}) ? 1 : 0; });
    std::thread t2([&] { ok += reg().SetAlias("fraud", alias, 2, By("two", 10), {}) ? 1 : 0; });
    t1.join();
    t2.join();
    EXPECT_EQ(ok.load(), 2);
    auto v = reg().GetVersionByAlias("fraud", alias);
    ASSERT_TRUE(v);
    auto audit = Audit(AuditQuery{.entity_id = "fraud@" + alias});
    ASSERT_EQ(audit.size(), 2u);
    // Serialized: the first has no before, the second replaced the first.
    EXPECT_EQ(audit[1].before, "");
    EXPECT_EQ(audit[0].before, audit[1].after);
    const std::string final_json = "{\"name\":\"fraud\",\"alias\":\"" + alias +
                                   "\",\"version\":" + std::to_string(v->version) + "}";
    EXPECT_EQ(audit[0].after, final_json);
    EXPECT_EQ(audit[0].actor, v->version == 1 ? "one" : "two");
    auto hist = reg().GetAliasHistory("fraud", alias);
    ASSERT_TRUE(hist);
    ASSERT_EQ(hist->size(), 2u);
    EXPECT_EQ((*hist)[0].version, v->version);
  }
}

// ---------------------------------------------------------- rename, delete

TEST_P(RegistryStoreContractTest, RenameCarriesEverythingAlong) {
  NewModel("fraud");
  NewModel("taken");
  NewVersion("fraud");
  NewVersion("fraud");
  ASSERT_TRUE(reg().SetAlias("fraud", "champion", 2, By("a", 10), {}));
  ASSERT_TRUE(reg().SetModelVersionTag("fraud", 2, {"k", "v"}, By("a", 11)));
  auto approval = reg().CreateApproval(
      ApprovalRequest{.model_name = "fraud", .kind = "alias", .target = "champion", .version = 1},
      By("a", 12), {});
  ASSERT_TRUE(approval) << approval.error().ToString();
  auto hook = reg().CreateWebhook(Webhook{.model_name = "fraud", .url = "http://h"}, By("a", 13));
  ASSERT_TRUE(hook) << hook.error().ToString();

  auto clash = reg().RenameRegisteredModel("fraud", "taken", By("a", 14));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(clash.error().message(), "Registered Model (name=taken) already exists.");

  auto renamed = reg().RenameRegisteredModel("fraud", "fraud2", By("a", 15));
  ASSERT_TRUE(renamed) << renamed.error().ToString();
  EXPECT_EQ(renamed->name, "fraud2");
  EXPECT_EQ(renamed->last_updated_time, 15);
  EXPECT_EQ(renamed->aliases, (std::vector<ModelAlias>{{"champion", 2}}));
  EXPECT_FALSE(reg().GetRegisteredModel("fraud"));
  auto v = reg().GetVersionByAlias("fraud2", "champion");
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->name, "fraud2");
  EXPECT_EQ(v->version, 2);
  EXPECT_EQ(v->tags, (std::vector<Tag>{{"k", "v"}}));
  EXPECT_EQ(VersionKeys(Q()), (std::vector<std::string>{"fraud2/2", "fraud2/1"}));
  auto hist = reg().GetAliasHistory("fraud2", "champion");
  ASSERT_TRUE(hist);
  EXPECT_EQ(hist->size(), 1u);
  auto ap = reg().GetApproval(approval->id);
  ASSERT_TRUE(ap);
  EXPECT_EQ(ap->model_name, "fraud2");
  auto hooks = reg().ListWebhooks("fraud2");
  ASSERT_TRUE(hooks);
  ASSERT_EQ(hooks->size(), 1u);
  EXPECT_EQ((*hooks)[0].model_name, "fraud2");
  EXPECT_EQ(NewVersion("fraud2"), 3);  // numbering continues

  auto audit = Audit(AuditQuery{.model_name = "fraud2"});
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().action, "registered_model.rename");
  EXPECT_NE(audit.back().before.find("\"name\":\"fraud\""), std::string::npos);
  EXPECT_NE(audit.back().after.find("\"name\":\"fraud2\""), std::string::npos);
}

TEST_P(RegistryStoreContractTest, DeleteModelDeletesEverythingButTheAudit) {
  NewModel("fraud", 1000, {{"t", "1"}});
  NewModel("other");
  NewVersion("fraud", 2000, "", {{"k", "v"}});
  NewVersion("other");
  ASSERT_TRUE(reg().SetAlias("fraud", "champion", 1, By("a", 10), {}));
  ASSERT_TRUE(reg().CreateWebhook(Webhook{.model_name = "fraud", .url = "http://h"}, By("a", 11)));
  auto entries_before = Audit(AuditQuery{.model_name = "fraud"}).size();
  ASSERT_TRUE(reg().DeleteRegisteredModel("fraud", By("zed", 99)));
  auto missing = reg().DeleteRegisteredModel("fraud", By("zed", 100));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

  EXPECT_FALSE(reg().GetRegisteredModel("fraud"));
  EXPECT_EQ(VersionKeys(Q()), (std::vector<std::string>{"other/1"}));
  auto hooks = reg().ListWebhooks("");
  ASSERT_TRUE(hooks);
  EXPECT_TRUE(hooks->empty());
  auto audit = Audit(AuditQuery{.model_name = "fraud"});
  ASSERT_EQ(audit.size(), entries_before + 1);
  EXPECT_EQ(audit[0].action, "registered_model.delete");
  EXPECT_EQ(audit[0].actor, "zed");
  EXPECT_NE(audit[0].before.find("\"alias\":\"champion\""), std::string::npos);

  // A new model of the same name starts afresh: no tags, aliases, history.
  NewModel("fraud");
  auto m = reg().GetRegisteredModel("fraud");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->tags.empty());
  EXPECT_TRUE(m->aliases.empty());
  EXPECT_EQ(NewVersion("fraud"), 1);
  EXPECT_TRUE(reg().GetModelVersion("fraud", 1)->tags.empty());
  auto hist = reg().GetAliasHistory("fraud", "champion");
  ASSERT_TRUE(hist);
  EXPECT_TRUE(hist->empty());
}

// ------------------------------------------------------------------ search

TEST_P(RegistryStoreContractTest, SearchRegisteredModels) {
  NewModel("Fraud-A", 10, {{"team", "risk"}});
  NewModel("fraud_b", 20, {{"team", "growth"}});
  NewModel("fraudXb", 30);
  NewModel("churn", 40, {{"team", "risk"}});
  // Default order: name ascending (bytewise: upper case first).
  EXPECT_EQ(ModelNames(Q()), (std::vector<std::string>{"Fraud-A", "churn", "fraudXb", "fraud_b"}));
  EXPECT_EQ(ModelNames(Q({Cmp(F::kName, Op::kLike, {"fraud%"})})),
            (std::vector<std::string>{"fraudXb", "fraud_b"}));
  EXPECT_EQ(ModelNames(Q({Cmp(F::kName, Op::kILike, {"fraud%"})})),
            (std::vector<std::string>{"Fraud-A", "fraudXb", "fraud_b"}));
  // '_' is a wildcard unless escaped.
  EXPECT_EQ(ModelNames(Q({Cmp(F::kName, Op::kLike, {"fraud_b"})})),
            (std::vector<std::string>{"fraudXb", "fraud_b"}));
  EXPECT_EQ(ModelNames(Q({Cmp(F::kName, Op::kLike, {"fraud\\_b"})})),
            (std::vector<std::string>{"fraud_b"}));
  EXPECT_EQ(ModelNames(Q({Cmp(F::kName, Op::kEq, {"churn"})})),
            (std::vector<std::string>{"churn"}));
  EXPECT_EQ(ModelNames(Q({Cmp(F::kName, Op::kNe, {"churn"})})).size(), 3u);
  EXPECT_EQ(ModelNames(Q({Cmp(F::kName, Op::kIn, {"churn", "fraud_b", "zzz"})})),
            (std::vector<std::string>{"churn", "fraud_b"}));
  EXPECT_EQ(ModelNames(Q({Cmp(F::kName, Op::kNotIn, {"churn", "fraud_b"})})),
            (std::vector<std::string>{"Fraud-A", "fraudXb"}));
  EXPECT_EQ(ModelNames(Q({Cmp(F::kTag, Op::kEq, {"risk"}, "team")})),
            (std::vector<std::string>{"Fraud-A", "churn"}));
  EXPECT_EQ(ModelNames(Q({Cmp(F::kTag, Op::kNe, {"risk"}, "team")})),
            (std::vector<std::string>{"fraud_b"}));  // the tag must exist
  EXPECT_EQ(ModelNames(Q(
                {Cmp(F::kTag, Op::kLike, {"r%"}, "team"), Cmp(F::kName, Op::kILike, {"FRAUD%"})})),
            (std::vector<std::string>{"Fraud-A"}));
  EXPECT_EQ(ModelNames(Q({}, {{RegistryOrderBy::Field::kCreationTime, false}})),
            (std::vector<std::string>{"churn", "fraudXb", "fraud_b", "Fraud-A"}));
  auto bad = reg().SearchRegisteredModels(Q({Cmp(F::kRunId, Op::kEq, {"x"})}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);

  // Paging.
  auto p1 = reg().SearchRegisteredModels(Q({}, {}, 3, 0));
  ASSERT_TRUE(p1);
  ASSERT_EQ(p1->models.size(), 3u);
  EXPECT_EQ(p1->next_offset, 3);
  EXPECT_EQ(p1->models[0].tags, (std::vector<Tag>{{"team", "risk"}}));
  auto p2 = reg().SearchRegisteredModels(Q({}, {}, 3, p1->next_offset));
  ASSERT_TRUE(p2);
  ASSERT_EQ(p2->models.size(), 1u);
  EXPECT_EQ(p2->models[0].name, "fraud_b");
  EXPECT_EQ(p2->next_offset, -1);
  auto exact = reg().SearchRegisteredModels(Q({}, {}, 4, 0));
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->next_offset, -1);
}

// MLflow's clients add `tags.mlflow.prompt.is_prompt != 'true'` to every
// search; models without the tag must still match it.
TEST_P(RegistryStoreContractTest, PromptTagFilterIsASetTest) {
  NewModel("plain", 10);
  NewModel("prompt", 20, {{"mlflow.prompt.is_prompt", "true"}});
  NewModel("other", 30, {{"mlflow.prompt.is_prompt", "false"}});
  const std::string key = "mlflow.prompt.is_prompt";
  EXPECT_EQ(ModelNames(Q({Cmp(F::kTag, Op::kNe, {"true"}, key)})),
            (std::vector<std::string>{"other", "plain"}));
  EXPECT_EQ(ModelNames(Q({Cmp(F::kTag, Op::kEq, {"false"}, key)})),
            (std::vector<std::string>{"other", "plain"}));
  EXPECT_EQ(ModelNames(Q({Cmp(F::kTag, Op::kEq, {"true"}, key)})),
            (std::vector<std::string>{"prompt"}));
  EXPECT_EQ(ModelNames(Q({Cmp(F::kTag, Op::kNe, {"false"}, key)})),
            (std::vector<std::string>{"prompt"}));
  NewVersion("plain");
  EXPECT_EQ(VersionKeys(Q({Cmp(F::kTag, Op::kNe, {"true"}, key)})),
            (std::vector<std::string>{"plain/1"}));
}

TEST_P(RegistryStoreContractTest, SearchModelVersions) {
  NewModel("a");
  NewModel("b");
  for (int i = 0; i < 10; ++i) NewVersion("a", 100 + i, i % 2 == 0 ? "run_even" : "run_odd");
  NewVersion("b", 50, "run_b", {{"env", "prod"}});
  ASSERT_TRUE(reg().TransitionStage("a", 3, kStageStaging, false, By("x", 1), {}));
  // Default order: name ASC, version DESC.
  auto all = VersionKeys(Q());
  ASSERT_EQ(all.size(), 11u);
  EXPECT_EQ(all.front(), "a/10");
  EXPECT_EQ(all[9], "a/1");
  EXPECT_EQ(all.back(), "b/1");
  // Numeric version comparison: 10 > 9.
  EXPECT_EQ(VersionKeys(Q({Cmp(F::kName, Op::kEq, {"a"}), Cmp(F::kVersion, Op::kGt, {"8"})})),
            (std::vector<std::string>{"a/10", "a/9"}));
  EXPECT_EQ(VersionKeys(Q({Cmp(F::kName, Op::kEq, {"a"}), Cmp(F::kVersion, Op::kIn, {"2", "10"})})),
            (std::vector<std::string>{"a/10", "a/2"}));
  EXPECT_EQ(VersionKeys(Q({Cmp(F::kRunId, Op::kEq, {"run_b"})})),
            (std::vector<std::string>{"b/1"}));
  EXPECT_EQ(VersionKeys(Q(
                {Cmp(F::kRunId, Op::kIn, {"run_b", "run_odd"}), Cmp(F::kVersion, Op::kLe, {"3"})})),
            (std::vector<std::string>{"a/2", "b/1"}));  // odd runs: even versions
  EXPECT_EQ(VersionKeys(Q({Cmp(F::kStage, Op::kEq, {"Staging"})})),
            (std::vector<std::string>{"a/3"}));
  EXPECT_EQ(VersionKeys(Q({Cmp(F::kTag, Op::kEq, {"prod"}, "env")})),
            (std::vector<std::string>{"b/1"}));
  EXPECT_EQ(VersionKeys(Q({Cmp(F::kSource, Op::kLike, {"%run_b%"})})),
            (std::vector<std::string>{"b/1"}));
  EXPECT_EQ(VersionKeys(
                Q({Cmp(F::kName, Op::kEq, {"a"})}, {{RegistryOrderBy::Field::kVersion, true}}, 3)),
            (std::vector<std::string>{"a/1", "a/2", "a/3"}));
  EXPECT_EQ(VersionKeys(Q({}, {{RegistryOrderBy::Field::kCreationTime, true}}, 2)),
            (std::vector<std::string>{"b/1", "a/1"}));
  auto bad = reg().SearchModelVersions(Q({Cmp(F::kVersion, Op::kEq, {"x1"})}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);

  // Pages cover everything once, in order.
  std::vector<std::string> paged;
  int64_t offset = 0;
  int pages = 0;
  while (offset >= 0 && pages < 10) {
    auto page = reg().SearchModelVersions(Q({}, {}, 4, offset));
    ASSERT_TRUE(page);
    for (const ModelVersion& v : page->versions) {
      paged.push_back(v.name + "/" + std::to_string(v.version));
    }
    offset = page->next_offset;
    ++pages;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(paged, all);
  // Reads carry tags and aliases.
  ASSERT_TRUE(reg().SetAlias("b", "champion", 1, By("x", 1), {}));
  auto b = reg().SearchModelVersions(Q({Cmp(F::kName, Op::kEq, {"b"})}));
  ASSERT_TRUE(b);
  ASSERT_EQ(b->versions.size(), 1u);
  EXPECT_EQ(b->versions[0].tags, (std::vector<Tag>{{"env", "prod"}}));
  EXPECT_EQ(b->versions[0].aliases, (std::vector<std::string>{"champion"}));
  EXPECT_EQ(b->versions[0].run_id, "run_b");
}

// ------------------------------------------------------------------- audit

TEST_P(RegistryStoreContractTest, AuditSearchFiltersAndPages) {
  for (int i = 0; i < 5; ++i) {
    AuditEntry e;
    e.time = 1000 + i;
    e.actor = i % 2 == 0 ? "alice" : "bob";
    e.action = "run.delete";
    e.entity_type = "run";
    e.entity_id = "run" + std::to_string(i);
    e.before = "{\"lifecycle_stage\":\"active\"}";
    e.after = "{\"lifecycle_stage\":\"deleted\"}";
    ASSERT_TRUE(reg().AppendAudit(e));
  }
  NewModel("fraud", 2000);
  auto all = Audit();
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0].action, "registered_model.create");
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i - 1].id, all[i].id);
  EXPECT_EQ(all[5].entity_id, "run0");
  EXPECT_EQ(all[5].before, "{\"lifecycle_stage\":\"active\"}");
  EXPECT_EQ(all[5].model_name, "");

  EXPECT_EQ(Audit(AuditQuery{.actor = "bob"}).size(), 2u);
  EXPECT_EQ(Audit(AuditQuery{.entity_type = "run"}).size(), 5u);
  EXPECT_EQ(Audit(AuditQuery{.entity_type = "run", .entity_id = "run3"}).size(), 1u);
  EXPECT_EQ(Audit(AuditQuery{.model_name = "fraud"}).size(), 1u);
  auto window = Audit(AuditQuery{.since = 1001, .until = 1003});
  ASSERT_EQ(window.size(), 2u);
  EXPECT_EQ(window[0].entity_id, "run2");
  EXPECT_EQ(window[1].entity_id, "run1");

  AuditQuery q{.actor = "alice", .max_results = 2};
  auto p1 = reg().SearchAudit(q);
  ASSERT_TRUE(p1);
  ASSERT_EQ(p1->entries.size(), 2u);
  EXPECT_EQ(p1->next_offset, 2);
  EXPECT_EQ(p1->entries[0].action, "registered_model.create");
  EXPECT_EQ(p1->entries[1].entity_id, "run4");
  q.offset = 2;
  auto p2 = reg().SearchAudit(q);
  ASSERT_TRUE(p2);
  ASSERT_EQ(p2->entries.size(), 2u);
  EXPECT_EQ(p2->next_offset, -1);
  EXPECT_EQ(p2->entries[1].entity_id, "run0");
}

// --------------------------------------------------------------- approvals

TEST_P(RegistryStoreContractTest, ApprovalsLifecycle) {
  NewModel("fraud");
  NewModel("other");
  NewVersion("fraud");
  auto a1 = reg().CreateApproval(ApprovalRequest{.model_name = "fraud",
                                                 .kind = "alias",
                                                 .target = "champion",
                                                 .version = 1,
                                                 .comment = "ship it"},
                                 By("ann", 100), Ev("approval.requested"));
  ASSERT_TRUE(a1) << a1.error().ToString();
  EXPECT_GT(a1->id, 0);
  EXPECT_EQ(a1->status, "pending");
  EXPECT_EQ(a1->requested_by, "ann");
  EXPECT_EQ(a1->requested_at, 100);
  EXPECT_EQ(a1->comment, "ship it");
  auto a2 = reg().CreateApproval(ApprovalRequest{.model_name = "fraud",
                                                 .kind = "stage",
                                                 .target = "Production",
                                                 .version = 1,
                                                 .archive_existing = true},
                                 By("ann", 101), {});
  ASSERT_TRUE(a2);
  EXPECT_TRUE(a2->archive_existing);
  auto a3 = reg().CreateApproval(
      ApprovalRequest{.model_name = "other", .kind = "alias", .target = "x", .version = 1},
      By("ann", 102), {});
  ASSERT_TRUE(a3);
  auto no_model = reg().CreateApproval(ApprovalRequest{.model_name = "nope"}, By("ann", 1), {});
  ASSERT_FALSE(no_model);
  EXPECT_EQ(no_model.error().code(), ErrorCode::kNotFound);

  auto decided = reg().DecideApproval(a1->id, true, "ok", By("boss", 200), Ev("approval.decided"));
  ASSERT_TRUE(decided) << decided.error().ToString();
  EXPECT_EQ(decided->status, "approved");
  EXPECT_EQ(decided->decided_by, "boss");
  EXPECT_EQ(decided->decided_at, 200);
  EXPECT_EQ(decided->decision_comment, "ok");
  auto twice = reg().DecideApproval(a1->id, false, "", By("boss", 201), {});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(twice.error().message().find("approved"), std::string::npos) << twice.error().message();
  ASSERT_TRUE(reg().DecideApproval(a2->id, false, "no", By("boss", 202), {}));
  auto missing = reg().DecideApproval(9999, true, "", By("boss", 1), {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

  auto ids = [&](const std::string& model, const std::string& status) {
    std::vector<int64_t> out;
    auto list = reg().ListApprovals(model, status);
    EXPECT_TRUE(list) << list.error().ToString();
    if (list) {
      for (const ApprovalRequest& a : *list) out.push_back(a.id);
    }
    return out;
  };
  EXPECT_EQ(ids("", ""), (std::vector<int64_t>{a3->id, a2->id, a1->id}));
  EXPECT_EQ(ids("fraud", ""), (std::vector<int64_t>{a2->id, a1->id}));
  EXPECT_EQ(ids("", "pending"), (std::vector<int64_t>{a3->id}));
  EXPECT_EQ(ids("fraud", "rejected"), (std::vector<int64_t>{a2->id}));
  auto got = reg().GetApproval(a2->id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, "rejected");
  EXPECT_EQ(got->target, "Production");
  EXPECT_EQ(got->kind, "stage");

  auto audit = Audit(AuditQuery{.entity_type = "approval", .entity_id = std::to_string(a1->id)});
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].action, "approval.approve");
  EXPECT_EQ(audit[0].model_name, "fraud");
  EXPECT_NE(audit[0].before.find("\"status\":\"pending\""), std::string::npos);
  EXPECT_NE(audit[0].after.find("\"status\":\"approved\""), std::string::npos);
  EXPECT_EQ(audit[1].action, "approval.create");
}

// ---------------------------------------------------------------- webhooks

// The audit log names webhooks and approvals by id: an id must never come
// back, even after the newest row is deleted.
TEST_P(RegistryStoreContractTest, IdsTheAuditNamesAreNeverReused) {
  auto first = reg().CreateWebhook(Webhook{.url = "http://one", .secret = "s"}, By("a", 1));
  ASSERT_TRUE(first) << first.error().ToString();
  auto second = reg().CreateWebhook(Webhook{.url = "http://two", .secret = "s"}, By("a", 2));
  ASSERT_TRUE(second) << second.error().ToString();
  ASSERT_TRUE(reg().DeleteWebhook(second->id, By("a", 3)));
  auto third = reg().CreateWebhook(Webhook{.url = "http://three", .secret = "s"}, By("a", 4));
  ASSERT_TRUE(third) << third.error().ToString();
  EXPECT_GT(third->id, second->id);
}

TEST_P(RegistryStoreContractTest, WebhooksAndTheirOutbox) {
  NewModel("fraud");
  NewModel("other");
  NewVersion("fraud");
  NewVersion("other");
  auto all_events = reg().CreateWebhook(Webhook{.url = "http://all", .secret = "s1"}, By("a", 1));
  ASSERT_TRUE(all_events) << all_events.error().ToString();
  EXPECT_EQ(all_events->secret, "s1");
  EXPECT_TRUE(all_events->active);
  EXPECT_EQ(all_events->creation_time, 1);
  auto fraud_alias = reg().CreateWebhook(
      Webhook{.model_name = "fraud", .url = "http://fa", .events = {"alias.set", "alias.deleted"}},
      By("a", 2));
  ASSERT_TRUE(fraud_alias);
  EXPECT_EQ(fraud_alias->events, (std::vector<std::string>{"alias.deleted", "alias.set"}));
  auto other_only =
      reg().CreateWebhook(Webhook{.model_name = "other", .url = "http://o"}, By("a", 3));
  ASSERT_TRUE(other_only);
  auto inactive = reg().CreateWebhook(Webhook{.url = "http://off", .active = false}, By("a", 4));
  ASSERT_TRUE(inactive);
  auto no_model = reg().CreateWebhook(Webhook{.model_name = "nope", .url = "http://x"}, By("a", 5));
  ASSERT_FALSE(no_model);
  EXPECT_EQ(no_model.error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(reg().SetAlias("fraud", "champion", 1, By("u", 100),
                             Ev("alias.set", "{\"alias\":\"champion\"}")));
  ASSERT_TRUE(reg().TransitionStage("fraud", 1, kStageStaging, false, By("u", 110),
                                    Ev("model_version.stage_transitioned")));
  ASSERT_TRUE(reg().SetAlias("other", "champion", 1, By("u", 120), Ev("alias.set")));
  ASSERT_TRUE(reg().SetAlias("other", "b", 1, By("u", 130), {}));  // no event: audit only

  auto all = Deliveries(all_events->id);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].event, "alias.set");  // newest first (other's)
  EXPECT_EQ(all[1].event, "model_version.stage_transitioned");
  EXPECT_EQ(all[2].payload, "{\"alias\":\"champion\"}");
  EXPECT_EQ(all[2].status, "pending");
  EXPECT_EQ(all[2].next_attempt_at, 100);
  EXPECT_EQ(all[2].created_at, 100);
  EXPECT_EQ(all[2].attempts, 0);
  auto fa = Deliveries(fraud_alias->id);
  ASSERT_EQ(fa.size(), 1u);
  EXPECT_EQ(fa[0].event, "alias.set");
  EXPECT_EQ(fa[0].payload, "{\"alias\":\"champion\"}");
  auto o = Deliveries(other_only->id);
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].next_attempt_at, 120);
  EXPECT_TRUE(Deliveries(inactive->id).empty());

  // Due: pending and next_attempt_at <= now, oldest first.
  auto due = reg().DueDeliveries(110, 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].next_attempt_at, 100);
  EXPECT_EQ((*due)[2].next_attempt_at, 110);
  auto limited = reg().DueDeliveries(1000, 2);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 2u);

  WebhookDelivery d = (*due)[0];
  d.attempts = 1;
  d.status = "pending";
  d.next_attempt_at = 5000;
  d.last_http_status = 503;
  d.last_error = "service unavailable";
  ASSERT_TRUE(reg().RecordDeliveryAttempt(d));
  WebhookDelivery d2 = (*due)[1];
  d2.attempts = 1;
  d2.status = "delivered";
  d2.last_http_status = 200;
  d2.delivered_at = 150;
  ASSERT_TRUE(reg().RecordDeliveryAttempt(d2));
  due = reg().DueDeliveries(1000, 10);
  ASSERT_TRUE(due);
  // Five deliveries: d waits until 5000, d2 is done.
  ASSERT_EQ(due->size(), 3u);
  for (const WebhookDelivery& x : *due) EXPECT_NE(x.id, d.id);
  auto later = reg().DueDeliveries(5000, 10);
  ASSERT_TRUE(later);
  ASSERT_EQ(later->size(), 4u);
  EXPECT_EQ(later->back().id, d.id);
  EXPECT_EQ(later->back().last_http_status, 503);
  EXPECT_EQ(later->back().last_error, "service unavailable");
  EXPECT_EQ(later->back().attempts, 1);
  WebhookDelivery ghost;
  ghost.id = 987654;
  auto nf = reg().RecordDeliveryAttempt(ghost);
  ASSERT_FALSE(nf);
  EXPECT_EQ(nf.error().code(), ErrorCode::kNotFound);

  auto hooks = reg().ListWebhooks("");
  ASSERT_TRUE(hooks);
  EXPECT_EQ(hooks->size(), 4u);
  auto fraud_hooks = reg().ListWebhooks("fraud");
  ASSERT_TRUE(fraud_hooks);
  ASSERT_EQ(fraud_hooks->size(), 1u);
  EXPECT_EQ((*fraud_hooks)[0].url, "http://fa");

  ASSERT_TRUE(reg().DeleteWebhook(fraud_alias->id, By("a", 200)));
  auto gone = reg().GetWebhook(fraud_alias->id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  auto gone_list = reg().ListDeliveries(fraud_alias->id, 10);
  ASSERT_FALSE(gone_list);
  EXPECT_EQ(gone_list.error().code(), ErrorCode::kNotFound);
  ASSERT_FALSE(reg().DeleteWebhook(fraud_alias->id, By("a", 201)));
  auto audit = Audit(AuditQuery{.entity_type = "webhook"});
  ASSERT_EQ(audit.size(), 5u);
  EXPECT_EQ(audit[0].action, "webhook.delete");
  EXPECT_EQ(audit[0].model_name, "fraud");
  for (const AuditEntry& e : audit) {
    EXPECT_EQ(e.before.find("s1"), std::string::npos);  // secrets stay out of the log
    EXPECT_EQ(e.after.find("s1"), std::string::npos);
  }
  auto two = reg().ListDeliveries(all_events->id, 2);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->size(), 2u);
}

// ----------------------------------------------------------------- lineage

TEST_P(RegistryStoreContractTest, LineageByRunAndDataset) {
  auto exp = store_->CreateExperiment({"e", "", {}, 1});
  ASSERT_TRUE(exp) << exp.error().ToString();
  auto new_run = [&]() {
    NewRun r;
    r.run_id = NewRunId();
    r.experiment_id = *exp;
    r.start_time = 1;
    EXPECT_TRUE(store_->CreateRun(r));
    return r.run_id;
  };
  const std::string r1 = new_run(), r2 = new_run(), r3 = new_run();
  DatasetInput train{{{"mlflow.data.context", "training"}}, Dataset{"train", "d1", "", "", "", ""}};
  DatasetInput eval{{}, Dataset{"eval", "d1", "", "", "", ""}};
  DatasetInput other{{}, Dataset{"train", "d2", "", "", "", ""}};
  ASSERT_TRUE(store_->LogInputs(r1, {train}));
  ASSERT_TRUE(store_->LogInputs(r2, {eval}));
  ASSERT_TRUE(store_->LogInputs(r3, {other}));

  NewModel("fraud");
  NewModel("churn");
  NewVersion("fraud", 100, r1);  // fraud/1
  NewVersion("fraud", 200, r2);  // fraud/2
  NewVersion("churn", 300, r1);  // churn/1
  NewVersion("churn", 400, r3);  // churn/2
  NewVersion("churn", 500);      // churn/3, no run

  auto keys = [](const Result<std::vector<ModelVersion>>& r) {
    std::vector<std::string> out;
    EXPECT_TRUE(r) << r.error().ToString();
    if (r) {
      for (const ModelVersion& v : *r) out.push_back(v.name + "/" + std::to_string(v.version));
    }
    return out;
  };
  EXPECT_EQ(keys(reg().VersionsFromRun(r1)), (std::vector<std::string>{"churn/1", "fraud/1"}));
  EXPECT_EQ(keys(reg().VersionsFromRun(r3)), (std::vector<std::string>{"churn/2"}));
  EXPECT_TRUE(keys(reg().VersionsFromRun("nope")).empty());
  EXPECT_EQ(keys(reg().VersionsUsingDataset("d1", "")),
            (std::vector<std::string>{"churn/1", "fraud/2", "fraud/1"}));
  EXPECT_EQ(keys(reg().VersionsUsingDataset("d1", "eval")), (std::vector<std::string>{"fraud/2"}));
  EXPECT_EQ(keys(reg().VersionsUsingDataset("d2", "")), (std::vector<std::string>{"churn/2"}));
  EXPECT_TRUE(keys(reg().VersionsUsingDataset("d3", "")).empty());
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Backends, RegistryStoreContractTest,
                         ::testing::Values("sqlite", "postgres"), BackendName);

}  // namespace
}  // namespace cairn::store
