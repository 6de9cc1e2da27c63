#include "serving/model_input.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace cairn::serving {
namespace {

using Kind = ModelInput::Kind;

model::Signature Sig(std::string_view inputs, std::optional<std::string_view> outputs = {}) {
  auto s = model::ParseSignature(inputs, outputs, std::nullopt);
  EXPECT_TRUE(s) << s.error().message();
  return s ? *s : model::Signature{};
}

// Ten double columns c0..c9 (the issue's model).
model::Signature TenDoubles() {
  std::string json = "[";
  for (int i = 0; i < 10; ++i) {
    json +=
        (i ? "," : "") + std::string(R"({"name":"c)") + std::to_string(i) + R"(","type":"double"})";
  }
  return Sig(json + "]");
}

const char kMixed[] =
    R"([{"name":"age","type":"double"},{"name":"n","type":"long"},)"
    R"({"name":"score","type":"float"},{"name":"city","type":"string","required":false}])";

InferRequest Oip(std::string_view body) {
  auto r = ParseOipInferRequest(body);
  EXPECT_TRUE(r) << r.error().message();
  return r ? std::move(*r) : InferRequest{};
}

ScoringRequest Scoring(std::string_view body) {
  auto r = ParseScoringJson(body);
  EXPECT_TRUE(r) << r.error().message();
  return r ? std::move(*r) : ScoringRequest{};
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  auto v = t.values<T>();
  return {v.begin(), v.end()};
}

std::vector<std::string> Names(const ModelInput& in) {
  std::vector<std::string> out;
  for (const Tensor& t : in.tensors) out.push_back(t.name());
  return out;
}

std::string OipError(std::string_view body, const std::optional<model::Signature>& sig) {
  auto r = ConformOipInput(Oip(body), sig);
  if (r) return "<conformed>";
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().message();
  return r.error().message();
}

std::string ScoringError(std::string_view body, const std::optional<model::Signature>& sig) {
  auto r = ConformScoringInput(Scoring(body), sig);
  if (r) return "<conformed>";
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().message();
  return r.error().message();
}

// ---- column signatures, OIP --------------------------------------------------

TEST(ConformOipColumnsTest, OneRowTensorSplitsIntoDoubleColumns) {
  auto in = ConformOipInput(
      Oip(R"({"parameters":{"k":1},"inputs":[{"name":"input","shape":[1,10],"datatype":"FP32",
            "data":[[0.5,1,2,3,4,5,6,7,8,-9.25]]}]})"),
      TenDoubles());
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->kind, Kind::kColumns);
  EXPECT_EQ(in->rows, 1);
  EXPECT_EQ(in->params_json, R"({"k":1})");
  ASSERT_EQ(in->tensors.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    const Tensor& t = in->tensors[static_cast<size_t>(i)];
    EXPECT_EQ(t.name(), "c" + std::to_string(i));
    EXPECT_EQ(t.datatype(), DataType::kFp64);
    EXPECT_EQ(t.shape(), std::vector<int64_t>{1});
  }
  EXPECT_EQ(Values<double>(in->tensors[0]), std::vector<double>{0.5});
  EXPECT_EQ(Values<double>(in->tensors[3]), std::vector<double>{3.0});
  EXPECT_EQ(Values<double>(in->tensors[9]), std::vector<double>{-9.25});
}

TEST(ConformOipColumnsTest, SplitConvertsEachColumnToItsType) {
  // Columns age (double), n (long), score (float), city (optional string):
  // a [2,4] FP64 tensor fills all four, but city needs strings.
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"x","shape":[2,4],"datatype":"FP64",
                          "data":[1,2,3,4,5,6,7,8]}]})",
                     Sig(kMixed)),
            "Incompatible input types for column 'city': expected string, got FP64");
  auto in = ConformOipInput(Oip(R"({"inputs":[{"name":"x","shape":[2,4],"datatype":"INT32",
                                     "data":[1,2,3,4,5,6,7,8]}]})"),
                            Sig(R"([{"name":"age","type":"double"},{"name":"n","type":"long"},
                                   {"name":"score","type":"float"},{"name":"k","type":"integer"}])"));
  ASSERT_TRUE(in) << in.error().message();
  ASSERT_EQ(in->tensors.size(), 4u);
  EXPECT_EQ(in->rows, 2);
  EXPECT_EQ(in->tensors[0].datatype(), DataType::kFp64);
  EXPECT_EQ(Values<double>(in->tensors[0]), (std::vector<double>{1, 5}));
  EXPECT_EQ(in->tensors[1].datatype(), DataType::kInt64);
  EXPECT_EQ(Values<int64_t>(in->tensors[1]), (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(in->tensors[2].datatype(), DataType::kFp32);
  EXPECT_EQ(Values<float>(in->tensors[2]), (std::vector<float>{3, 7}));
  EXPECT_EQ(in->tensors[3].datatype(), DataType::kInt32);
  EXPECT_EQ(Values<int32_t>(in->tensors[3]), (std::vector<int32_t>{4, 8}));
}

TEST(ConformOipColumnsTest, SplitNeedsOneValuePerColumn) {
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"input","shape":[1,9],"datatype":"FP32",
                          "data":[1,2,3,4,5,6,7,8,9]}]})",
                     TenDoubles()),
            "input 'input': expected shape [-1,10] (one value per column: c0, c1, c2, c3, c4, "
            "c5, c6, c7, c8, c9), got [1,9]");
}

TEST(ConformOipColumnsTest, NamedTensorsInSignatureOrderExtraDroppedIntToDouble) {
  auto in = ConformOipInput(Oip(R"({"inputs":[
        {"name":"extra","shape":[2],"datatype":"BYTES","data":["p","q"]},
        {"name":"score","shape":[2,1],"datatype":"FP32","data":[0.5,1.5]},
        {"name":"n","shape":[2],"datatype":"INT32","data":[7,-8]},
        {"name":"age","shape":[2],"datatype":"INT64","data":[30,41]}]})"),
                            Sig(kMixed));
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->kind, Kind::kColumns);
  // city is optional and absent: left out; extra is dropped.
  EXPECT_EQ(Names(*in), (std::vector<std::string>{"age", "n", "score"}));
  EXPECT_EQ(in->tensors[0].datatype(), DataType::kFp64);
  EXPECT_EQ(Values<double>(in->tensors[0]), (std::vector<double>{30, 41}));
  EXPECT_EQ(in->tensors[1].datatype(), DataType::kInt64);
  EXPECT_EQ(Values<int64_t>(in->tensors[1]), (std::vector<int64_t>{7, -8}));
  EXPECT_EQ(in->tensors[2].shape(), std::vector<int64_t>{2});  // [n,1] -> [n]
  EXPECT_EQ(Values<float>(in->tensors[2]), (std::vector<float>{0.5f, 1.5f}));
}

TEST(ConformOipColumnsTest, OptionalColumnPresentIsKept) {
  auto in = ConformOipInput(Oip(R"({"inputs":[
        {"name":"age","shape":[1],"datatype":"FP64","data":[1]},
        {"name":"n","shape":[1],"datatype":"INT64","data":[2]},
        {"name":"score","shape":[1],"datatype":"FP64","data":[3]},
        {"name":"city","shape":[1],"datatype":"BYTES","data":["Oslo"]}]})"),
                            Sig(kMixed));
  ASSERT_TRUE(in) << in.error().message();
  ASSERT_EQ(in->tensors.size(), 4u);
  EXPECT_EQ(in->tensors[3].datatype(), DataType::kBytes);
  EXPECT_EQ(in->tensors[3].strings(), std::vector<std::string>{"Oslo"});
  EXPECT_EQ(in->tensors[2].datatype(), DataType::kFp32);  // FP64 -> float column
}

TEST(ConformOipColumnsTest, MissingRequiredColumns) {
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"n","shape":[1],"datatype":"INT64","data":[2]},
                                   {"name":"zz","shape":[1],"datatype":"INT64","data":[2]}]})",
                     Sig(kMixed)),
            "Model is missing inputs ['age', 'score']: missing columns 'age', 'score' (the model "
            "expects columns: age, n, score, city)");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"n","shape":[1],"datatype":"INT64","data":[2]},
                                   {"name":"score","shape":[1],"datatype":"INT64","data":[2]}]})",
                     Sig(kMixed)),
            "Model is missing inputs ['age']: missing column 'age' (the model expects columns: "
            "age, n, score, city)");
}

TEST(ConformOipColumnsTest, FloatToLongOnlyWhenIntegral) {
  const auto sig = Sig(R"([{"name":"n","type":"long"}])");
  auto ok = ConformOipInput(Oip(R"({"inputs":[{"name":"n","shape":[3],"datatype":"FP64",
                                     "data":[1.0,-2.0,4e15]}]})"),
                            sig);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->tensors[0].datatype(), DataType::kInt64);
  EXPECT_EQ(Values<int64_t>(ok->tensors[0]), (std::vector<int64_t>{1, -2, 4000000000000000}));

  EXPECT_EQ(OipError(R"({"inputs":[{"name":"n","shape":[3],"datatype":"FP64",
                          "data":[1.0,2.0,1.5]}]})",
                     sig),
            "Incompatible input types for column 'n': expected long, got FP64 with the value 1.5 "
            "in row 2 (Can not safely convert float64 to int64; only integral values convert)");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"n","shape":[2],"datatype":"FP32",
                          "data":[1.0,"NaN"]}]})",
                     sig),
            "column 'n' row 1 is null");
  EXPECT_EQ(
      OipError(R"({"inputs":[{"name":"n","shape":[1],"datatype":"FP64","data":[1e19]}]})", sig),
      "Incompatible input types for column 'n': expected long, got FP64 with the value "
      "1e+19 in row 0 (Can not safely convert float64 to int64; only integral values "
      "convert)");
}

TEST(ConformOipColumnsTest, IntegerRangeAndTypeMismatches) {
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"k","shape":[2],"datatype":"INT64",
                          "data":[1,3000000000]}]})",
                     Sig(R"([{"name":"k","type":"integer"}])")),
            "Incompatible input types for column 'k': expected integer, got INT64 value "
            "3000000000 in row 1, out of range for int32");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"age","shape":[1],"datatype":"BYTES","data":["x"]}]})",
                     Sig(R"([{"name":"age","type":"double"}])")),
            "Incompatible input types for column 'age': expected double, got BYTES (strings)");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"age","shape":[1],"datatype":"BOOL","data":[true]}]})",
                     Sig(R"([{"name":"age","type":"double"}])")),
            "Incompatible input types for column 'age': expected double, got BOOL");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"b","shape":[1],"datatype":"INT64","data":[1]}]})",
                     Sig(R"([{"name":"b","type":"boolean"}])")),
            "Incompatible input types for column 'b': expected boolean, got INT64");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"s","shape":[1],"datatype":"INT64","data":[1]}]})",
                     Sig(R"([{"name":"s","type":"string"}])")),
            "Incompatible input types for column 's': expected string, got INT64");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"a","shape":[1,2],"datatype":"FP64","data":[1,2]},
                                   {"name":"b","shape":[1],"datatype":"FP64","data":[1]}]})",
                     Sig(R"([{"name":"a","type":"double"},{"name":"b","type":"double"}])")),
            "column 'a': expected shape [-1] or [-1,1], got [1,2]");

  auto ok = ConformOipInput(Oip(R"({"inputs":[
        {"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]},
        {"name":"u","shape":[2],"datatype":"UINT8","data":[200,7]},
        {"name":"h","shape":[2],"datatype":"FP16","data":[0.5,2]}]})"),
                            Sig(R"([{"name":"b","type":"boolean"},{"name":"u","type":"integer"},
                                   {"name":"h","type":"double"}])"));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(Values<uint8_t>(ok->tensors[0]), (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(Values<int32_t>(ok->tensors[1]), (std::vector<int32_t>{200, 7}));
  EXPECT_EQ(Values<double>(ok->tensors[2]), (std::vector<double>{0.5, 2.0}));
}

TEST(ConformOipColumnsTest, RowsMustAgreeAndExist) {
  const auto sig = Sig(R"([{"name":"a","type":"double"},{"name":"b","type":"double"}])");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"b","shape":[3],"datatype":"FP64","data":[1,2,3]},
                                   {"name":"a","shape":[2],"datatype":"FP64","data":[1,2]}]})",
                     sig),
            "input 'b' has 3 rows, input 'a' has 2");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"x","shape":[0,2],"datatype":"FP64","data":[]}]})", sig),
            "no rows: the request holds no data to predict");
}

TEST(ConformOipColumnsTest, SingleColumnTakesAnUnnamedVector) {
  auto in = ConformOipInput(
      Oip(R"({"inputs":[{"name":"whatever","shape":[3],"datatype":"INT64","data":[1,2,3]}]})"),
      Sig(R"([{"name":"x","type":"double"}])"));
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(Names(*in), std::vector<std::string>{"x"});
  EXPECT_EQ(Values<double>(in->tensors[0]), (std::vector<double>{1, 2, 3}));
}

TEST(ConformOipColumnsTest, ComplexColumnTypesPassAsTheyAre) {
  auto in = ConformOipInput(
      Oip(R"({"inputs":[{"name":"v","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]},
                        {"name":"x","shape":[2],"datatype":"FP64","data":[1,2]}]})"),
      Sig(R"([{"name":"v","type":"array","items":{"type":"float"}},{"name":"x","type":"double"}])"));
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->tensors[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(in->tensors[0].datatype(), DataType::kFp32);
  EXPECT_EQ(Values<float>(in->tensors[0])[5], 6.0f);
}

// ---- column signatures, MLflow scoring -------------------------------------

TEST(ConformScoringColumnsTest, DataframeSplitByNameWithConversions) {
  auto in =
      ConformScoringInput(Scoring(R"({"dataframe_split":{"columns":["zz","score","city","n","age"],
        "data":[[1,0.5,"Oslo",3,30],[2,1.5,null,4.0,null]]},"params":{"t":2}})"),
                          Sig(kMixed));
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->kind, Kind::kColumns);
  EXPECT_EQ(in->rows, 2);
  EXPECT_EQ(in->params_json, R"({"t":2})");
  EXPECT_EQ(Names(*in), (std::vector<std::string>{"age", "n", "score", "city"}));
  // age: ints with a null -> FP64 with NaN.
  ASSERT_EQ(in->tensors[0].datatype(), DataType::kFp64);
  EXPECT_EQ(Values<double>(in->tensors[0])[0], 30.0);
  EXPECT_TRUE(std::isnan(Values<double>(in->tensors[0])[1]));
  // n: [3, 4.0] is a float column with integral values -> INT64.
  EXPECT_EQ(Values<int64_t>(in->tensors[1]), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(Values<float>(in->tensors[2]), (std::vector<float>{0.5f, 1.5f}));
  EXPECT_EQ(in->tensors[3].strings(), (std::vector<std::string>{"Oslo", ""}));
}

TEST(ConformScoringColumnsTest, NullsInIntegerAndBooleanColumnsNameTheRow) {
  EXPECT_EQ(ScoringError(R"({"dataframe_split":{"columns":["n"],"data":[[1],[null],[3]]}})",
                         Sig(R"([{"name":"n","type":"long"}])")),
            "column 'n' row 1 is null");
  EXPECT_EQ(ScoringError(R"({"dataframe_records":[{"b":true},{"b":false},{"b":null}]})",
                         Sig(R"([{"name":"b","type":"boolean"}])")),
            "column 'b' row 2 is null");
  EXPECT_EQ(ScoringError(R"({"dataframe_records":[{"a":1}]})", Sig(kMixed)),
            "Model is missing inputs ['age', 'n', 'score']: missing columns 'age', 'n', 'score' "
            "(the model expects columns: age, n, score, city)");
  EXPECT_EQ(ScoringError(R"({"dataframe_records":[{"age":"x"}]})",
                         Sig(R"([{"name":"age","type":"double"}])")),
            "Incompatible input types for column 'age': expected double, got BYTES (strings)");
  EXPECT_EQ(ScoringError(R"({"dataframe_records":[{"age":"x"},{"age":2}]})",
                         Sig(R"([{"name":"age","type":"string"}])")),
            "Incompatible input types for column 'age': expected string, got mixed values (JSON)");
  EXPECT_EQ(ScoringError(R"({"dataframe_split":{"columns":["age"],"data":[]}})",
                         Sig(R"([{"name":"age","type":"double"}])")),
            "no rows: the request holds no data to predict");
}

TEST(ConformScoringColumnsTest, BooleanAndUnnamedColumnsByPosition) {
  auto in = ConformScoringInput(Scoring(R"({"dataframe_split":{"data":[[true,2],[false,3]]}})"),
                                Sig(R"([{"type":"boolean"},{"type":"double"}])"));
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(Names(*in), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(Values<uint8_t>(in->tensors[0]), (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(Values<double>(in->tensors[1]), (std::vector<double>{2, 3}));
}

TEST(ConformScoringColumnsTest, CsvColumnsByName) {
  auto req = ParseScoringCsv("n,age\n1,2.5\n3,4\n");
  ASSERT_TRUE(req) << req.error().message();
  auto in = ConformScoringInput(
      std::move(*req), Sig(R"([{"name":"age","type":"double"},{"name":"n","type":"long"}])"));
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(Values<double>(in->tensors[0]), (std::vector<double>{2.5, 4}));
  EXPECT_EQ(Values<int64_t>(in->tensors[1]), (std::vector<int64_t>{1, 3}));
}

TEST(ConformScoringColumnsTest, InstancesRowsSplitAndRecordsByName) {
  const auto sig = Sig(R"([{"name":"a","type":"double"},{"name":"b","type":"long"}])");
  auto rows = ConformScoringInput(Scoring(R"({"instances":[[1,2],[3,4],[5,6]]})"), sig);
  ASSERT_TRUE(rows) << rows.error().message();
  EXPECT_EQ(rows->kind, Kind::kColumns);
  EXPECT_EQ(rows->rows, 3);
  EXPECT_EQ(Values<double>(rows->tensors[0]), (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(Values<int64_t>(rows->tensors[1]), (std::vector<int64_t>{2, 4, 6}));

  auto named =
      ConformScoringInput(Scoring(R"({"instances":[{"b":1,"a":2},{"b":3,"a":4.5}]})"), sig);
  ASSERT_TRUE(named) << named.error().message();
  EXPECT_EQ(Names(*named), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Values<double>(named->tensors[0]), (std::vector<double>{2, 4.5}));
  EXPECT_EQ(Values<int64_t>(named->tensors[1]), (std::vector<int64_t>{1, 3}));

  EXPECT_EQ(ScoringError(R"({"inputs":[[1,2,3]]})", sig),
            "the input: expected shape [-1,2] (one value per column: a, b), got [1,3]");
}

// ---- tensor signatures -----------------------------------------------------

model::Signature TensorSig() {
  return Sig(R"([{"name":"x","type":"tensor","tensor-spec":{"dtype":"float32","shape":[-1,3]}},
                 {"name":"ids","type":"tensor","tensor-spec":{"dtype":"int64","shape":[-1]}}])");
}

TEST(ConformTensorsTest, ByNameInSpecOrderExtraDropped) {
  auto in = ConformOipInput(Oip(R"({"inputs":[
        {"name":"ids","shape":[2],"datatype":"INT64","data":[7,8]},
        {"name":"junk","shape":[1],"datatype":"INT64","data":[7]},
        {"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]})"),
                            TensorSig());
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->kind, Kind::kTensors);
  EXPECT_EQ(Names(*in), (std::vector<std::string>{"x", "ids"}));
  EXPECT_EQ(in->rows, 2);
  EXPECT_EQ(Values<float>(in->tensors[0])[4], 5.0f);
}

TEST(ConformTensorsTest, DtypeAndShapeRules) {
  // An integer input converts to a float spec.
  auto conv = ConformOipInput(Oip(R"({"inputs":[
        {"name":"ids","shape":[1],"datatype":"INT64","data":[7]},
        {"name":"x","shape":[1,3],"datatype":"INT32","data":[1,2,3]}]})"),
                              TensorSig());
  ASSERT_TRUE(conv) << conv.error().message();
  EXPECT_EQ(conv->tensors[0].datatype(), DataType::kFp32);
  EXPECT_EQ(Values<float>(conv->tensors[0]), (std::vector<float>{1, 2, 3}));
  // Not the other way.
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"ids","shape":[1],"datatype":"FP64","data":[7]},
                                   {"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]})",
                     TensorSig()),
            "input 'ids': expected int64, got FP64");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"ids","shape":[1],"datatype":"INT32","data":[7]},
                                   {"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]})",
                     TensorSig()),
            "input 'ids': expected int64, got INT32");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"ids","shape":[1],"datatype":"INT64","data":[7]},
                                   {"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}]})",
                     TensorSig()),
            "input 'x': expected shape [-1,3], got [1,2]");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"ids","shape":[1],"datatype":"INT64","data":[7]},
                                   {"name":"x","shape":[3],"datatype":"FP32","data":[1,2,3]}]})",
                     TensorSig()),
            "input 'x': expected shape [-1,3], got [3]");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"x","shape":[1,3],"datatype":"BYTES",
                          "data":["a","b","c"]}]})",
                     Sig(R"([{"name":"x","type":"tensor",
                             "tensor-spec":{"dtype":"float32","shape":[-1,3]}}])")),
            "input 'x': expected float32, got BYTES");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"ids","shape":[1],"datatype":"INT64","data":[7]}]})",
                     TensorSig()),
            "Model is missing inputs ['x']: missing input 'x' (the model expects inputs: x, ids)");
  EXPECT_EQ(OipError(R"({"inputs":[{"name":"ids","shape":[1],"datatype":"INT64","data":[7]},
                                   {"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]})",
                     TensorSig()),
            "input 'ids' has 1 rows, input 'x' has 2");
}

TEST(ConformTensorsTest, UnnamedSpecTakesTheSingleInput) {
  const auto sig = Sig(R"([{"type":"tensor","tensor-spec":{"dtype":"float64","shape":[-1,2]}}])");
  auto in = ConformOipInput(
      Oip(R"({"inputs":[{"name":"anything","shape":[2,2],"datatype":"FP32","data":[1,2,3,4.5]}]})"),
      sig);
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(Names(*in), std::vector<std::string>{""});
  EXPECT_EQ(in->tensors[0].datatype(), DataType::kFp64);
  EXPECT_EQ(Values<double>(in->tensors[0]), (std::vector<double>{1, 2, 3, 4.5}));

  EXPECT_EQ(OipError(R"({"inputs":[{"name":"a","shape":[1,2],"datatype":"FP64","data":[1,2]},
                                   {"name":"b","shape":[1,2],"datatype":"FP64","data":[1,2]}]})",
                     sig),
            "the model takes one unnamed tensor, got 2 inputs ('a', 'b')");

  // MLflow scoring: instances and a frame both become the one tensor.
  auto inst = ConformScoringInput(Scoring(R"({"instances":[[1,2],[3,4]]})"), sig);
  ASSERT_TRUE(inst) << inst.error().message();
  EXPECT_EQ(inst->kind, Kind::kTensors);
  EXPECT_EQ(Values<double>(inst->tensors[0]), (std::vector<double>{1, 2, 3, 4}));
  auto frame = ConformScoringInput(
      Scoring(R"({"dataframe_split":{"columns":["p","q"],"data":[[1,2.5],[3,null]]}})"), sig);
  ASSERT_TRUE(frame) << frame.error().message();
  EXPECT_EQ(frame->tensors[0].shape(), (std::vector<int64_t>{2, 2}));
  auto v = Values<double>(frame->tensors[0]);
  EXPECT_EQ(v[0], 1.0);
  EXPECT_EQ(v[1], 2.5);
  EXPECT_EQ(v[2], 3.0);
  EXPECT_TRUE(std::isnan(v[3]));
  EXPECT_EQ(ScoringError(R"({"inputs":[1,2]})", sig), "the input: expected shape [-1,2], got [2]");
}

// ---- no signature ------------------------------------------------------------

TEST(ConformNoSignatureTest, PassThrough) {
  auto one = ConformOipInput(
      Oip(R"({"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]}]})"),
      std::nullopt);
  ASSERT_TRUE(one) << one.error().message();
  EXPECT_EQ(one->kind, Kind::kTensors);
  EXPECT_EQ(one->rows, 2);
  EXPECT_EQ(one->tensors[0].name(), "x");

  auto cols = ConformOipInput(Oip(R"({"inputs":[
        {"name":"a","shape":[2,1],"datatype":"FP32","data":[1,2]},
        {"name":"b","shape":[2],"datatype":"BYTES","data":["u","v"]}]})"),
                              std::nullopt);
  ASSERT_TRUE(cols) << cols.error().message();
  EXPECT_EQ(cols->kind, Kind::kColumns);
  EXPECT_EQ(cols->tensors[0].shape(), std::vector<int64_t>{2});
  EXPECT_EQ(Values<float>(cols->tensors[0]), (std::vector<float>{1, 2}));

  auto mixed = ConformOipInput(Oip(R"({"inputs":[
        {"name":"a","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]},
        {"name":"b","shape":[2],"datatype":"FP32","data":[1,2]}]})"),
                               std::nullopt);
  ASSERT_TRUE(mixed) << mixed.error().message();
  EXPECT_EQ(mixed->kind, Kind::kTensors);

  auto frame = ConformScoringInput(
      Scoring(R"({"dataframe_split":{"columns":["a","s"],"data":[[1,"x"],[2,"y"]]}})"),
      std::nullopt);
  ASSERT_TRUE(frame) << frame.error().message();
  EXPECT_EQ(frame->kind, Kind::kColumns);
  EXPECT_EQ(frame->tensors[0].datatype(), DataType::kInt64);
  EXPECT_EQ(frame->tensors[1].strings(), (std::vector<std::string>{"x", "y"}));

  auto inst = ConformScoringInput(Scoring(R"({"instances":[[1,2]]})"), std::nullopt);
  ASSERT_TRUE(inst) << inst.error().message();
  EXPECT_EQ(inst->kind, Kind::kTensors);
  EXPECT_EQ(inst->tensors[0].shape(), (std::vector<int64_t>{1, 2}));

  // A signature without inputs is the same as none.
  model::Signature outputs_only;
  auto none = ConformOipInput(
      Oip(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})"), outputs_only);
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_EQ(none->kind, Kind::kTensors);

  EXPECT_EQ(OipError(R"({"inputs":[{"name":"x","shape":[],"datatype":"FP32","data":[1]}]})",
                     std::nullopt),
            "Input 'x' is a scalar: every input needs a first dimension (the rows)");
}

// ---- ColumnToTensor ----------------------------------------------------------

TEST(ColumnToTensorTest, EachColumnType) {
  auto req = Scoring(R"({"dataframe_split":{"columns":["i","d","b","s","j"],
      "data":[[1,1.5,true,"x",1],[null,null,false,null,"y"]]}})");
  const DataFrame& f = req.frame;
  Tensor i = ColumnToTensor(*f.Find("i"));
  EXPECT_EQ(i.datatype(), DataType::kInt64);
  EXPECT_EQ(i.shape(), std::vector<int64_t>{2});
  EXPECT_EQ(Values<int64_t>(i), (std::vector<int64_t>{1, 0}));
  Tensor d = ColumnToTensor(*f.Find("d"));
  EXPECT_EQ(d.datatype(), DataType::kFp64);
  EXPECT_EQ(Values<double>(d)[0], 1.5);
  EXPECT_TRUE(std::isnan(Values<double>(d)[1]));
  Tensor b = ColumnToTensor(*f.Find("b"));
  EXPECT_EQ(b.datatype(), DataType::kBool);
  EXPECT_EQ(Values<uint8_t>(b), (std::vector<uint8_t>{1, 0}));
  Tensor s = ColumnToTensor(*f.Find("s"));
  EXPECT_EQ(s.datatype(), DataType::kBytes);
  EXPECT_EQ(s.name(), "s");
  EXPECT_EQ(s.strings(), (std::vector<std::string>{"x", ""}));
  Tensor j = ColumnToTensor(*f.Find("j"));
  EXPECT_EQ(j.datatype(), DataType::kBytes);
  EXPECT_EQ(j.strings(), (std::vector<std::string>{"1", "\"y\""}));
  // The column itself is untouched.
  EXPECT_EQ(f.Find("s")->strings, (std::vector<std::string>{"x", ""}));
}

// ---- batching ----------------------------------------------------------------

ModelInput Batch(std::vector<double> a, std::vector<std::string> s, std::string params = "") {
  ModelInput in;
  in.kind = Kind::kColumns;
  in.rows = static_cast<int64_t>(a.size());
  in.params_json = std::move(params);
  const int64_t n = in.rows;
  in.tensors.push_back(*Tensor::FromValues<double>("a", DataType::kFp64, {n}, a));
  in.tensors.push_back(*Tensor::FromStrings("s", {n}, std::move(s)));
  return in;
}

TEST(ModelInputBatchTest, Compatible) {
  const ModelInput a = Batch({1}, {"x"});
  EXPECT_TRUE(Compatible(a, Batch({2, 3}, {"y", "z"})));
  EXPECT_FALSE(Compatible(a, Batch({2}, {"y"}, R"({"p":1})")));
  ModelInput kind = Batch({2}, {"y"});
  kind.kind = Kind::kTensors;
  EXPECT_FALSE(Compatible(a, kind));
  ModelInput renamed = Batch({2}, {"y"});
  renamed.tensors[0].set_name("b");
  EXPECT_FALSE(Compatible(a, renamed));
  ModelInput retyped = Batch({2}, {"y"});
  retyped.tensors[0] = *Tensor::FromValues<float>("a", DataType::kFp32, {1}, std::vector<float>{2});
  EXPECT_FALSE(Compatible(a, retyped));
  ModelInput fewer = Batch({2}, {"y"});
  fewer.tensors.pop_back();
  EXPECT_FALSE(Compatible(a, fewer));

  ModelInput m1, m2, m3;
  m1.kind = m2.kind = m3.kind = Kind::kTensors;
  m1.tensors.push_back(*Tensor::Zeros("", DataType::kFp32, {1, 3}));
  m2.tensors.push_back(*Tensor::Zeros("", DataType::kFp32, {4, 3}));
  m3.tensors.push_back(*Tensor::Zeros("", DataType::kFp32, {1, 2}));
  EXPECT_TRUE(Compatible(m1, m2));
  EXPECT_FALSE(Compatible(m1, m3));
}

TEST(ModelInputBatchTest, ConcatThenSplitGivesTheRowsBack) {
  std::vector<ModelInput> inputs = {Batch({1}, {"x"}, "{}"), Batch({2, 3}, {"y", "z"}, "{}"),
                                    Batch({4}, {"w"}, "{}")};
  ModelInput all = ConcatInputs(inputs);
  EXPECT_EQ(all.rows, 4);
  EXPECT_EQ(all.kind, Kind::kColumns);
  EXPECT_EQ(all.params_json, "{}");
  ASSERT_EQ(all.tensors.size(), 2u);
  EXPECT_EQ(all.tensors[0].shape(), std::vector<int64_t>{4});
  EXPECT_EQ(Values<double>(all.tensors[0]), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(all.tensors[1].strings(), (std::vector<std::string>{"x", "y", "z", "w"}));

  // A model that echoes its input: the split gives each request its rows.
  ModelOutput out;
  out.tensors = all.tensors;
  out.frame = true;
  std::vector<int64_t> rows = {1, 2, 1};
  auto pieces = SplitOutput(out, rows);
  ASSERT_TRUE(pieces) << pieces.error().message();
  ASSERT_EQ(pieces->size(), 3u);
  for (size_t p = 0; p < 3; ++p) {
    EXPECT_TRUE((*pieces)[p].frame);
    ASSERT_EQ((*pieces)[p].tensors.size(), 2u);
    for (size_t t = 0; t < 2; ++t) {
      const Tensor& got = (*pieces)[p].tensors[t];
      const Tensor& want = inputs[p].tensors[t];
      EXPECT_EQ(got.name(), want.name());
      EXPECT_EQ(got.datatype(), want.datatype());
      EXPECT_EQ(got.shape(), want.shape());
      EXPECT_EQ(got.strings(), want.strings());
      EXPECT_TRUE(
          std::equal(got.raw().begin(), got.raw().end(), want.raw().begin(), want.raw().end()));
    }
  }
}

TEST(ModelInputBatchTest, ConcatAndSplitTwoDimensionalTensors) {
  ModelInput a, b;
  a.kind = b.kind = Kind::kTensors;
  a.rows = 1;
  b.rows = 2;
  a.tensors.push_back(
      *Tensor::FromValues<int32_t>("", DataType::kInt32, {1, 2}, std::vector<int32_t>{1, 2}));
  b.tensors.push_back(
      *Tensor::FromValues<int32_t>("", DataType::kInt32, {2, 2}, std::vector<int32_t>{3, 4, 5, 6}));
  std::vector<ModelInput> both = {a, b};
  ModelInput all = ConcatInputs(both);
  EXPECT_EQ(all.tensors[0].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(Values<int32_t>(all.tensors[0]), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  ModelOutput out;
  out.tensors = all.tensors;
  std::vector<int64_t> rows = {1, 2};
  auto pieces = SplitOutput(out, rows);
  ASSERT_TRUE(pieces) << pieces.error().message();
  EXPECT_EQ((*pieces)[1].tensors[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(Values<int32_t>((*pieces)[1].tensors[0]), (std::vector<int32_t>{3, 4, 5, 6}));
  EXPECT_FALSE((*pieces)[1].frame);

  // A single input concatenates to itself.
  std::vector<ModelInput> one = {b};
  EXPECT_EQ(Values<int32_t>(ConcatInputs(one).tensors[0]), (std::vector<int32_t>{3, 4, 5, 6}));
}

TEST(ModelInputBatchTest, SplitRejectsAWrongRowCount) {
  ModelOutput out;
  out.tensors.push_back(*Tensor::Zeros("y", DataType::kFp32, {4}));
  std::vector<int64_t> rows = {1, 2};
  auto r = SplitOutput(out, rows);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(r.error().message(), "model returned 4 rows for a batch of 3");
}

// ---- metadata ------------------------------------------------------------------

TEST(SignatureMetadataTest, ColumnsAndTensors) {
  EXPECT_TRUE(SignatureInputsMetadata(std::nullopt).empty());
  auto cols = SignatureInputsMetadata(Sig(
      R"([{"name":"d","type":"double"},{"name":"f","type":"float"},{"name":"l","type":"long"},
          {"name":"i","type":"integer"},{"name":"b","type":"boolean"},{"name":"s","type":"string"},
          {"name":"y","type":"binary"},{"name":"t","type":"datetime"}])",
      R"([{"type":"tensor","tensor-spec":{"dtype":"float32","shape":[-1,3]}}])"));
  ASSERT_EQ(cols.size(), 8u);
  const std::vector<DataType> want = {DataType::kFp64,  DataType::kFp32, DataType::kInt64,
                                      DataType::kInt32, DataType::kBool, DataType::kBytes,
                                      DataType::kBytes, DataType::kBytes};
  for (size_t i = 0; i < cols.size(); ++i) {
    EXPECT_EQ(cols[i].datatype, want[i]) << i;
    EXPECT_EQ(cols[i].shape, std::vector<int64_t>{-1});
  }
  EXPECT_EQ(cols[0].name, "d");
  EXPECT_EQ(cols[7].name, "t");

  auto outs = SignatureOutputsMetadata(
      Sig(R"([{"name":"d","type":"double"}])",
          R"([{"type":"tensor","tensor-spec":{"dtype":"float32","shape":[-1,3]}}])"));
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].name, "predict");  // unnamed: what the runtimes answer
  EXPECT_EQ(outs[0].datatype, DataType::kFp32);
  EXPECT_EQ(outs[0].shape, (std::vector<int64_t>{-1, 3}));

  auto unnamed = SignatureInputsMetadata(
      Sig(R"([{"type":"tensor","tensor-spec":{"dtype":"float64","shape":[-1,4]}}])",
          R"([{"type":"long"}])"));
  ASSERT_EQ(unnamed.size(), 1u);
  EXPECT_EQ(unnamed[0].name, "input");  // a name a client can send
  auto unnamed_cols = SignatureInputsMetadata(Sig(R"([{"type":"double"},{"type":"long"}])",
                                                  R"([{"type":"long"}])"));
  ASSERT_EQ(unnamed_cols.size(), 2u);
  EXPECT_EQ(unnamed_cols[1].name, "1");  // positional, as pandas names them

  auto tensors = SignatureInputsMetadata(TensorSig());
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[1].name, "ids");
  EXPECT_EQ(tensors[1].datatype, DataType::kInt64);
  EXPECT_EQ(tensors[1].shape, std::vector<int64_t>{-1});
  auto strings = SignatureInputsMetadata(
      Sig(R"([{"name":"s","type":"tensor","tensor-spec":{"dtype":"object","shape":[-1]}}])"));
  EXPECT_EQ(strings[0].datatype, DataType::kBytes);
}

}  // namespace
}  // namespace cairn::serving
