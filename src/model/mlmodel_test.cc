#include "model/mlmodel.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace cairn::model {
namespace {

using nlohmann::json;

// The MLmodel files in testdata/ were written by the real mlflow client
// (2.22.5 and 3.17.2); see testdata/README.md.
std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(CAIRN_MODEL_TESTDATA) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ModelManifest ParseOk(const std::string& text) {
  auto parsed = ParseMlModel(text);
  EXPECT_TRUE(parsed) << parsed.error().ToString();
  return parsed ? *parsed : ModelManifest{};
}

std::string ErrorOf(const std::string& text, std::string_view file = "MLmodel") {
  auto parsed = ParseMlModel(text, file);
  if (parsed) return "<parsed>";
  EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
  return parsed.error().message();
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::vector<std::string> FlavorNames(const ModelManifest& m) {
  std::vector<std::string> names;
  for (const auto& [name, config] : m.flavors) names.push_back(name);
  return names;
}

ColumnSpec Column(std::optional<std::string> name, std::string type, std::string type_json,
                  DataType data_type, bool required = true) {
  return ColumnSpec{std::move(name), std::move(type), data_type, required, std::move(type_json)};
}

// ---- real files ------------------------------------------------------------

TEST(ParseMlModelTest, Mlflow3SklearnWithColumnSignatureParamsAndMetadata) {
  ModelManifest m = ParseOk(Testdata("mlflow3_sklearn_columns.MLmodel"));
  EXPECT_EQ(m.artifact_path,
            "/tmp/mlexp/v3/mlruns/1/models/m-7967eaff863441238d8e8edaef79ec4c/artifacts");
  EXPECT_EQ(m.run_id, "fb48eca0f4d142dca238f0c706045222");
  EXPECT_EQ(m.model_id, "m-7967eaff863441238d8e8edaef79ec4c");
  EXPECT_EQ(m.model_uuid, "m-7967eaff863441238d8e8edaef79ec4c");
  EXPECT_EQ(m.utc_time_created, "2026-11-26 15:34:34.985042");
  EXPECT_EQ(m.mlflow_version, "3.17.2");
  EXPECT_EQ(m.model_size_bytes, 10464);
  EXPECT_EQ(FlavorNames(m), (std::vector<std::string>{"python_function", "sklearn"}));
  EXPECT_TRUE(m.HasFlavor("sklearn"));
  EXPECT_FALSE(m.HasFlavor("xgboost"));

  ASSERT_TRUE(m.python_function);
  EXPECT_EQ(m.python_function->loader_module, "mlflow.sklearn");
  EXPECT_EQ(m.python_function->python_version, "3.11.2");
  EXPECT_EQ(m.python_function->model_path, "model.skops");
  EXPECT_EQ(m.python_function->data, "");
  EXPECT_EQ(m.python_function->conda_env, "conda.yaml");
  EXPECT_EQ(m.python_function->virtualenv, "python_env.yaml");
  ASSERT_TRUE(m.sklearn);
  EXPECT_EQ(m.sklearn->pickled_model, "model.skops");
  EXPECT_EQ(m.sklearn->serialization_format, "skops");
  EXPECT_EQ(m.sklearn->sklearn_version, "1.9.1");
  EXPECT_FALSE(m.xgboost);
  EXPECT_EQ(json::parse(m.flavors.at("sklearn")),
            json::parse(R"({"code": null, "pickled_model": "model.skops",
                            "serialization_format": "skops", "sklearn_version": "1.9.1",
                            "skops_trusted_types": null})"));
  EXPECT_EQ(json::parse(m.flavors.at("python_function"))["env"],
            json::parse(R"({"conda": "conda.yaml", "virtualenv": "python_env.yaml"})"));

  ASSERT_TRUE(m.signature);
  const Signature& sig = *m.signature;
  EXPECT_FALSE(sig.inputs_are_tensors);
  ASSERT_TRUE(sig.inputs);
  EXPECT_EQ(
      sig.inputs->columns,
      (std::vector<ColumnSpec>{Column("age", "double", R"({"type":"double"})", DataType::kDouble),
                               Column("income", "long", R"({"type":"long"})", DataType::kLong)}));
  ASSERT_TRUE(sig.outputs);
  EXPECT_TRUE(sig.outputs->is_tensor);
  EXPECT_EQ(sig.outputs->tensors, (std::vector<TensorSpec>{{std::nullopt, "int64", {-1}}}));
  ASSERT_TRUE(sig.params);
  EXPECT_EQ(*sig.params, (std::vector<ParamSpec>{{"threshold", "double", "0.5", std::nullopt},
                                                 {"mode", "string", "\"fast\"", std::nullopt}}));

  ASSERT_TRUE(m.input_example);
  EXPECT_EQ(m.input_example->type, "dataframe");
  EXPECT_EQ(m.input_example->artifact_path, "input_example.json");
  EXPECT_EQ(m.input_example->serving_input_path, "serving_input_example.json");
  EXPECT_EQ(m.input_example->pandas_orient, "split");
  EXPECT_EQ(json::parse(m.input_example->info_json)["type"], "dataframe");
  EXPECT_EQ(m.requirements_files, (std::vector<std::string>{"conda.yaml", "python_env.yaml"}));
  EXPECT_EQ(json::parse(m.metadata_json), json::parse(R"({"team": "risk", "tier": 1})"));
}

TEST(ParseMlModelTest, Mlflow2SklearnWithColumnSignature) {
  ModelManifest m = ParseOk(Testdata("mlflow2_sklearn_columns.MLmodel"));
  EXPECT_EQ(m.artifact_path, "sk_cols");
  EXPECT_EQ(m.run_id, "c2db963e40444751898ac6a56e7d6502");
  EXPECT_EQ(m.model_uuid, "9dc8a43236304637bf8e44e1f4c2ced1");
  EXPECT_EQ(m.model_id, "");  // MLflow 2 has no logged models
  EXPECT_EQ(m.mlflow_version, "2.22.5");
  EXPECT_EQ(m.model_size_bytes, 1079);
  ASSERT_TRUE(m.sklearn);
  EXPECT_EQ(m.sklearn->pickled_model, "model.pkl");
  EXPECT_EQ(m.sklearn->serialization_format, "cloudpickle");
  ASSERT_TRUE(m.signature && m.signature->inputs && m.signature->params);
  EXPECT_EQ(m.signature->inputs->columns.size(), 2u);
  EXPECT_EQ(m.signature->inputs->columns[1].name, "income");
  EXPECT_EQ(m.signature->params->at(0).default_json, "0.5");
  EXPECT_EQ(json::parse(m.metadata_json)["tier"], 1);
}

TEST(ParseMlModelTest, XgboostFromBothClients) {
  struct Case {
    std::string file, data, format, version, mlflow;
  };
  for (const Case& c : {Case{"mlflow3_xgboost.MLmodel", "model.ubj", "ubj", "3.2.0", "3.17.2"},
                        Case{"mlflow2_xgboost.MLmodel", "model.xgb", "xgb", "3.2.0", "2.22.5"}}) {
    SCOPED_TRACE(c.file);
    ModelManifest m = ParseOk(Testdata(c.file));
    EXPECT_EQ(m.mlflow_version, c.mlflow);
    ASSERT_TRUE(m.xgboost);
    EXPECT_EQ(m.xgboost->data, c.data);
    EXPECT_EQ(m.xgboost->model_format, c.format);
    EXPECT_EQ(m.xgboost->xgb_version, c.version);
    EXPECT_EQ(m.xgboost->model_class, "xgboost.sklearn.XGBClassifier");
    ASSERT_TRUE(m.python_function);
    EXPECT_EQ(m.python_function->loader_module, "mlflow.xgboost");
    EXPECT_EQ(m.python_function->data, c.data);
    EXPECT_FALSE(m.sklearn);
    EXPECT_EQ(m.model_size_bytes, 3267);
    ASSERT_TRUE(m.signature && m.signature->outputs);
    // An unnamed output column.
    EXPECT_EQ(m.signature->outputs->columns,
              (std::vector<ColumnSpec>{
                  Column(std::nullopt, "long", R"({"type":"long"})", DataType::kLong)}));
    EXPECT_FALSE(m.signature->params);
  }
}

TEST(ParseMlModelTest, TensorSignatureFromANumpyInputExample) {
  for (std::string file : {"mlflow3_sklearn_tensor.MLmodel", "mlflow2_sklearn_tensor.MLmodel"}) {
    SCOPED_TRACE(file);
    ModelManifest m = ParseOk(Testdata(file));
    ASSERT_TRUE(m.signature && m.signature->inputs);
    EXPECT_TRUE(m.signature->inputs_are_tensors);
    EXPECT_TRUE(m.signature->inputs->is_tensor);
    EXPECT_TRUE(m.signature->inputs->columns.empty());
    EXPECT_EQ(m.signature->inputs->tensors,
              (std::vector<TensorSpec>{{std::nullopt, "float32", {-1, 2}}}));
    ASSERT_TRUE(m.input_example);
    EXPECT_EQ(m.input_example->type, "ndarray");
    EXPECT_EQ(m.input_example->pandas_orient, "");
  }
}

TEST(ParseMlModelTest, ComplexColumnTypesFromMlflow3) {
  ModelManifest m = ParseOk(Testdata("mlflow3_pyfunc_complex_types.MLmodel"));
  ASSERT_TRUE(m.python_function);
  EXPECT_EQ(m.python_function->loader_module, "mlflow.pyfunc.model");
  EXPECT_FALSE(m.input_example);
  ASSERT_TRUE(m.signature && m.signature->inputs);
  const auto& cols = m.signature->inputs->columns;
  ASSERT_EQ(cols.size(), 6u);
  EXPECT_EQ(cols[0], Column("text", "string", R"({"type":"string"})", DataType::kString));
  EXPECT_EQ(cols[1], Column("tags", "array", R"({"items":{"type":"string"},"type":"array"})",
                            DataType::kArray));
  EXPECT_EQ(cols[2].data_type, DataType::kObject);
  EXPECT_EQ(json::parse(cols[2].type_json), json::parse(R"({"type": "object", "properties": {
                "a": {"type": "long", "required": true},
                "b": {"type": "string", "required": true}}})"));
  EXPECT_EQ(cols[3].data_type, DataType::kBinary);
  EXPECT_EQ(cols[4].data_type, DataType::kDatetime);
  EXPECT_EQ(cols[5].data_type, DataType::kBoolean);
  EXPECT_FALSE(m.signature->params);
}

TEST(ParseMlModelTest, SignatureToJsonGivesParsedLists) {
  ModelManifest m = ParseOk(Testdata("mlflow3_sklearn_columns.MLmodel"));
  ASSERT_TRUE(m.signature);
  EXPECT_EQ(SignatureToJson(*m.signature),
            R"({"inputs":[{"name":"age","type":"double","required":true},)"
            R"({"name":"income","type":"long","required":true}],)"
            R"("outputs":[{"type":"tensor","tensor-spec":{"dtype":"int64","shape":[-1]}}],)"
            R"("params":[{"name":"threshold","type":"double","default":0.5,"shape":null},)"
            R"({"name":"mode","type":"string","default":"fast","shape":null}]})");
}

// ---- shapes MLflow wrote in older versions, unknown flavors ----------------

TEST(ParseMlModelTest, LegacyEnvStringAndUnknownFlavorsAreKept) {
  ModelManifest m = ParseOk(R"(artifact_path: model
flavors:
  python_function:
    env: conda.yaml
    loader_module: my_module
    python_version: 3.8.10
  my_flavor:
    count: 3
    ratio: 1.5e-3
    quoted: '12'
    flags: [true, false, null]
    nested: {a: ~, b: text}
run_id: abc
utc_time_created: '2021-01-01 00:00:00.000000'
)");
  ASSERT_TRUE(m.python_function);
  EXPECT_EQ(m.python_function->conda_env, "conda.yaml");
  EXPECT_EQ(m.python_function->virtualenv, "");
  EXPECT_EQ(m.requirements_files, (std::vector<std::string>{"conda.yaml"}));
  EXPECT_EQ(json::parse(m.flavors.at("my_flavor")),
            json::parse(R"({"count": 3, "ratio": 0.0015, "quoted": "12",
                            "flags": [true, false, null], "nested": {"a": null, "b": "text"}})"));
  EXPECT_FALSE(m.signature);
  EXPECT_FALSE(m.model_size_bytes);
  EXPECT_EQ(m.metadata_json, "");
}

TEST(ParseMlModelTest, NullSignaturePartsAreAbsent) {
  ModelManifest m = ParseOk(R"(flavors: {sklearn: {pickled_model: model.pkl}}
signature:
  inputs: null
  outputs: '[{"type": "string"}]'
  params: 'null'
)");
  ASSERT_TRUE(m.signature);
  EXPECT_FALSE(m.signature->inputs);
  EXPECT_FALSE(m.signature->inputs_are_tensors);
  ASSERT_TRUE(m.signature->outputs);
  EXPECT_TRUE(m.signature->outputs->columns[0].required);  // the default
  EXPECT_FALSE(m.signature->params);
}

// ---- malformed input -------------------------------------------------------

TEST(ParseMlModelTest, NotYaml) {
  std::string msg = ErrorOf("flavors:\n  sklearn: [unclosed\n");
  EXPECT_EQ(msg.rfind("MLmodel line ", 0), 0u) << msg;
  EXPECT_NE(msg.find("not valid YAML"), std::string::npos) << msg;
  EXPECT_NE(msg.find(", column "), std::string::npos) << msg;
  EXPECT_EQ(ErrorOf(""), "MLmodel: the file is empty");
  std::string scalar = ErrorOf("just some text");
  EXPECT_NE(scalar.find("top level must be a mapping"), std::string::npos) << scalar;
  EXPECT_NE(ErrorOf("- a\n- b\n").find("not a list"), std::string::npos);
}

TEST(ParseMlModelTest, FlavorsMissingOrMalformed) {
  EXPECT_EQ(ErrorOf("run_id: abc\nmlflow_version: 2.0.1\n"), "MLmodel: field 'flavors' is missing");
  EXPECT_EQ(ErrorOf("run_id: abc\n", "runs/r1/artifacts/model/MLmodel"),
            "runs/r1/artifacts/model/MLmodel: field 'flavors' is missing");
  EXPECT_EQ(
      ErrorOf("run_id: abc\nflavors: 3\n"),
      "MLmodel line 2, column 10: field 'flavors' must be a mapping of flavor names, not '3'");
  EXPECT_NE(ErrorOf("flavors: {}\n").find("field 'flavors' is empty"), std::string::npos);
  EXPECT_EQ(ErrorOf("flavors:\n  sklearn: [a, b]\n"),
            "MLmodel line 2, column 12: field 'flavors.sklearn' must be a mapping, not a list");
  EXPECT_EQ(ErrorOf("flavors:\n  xgboost:\n    model_format: ubj\n"),
            "MLmodel: field 'flavors.xgboost.data' is missing");
  EXPECT_EQ(ErrorOf("flavors:\n  sklearn:\n    pickled_model: [x]\n"),
            "MLmodel line 3, column 20: field 'flavors.sklearn.pickled_model' must be a string, "
            "not a list");
  EXPECT_NE(ErrorOf("flavors:\n  python_function:\n    env: [a]\n")
                .find("field 'flavors.python_function.env' must be"),
            std::string::npos);
}

TEST(ParseMlModelTest, FileNamesMustStayInsideTheModelFolder) {
  std::string msg = ErrorOf("flavors:\n  xgboost:\n    data: ../../etc/passwd\n");
  EXPECT_EQ(msg,
            "MLmodel line 3, column 11: field 'flavors.xgboost.data' names '../../etc/passwd', "
            "which is outside the model folder");
  EXPECT_NE(ErrorOf("flavors:\n  sklearn:\n    pickled_model: /etc/passwd\n").find("absolute"),
            std::string::npos);
  EXPECT_NE(ErrorOf("flavors: {sklearn: {pickled_model: m.pkl}}\n"
                    "saved_input_example_info: {artifact_path: a/../../x.json, type: json}\n")
                .find("'saved_input_example_info.artifact_path'"),
            std::string::npos);
  // "a..b" and nested relative names are fine.
  ModelManifest ok = ParseOk("flavors: {xgboost: {data: data/a..b.ubj}}\n");
  ASSERT_TRUE(ok.xgboost);
  EXPECT_EQ(ok.xgboost->data, "data/a..b.ubj");
}

TEST(ParseMlModelTest, SignatureInputsNotJson) {
  std::string text =
      Replace(Testdata("mlflow3_sklearn_columns.MLmodel"), R"('[{"type": "double", "name": "age")",
              R"('[{"type": double, "name": "age")");
  std::string msg = ErrorOf(text);
  EXPECT_EQ(
      msg.rfind("MLmodel line 33, column 11: field 'signature.inputs' is not valid JSON: ", 0), 0u)
      << msg;
}

TEST(ParseMlModelTest, TensorSpecWithoutDtype) {
  std::string text = Replace(Testdata("mlflow3_sklearn_tensor.MLmodel"),
                             R"({"dtype": "float32", "shape": [-1, 2]})", R"({"shape": [-1, 2]})");
  EXPECT_EQ(ErrorOf(text),
            "MLmodel line 29, column 11: field 'signature.inputs[0].tensor-spec.dtype' is missing");
}

TEST(ParseMlModelTest, OtherSignatureErrorsNameTheField) {
  const std::string base = "flavors: {sklearn: {pickled_model: m.pkl}}\nsignature:\n";
  EXPECT_EQ(
      ErrorOf(base + "  inputs: [a, b]\n"),
      "MLmodel line 3, column 11: field 'signature.inputs' must be a JSON string, not a list");
  EXPECT_NE(ErrorOf(base + "  outputs: '[{\"type\": \"tensor\", \"tensor-spec\": "
                           "{\"dtype\": \"int64\", \"shape\": [\"x\"]}}]'\n")
                .find("field 'signature.outputs[0].tensor-spec.shape[0]' must be an integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf(base + "  params: '[{\"type\": \"double\", \"default\": 1}]'\n")
                .find("field 'signature.params[0].name' is missing"),
            std::string::npos);
  EXPECT_NE(ErrorOf(base + "  inputs: '{\"type\": \"double\"}'\n")
                .find("field 'signature.inputs' must be a JSON list"),
            std::string::npos);
  EXPECT_NE(ErrorOf(base + "  inputs: '[{\"type\": \"double\", \"name\": \"a\"}, "
                           "{\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"int8\", "
                           "\"shape\": [1]}}]'\n")
                .find("mixes column specs and tensor specs"),
            std::string::npos);
}

TEST(ParseMlModelTest, OtherFieldErrors) {
  const std::string base = "flavors: {sklearn: {pickled_model: m.pkl}}\n";
  EXPECT_EQ(ErrorOf(base + "model_size_bytes: lots\n"),
            "MLmodel line 2, column 19: field 'model_size_bytes' must be a non-negative integer, "
            "not 'lots'");
  EXPECT_NE(ErrorOf(base + "model_size_bytes: -5\n").find("non-negative"), std::string::npos);
  EXPECT_NE(ErrorOf(base + "metadata: [1]\n").find("field 'metadata' must be a mapping"),
            std::string::npos);
  EXPECT_NE(ErrorOf(base + "run_id: {a: b}\n").find("field 'run_id' must be a string"),
            std::string::npos);
  EXPECT_NE(ErrorOf(base + "saved_input_example_info: {type: ndarray}\n")
                .find("field 'saved_input_example_info.artifact_path' is missing"),
            std::string::npos);
}

TEST(ParseMlModelTest, HostileInputIsRefusedNotCrashed) {
  std::string deep = "flavors: {x: " + std::string(2000, '[') + std::string(2000, ']') + "}\n";
  auto parsed = ParseMlModel(deep);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
  // Nesting that yaml-cpp accepts is still bounded when converted to JSON.
  std::string nested = "flavors: {x: {a: " + std::string(100, '[') + std::string(100, ']') + "}}\n";
  auto too_deep = ParseMlModel(nested);
  ASSERT_FALSE(too_deep);
  EXPECT_NE(too_deep.error().message().find("is nested too deeply"), std::string::npos);
  std::string huge = "flavors: {x: {}}\nblob: '" + std::string(kMaxMlModelBytes, 'a') + "'\n";
  auto too_big = ParseMlModel(huge);
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message().find("at most"), std::string::npos);
}

// ---- LoadModelPackage ------------------------------------------------------

class LoadModelPackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/cairn-model-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& content) {
    std::filesystem::create_directories(std::filesystem::path(dir_ + "/" + rel).parent_path());
    std::ofstream(dir_ + "/" + rel, std::ios::binary) << content;
  }
  // The files the real client wrote beside the xgboost MLmodel (contents are stand-ins).
  void WriteXgboostPackage() {
    Write("MLmodel", Testdata("mlflow3_xgboost.MLmodel"));
    Write("model.ubj", "xgb");
    Write("conda.yaml", "name: mlflow-env\n");
    Write("python_env.yaml", "python: 3.11.2\n");
    Write("requirements.txt", "mlflow==3.17.2\n");
    Write("input_example.json", "{}");
    Write("serving_input_example.json", "{}");
  }
  std::string dir_;
};

TEST_F(LoadModelPackageTest, LoadsAValidPackage) {
  WriteXgboostPackage();
  auto m = LoadModelPackage(dir_);
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->xgboost->data, "model.ubj");
  EXPECT_EQ(m->model_size_bytes, 3267);  // the manifest's own figure wins
  EXPECT_EQ(m->requirements_files,
            (std::vector<std::string>{"conda.yaml", "python_env.yaml", "requirements.txt"}));
}

TEST_F(LoadModelPackageTest, ComputesTheSizeWhenTheManifestLacksIt) {
  Write("MLmodel", "flavors:\n  xgboost:\n    data: model.json\n");  // 41 bytes
  Write("model.json", std::string(1000, 'x'));
  Write("extra/notes.txt", "12345");
  auto m = LoadModelPackage(dir_);
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->model_size_bytes, 41 + 1000 + 5);
  EXPECT_TRUE(m->requirements_files.empty());
}

TEST_F(LoadModelPackageTest, NamedFilesMustExist) {
  WriteXgboostPackage();
  std::filesystem::remove(dir_ + "/model.ubj");
  auto m = LoadModelPackage(dir_, "_registry/fraud/3/MLmodel");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(m.error().message(),
            "_registry/fraud/3/MLmodel: field 'flavors.xgboost.data' names 'model.ubj', which is "
            "not in the model folder");

  WriteXgboostPackage();
  std::filesystem::remove(dir_ + "/input_example.json");
  auto no_example = LoadModelPackage(dir_);
  ASSERT_FALSE(no_example);
  EXPECT_NE(no_example.error().message().find("'saved_input_example_info.artifact_path'"),
            std::string::npos);
}

TEST_F(LoadModelPackageTest, MissingOrMalformedMlModel) {
  auto missing = LoadModelPackage(dir_, "runs/r/model/MLmodel");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("'runs/r/model/MLmodel'"), std::string::npos);
  Write("MLmodel", "run_id: x\n");
  auto bad = LoadModelPackage(dir_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "MLmodel: field 'flavors' is missing");
}

}  // namespace
}  // namespace cairn::model
