#include "pipeline/dag.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cairn::pipeline {
namespace {

using Names = std::vector<std::string>;

Result<Dag> BuildFrom(const std::string& yaml) {
  Result<PipelineSpec> spec = ParsePipelineSpec(yaml, "cairn.yaml");
  if (!spec) return std::unexpected(spec.error());
  return Dag::Build(std::move(*spec));
}

std::string ErrorOf(const std::string& yaml) {
  Result<Dag> dag = BuildFrom(yaml);
  if (dag) return "<built>";
  EXPECT_EQ(dag.error().code(), ErrorCode::kInvalidArgument);
  return dag.error().message();
}

constexpr const char* kIssueExample = R"(steps:
  prepare:
    cmd: python prepare.py
    deps: [data/raw, prepare.py]
    outs: [data/prepared]
  train:
    cmd: python train.py --out model
    deps: [data/prepared, train.py]
    params: [train.lr, train.depth]
    outs: [model]
    metrics: [metrics.json]
  evaluate:
    foreach: [small, large]
    cmd: python evaluate.py --split ${item}
    deps: [model, evaluate.py]
    outs: [eval/${item}.json]
)";

TEST(PipelineDag, IssueExample) {
  Result<Dag> dag = BuildFrom(kIssueExample);
  ASSERT_TRUE(dag) << dag.error().message();
  EXPECT_EQ(dag->TopologicalOrder(),
            (Names{"prepare", "train", "evaluate@small", "evaluate@large"}));
  EXPECT_EQ(dag->Parents("train"), (Names{"prepare"}));
  EXPECT_EQ(dag->Children("train"), (Names{"evaluate@small", "evaluate@large"}));
  EXPECT_EQ(dag->Upstream("evaluate@large"), (Names{"prepare", "train"}));
  EXPECT_EQ(dag->Downstream("prepare"), (Names{"train", "evaluate@small", "evaluate@large"}));
  EXPECT_EQ(dag->Downstream("evaluate@small"), Names{});
  EXPECT_EQ(dag->SourcePaths(), (Names{"data/raw", "evaluate.py", "prepare.py", "train.py"}));
  Result<std::vector<DepSource>> deps = dag->Deps("train");
  ASSERT_TRUE(deps);
  ASSERT_EQ(deps->size(), 2u);
  EXPECT_EQ((*deps)[0].path, "data/prepared");
  EXPECT_EQ((*deps)[0].producers, (Names{"prepare"}));
  EXPECT_EQ((*deps)[1].path, "train.py");
  EXPECT_EQ((*deps)[1].producers, Names{});
  EXPECT_EQ(dag->RenderDag(),
            "layer 0\n"
            "  prepare\n"
            "layer 1\n"
            "  train <- prepare\n"
            "layer 2\n"
            "  evaluate@small <- train\n"
            "  evaluate@large <- train\n");
}

TEST(PipelineDag, UnknownStepIsNotFound) {
  Result<Dag> dag = BuildFrom(kIssueExample);
  ASSERT_TRUE(dag);
  for (auto result : {dag->Upstream("evaluate"), dag->Downstream("nope"), dag->Parents("x"),
                      dag->Children("y")}) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), ErrorCode::kNotFound);
  }
  EXPECT_EQ(dag->Upstream("evaluate").error().message(), "pipeline has no step 'evaluate'");
  EXPECT_FALSE(dag->Deps("evaluate"));
}

TEST(PipelineDag, DiamondAndRendering) {
  Result<Dag> dag = BuildFrom(R"(steps:
  d:
    cmd: d
    deps: [b.out, c.out]
  c:
    cmd: c
    deps: [a.out]
    outs: [c.out]
  e:
    cmd: e
  b:
    cmd: b
    deps: [a.out]
    outs: [b.out]
  a:
    cmd: a
    outs: [a.out]
)");
  ASSERT_TRUE(dag) << dag.error().message();
  // Ready steps in declaration order: e (index 2) and a (4); e first, then a
  // frees c (1) and b (3), c first; then d.
  EXPECT_EQ(dag->TopologicalOrder(), (Names{"e", "a", "c", "b", "d"}));
  EXPECT_EQ(dag->Parents("d"), (Names{"c", "b"}));
  EXPECT_EQ(dag->Children("a"), (Names{"c", "b"}));
  EXPECT_EQ(dag->Upstream("d"), (Names{"a", "c", "b"}));
  EXPECT_EQ(dag->Downstream("a"), (Names{"c", "b", "d"}));
  EXPECT_EQ(dag->Upstream("e"), Names{});
  EXPECT_EQ(dag->RenderDag(),
            "layer 0\n"
            "  e\n"
            "  a\n"
            "layer 1\n"
            "  c <- a\n"
            "  b <- a\n"
            "layer 2\n"
            "  d <- c, b\n");
}

TEST(PipelineDag, TopologicalOrderIsStableByDeclaration) {
  Result<Dag> dag = BuildFrom(R"(steps:
  c:
    cmd: c
    deps: [b.out]
  b:
    cmd: b
    deps: [a.out]
    outs: [b.out]
  a:
    cmd: a
    outs: [a.out]
  d:
    cmd: d
)");
  ASSERT_TRUE(dag) << dag.error().message();
  EXPECT_EQ(dag->TopologicalOrder(), (Names{"a", "b", "c", "d"}));
  // Independent steps keep their declared order.
  dag = BuildFrom("steps:\n  z:\n    cmd: z\n  m:\n    cmd: m\n  a:\n    cmd: a\n");
  ASSERT_TRUE(dag);
  EXPECT_EQ(dag->TopologicalOrder(), (Names{"z", "m", "a"}));
  EXPECT_EQ(dag->RenderDag(), "layer 0\n  z\n  m\n  a\n");
}

TEST(PipelineDag, NestedOutDepsAndFolderDeps) {
  Result<Dag> dag = BuildFrom(R"(steps:
  prepare:
    cmd: p
    outs: [data/prepared]
  train:
    cmd: t
    deps: [data/prepared/x.csv, data/other.csv]
    metrics: [metrics.json]
  evaluate:
    foreach: [a, b]
    cmd: e ${item}
    outs: [eval/${item}.json]
  report:
    cmd: r
    deps: [eval, metrics.json, evaluation]
)");
  ASSERT_TRUE(dag) << dag.error().message();
  EXPECT_EQ(dag->Parents("train"), (Names{"prepare"}));
  Result<std::vector<DepSource>> deps = dag->Deps("train");
  ASSERT_TRUE(deps);
  EXPECT_EQ((*deps)[0].producers, (Names{"prepare"}));
  EXPECT_EQ((*deps)[1].producers, Names{});
  // A folder dep is fed by every step writing inside it; a metrics file is an output.
  EXPECT_EQ(dag->Parents("report"), (Names{"train", "evaluate@a", "evaluate@b"}));
  deps = dag->Deps("report");
  ASSERT_TRUE(deps);
  EXPECT_EQ((*deps)[0].producers, (Names{"evaluate@a", "evaluate@b"}));
  EXPECT_EQ((*deps)[1].producers, (Names{"train"}));
  // "evaluation" shares a prefix with "eval" but is not inside it.
  EXPECT_EQ((*deps)[2].producers, Names{});
  EXPECT_EQ(dag->SourcePaths(), (Names{"data/other.csv", "evaluation"}));
}

TEST(PipelineDag, LongChainDeclaredBackwards) {
  // s0 <- s1 <- ... declared last-first: the order must still be s0, s1, ...
  constexpr int kSteps = 2000;
  std::string yaml = "steps:\n";
  for (int i = kSteps - 1; i >= 0; --i) {
    yaml += "  s" + std::to_string(i) + ":\n    cmd: c\n    outs: [o" + std::to_string(i) + "]\n";
    if (i > 0) yaml += "    deps: [o" + std::to_string(i - 1) + "/f]\n";
  }
  Result<Dag> dag = BuildFrom(yaml);
  ASSERT_TRUE(dag) << dag.error().message();
  ASSERT_EQ(dag->TopologicalOrder().size(), static_cast<size_t>(kSteps));
  for (int i = 0; i < kSteps; ++i) {
    ASSERT_EQ(dag->TopologicalOrder()[i], "s" + std::to_string(i));
  }
  Result<Names> up = dag->Upstream("s1999");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->size(), 1999u);
  EXPECT_EQ(up->front(), "s0");
  EXPECT_EQ(dag->Parents("s1999"), (Names{"s1998"}));
}

TEST(PipelineDagErrors, CycleOfOneStep) {
  EXPECT_EQ(ErrorOf("steps:\n  a:\n    cmd: a\n    deps: [x/y]\n    outs: [x]\n"),
            "cairn.yaml:2:3: step 'a': cycle: a -> a");
}

TEST(PipelineDagErrors, CycleOfTwoSteps) {
  EXPECT_EQ(ErrorOf(R"(steps:
  ok:
    cmd: ok
    outs: [ok.out]
  a:
    cmd: a
    deps: [b.out, ok.out]
    outs: [a.out]
  b:
    cmd: b
    deps: [a.out]
    outs: [b.out]
)"),
            "cairn.yaml:5:3: step 'a': cycle: a -> b -> a");
}

TEST(PipelineDagErrors, CycleOfThreeStepsWithADownstreamStep) {
  // z hangs below the cycle; the cycle is printed from its earliest step, a,
  // in data-flow order (a's out feeds b, b's feeds c, c's feeds a).
  EXPECT_EQ(ErrorOf(R"(steps:
  z:
    cmd: z
    deps: [a.out]
  a:
    cmd: a
    deps: [c.out]
    outs: [a.out]
  b:
    cmd: b
    deps: [a.out]
    outs: [b.out]
  c:
    cmd: c
    deps: [b.out]
    outs: [c.out]
)"),
            "cairn.yaml:5:3: step 'a': cycle: a -> b -> c -> a");
}

TEST(PipelineDagErrors, SameOutTwice) {
  EXPECT_EQ(ErrorOf(R"(steps:
  a:
    cmd: a
    outs: [model]
  b:
    cmd: b
    outs: [x, ./model/]
)"),
            "cairn.yaml:7:15: step 'b': out 'model' is also written as out 'model' of step 'a' "
            "(cairn.yaml:4:12)");
  EXPECT_EQ(ErrorOf(R"(steps:
  a:
    cmd: a
    metrics: [m.json]
  b:
    cmd: b
    outs: [m.json]
)"),
            "cairn.yaml:7:12: step 'b': out 'm.json' is also written as metrics 'm.json' of "
            "step 'a' (cairn.yaml:4:15)");
  // A foreach whose outs do not depend on the item writes one path twice.
  EXPECT_EQ(ErrorOf("steps:\n  e:\n    foreach: [a, b]\n    cmd: e ${item}\n    outs: [o]\n"),
            "cairn.yaml:5:12: step 'e@b': out 'o' is also written as out 'o' of step 'e@a' "
            "(cairn.yaml:5:12)");
}

TEST(PipelineDagErrors, OutInsideAnotherOut) {
  EXPECT_EQ(ErrorOf(R"(steps:
  b:
    cmd: b
    outs: [data/prepared/extra.csv]
  a:
    cmd: a
    outs: [data/prepared]
)"),
            "cairn.yaml:4:12: step 'b': out 'data/prepared/extra.csv' is inside out "
            "'data/prepared' of step 'a' (cairn.yaml:7:12)");
  EXPECT_EQ(ErrorOf("steps:\n  a:\n    cmd: a\n    outs: [d]\n    metrics: [d/m.json]\n"),
            "cairn.yaml:5:15: step 'a': metrics 'd/m.json' is inside out 'd' of step 'a' "
            "(cairn.yaml:4:12)");
  // A shared name prefix is not nesting.
  EXPECT_EQ(ErrorOf("steps:\n  a:\n    cmd: a\n    outs: [data]\n  b:\n    cmd: b\n"
                    "    outs: [data2, data.csv]\n"),
            "<built>");
}

}  // namespace
}  // namespace cairn::pipeline
