#include "serve/deployment.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace cairn::serve {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFullExample = R"(deployments:
  fraud:
    sticky_header: X-User-Id
    runtime: auto
    batching:
      max_batch_size: 16
      policy: wait
      max_queue_delay_us: 500
      instances: 3
      max_queue: 128
      timeout_ms: 2500
    targets:
      - model: models:/fraud@champion
        weight: 95
      - model: models:/fraud/4
        weight: 5
      - model: models:/fraud/5
        shadow: true
  iris:
    runtime: python
    targets:
      - /srv/models/iris
      - model: ./models/iris-v2
        weight: 0
      - model: models:/iris@challenger
)";

TEST(ParseDeploymentFileTest, FullExampleParsesToTheExactSpecs) {
  auto specs = ParseDeploymentFile(kFullExample, "deploy.yaml");
  ASSERT_TRUE(specs.has_value()) << specs.error().message();
  ASSERT_EQ(specs->size(), 2u);

  DeploymentSpec fraud;
  fraud.name = "fraud";
  fraud.sticky_header = "X-User-Id";
  fraud.runtime = "auto";
  fraud.batching = {.max_batch_size = 16,
                    .policy = "wait",
                    .max_queue_delay_us = 500,
                    .instances = 3,
                    .max_queue = 128,
                    .timeout_ms = 2500};
  fraud.targets = {{"models:/fraud@champion", 95, false},
                   {"models:/fraud/4", 5, false},
                   {"models:/fraud/5", 0, true}};
  EXPECT_EQ((*specs)[0], fraud);

  DeploymentSpec iris;
  iris.name = "iris";
  iris.runtime = "python";
  // A bare string is a live target of weight 1; an absent weight is 1.
  iris.targets = {{"/srv/models/iris", 1, false},
                  {"./models/iris-v2", 0, false},
                  {"models:/iris@challenger", 1, false}};
  EXPECT_EQ((*specs)[1], iris);
  EXPECT_EQ((*specs)[1].batching, BatchingSpec{});
  EXPECT_EQ((*specs)[1].batching.policy, "greedy");  // the default
  EXPECT_EQ((*specs)[1].batching.max_batch_size, 32);
  EXPECT_EQ((*specs)[1].batching.instances, 2);
}

TEST(ParseDeploymentFileTest, ShadowWeightZeroIsAccepted) {
  auto specs = ParseDeploymentFile(R"(deployments:
  d:
    targets:
      - model: models:/m/1
      - model: models:/m/2
        weight: 0
        shadow: yes
)",
                                   "x.yaml");
  ASSERT_TRUE(specs.has_value()) << specs.error().message();
  ASSERT_EQ((*specs)[0].targets.size(), 2u);
  EXPECT_EQ((*specs)[0].targets[1], (TargetSpec{"models:/m/2", 0, true}));
}

void ExpectYamlError(const std::string& yaml, const std::string& expected) {
  auto r = ParseDeploymentFile(yaml, "deploy.yaml");
  ASSERT_FALSE(r.has_value()) << "parsed: " << yaml;
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), expected);
}

// Two live targets; the second's fields are on lines 6 and 7.
std::string TwoTargets(const std::string& second_target_fields) {
  return "deployments:\n"                           // 1
         "  fraud:\n"                               // 2
         "    targets:\n"                           // 3
         "      - model: models:/fraud@champion\n"  // 4
         "        weight: 95\n"                     // 5
         "      - model: models:/fraud/4\n"         // 6
         + second_target_fields;                    // 7...
}

TEST(ParseDeploymentFileTest, WeightErrorsNameFileLineDeploymentAndField) {
  ExpectYamlError(TwoTargets("        weight: lots\n"),
                  "deploy.yaml line 7: deployment 'fraud': targets[1].weight must be a "
                  "non-negative integer");
  ExpectYamlError(TwoTargets("        weight: -3\n"),
                  "deploy.yaml line 7: deployment 'fraud': targets[1].weight must be a "
                  "non-negative integer");
  ExpectYamlError(TwoTargets("        weight: 2.5\n"),
                  "deploy.yaml line 7: deployment 'fraud': targets[1].weight must be a "
                  "non-negative integer");
  ExpectYamlError(TwoTargets("        weight: 1000001\n"),
                  "deploy.yaml line 7: deployment 'fraud': targets[1].weight must be at most "
                  "1000000");
  ExpectYamlError(TwoTargets("        weight: 5\n        shadow: true\n        weight: 3\n"),
                  // A repeated key: yaml-cpp keeps the last; the shadow check sees it.
                  "deploy.yaml line 9: deployment 'fraud': targets[1].weight must be absent or 0 "
                  "for a shadow (a shadow gets a copy of all live traffic)");
}

TEST(ParseDeploymentFileTest, ShadowWithAWeightIsAnError) {
  ExpectYamlError(TwoTargets("        shadow: true\n        weight: 5\n"),
                  "deploy.yaml line 8: deployment 'fraud': targets[1].weight must be absent or 0 "
                  "for a shadow (a shadow gets a copy of all live traffic)");
  ExpectYamlError(TwoTargets("        shadow: maybe\n"),
                  "deploy.yaml line 7: deployment 'fraud': targets[1].shadow must be true or "
                  "false");
}

TEST(ParseDeploymentFileTest, UnknownKeysAreErrors) {
  ExpectYamlError(TwoTargets("        wieght: 5\n"),
                  "deploy.yaml line 7: deployment 'fraud': unknown field 'targets[1].wieght' "
                  "(known: model, weight, shadow)");
  ExpectYamlError(
      "deployments:\n"
      "  fraud:\n"
      "    stiky_header: X-User\n"
      "    targets: [models:/fraud/1]\n",
      "deploy.yaml line 3: deployment 'fraud': unknown field 'stiky_header' (known: "
      "sticky_header, runtime, batching, targets)");
  ExpectYamlError(
      "deployments:\n"
      "  fraud:\n"
      "    targets: [models:/fraud/1]\n"
      "    batching:\n"
      "      max_batch: 8\n",
      "deploy.yaml line 5: deployment 'fraud': unknown field 'batching.max_batch' "
      "(known: max_batch_size, policy, max_queue_delay_us, instances, max_queue, "
      "timeout_ms)");
  ExpectYamlError(
      "version: 1\n"
      "deployments:\n"
      "  fraud:\n"
      "    targets: [models:/fraud/1]\n",
      "deploy.yaml line 1: unknown field 'version' (known: deployments)");
}

TEST(ParseDeploymentFileTest, NameErrors) {
  ExpectYamlError(
      "deployments:\n"
      "  ok:\n"
      "    targets: [models:/fraud/1]\n"
      "  bad name:\n"
      "    targets: [models:/fraud/1]\n",
      "deploy.yaml line 4: deployment 'bad name': name 'bad name' is invalid: use "
      "1-256 characters of A-Z a-z 0-9 . _ -, not starting with '.' or '-'");
  ExpectYamlError(
      "deployments:\n"
      "  -fraud:\n"
      "    targets: [models:/fraud/1]\n",
      "deploy.yaml line 2: deployment '-fraud': name '-fraud' is invalid: use "
      "1-256 characters of A-Z a-z 0-9 . _ -, not starting with '.' or '-'");
  ExpectYamlError(
      "deployments:\n"
      "  fraud:\n"
      "    targets: [models:/fraud/1]\n"
      "  iris:\n"
      "    targets: [models:/iris/1]\n"
      "  fraud:\n"
      "    targets: [models:/fraud/2]\n",
      "deploy.yaml line 6: deployment 'fraud': declared twice (first at line 2)");
}

TEST(ParseDeploymentFileTest, TargetListErrors) {
  ExpectYamlError(
      "deployments:\n"
      "  fraud:\n"
      "    targets:\n"
      "      - model: models:/fraud/5\n"
      "        shadow: true\n",
      "deploy.yaml line 3: deployment 'fraud': targets must include at least one "
      "live (non-shadow) target");
  ExpectYamlError(
      "deployments:\n"
      "  fraud:\n"
      "    targets: []\n",
      "deploy.yaml line 3: deployment 'fraud': targets must include at least one "
      "live (non-shadow) target");
  ExpectYamlError(TwoTargets("        weight: 0\n")
                      .replace(TwoTargets("").find("weight: 95"), 10, "weight: 0 "),
                  "deploy.yaml line 3: deployment 'fraud': targets: the live weights sum to 0; "
                  "at least one weight must be positive");
  ExpectYamlError(
      "deployments:\n"
      "  fraud:\n"
      "    runtime: auto\n",
      "deploy.yaml line 2: deployment 'fraud': targets is required");
  ExpectYamlError(
      "deployments:\n"
      "  fraud:\n"
      "    targets:\n"
      "      - weight: 3\n",
      "deploy.yaml line 4: deployment 'fraud': targets[0].model is required");
  ExpectYamlError(
      "deployments:\n"
      "  fraud:\n"
      "    targets: models:/fraud/1\n",
      "deploy.yaml line 3: deployment 'fraud': targets must be a list of {model, "
      "weight, shadow}");
}

TEST(ParseDeploymentFileTest, ModelUriErrors) {
  ExpectYamlError(TwoTargets("      - model: models:/fraud/4\n"),
                  "deploy.yaml line 7: deployment 'fraud': targets[2].model 'models:/fraud/4' is "
                  "already targets[1]: each model may appear once");
  const std::string not_a_model =
      " is not models:/name/<version>, models:/name@alias or a local folder (absolute, ./ or "
      "../ relative, or an existing folder)";
  for (const std::string& uri : std::vector<std::string>{
           "runs:/abc123/model", "models:/fraud", "models:/fraud/latest", "models:/fraud/0",
           "models:/@champion", "models:/fraud@", "no-such-folder-xyz", "s3://bucket/model"}) {
    ExpectYamlError(
        TwoTargets("      - model: " + uri + "\n"),
        "deploy.yaml line 7: deployment 'fraud': targets[2].model '" + uri + "'" + not_a_model);
  }
}

TEST(ParseDeploymentFileTest, BatchingAndRuntimeErrors) {
  auto with = [](const std::string& lines) {
    return "deployments:\n"
           "  fraud:\n"
           "    targets: [models:/fraud/1]\n" +
           lines;
  };
  ExpectYamlError(with("    batching:\n      policy: eager\n"),
                  "deploy.yaml line 5: deployment 'fraud': batching.policy must be greedy or "
                  "wait, not 'eager'");
  ExpectYamlError(with("    batching:\n      instances: 65\n"),
                  "deploy.yaml line 5: deployment 'fraud': batching.instances must be between 1 "
                  "and 64");
  ExpectYamlError(with("    batching:\n      instances: 0\n"),
                  "deploy.yaml line 5: deployment 'fraud': batching.instances must be between 1 "
                  "and 64");
  ExpectYamlError(with("    batching:\n      max_queue: 8\n      max_batch_size: 0\n"),
                  "deploy.yaml line 6: deployment 'fraud': batching.max_batch_size must be at "
                  "least 1");
  ExpectYamlError(with("    batching:\n      max_queue_delay_us: -1\n"),
                  "deploy.yaml line 5: deployment 'fraud': batching.max_queue_delay_us must be "
                  "non-negative");
  ExpectYamlError(with("    batching:\n      max_queue: 0\n"),
                  "deploy.yaml line 5: deployment 'fraud': batching.max_queue must be at least 1");
  ExpectYamlError(with("    batching:\n      timeout_ms: -5\n"),
                  "deploy.yaml line 5: deployment 'fraud': batching.timeout_ms must be "
                  "non-negative");
  ExpectYamlError(with("    batching:\n      timeout_ms: soon\n"),
                  "deploy.yaml line 5: deployment 'fraud': batching.timeout_ms must be a "
                  "non-negative integer");
  ExpectYamlError(with("    runtime: gpu\n"),
                  "deploy.yaml line 4: deployment 'fraud': runtime 'gpu' is not one of: auto, "
                  "python");
  ExpectYamlError(with("    sticky_header: X User\n"),
                  "deploy.yaml line 4: deployment 'fraud': sticky_header 'X User' is not an HTTP "
                  "header name");
}

TEST(ParseDeploymentFileTest, DocumentErrors) {
  ExpectYamlError("", "deploy.yaml line 1: expected a mapping with a 'deployments' key");
  ExpectYamlError("deployments:\n",
                  "deploy.yaml line 1: no deployments declared (expected "
                  "'deployments:')");
  ExpectYamlError("deployments: [a, b]\n",
                  "deploy.yaml line 1: deployments must be a mapping of name -> deployment");
  auto r = ParseDeploymentFile("deployments:\n  fraud:\n    targets: [models:/a/1\n", "d.yaml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(r.error().message().starts_with("d.yaml line 4 column 1: invalid YAML: "))
      << r.error().message();
}

TEST(ParseDeploymentFileTest, ExistingRelativeFolderIsALocalModel) {
  fs::path root = fs::temp_directory_path() / ("cairn-dep-test-" + std::to_string(getpid()));
  fs::create_directories(root / "models" / "iris");
  fs::path old = fs::current_path();
  fs::current_path(root);
  auto ok = ParseDeploymentFile("deployments:\n  iris:\n    targets: [models/iris]\n", "d.yaml");
  auto missing =
      ParseDeploymentFile("deployments:\n  iris:\n    targets: [models/none]\n", "d.yaml");
  fs::current_path(old);
  fs::remove_all(root);
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ((*ok)[0].targets[0].model_uri, "models/iris");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("targets[0].model 'models/none' is not"),
            std::string::npos);
}

// ------------------------------------------------------------------ flags

TEST(DeploymentFromFlagsTest, EqualWeightsWithoutTraffic) {
  auto d = DeploymentFromFlags("", {"models:/fraud@champion", "models:/fraud/4"}, {}, {}, "", {},
                               "auto");
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->name, "fraud");
  EXPECT_EQ(d->targets, (std::vector<TargetSpec>{{"models:/fraud@champion", 1, false},
                                                 {"models:/fraud/4", 1, false}}));
  EXPECT_EQ(d->runtime, "auto");
  EXPECT_EQ(d->sticky_header, "");
}

TEST(DeploymentFromFlagsTest, TrafficShadowsStickyBatching) {
  BatchingSpec b{.max_batch_size = 8,
                 .max_queue_delay_us = 100,
                 .instances = 4,
                 .max_queue = 50,
                 .timeout_ms = 1000};
  auto d = DeploymentFromFlags("scoring", {"models:/fraud@champion", "models:/fraud/4"}, {95, 5},
                               {"models:/fraud/5"}, "X-User-Id", b, "python");
  ASSERT_TRUE(d.has_value()) << d.error().message();
  DeploymentSpec want;
  want.name = "scoring";
  want.targets = {{"models:/fraud@champion", 95, false},
                  {"models:/fraud/4", 5, false},
                  {"models:/fraud/5", 0, true}};
  want.sticky_header = "X-User-Id";
  want.runtime = "python";
  want.batching = b;
  EXPECT_EQ(*d, want);
}

TEST(DeploymentFromFlagsTest, Errors) {
  auto none = DeploymentFromFlags("", {}, {}, {}, "", {}, "auto");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().message(), "give at least one --model");
  auto count = DeploymentFromFlags("", {"models:/a/1", "models:/a/2"}, {100}, {}, "", {}, "auto");
  ASSERT_FALSE(count.has_value());
  EXPECT_EQ(count.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(count.error().message(),
            "--traffic has 1 weight for 2 --models: give one weight per --model");
  auto zero = DeploymentFromFlags("", {"models:/a/1", "models:/a/2"}, {0, 0}, {}, "", {}, "auto");
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error().message(),
            "deployment 'a': targets: the live weights sum to 0; at least one weight must be "
            "positive");
  auto neg = DeploymentFromFlags("", {"models:/a/1", "models:/a/2"}, {5, -1}, {}, "", {}, "auto");
  ASSERT_FALSE(neg.has_value());
  EXPECT_EQ(neg.error().message(),
            "deployment 'a': targets[1].weight must be a non-negative integer");
  auto dup = DeploymentFromFlags("", {"models:/a/1"}, {}, {"models:/a/1"}, "", {}, "auto");
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().message(),
            "deployment 'a': targets[1].model 'models:/a/1' is already targets[0]: each model "
            "may appear once");
  auto named = DeploymentFromFlags("", {"models:/Fraud Model@champion"}, {}, {}, "", {}, "auto");
  ASSERT_FALSE(named.has_value());
  EXPECT_EQ(named.error().message(),
            "the deployment name 'Fraud Model' taken from 'models:/Fraud Model@champion' is "
            "invalid (1-256 characters of A-Z a-z 0-9 . _ -, not starting with '.' or '-'): "
            "give --name");
  auto renamed =
      DeploymentFromFlags("fraud", {"models:/Fraud Model@champion"}, {}, {}, "", {}, "auto");
  ASSERT_TRUE(renamed.has_value()) << renamed.error().message();
  EXPECT_EQ(renamed->name, "fraud");
  BatchingSpec bad;
  bad.instances = 100;
  auto batching = DeploymentFromFlags("", {"models:/a/1"}, {}, {}, "", bad, "auto");
  ASSERT_FALSE(batching.has_value());
  EXPECT_EQ(batching.error().message(),
            "deployment 'a': batching.instances must be between 1 and 64");
}

TEST(ValidateDeploymentTest, NamesAndLimits) {
  DeploymentSpec d;
  d.targets = {{"models:/a/1", 1, false}};
  for (const std::string& good :
       std::vector<std::string>{"a", "fraud-v2", "x.y_z", "A9", std::string(256, 'n')}) {
    d.name = good;
    EXPECT_TRUE(ValidateDeployment(d).has_value()) << good;
  }
  for (const std::string& bad :
       std::vector<std::string>{"", ".a", "-a", "a/b", "a b", "é", std::string(257, 'n')}) {
    d.name = bad;
    auto s = ValidateDeployment(d);
    ASSERT_FALSE(s.has_value()) << bad;
    EXPECT_EQ(s.error().message(),
              "deployment '" + bad + "': name '" + bad +
                  "' is invalid: use 1-256 characters of A-Z a-z 0-9 . _ -, not starting with "
                  "'.' or '-'");
  }
  d.name = "a";
  d.targets = {{"models:/a/1", 1000000, false}, {"models:/a/2", 1000001, false}};
  auto s = ValidateDeployment(d);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message(), "deployment 'a': targets[1].weight must be at most 1000000");
  // A shadow's weight is ignored by validation.
  d.targets = {{"models:/a/1", 3, false}, {"models:/a/2", 7, true}};
  EXPECT_TRUE(ValidateDeployment(d).has_value());
}

TEST(DefaultDeploymentNameTest, Cases) {
  EXPECT_EQ(DefaultDeploymentName("models:/fraud@champion"), "fraud");
  EXPECT_EQ(DefaultDeploymentName("models:/fraud/3"), "fraud");
  EXPECT_EQ(DefaultDeploymentName("./models/iris/"), "iris");
  EXPECT_EQ(DefaultDeploymentName("./models/iris"), "iris");
  EXPECT_EQ(DefaultDeploymentName("/srv/models/churn//"), "churn");
  EXPECT_EQ(DefaultDeploymentName("../m"), "m");
  EXPECT_EQ(DefaultDeploymentName("."), fs::current_path().filename().string());
}

TEST(ParseTargetArgumentTest, Cases) {
  auto a = ParseTargetArgument("models:/a@b=95");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, (TargetSpec{"models:/a@b", 95, false}));
  auto b = ParseTargetArgument("./m");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, (TargetSpec{"./m", 1, false}));
  auto c = ParseTargetArgument("./a=b=0");  // the last '=' splits
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, (TargetSpec{"./a=b", 0, false}));

  auto x = ParseTargetArgument("x=y");
  ASSERT_FALSE(x.has_value());
  EXPECT_EQ(x.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(x.error().message(),
            "'x=y': weight 'y' is not a non-negative integer (expected URI=WEIGHT)");
  auto neg = ParseTargetArgument("models:/a/1=-5");
  ASSERT_FALSE(neg.has_value());
  EXPECT_EQ(neg.error().message(),
            "'models:/a/1=-5': weight '-5' is not a non-negative integer (expected URI=WEIGHT)");
  auto big = ParseTargetArgument("models:/a/1=2000000");
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().message(), "'models:/a/1=2000000': weight must be at most 1000000");
  auto empty = ParseTargetArgument("=5");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message(), "'=5': no model URI (expected URI=WEIGHT)");
}

// ------------------------------------------------------------ traffic JSON

TEST(TrafficJsonTest, RoundTrip) {
  std::vector<TargetSpec> targets = {{"models:/fraud@champion", 95, false},
                                     {"models:/fraud/4", 5, false},
                                     {"models:/fraud/5", 0, true}};
  std::string text = TrafficToJson(targets);
  EXPECT_EQ(
      text,
      R"({"targets":[{"model":"models:/fraud@champion","weight":95},)"
      R"({"model":"models:/fraud/4","weight":5},{"model":"models:/fraud/5","shadow":true}]})");
  auto back = ParseTrafficJson(text);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, targets);
}

TEST(TrafficJsonTest, DefaultsAndExplicitFalseShadow) {
  auto t = ParseTrafficJson(
      R"({"targets":[{"model":"models:/a/1"},{"model":"models:/a/2","weight":3,"shadow":false},)"
      R"({"model":"models:/a/3","shadow":true,"weight":0}]})");
  ASSERT_TRUE(t.has_value()) << t.error().message();
  EXPECT_EQ(*t,
            (std::vector<TargetSpec>{
                {"models:/a/1", 1, false}, {"models:/a/2", 3, false}, {"models:/a/3", 0, true}}));
}

TEST(TrafficJsonTest, Errors) {
  auto malformed = ParseTrafficJson(R"({"targets": [)");
  ASSERT_FALSE(malformed.has_value());
  EXPECT_EQ(malformed.error().code(), ErrorCode::kBadRequest);
  EXPECT_TRUE(malformed.error().message().starts_with("malformed JSON: "));

  auto expect_invalid = [](const std::string& body, const std::string& message) {
    auto r = ParseTrafficJson(body);
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << body;
    EXPECT_EQ(r.error().message(), message) << body;
  };
  expect_invalid("[1]", R"(the body must be a JSON object {"targets": [...]})");
  expect_invalid("{}", "targets is required");
  expect_invalid(R"({"targets": {}})", "targets must be an array");
  expect_invalid(R"({"targets": [], "traffic": []})", "unknown field 'traffic' (known: targets)");
  expect_invalid(
      R"({"targets": [{"model": "models:/a/1"}, {"model": "models:/a/2", "weight": "5"}]})",
      "targets[1].weight must be a non-negative integer");
  expect_invalid(
      R"({"targets": [{"model": "models:/a/1"}, {"model": "models:/a/2", "weight": -1}]})",
      "targets[1].weight must be a non-negative integer");
  expect_invalid(
      R"({"targets": [{"model": "models:/a/1"}, {"model": "models:/a/2", "weight": 1.5}]})",
      "targets[1].weight must be a non-negative integer");
  expect_invalid(R"({"targets": [{"model": "models:/a/1", "weight": 1000001}]})",
                 "targets[0].weight must be at most 1000000");
  expect_invalid(R"({"targets": [{"model": "models:/a/1", "wieght": 1}]})",
                 "unknown field 'targets[0].wieght' (known: model, weight, shadow)");
  expect_invalid(R"({"targets": [{"weight": 1}]})", "targets[0].model is required");
  expect_invalid(R"({"targets": [{"model": 7}]})", "targets[0].model must be a string");
  expect_invalid(R"({"targets": ["models:/a/1"]})", "targets[0] must be an object");
  expect_invalid(R"({"targets": [{"model": "models:/a/1", "shadow": "yes"}]})",
                 "targets[0].shadow must be true or false");
  expect_invalid(
      R"({"targets": [{"model": "models:/a/1"}, {"model": "models:/a/2", "shadow": true, "weight": 5}]})",
      "targets[1].weight must be absent or 0 for a shadow");
  expect_invalid(R"({"targets": [{"model": "models:/a/1", "shadow": true}]})",
                 "targets must include at least one live (non-shadow) target");
  expect_invalid(R"({"targets": []})",
                 "targets must include at least one live (non-shadow) target");
  expect_invalid(R"({"targets": [{"model": "models:/a/1", "weight": 0}]})",
                 "targets: the live weights sum to 0; at least one weight must be positive");
  expect_invalid(
      R"({"targets": [{"model": "models:/a/1"}, {"model": "models:/a/1", "weight": 2}]})",
      "targets[1].model 'models:/a/1' is already targets[0]: each model may appear "
      "once");
  expect_invalid(R"({"targets": [{"model": "runs:/r/m"}]})",
                 "targets[0].model 'runs:/r/m' is not models:/name/<version>, models:/name@alias "
                 "or a local folder (absolute, ./ or ../ relative, or an existing folder)");
}

// ------------------------------------------------------------ TrafficSplit

TEST(TrafficSplitTest, CreateRejectsBadWeights) {
  auto empty = TrafficSplit::Create({});
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);
  auto neg = TrafficSplit::Create({5, -1});
  ASSERT_FALSE(neg.has_value());
  EXPECT_EQ(neg.error().message(), "weight 1 is negative (-1)");
  auto zero = TrafficSplit::Create({0, 0});
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error().message(), "the weights sum to 0; at least one must be positive");
  auto ok = TrafficSplit::Create({1, 0, 2});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->size(), 3u);
}

TEST(TrafficSplitTest, WeightZeroTargetsAreNeverChosen) {
  auto split = TrafficSplit::Create({0, 3, 0, 1, 0});
  ASSERT_TRUE(split.has_value());
  std::array<int, 5> counts{};
  for (int i = 0; i < 20000; ++i) ++counts[split->Choose()];
  for (int i = 0; i < 20000; ++i) ++counts[split->Choose("user-" + std::to_string(i))];
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[2], 0);
  EXPECT_EQ(counts[4], 0);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(counts[3], 0);
  auto single = TrafficSplit::Create({0, 7});
  ASSERT_TRUE(single.has_value());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(single->Choose(), 1u);
}

TEST(TrafficSplitTest, RandomChoicesFollowTheWeights) {
  auto split = TrafficSplit::Create({95, 5});
  ASSERT_TRUE(split.has_value());
  constexpr int kN = 100000;
  int second = 0;
  for (int i = 0; i < kN; ++i) second += split->Choose() == 1 ? 1 : 0;
  double share = static_cast<double>(second) / kN;
  EXPECT_NEAR(share, 0.05, 0.01) << second;

  auto thirds = TrafficSplit::Create({1, 1, 1});
  ASSERT_TRUE(thirds.has_value());
  std::array<int, 3> counts{};
  for (int i = 0; i < kN; ++i) ++counts[thirds->Choose()];
  for (int c : counts) EXPECT_NEAR(static_cast<double>(c) / kN, 1.0 / 3, 0.01) << c;
}

TEST(TrafficSplitTest, StickyKeysAreDeterministicAndFollowTheWeights) {
  auto split = TrafficSplit::Create({95, 5});
  auto again = TrafficSplit::Create({95, 5});
  ASSERT_TRUE(split.has_value());
  ASSERT_TRUE(again.has_value());
  constexpr int kN = 10000;
  int second = 0;
  for (int i = 0; i < kN; ++i) {
    std::string key = "user-" + std::to_string(i);
    size_t a = split->Choose(key);
    ASSERT_EQ(a, split->Choose(key)) << key;
    ASSERT_EQ(a, again->Choose(key)) << key;  // a value of the key alone
    second += a == 1 ? 1 : 0;
  }
  EXPECT_NEAR(static_cast<double>(second) / kN, 0.05, 0.01) << second;
  // Not every key lands on one side (the hash really depends on the key).
  EXPECT_GT(second, 0);
  EXPECT_LT(second, kN);
}

TEST(TrafficSplitTest, StickyChoiceIsStableAcrossThreads) {
  auto split = TrafficSplit::Create({50, 30, 20});
  ASSERT_TRUE(split.has_value());
  std::vector<size_t> here, there;
  for (int i = 0; i < 200; ++i) here.push_back(split->Choose("k" + std::to_string(i)));
  std::thread t([&] {
    for (int i = 0; i < 200; ++i) there.push_back(split->Choose("k" + std::to_string(i)));
  });
  t.join();
  EXPECT_EQ(here, there);
}

}  // namespace
}  // namespace cairn::serve
