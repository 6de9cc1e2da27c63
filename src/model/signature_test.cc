#include "model/signature.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cairn::model {
namespace {

using nlohmann::json;

std::string ErrorOf(const Result<Signature>& r) {
  if (r) return "<parsed>";
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  return r.error().message();
}

TEST(DataTypeTest, NamesRoundTrip) {
  for (DataType t : {DataType::kBoolean, DataType::kInteger, DataType::kLong, DataType::kFloat,
                     DataType::kDouble, DataType::kString, DataType::kBinary, DataType::kDatetime,
                     DataType::kArray, DataType::kObject, DataType::kMap, DataType::kAny}) {
    EXPECT_EQ(DataTypeFromName(DataTypeName(t)), t) << DataTypeName(t);
  }
  EXPECT_EQ(DataTypeFromName("sparkml_vector"), DataType::kUnknown);
  EXPECT_EQ(DataTypeFromName("Double"), DataType::kUnknown);  // MLflow's names are lower case
}

TEST(ParseSignatureTest, ColumnsDefaultsAndComplexTypes) {
  auto sig = ParseSignature(
      R"([{"type": "string"},
          {"type": "map", "values": {"type": "array", "items": {"type": "double"}},
           "name": "scores", "required": false},
          {"type": "any", "name": "extra"},
          {"type": "sparkml_vector", "name": "vec", "size": 3}])",
      std::nullopt, std::nullopt);
  ASSERT_TRUE(sig) << sig.error().ToString();
  ASSERT_TRUE(sig->inputs);
  EXPECT_FALSE(sig->outputs);
  EXPECT_FALSE(sig->params);
  const auto& cols = sig->inputs->columns;
  ASSERT_EQ(cols.size(), 4u);
  EXPECT_EQ(cols[0].name, std::nullopt);
  EXPECT_TRUE(cols[0].required);
  EXPECT_EQ(cols[1].name, "scores");
  EXPECT_FALSE(cols[1].required);
  EXPECT_EQ(cols[1].data_type, DataType::kMap);
  EXPECT_EQ(cols[1].type_json,
            R"({"type":"map","values":{"items":{"type":"double"},"type":"array"}})");
  EXPECT_EQ(cols[2].data_type, DataType::kAny);
  // An unknown type is kept, with all its fields, not refused.
  EXPECT_EQ(cols[3].data_type, DataType::kUnknown);
  EXPECT_EQ(cols[3].type, "sparkml_vector");
  EXPECT_EQ(cols[3].type_json, R"({"size":3,"type":"sparkml_vector"})");
}

TEST(ParseSignatureTest, NamedTensorsAndListParams) {
  auto sig = ParseSignature(
      R"([{"name": "image", "type": "tensor", "tensor-spec": {"dtype": "uint8", "shape": [-1, 28, 28]}},
          {"name": "mask", "type": "tensor", "tensor-spec": {"dtype": "bool", "shape": [-1]}}])",
      "null",
      R"([{"name": "stops", "type": "string", "default": ["a", "b"], "shape": [-1]},
          {"name": "k", "type": "long", "default": 5, "shape": null}])");
  ASSERT_TRUE(sig) << sig.error().ToString();
  EXPECT_TRUE(sig->inputs_are_tensors);
  EXPECT_EQ(sig->inputs->tensors,
            (std::vector<TensorSpec>{{"image", "uint8", {-1, 28, 28}}, {"mask", "bool", {-1}}}));
  EXPECT_FALSE(sig->outputs);
  ASSERT_TRUE(sig->params);
  EXPECT_EQ(*sig->params,
            (std::vector<ParamSpec>{{"stops", "string", R"(["a","b"])", std::vector<int64_t>{-1}},
                                    {"k", "long", "5", std::nullopt}}));
}

TEST(ParseSignatureTest, ErrorsNameTheField) {
  EXPECT_EQ(ErrorOf(ParseSignature(R"([{"type": "tensor", "tensor-spec": {"shape": [1]}}])",
                                   std::nullopt, std::nullopt)),
            "field 'signature.inputs[0].tensor-spec.dtype' is missing");
  EXPECT_EQ(ErrorOf(ParseSignature(R"([{"type": "tensor"}])", std::nullopt, std::nullopt)),
            "field 'signature.inputs[0].tensor-spec' is missing");
  EXPECT_EQ(ErrorOf(ParseSignature(
                R"([{"type": "tensor", "tensor-spec": {"dtype": "f", "shape": [-2]}}])",
                std::nullopt, std::nullopt)),
            "field 'signature.inputs[0].tensor-spec.shape[0]' must be -1 or a size >= 0");
  EXPECT_EQ(ErrorOf(ParseSignature(std::nullopt, R"([{"name": "x"}])", std::nullopt)),
            "field 'signature.outputs[0].type' is missing");
  EXPECT_EQ(
      ErrorOf(ParseSignature(R"([{"type": "array", "name": "a"}])", std::nullopt, std::nullopt)),
      "field 'signature.inputs[0].items' is missing");
  EXPECT_EQ(ErrorOf(ParseSignature(
                R"([{"type": "object", "name": "o", "properties": {"p": {"type": "map"}}}])",
                std::nullopt, std::nullopt)),
            "field 'signature.inputs[0].properties.p.values' is missing");
  EXPECT_EQ(ErrorOf(ParseSignature(R"([{"type": "long", "name": "a", "required": "yes"}])",
                                   std::nullopt, std::nullopt)),
            "field 'signature.inputs[0].required' must be true or false, not a string");
  EXPECT_EQ(
      ErrorOf(ParseSignature(R"([{"type": "long", "name": "a"}, {"type": "double", "name": "a"}])",
                             std::nullopt, std::nullopt)),
      "field 'signature.inputs' names 'a' twice");
  EXPECT_EQ(ErrorOf(ParseSignature(std::nullopt, std::nullopt, R"([{"name": "p"}])")),
            "field 'signature.params[0].type' is missing");
  EXPECT_EQ(ErrorOf(ParseSignature("[1]", std::nullopt, std::nullopt)),
            "field 'signature.inputs[0]' must be an object, not a number");
  std::string not_json = ErrorOf(ParseSignature("[{", std::nullopt, std::nullopt));
  EXPECT_EQ(not_json.rfind("field 'signature.inputs' is not valid JSON: ", 0), 0u) << not_json;
}

TEST(SignatureJsonTest, RoundTripsThroughTheApiForm) {
  auto sig = ParseSignature(
      R"([{"type": "double", "name": "age", "required": true},
          {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string", "required": false}}},
           "name": "events", "required": false}])",
      R"([{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}])",
      R"([{"name": "t", "default": 0.25, "shape": null, "type": "float"}])");
  ASSERT_TRUE(sig) << sig.error().ToString();
  std::string api = SignatureToJson(*sig);
  EXPECT_EQ(json::parse(api), json::parse(R"({
              "inputs": [{"name": "age", "type": "double", "required": true},
                         {"name": "events", "type": "array",
                          "items": {"type": "object", "properties": {"k": {"type": "string", "required": false}}},
                          "required": false}],
              "outputs": [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}],
              "params": [{"name": "t", "type": "float", "default": 0.25, "shape": null}]})"));
  auto back = ParseSignatureJson(api);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(*back, *sig);

  // MLflow's own dictionary form (lists as strings) reads the same.
  json mlflow_form = {{"inputs", json::parse(api)["inputs"].dump()},
                      {"outputs", json::parse(api)["outputs"].dump()},
                      {"params", nullptr}};
  auto from_mlflow = ParseSignatureJson(mlflow_form.dump());
  ASSERT_TRUE(from_mlflow) << from_mlflow.error().ToString();
  EXPECT_EQ(from_mlflow->inputs, sig->inputs);
  EXPECT_EQ(from_mlflow->outputs, sig->outputs);
  EXPECT_FALSE(from_mlflow->params);

  EXPECT_EQ(SignatureToJson(Signature{}), R"({"inputs":null,"outputs":null,"params":null})");
  EXPECT_EQ(ErrorOf(ParseSignatureJson("[]")), "field 'signature' must be an object, not a list");
}

TEST(ValidateColumnsTest, RequiredColumnsAndTypes) {
  auto sig = ParseSignature(
      R"([{"type": "double", "name": "age"}, {"type": "long", "name": "n"},
          {"type": "string", "name": "city", "required": false},
          {"type": "array", "items": {"type": "long"}, "name": "ids", "required": false}])",
      std::nullopt, std::nullopt);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(ValidateColumns(*sig, {{"age", DataType::kDouble}, {"n", DataType::kLong}}));
  // Safe widening, optional columns absent, extra columns ignored.
  EXPECT_TRUE(ValidateColumns(*sig, {{"age", DataType::kInteger},
                                     {"n", DataType::kInteger},
                                     {"ids", DataType::kArray},
                                     {"unrelated", DataType::kString}}));
  auto missing = ValidateColumns(*sig, {{"age", DataType::kDouble}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(missing.error().message(),
            "input column 'n' is required by the model's signature and is missing");
  auto narrowing = ValidateColumns(*sig, {{"age", DataType::kDouble}, {"n", DataType::kDouble}});
  ASSERT_FALSE(narrowing);
  EXPECT_EQ(narrowing.error().message(),
            "input column 'n' has type double; the model's signature expects long");
  EXPECT_FALSE(ValidateColumns(*sig, {{"age", DataType::kString}, {"n", DataType::kLong}}));

  auto tensors = ParseSignature(
      R"([{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}])",
      std::nullopt, std::nullopt);
  ASSERT_TRUE(tensors);
  EXPECT_EQ(ValidateColumns(*tensors, {}).error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(ValidateColumns(Signature{}, {}));
}

}  // namespace
}  // namespace cairn::model
