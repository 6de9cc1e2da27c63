#include "pipeline/params.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/data_test_util.h"

namespace cairn::pipeline {
namespace {

using data::testing::TempDir;
using data::testing::WriteFile;

ParamRef Ref(std::string key, std::string file = "params.yaml") {
  ParamRef r;
  r.file = std::move(file);
  r.key = std::move(key);
  return r;
}

TEST(ParamsTest, DisplayKey) {
  EXPECT_EQ(ParamDisplayKey(Ref("train.lr")), "train.lr");
  EXPECT_EQ(ParamDisplayKey(Ref("a.b", "conf/other.yaml")), "conf/other.yaml:a.b");
}

TEST(ParamsTest, ReadsNestedYamlValuesAsCanonicalJson) {
  TempDir dir;
  WriteFile(dir.path() / "params.yaml",
            "train:\n"
            "  lr: 0.10\n"
            "  depth: 6\n"
            "  name: resnet\n"
            "  quoted: '6'\n"
            "  on: true\n"
            "  off: False\n"
            "  nothing: ~\n"
            "  plus: +3\n"
            "  half: .5\n"
            "  hex: 0x1F\n"
            "  exp: 1e3\n"
            "  inf: .inf\n"
            "  layers: [64, 32]\n"
            "  opt: {beta2: 0.999, beta1: 0.9, name: \"adam\\tw\"}\n"
            "dotted.key: 7\n");
  std::vector<ParamRef> refs;
  for (const char* k :
       {"train.lr", "train.depth", "train.name", "train.quoted", "train.on", "train.off",
        "train.nothing", "train.plus", "train.half", "train.hex", "train.exp", "train.inf",
        "train.layers", "train.opt", "train.layers.1", "dotted.key", "train"}) {
    refs.push_back(Ref(k));
  }
  auto values = ReadParams(dir.path(), refs, "train");
  ASSERT_TRUE(values.has_value()) << values.error().message();
  const auto& v = *values;
  EXPECT_EQ(v.at("train.lr"), "0.10");
  EXPECT_EQ(v.at("train.depth"), "6");
  EXPECT_EQ(v.at("train.name"), "\"resnet\"");
  EXPECT_EQ(v.at("train.quoted"), "\"6\"");
  EXPECT_EQ(v.at("train.on"), "true");
  EXPECT_EQ(v.at("train.off"), "false");
  EXPECT_EQ(v.at("train.nothing"), "null");
  EXPECT_EQ(v.at("train.plus"), "3");
  EXPECT_EQ(v.at("train.half"), "0.5");
  EXPECT_EQ(v.at("train.hex"), "31");
  EXPECT_EQ(v.at("train.exp"), "1e3");
  EXPECT_EQ(v.at("train.inf"), "\".inf\"");
  EXPECT_EQ(v.at("train.layers"), "[64,32]");
  EXPECT_EQ(v.at("train.opt"), "{\"beta1\":0.9,\"beta2\":0.999,\"name\":\"adam\\tw\"}");
  EXPECT_EQ(v.at("train.layers.1"), "32");
  EXPECT_EQ(v.at("dotted.key"), "7");
  EXPECT_TRUE(v.at("train").starts_with("{\"depth\":6,\"exp\":1e3,\"half\":0.5,")) << v.at("train");
}

TEST(ParamsTest, ReformattedFileKeepsValues) {
  TempDir a;
  TempDir b;
  WriteFile(a.path() / "params.yaml", "train:\n  lr: 0.1\n  opt: {b: 2, a: [1, 2]}\n");
  WriteFile(b.path() / "params.yaml",
            "# comment\ntrain:\n    opt:\n        a:\n        - 1\n        - 2\n        b: 2\n"
            "    lr:   0.1   # same\n");
  std::vector<ParamRef> refs = {Ref("train.lr"), Ref("train.opt")};
  auto va = ReadParams(a.path(), refs, "s");
  auto vb = ReadParams(b.path(), refs, "s");
  ASSERT_TRUE(va.has_value() && vb.has_value());
  EXPECT_EQ(*va, *vb);
  EXPECT_EQ(va->at("train.opt"), "{\"a\":[1,2],\"b\":2}");
}

TEST(ParamsTest, JsonFilesKeepNumbersAsWritten) {
  TempDir dir;
  WriteFile(dir.path() / "conf" / "p.json",
            "{\"model\": {\"lr\": 0.10, \"n\": 12, \"neg\": -3, \"s\": \"x\\u0001\", "
            "\"l\": [true, null, 1.5e-3]}}");
  auto values = ReadParams(dir.path(),
                           {Ref("model.lr", "conf/p.json"), Ref("model.n", "conf/p.json"),
                            Ref("model.neg", "conf/p.json"), Ref("model.s", "conf/p.json"),
                            Ref("model.l", "conf/p.json")},
                           "train");
  ASSERT_TRUE(values.has_value()) << values.error().message();
  EXPECT_EQ(values->at("conf/p.json:model.lr"), "0.10");
  EXPECT_EQ(values->at("conf/p.json:model.n"), "12");
  EXPECT_EQ(values->at("conf/p.json:model.neg"), "-3");
  EXPECT_EQ(values->at("conf/p.json:model.s"), "\"x\\u0001\"");
  EXPECT_EQ(values->at("conf/p.json:model.l"), "[true,null,1.5e-3]");
}

TEST(ParamsTest, MissingKeyNamesFileKeyStepAndSiblings) {
  TempDir dir;
  WriteFile(dir.path() / "params.yaml", "train:\n  depth: 6\n  epochs: 3\nother: 1\n");
  auto r = ReadParams(dir.path(), {Ref("train.lr")}, "train");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(),
            "params.yaml has no key 'train.lr' (step 'train'; keys under 'train': depth, epochs)");
  auto top = ReadParams(dir.path(), {Ref("prep.size")}, "prepare");
  ASSERT_FALSE(top.has_value());
  EXPECT_EQ(top.error().message(),
            "params.yaml has no key 'prep.size' (step 'prepare'; top-level keys: other, train)");
  auto scalar = ReadParams(dir.path(), {Ref("other.x")}, "s");
  ASSERT_FALSE(scalar.has_value());
  EXPECT_EQ(scalar.error().message(), "params.yaml has no key 'other.x' (step 's'; 'other' is 1)");
}

TEST(ParamsTest, MissingFileIsNotFound) {
  TempDir dir;
  auto r = ReadParams(dir.path(), {Ref("train.lr")}, "train");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message(),
            "step 'train': params file params.yaml does not exist (it holds 'train.lr')");
}

TEST(ParamsTest, MalformedFilesNameFileAndLine) {
  TempDir dir;
  WriteFile(dir.path() / "params.yaml", "train:\n  lr: [1, 2\n");
  auto r = ReadParams(dir.path(), {Ref("train.lr")}, "train");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(r.error().message().starts_with("params.yaml:")) << r.error().message();
  EXPECT_NE(r.error().message().find("invalid YAML"), std::string::npos);

  WriteFile(dir.path() / "dup.yaml", "a: 1\nb: 2\na: 3\n");
  auto dup = ReadParams(dir.path(), {Ref("a", "dup.yaml")}, "s");
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().message(), "dup.yaml:3: key 'a' is repeated");

  WriteFile(dir.path() / "p.json", "{\"a\": 1,\n \"b\": }");
  auto json = ReadParams(dir.path(), {Ref("a", "p.json")}, "s");
  ASSERT_FALSE(json.has_value());
  EXPECT_TRUE(json.error().message().starts_with("p.json:2: invalid JSON: "))
      << json.error().message();

  WriteFile(dir.path() / "list.yaml", "- 1\n- 2\n");
  auto list = ReadParams(dir.path(), {Ref("a", "list.yaml")}, "s");
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().message(),
            "list.yaml: the top level must be a mapping of keys (step 's')");
}

}  // namespace
}  // namespace cairn::pipeline
