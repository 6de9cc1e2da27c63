#include "pipeline/spec.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace cairn::pipeline {
namespace {

// The example of issue 5 (docs/pipelines.md), line numbers matter below.
constexpr const char* kIssueExample = R"(steps:
  prepare:
    cmd: python prepare.py
    deps: [data/raw, prepare.py]
    outs: [data/prepared]
  train:
    cmd: python train.py --out model
    deps: [data/prepared, train.py]
    params: [train.lr, train.depth]      # keys of params.yaml
    outs: [model]
    metrics: [metrics.json]
    retries: 2
    timeout: 30m
    resources: {cpus: 2, memory: 4G}
    executor: slurm
    env: {OMP_NUM_THREADS: "2"}
  evaluate:
    foreach: [small, large]
    cmd: python evaluate.py --split ${item}
    deps: [model, evaluate.py]
    outs: [eval/${item}.json]
)";

std::vector<std::string> Paths(const std::vector<PathEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.path);
  return out;
}

// The error message of parsing `yaml`, or "<parsed>".
std::string ErrorOf(const std::string& yaml) {
  Result<PipelineSpec> spec = ParsePipelineSpec(yaml, "cairn.yaml");
  if (spec) return "<parsed>";
  EXPECT_EQ(spec.error().code(), ErrorCode::kInvalidArgument);
  return spec.error().message();
}

// A one-step pipeline "s" whose body is `body` (lines indented by 4), so the
// body's first line is line 3.
std::string OneStep(const std::string& body) { return "steps:\n  s:\n" + body; }

TEST(PipelineSpec, IssueExampleParses) {
  Result<PipelineSpec> spec = ParsePipelineSpec(kIssueExample, "cairn.yaml");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->file_name, "cairn.yaml");
  ASSERT_EQ(spec->steps.size(), 4u);

  const Step& prepare = spec->steps[0];
  EXPECT_EQ(prepare.name, "prepare");
  EXPECT_EQ(prepare.base_name, "prepare");
  EXPECT_TRUE(prepare.item.empty());
  EXPECT_EQ(prepare.cmd, "python prepare.py");
  EXPECT_EQ(Paths(prepare.deps), (std::vector<std::string>{"data/raw", "prepare.py"}));
  EXPECT_EQ(Paths(prepare.outs), (std::vector<std::string>{"data/prepared"}));
  EXPECT_EQ(prepare.location.line, 2);
  EXPECT_EQ(prepare.location.column, 3);
  EXPECT_EQ(prepare.deps[1].location.line, 4);
  EXPECT_EQ(prepare.deps[1].location.column, 22);
  EXPECT_EQ(prepare.retries, 0);
  EXPECT_FALSE(prepare.timeout_ms);
  EXPECT_EQ(prepare.executor, ExecutorKind::kLocal);
  EXPECT_FALSE(prepare.resources.cpus);
  EXPECT_FALSE(prepare.resources.memory_bytes);
  EXPECT_EQ(prepare.resources.gpus, 0);

  const Step& train = spec->steps[1];
  EXPECT_EQ(train.name, "train");
  EXPECT_EQ(train.cmd, "python train.py --out model");
  EXPECT_EQ(Paths(train.deps), (std::vector<std::string>{"data/prepared", "train.py"}));
  ASSERT_EQ(train.params.size(), 2u);
  EXPECT_EQ(train.params[0].file, "params.yaml");
  EXPECT_EQ(train.params[0].key, "train.lr");
  EXPECT_EQ(train.params[1].key, "train.depth");
  EXPECT_EQ(train.params[1].location.line, 9);
  EXPECT_EQ(Paths(train.outs), (std::vector<std::string>{"model"}));
  EXPECT_EQ(Paths(train.metrics), (std::vector<std::string>{"metrics.json"}));
  EXPECT_EQ(train.retries, 2);
  EXPECT_EQ(train.timeout_ms, 30 * 60 * 1000);
  EXPECT_EQ(train.resources.cpus, 2);
  EXPECT_EQ(train.resources.memory_bytes, int64_t{4} << 30);
  EXPECT_EQ(train.resources.gpus, 0);
  EXPECT_EQ(train.executor, ExecutorKind::kSlurm);
  EXPECT_EQ(ExecutorKindName(train.executor), "slurm");
  EXPECT_EQ(train.env, (std::map<std::string, std::string>{{"OMP_NUM_THREADS", "2"}}));

  const Step& small = spec->steps[2];
  EXPECT_EQ(small.name, "evaluate@small");
  EXPECT_EQ(small.base_name, "evaluate");
  EXPECT_EQ(small.item, (std::map<std::string, std::string>{{"item", "small"}}));
  EXPECT_EQ(small.cmd, "python evaluate.py --split small");
  EXPECT_EQ(Paths(small.deps), (std::vector<std::string>{"model", "evaluate.py"}));
  EXPECT_EQ(Paths(small.outs), (std::vector<std::string>{"eval/small.json"}));
  EXPECT_EQ(small.outs[0].location.line, 21);
  EXPECT_EQ(small.location.line, 17);
  const Step& large = spec->steps[3];
  EXPECT_EQ(large.name, "evaluate@large");
  EXPECT_EQ(large.cmd, "python evaluate.py --split large");
  EXPECT_EQ(Paths(large.outs), (std::vector<std::string>{"eval/large.json"}));

  EXPECT_EQ(spec->Find("evaluate@large"), &spec->steps[3]);
  EXPECT_EQ(spec->Find("evaluate"), nullptr);
}

TEST(PipelineSpec, ParamsWithFileAndResourcesWithGpus) {
  Result<PipelineSpec> spec = ParsePipelineSpec(OneStep(R"(    cmd: run
    params: [conf/train.yaml:model.depth, lr]
    resources: {cpus: 8, memory: 512M, gpus: 2}
    executor: local
    timeout: 1h30m
    retries: 0
)"),
                                                "cairn.yaml");
  ASSERT_TRUE(spec) << spec.error().message();
  const Step& s = spec->steps[0];
  ASSERT_EQ(s.params.size(), 2u);
  EXPECT_EQ(s.params[0].file, "conf/train.yaml");
  EXPECT_EQ(s.params[0].key, "model.depth");
  EXPECT_EQ(s.params[1].file, "params.yaml");
  EXPECT_EQ(s.params[1].key, "lr");
  EXPECT_EQ(s.resources.cpus, 8);
  EXPECT_EQ(s.resources.memory_bytes, int64_t{512} << 20);
  EXPECT_EQ(s.resources.gpus, 2);
  EXPECT_EQ(s.executor, ExecutorKind::kLocal);
  EXPECT_EQ(s.timeout_ms, 90 * 60 * 1000);
}

TEST(PipelineSpec, PathsAreNormalized) {
  Result<PipelineSpec> spec = ParsePipelineSpec(OneStep(R"(    cmd: run
    deps: [./data//raw/, ../shared/x, /abs/y]
    outs: [out/./a/../b/]
)"),
                                                "cairn.yaml");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(Paths(spec->steps[0].deps),
            (std::vector<std::string>{"data/raw", "../shared/x", "/abs/y"}));
  EXPECT_EQ(Paths(spec->steps[0].outs), (std::vector<std::string>{"out/b"}));
  EXPECT_EQ(NormalizePath(""), ".");
  EXPECT_EQ(NormalizePath("./"), ".");
  EXPECT_EQ(NormalizePath("a/.."), ".");
  EXPECT_EQ(NormalizePath("/../a"), "/a");
  EXPECT_EQ(NormalizePath("../../a"), "../../a");
}

TEST(PipelineSpec, MemorySizes) {
  EXPECT_EQ(ParseMemorySize("4G"), int64_t{4} << 30);
  EXPECT_EQ(ParseMemorySize("4g"), int64_t{4} << 30);
  EXPECT_EQ(ParseMemorySize("4GB"), int64_t{4} << 30);
  EXPECT_EQ(ParseMemorySize("4GiB"), int64_t{4} << 30);
  EXPECT_EQ(ParseMemorySize("512M"), int64_t{512} << 20);
  EXPECT_EQ(ParseMemorySize("64k"), int64_t{64} << 10);
  EXPECT_EQ(ParseMemorySize("1T"), int64_t{1} << 40);
  EXPECT_EQ(ParseMemorySize("1000"), 1000);
  EXPECT_EQ(ParseMemorySize("1000B"), 1000);
  EXPECT_FALSE(ParseMemorySize("0"));
  EXPECT_FALSE(ParseMemorySize("G"));
  EXPECT_FALSE(ParseMemorySize("4X"));
  EXPECT_FALSE(ParseMemorySize("4.5G"));
  EXPECT_FALSE(ParseMemorySize("-1G"));
  EXPECT_FALSE(ParseMemorySize("99999999999T"));
  EXPECT_FALSE(ParseMemorySize(""));
}

TEST(PipelineSpecErrors, RetriesNotAnInteger) {
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    retries: two\n")),
            "cairn.yaml:4:14: step 's': 'retries' must be a non-negative integer, got 'two'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    retries: -1\n")),
            "cairn.yaml:4:14: step 's': 'retries' must be a non-negative integer, got '-1'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    retries: [1]\n")),
            "cairn.yaml:4:14: step 's': 'retries' must be a non-negative integer, got a list");
}

TEST(PipelineSpecErrors, UnknownKeysListTheKnownOnes) {
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    output: [x]\n")),
            "cairn.yaml:4:5: step 's': unknown key 'output' (known: cmd, deps, outs, metrics, "
            "params, retries, timeout, resources, executor, env, foreach)");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    resources: {cpus: 1, mem: 4G}\n")),
            "cairn.yaml:4:26: step 's': unknown key 'resources.mem' (known: cpus, memory, gpus)");
  EXPECT_EQ(ErrorOf("stages:\n  s:\n    cmd: run\n"),
            "cairn.yaml:1:1: unknown top-level key 'stages' (known: steps)");
}

TEST(PipelineSpecErrors, CmdMissingOrEmpty) {
  EXPECT_EQ(ErrorOf(OneStep("    deps: [a]\n")), "cairn.yaml:2:3: step 's': 'cmd' is required");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: \"  \"\n")),
            "cairn.yaml:3:10: step 's': 'cmd' must be a non-empty string, got '  '");
  EXPECT_EQ(ErrorOf(OneStep("    cmd:\n")),
            "cairn.yaml:3:5: step 's': 'cmd' must be a non-empty string, got nothing");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: [a, b]\n")),
            "cairn.yaml:3:10: step 's': 'cmd' must be a non-empty string, got a list");
  EXPECT_EQ(ErrorOf("steps:\n  s:\n"),
            "cairn.yaml:2:3: step 's': a step must be a map with at least 'cmd', got nothing");
}

TEST(PipelineSpecErrors, ListsOfStrings) {
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    deps: data/raw\n")),
            "cairn.yaml:4:11: step 's': 'deps' must be a list of strings, got 'data/raw'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    outs: [a, {b: c}]\n")),
            "cairn.yaml:4:15: step 's': 'outs' entries must be non-empty strings, got a map");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    metrics: [\"\"]\n")),
            "cairn.yaml:4:15: step 's': 'metrics' entries must be non-empty strings, got ''");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    outs: [a, ./a]\n")),
            "cairn.yaml:4:15: step 's': outs path 'a' is listed twice");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    outs: [../x]\n")),
            "cairn.yaml:4:12: step 's': outs path '../x' must be relative and inside the "
            "repository");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    metrics: [/tmp/m.json]\n")),
            "cairn.yaml:4:15: step 's': metrics path '/tmp/m.json' must be relative and inside "
            "the repository");
}

TEST(PipelineSpecErrors, Params) {
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    params: [train..lr]\n")),
            "cairn.yaml:4:14: step 's': param 'train..lr' must be 'key.path' or "
            "'file.yaml:key.path'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    params: [\"p.yaml:\"]\n")),
            "cairn.yaml:4:14: step 's': param 'p.yaml:' must be 'key.path' or "
            "'file.yaml:key.path'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    params: [a.b, params.yaml:a.b]\n")),
            "cairn.yaml:4:19: step 's': param 'params.yaml:a.b' is listed twice");
}

TEST(PipelineSpecErrors, TimeoutResourcesExecutorEnv) {
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    timeout: soon\n")),
            "cairn.yaml:4:14: step 's': 'timeout' must be a positive duration like 90s, 30m or "
            "1h30m, got 'soon'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    timeout: 0s\n")),
            "cairn.yaml:4:14: step 's': 'timeout' must be a positive duration like 90s, 30m or "
            "1h30m, got '0s'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    resources: {cpus: 0}\n")),
            "cairn.yaml:4:23: step 's': 'resources.cpus' must be a positive integer, got '0'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    resources: {gpus: -1}\n")),
            "cairn.yaml:4:23: step 's': 'resources.gpus' must be a non-negative integer, got '-1'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    resources: {memory: lots}\n")),
            "cairn.yaml:4:25: step 's': 'resources.memory' must be a size like 4G, 512M or a "
            "byte count, got 'lots'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    resources: 4\n")),
            "cairn.yaml:4:16: step 's': 'resources' must be a map {cpus, memory, gpus}, got '4'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    executor: k8s\n")),
            "cairn.yaml:4:15: step 's': 'executor' must be 'local' or 'slurm', got 'k8s'");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    env: [A]\n")),
            "cairn.yaml:4:10: step 's': 'env' must be a map of name -> string, got a list");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    env: {1A: x}\n")),
            "cairn.yaml:4:11: step 's': env name '1A' must match [A-Za-z_][A-Za-z0-9_]*");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run\n    env: {A: [x]}\n")),
            "cairn.yaml:4:14: step 's': env 'A' must be a string, got a list");
}

TEST(PipelineSpecErrors, StepNamesAndStructure) {
  EXPECT_EQ(ErrorOf("steps:\n  train model:\n    cmd: run\n"),
            "cairn.yaml:2:3: step name 'train model' must match [A-Za-z0-9_.-]+");
  EXPECT_EQ(ErrorOf("steps:\n  a@b:\n    cmd: run\n"),
            "cairn.yaml:2:3: step name 'a@b' must match [A-Za-z0-9_.-]+");
  EXPECT_EQ(ErrorOf("steps:\n  a:\n    cmd: x\n  a:\n    cmd: y\n"),
            "cairn.yaml:4:3: step 'a': the step is declared twice");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: x\n    cmd: y\n")),
            "cairn.yaml:4:5: step 's': 'cmd' appears twice");
  EXPECT_EQ(ErrorOf("steps: []\n"),
            "cairn.yaml:1:8: 'steps' must be a non-empty map of step name -> step");
  EXPECT_EQ(ErrorOf("steps:\n"),
            "cairn.yaml:1:1: 'steps' must be a non-empty map of step name -> step");
  EXPECT_EQ(ErrorOf(""), "cairn.yaml:1:1: a pipeline must be a map with a 'steps' key");
  EXPECT_EQ(ErrorOf("- a\n"), "cairn.yaml:1:1: a pipeline must be a map with a 'steps' key");
}

TEST(PipelineSpecErrors, MalformedYamlNamesTheLine) {
  std::string message = ErrorOf("steps:\n  s:\n    cmd: [unclosed\n");
  EXPECT_TRUE(message.starts_with("cairn.yaml:4:1: invalid YAML: ")) << message;
  message = ErrorOf("steps:\n  s:\n    cmd: a\n   bad: indent\n");
  EXPECT_TRUE(message.starts_with("cairn.yaml:4:")) << message;
  EXPECT_NE(message.find("invalid YAML"), std::string::npos) << message;
}

TEST(PipelineSpecForeach, MatrixExpandsWithSortedKeys) {
  Result<PipelineSpec> spec = ParsePipelineSpec(R"(steps:
  evaluate:
    foreach: {split: [a, b], seed: [1, 2]}
    cmd: eval --seed ${item.seed} --split ${item.split}
    deps: [data/${item.split}]
    outs: [eval/${item.split}/${item.seed}]
    metrics: [eval/m-${item.split}-${item.seed}.json]
    env: {SEED: "${item.seed}", FIXED: "x"}
)",
                                                "cairn.yaml");
  ASSERT_TRUE(spec) << spec.error().message();
  std::vector<std::string> names;
  for (const Step& s : spec->steps) names.push_back(s.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"evaluate@seed=1,split=a", "evaluate@seed=1,split=b",
                                      "evaluate@seed=2,split=a", "evaluate@seed=2,split=b"}));
  const Step& s = spec->steps[2];
  EXPECT_EQ(s.base_name, "evaluate");
  EXPECT_EQ(s.item, (std::map<std::string, std::string>{{"item.seed", "2"}, {"item.split", "a"}}));
  EXPECT_EQ(s.cmd, "eval --seed 2 --split a");
  EXPECT_EQ(Paths(s.deps), (std::vector<std::string>{"data/a"}));
  EXPECT_EQ(Paths(s.outs), (std::vector<std::string>{"eval/a/2"}));
  EXPECT_EQ(Paths(s.metrics), (std::vector<std::string>{"eval/m-a-2.json"}));
  EXPECT_EQ(s.env, (std::map<std::string, std::string>{{"FIXED", "x"}, {"SEED", "2"}}));
}

TEST(PipelineSpecForeach, ListKeepsDeclaredOrderInPlace) {
  Result<PipelineSpec> spec = ParsePipelineSpec(R"(steps:
  first:
    cmd: a
  fan:
    foreach: [z, 0.5, a]
    cmd: run ${item}
  last:
    cmd: b
)",
                                                "cairn.yaml");
  ASSERT_TRUE(spec) << spec.error().message();
  std::vector<std::string> names;
  for (const Step& s : spec->steps) names.push_back(s.name + "|" + s.cmd);
  EXPECT_EQ(names, (std::vector<std::string>{"first|a", "fan@z|run z", "fan@0.5|run 0.5",
                                             "fan@a|run a", "last|b"}));
}

TEST(PipelineSpecForeach, UnknownVariablesAreErrors) {
  EXPECT_EQ(ErrorOf(OneStep("    foreach: [a]\n    cmd: run ${itme}\n")),
            "cairn.yaml:4:10: step 's': unknown variable '${itme}' (defined: ${item}; write '$${' "
            "for a literal '${')");
  EXPECT_EQ(ErrorOf(OneStep("    cmd: run ${item}\n")),
            "cairn.yaml:3:10: step 's': unknown variable '${item}' (no foreach, so none is "
            "defined; write '$${' for a literal '${')");
  EXPECT_EQ(ErrorOf(OneStep("    foreach: {k: [1]}\n    cmd: run\n    outs: [o/${item}]\n")),
            "cairn.yaml:5:12: step 's': unknown variable '${item}' (defined: ${item.k}; write "
            "'$${' for a literal '${')");
  EXPECT_EQ(ErrorOf(OneStep("    foreach: [a]\n    cmd: run\n    env: {X: \"${item.k}\"}\n")),
            "cairn.yaml:5:14: step 's': unknown variable '${item.k}' (defined: ${item}; write "
            "'$${' for a literal '${')");
  EXPECT_EQ(ErrorOf(OneStep("    foreach: [a]\n    cmd: run ${item\n")),
            "cairn.yaml:4:10: step 's': unterminated '${' in 'run ${item' (write '$${' for a "
            "literal '${')");
}

TEST(PipelineSpecForeach, EscapesAndPlainDollars) {
  Result<PipelineSpec> spec = ParsePipelineSpec(
      OneStep("    foreach: [a]\n    cmd: echo $${HOME} $$ $PATH ${item}\n"), "cairn.yaml");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->steps[0].cmd, "echo ${HOME} $$ $PATH a");
  EXPECT_EQ(SubstituteVariables("$${item}-${item}", {{"item", "v"}}), "${item}-v");
  EXPECT_EQ(SubstituteVariables("a$", {}), "a$");
}

TEST(PipelineSpecForeach, VariablesInFlowAndBlockCollections) {
  // "${...}" is one token even inside [ ] and { } (plain YAML would read its
  // braces as a flow map); quoted and block forms work the same.
  Result<PipelineSpec> spec = ParsePipelineSpec(R"(steps:
  s:
    foreach: [a]
    cmd: "run ${item}"
    outs: [x/${item}.json, 'y/${item}', {z: 1}]
)",
                                                "cairn.yaml");
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message(),
            "cairn.yaml:5:41: step 's': 'outs' entries must be non-empty strings, got a map");
  spec = ParsePipelineSpec(R"(steps:
  s:
    foreach: [a]
    cmd: "run ${item}"
    outs: [x/${item}.json, 'y/${item}']
    deps:
      - d/${item}
    env: {V: ${item}-${item}}
)",
                           "cairn.yaml");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->steps[0].cmd, "run a");
  EXPECT_EQ(Paths(spec->steps[0].outs), (std::vector<std::string>{"x/a.json", "y/a"}));
  EXPECT_EQ(spec->steps[0].outs[1].location.column, 28);
  EXPECT_EQ(Paths(spec->steps[0].deps), (std::vector<std::string>{"d/a"}));
  EXPECT_EQ(spec->steps[0].env.at("V"), "a-a");
  EXPECT_EQ(ErrorOf("steps:\n  s:\n    cmd: a\x01\n"),
            "cairn.yaml:3:11: invalid YAML: control character in the text");
}

TEST(PipelineSpecForeach, BadForeachValues) {
  EXPECT_EQ(ErrorOf(OneStep("    foreach: []\n    cmd: run\n")),
            "cairn.yaml:3:14: step 's': 'foreach' must be a non-empty list of scalars, got a list");
  EXPECT_EQ(ErrorOf(OneStep("    foreach: [a, a]\n    cmd: run\n")),
            "cairn.yaml:3:18: step 's': 'foreach' lists 'a' twice");
  EXPECT_EQ(ErrorOf(OneStep("    foreach: [a b]\n    cmd: run\n")),
            "cairn.yaml:3:15: step 's': 'foreach' values must be scalars made of [A-Za-z0-9_.-], "
            "got 'a b'");
  EXPECT_EQ(ErrorOf(OneStep("    foreach: {k: x}\n    cmd: run\n")),
            "cairn.yaml:3:18: step 's': 'foreach' matrix key 'k' must be a non-empty list of "
            "scalars, got 'x'");
  EXPECT_EQ(ErrorOf(OneStep("    foreach: small\n    cmd: run\n")),
            "cairn.yaml:3:14: step 's': 'foreach' must be a list of values or a matrix map name "
            "-> list, got 'small'");
}

TEST(PipelineSpec, LoadFromFile) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("cairn_spec_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "cairn.yaml").string();
  {
    std::ofstream out(path);
    out << "steps:\n  a:\n    cmd: run\n    retries: x\n";
  }
  Result<PipelineSpec> spec = LoadPipelineSpec(path);
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message(),
            path + ":4:14: step 'a': 'retries' must be a non-negative integer, got 'x'");
  {
    std::ofstream out(path);
    out << "steps:\n  a:\n    cmd: run\n";
  }
  spec = LoadPipelineSpec(path);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->steps[0].cmd, "run");
  EXPECT_EQ(spec->file_name, path);

  Result<PipelineSpec> missing = LoadPipelineSpec((dir / "nope.yaml").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cairn::pipeline
