#include "serving/oip_json.h"

#include <string>

#include "serving/json_tokens.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace cairn::serving {
namespace {

Result<InferRequest> Parse(std::string_view body) { return ParseOipInferRequest(body); }

std::string ErrorOf(std::string_view body, ErrorCode want = ErrorCode::kInvalidArgument) {
  auto r = Parse(body);
  if (r) return "<parsed>";
  EXPECT_EQ(r.error().code(), want) << r.error().message();
  return r.error().message();
}

std::string One(std::string_view datatype, std::string_view shape, std::string_view data) {
  return std::string(R"({"inputs":[{"name":"x","datatype":")") + std::string(datatype) +
         R"(","shape":)" + std::string(shape) + R"(,"data":)" + std::string(data) + "}]}";
}

TEST(OipParseTest, FlatFp32Request) {
  auto r = Parse(R"({"id":"42","parameters":{"priority":1},
    "inputs":[{"name":"input","shape":[2,3],"datatype":"FP32","data":[1,2.5,3,4,5,6e-1]}],
    "outputs":[{"name":"out","parameters":{"binary_data":true}}]})");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->id, "42");
  EXPECT_EQ(r->parameters_json, R"({"priority":1})");
  ASSERT_EQ(r->inputs.size(), 1u);
  const Tensor& t = r->inputs[0];
  EXPECT_EQ(t.name(), "input");
  EXPECT_EQ(t.datatype(), DataType::kFp32);
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{2, 3}));
  auto v = t.values<float>();
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v[1], 2.5f);
  EXPECT_EQ(v[5], 0.6f);
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].name, "out");
  EXPECT_EQ(r->outputs[0].binary_data, std::optional<bool>(true));
  EXPECT_EQ(r->outputs[0].parameters_json, R"({"binary_data":true})");
}

// Bodies are copied into a reused per-thread padded buffer (up to 1 MiB) or
// a padded copy of their own (larger): both parse, in any order.
TEST(OipParseTest, LargeAndSmallBodiesParseThroughThePaddedCopies) {
  auto body = [](int n) {
    std::string data;
    for (int i = 0; i < n; ++i) data += (i ? "," : "") + std::to_string(i % 1000) + ".5";
    return R"({"inputs":[{"name":"x","shape":[)" + std::to_string(n) +
           R"(],"datatype":"FP32","data":[)" + data + "]}]}";
  };
  const std::string large = body(200000);  // ~1.4 MB
  ASSERT_GT(large.size(), 1u << 20);
  for (const std::string& b : {body(3), large, body(5), body(2)}) {
    auto r = Parse(b);
    ASSERT_TRUE(r) << r.error().message();
    auto v = r->inputs.at(0).values<float>();
    ASSERT_EQ(static_cast<int64_t>(v.size()), r->inputs[0].shape()[0]);
    EXPECT_EQ(v.back(), static_cast<float>((v.size() - 1) % 1000) + 0.5f);
  }
  simdjson::padded_string large_copy;
  auto small = PaddedJson("[1]", large_copy);
  EXPECT_EQ(std::string_view(small), "[1]");
  EXPECT_GE(small.capacity(), 3 + simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(small.data()[3], '\0');  // padding is zeroed
  auto big = PaddedJson(large, large_copy);
  EXPECT_EQ(std::string_view(big), large);
  EXPECT_EQ(big.data(), large_copy.data());  // its own copy, not the thread buffer
}

TEST(OipParseTest, NestedDataEqualsFlat) {
  auto flat = Parse(One("INT32", "[2,3]", "[1,2,3,4,5,6]"));
  auto nested = Parse(One("INT32", "[2,3]", "[[1,2,3],[4,5,6]]"));
  ASSERT_TRUE(flat) << flat.error().message();
  ASSERT_TRUE(nested) << nested.error().message();
  auto a = flat->inputs[0].values<int32_t>();
  auto b = nested->inputs[0].values<int32_t>();
  ASSERT_EQ(b.size(), 6u);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin()));
  EXPECT_EQ(b[3], 4);

  auto deep = Parse(One("INT64", "[2,1,2]", "[[[1,2]],[[3,4]]]"));
  ASSERT_TRUE(deep) << deep.error().message();
  EXPECT_EQ(deep->inputs[0].values<int64_t>()[3], 4);
}

TEST(OipParseTest, FieldOrderDoesNotMatter) {
  auto r = Parse(R"({"inputs":[
      {"data":[[true,false]],"shape":[1,2],"name":"a","datatype":"BOOL"},
      {"datatype":"BYTES","data":["hi","th\"ere"],"name":"b","shape":[2]}],
    "id":"x"})");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->inputs.size(), 2u);
  EXPECT_EQ(r->inputs[0].values<uint8_t>()[0], 1);
  EXPECT_EQ(r->inputs[0].values<uint8_t>()[1], 0);
  EXPECT_EQ(r->inputs[1].strings(), (std::vector<std::string>{"hi", "th\"ere"}));
  EXPECT_EQ(r->id, "x");
}

TEST(OipParseTest, EveryDatatypeAcceptsItsRange) {
  struct Case {
    const char* datatype;
    const char* data;
    double last;
  } cases[] = {
      {"BOOL", "[true,false,true]", 1},
      {"UINT8", "[0,1,255]", 255},
      {"UINT16", "[0,1,65535]", 65535},
      {"UINT32", "[0,1,4294967295]", 4294967295.0},
      {"UINT64", "[0,1,18446744073709551615]", 18446744073709551615.0},
      {"INT8", "[-128,0,127]", 127},
      {"INT16", "[-32768,0,32767]", 32767},
      {"INT32", "[-2147483648,0,2147483647]", 2147483647},
      {"INT64", "[-9223372036854775808,0,9223372036854775807]", 9223372036854775807.0},
      {"FP16", "[-65504,0.5,65504]", 65504},
      {"FP32", "[-1,0.25,3.4e38]", static_cast<double>(3.4e38f)},
      {"FP64", "[-1,0.25,1e308]", 1e308},
  };
  for (const auto& c : cases) {
    auto r = Parse(One(c.datatype, "[3]", c.data));
    ASSERT_TRUE(r) << c.datatype << ": " << r.error().message();
    const Tensor& t = r->inputs[0];
    EXPECT_EQ(DataTypeName(t.datatype()), c.datatype);
    EXPECT_EQ(t.element_count(), 3);
    EXPECT_EQ(t.raw().size(), 3 * DataTypeSize(t.datatype())) << c.datatype;
    EXPECT_EQ(t.AsDouble(2), c.last) << c.datatype;
  }
  auto i8 = Parse(One("INT8", "[3]", "[-128,0,127]"));
  EXPECT_EQ(i8->inputs[0].values<int8_t>()[0], -128);
  auto u64 = Parse(One("UINT64", "[1]", "[18446744073709551615]"));
  EXPECT_EQ(u64->inputs[0].values<uint64_t>()[0], 18446744073709551615ULL);
  auto fp16 = Parse(One("FP16", "[1]", "[0.1]"));
  EXPECT_EQ(fp16->inputs[0].values<uint16_t>()[0], 0x2e66);
  auto fp64 = Parse(One("FP64", "[3]", R"(["NaN","Infinity","-Infinity"])"));
  ASSERT_TRUE(fp64) << fp64.error().message();
  EXPECT_TRUE(std::isnan(fp64->inputs[0].values<double>()[0]));
  EXPECT_EQ(fp64->inputs[0].values<double>()[2], -INFINITY);
}

TEST(OipParseTest, ValuesOutOfRangeAreNamed) {
  EXPECT_EQ(ErrorOf(One("UINT8", "[2]", "[1,300]")),
            "input 'x': value 300 at index 1 does not fit UINT8");
  EXPECT_EQ(ErrorOf(One("UINT16", "[1]", "[-1]")),
            "input 'x': value -1 at index 0 does not fit UINT16");
  EXPECT_EQ(ErrorOf(One("INT8", "[1]", "[128]")),
            "input 'x': value 128 at index 0 does not fit INT8");
  EXPECT_EQ(ErrorOf(One("INT32", "[1]", "[2147483648]")),
            "input 'x': value 2147483648 at index 0 does not fit INT32");
  EXPECT_EQ(ErrorOf(One("INT64", "[1]", "[9223372036854775808]")),
            "input 'x': value 9223372036854775808 at index 0 does not fit INT64");
  EXPECT_EQ(ErrorOf(One("UINT64", "[1]", "[18446744073709551616]")),
            "input 'x': value 18446744073709551616 at index 0 does not fit UINT64");
  EXPECT_EQ(ErrorOf(One("INT32", "[2]", "[1,1.5]")),
            "input 'x': value 1.5 at index 1 is not a valid INT32");
  EXPECT_EQ(ErrorOf(One("FP16", "[1]", "[70000]")),
            "input 'x': value 70000 at index 0 does not fit FP16");
  EXPECT_EQ(ErrorOf(One("FP32", "[1]", "[1e39]")),
            "input 'x': value 1e39 at index 0 does not fit FP32");
  EXPECT_EQ(ErrorOf(One("FP32", "[1]", R"(["abc"])")),
            "input 'x': value \"abc\" at index 0 is not a valid FP32");
  EXPECT_EQ(ErrorOf(One("BOOL", "[1]", "[1]")),
            "input 'x': value 1 at index 0 is not a valid BOOL");
  EXPECT_EQ(ErrorOf(One("BYTES", "[2]", R"(["a",5])")),
            "input 'x': value 5 at index 1 is not a valid BYTES");
  EXPECT_EQ(ErrorOf(One("FP64", "[2]", R"([1,{"a":1}])")),
            "input 'x': value an object at index 1 is not a valid FP64");
}

TEST(OipParseTest, ShapeMismatches) {
  EXPECT_EQ(ErrorOf(One("FP32", "[2,3]", "[1,2,3,4,5]")),
            "input 'x': shape [2,3] needs 6 values, got 5");
  EXPECT_EQ(ErrorOf(One("FP32", "[2,3]", "[1,2,3,4,5,6,7,8]")),
            "input 'x': shape [2,3] needs 6 values, got 8");
  EXPECT_EQ(ErrorOf(One("FP32", "[2,3]", "[[1,2,3],[4,5]]")),
            "input 'x': 'data' does not match shape [2,3]: dimension 1 has 2 values, expected 3");
  EXPECT_EQ(ErrorOf(One("FP32", "[2,3]", "[[1,2,3],[4,5,6],[7,8,9]]")),
            "input 'x': 'data' does not match shape [2,3]: dimension 0 has more than 2 values, "
            "expected 2");
  EXPECT_EQ(ErrorOf(One("FP32", "[2,3]", "[[1,2,3,4],[4,5,6]]")),
            "input 'x': 'data' does not match shape [2,3]: dimension 1 has more than 3 values, "
            "expected 3");
  EXPECT_EQ(ErrorOf(One("FP32", "[6]", "[[1,2,3],[4,5,6]]")),
            "input 'x': 'data' is nested deeper than shape [6]");
  EXPECT_EQ(ErrorOf(One("FP32", "[2,3]", "[[1,2,3],4,5,6]")),
            "input 'x': 'data' mixes lists and values");
  EXPECT_EQ(ErrorOf(One("FP32", "[2,3]", "[1,2,3,[4,5,6]]")),
            "input 'x': 'data' mixes lists and values");
  EXPECT_EQ(ErrorOf(One("FP32", "[2,-3]", "[]")),
            "input 'x': shape [2,-3] has a negative dimension");
  EXPECT_EQ(ErrorOf(One("FP32", "[2,3]", "7")), "input 'x': 'data' must be a list");
  EXPECT_EQ(ErrorOf(One("FP32", "[2,\"3\"]", "[]")),
            "input 'x': 'shape' must be a list of integers");
  // A scalar tensor (shape []) takes one value, bare or in a list.
  auto scalar = Parse(One("FP64", "[]", "2.5"));
  ASSERT_TRUE(scalar) << scalar.error().message();
  EXPECT_EQ(scalar->inputs[0].values<double>()[0], 2.5);
  EXPECT_TRUE(Parse(One("FP64", "[]", "[2.5]")));
  // Zero-size tensors.
  auto empty = Parse(One("FP32", "[0,3]", "[]"));
  ASSERT_TRUE(empty) << empty.error().message();
  EXPECT_EQ(empty->inputs[0].element_count(), 0);
}

TEST(OipParseTest, OversizedShapeIsRejectedBeforeReadingData) {
  EXPECT_EQ(ErrorOf(One("FP32", "[100000,100000]", "[1]"), ErrorCode::kPayloadTooLarge),
            "input 'x': shape [100000,100000] has 10000000000 elements, more than the limit of "
            "67108864");
  EXPECT_EQ(ErrorOf(One("FP32", "[4294967296,4294967296]", "[1]")),
            "input 'x': shape [4294967296,4294967296] is too large");
  OipParseOptions small;
  small.max_elements = 4;
  auto r = ParseOipInferRequest(One("INT8", "[5]", "[1,2,3,4,5]"), {}, small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPayloadTooLarge);
  // A shape that is allowed but much larger than the data does not allocate by shape.
  EXPECT_EQ(ErrorOf(One("FP64", "[60000000]", "[1]")),
            "input 'x': shape [60000000] needs 60000000 values, got 1");
}

TEST(OipParseTest, StructuralErrors) {
  EXPECT_EQ(ErrorOf(R"({"inputs":[{"name":"x","shape":[1],"data":[1]}]})"),
            "input 'x': missing 'datatype'");
  EXPECT_EQ(ErrorOf(R"({"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]})"),
            "input 0: missing 'name'");
  EXPECT_EQ(ErrorOf(R"({"inputs":[{"name":"x","datatype":"FP32","data":[1]}]})"),
            "input 'x': missing 'shape'");
  EXPECT_EQ(ErrorOf(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]})"),
            "input 'x': missing 'data'");
  EXPECT_EQ(ErrorOf(One("FP128", "[1]", "[1]")),
            "input 'x': unknown datatype 'FP128' (expected one of BOOL, UINT8, UINT16, UINT32, "
            "UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES)");
  EXPECT_EQ(ErrorOf(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]},
                                  {"name":"x","datatype":"FP32","shape":[1],"data":[2]}]})"),
            "input 'x' appears more than once");
  EXPECT_EQ(ErrorOf(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],
                        "outputs":[{"name":"y"},{"name":"y"}]})"),
            "output 'y' is requested more than once");
  EXPECT_EQ(ErrorOf(R"({"id":"1"})"), "the request has no 'inputs'");
  EXPECT_EQ(ErrorOf(R"({"inputs":[]})"), "the request has no 'inputs'");
  EXPECT_EQ(ErrorOf(R"({"inputs":{}})"), "'inputs' must be a list of tensors");
  EXPECT_EQ(ErrorOf(R"({"inputs":[1]})"), "input 0: must be an object");
  EXPECT_EQ(ErrorOf(R"({"id":5,"inputs":[]})"), "'id' must be a string");
}

TEST(OipParseTest, MalformedJsonIsBadRequest) {
  for (std::string_view body :
       {R"({"inputs":[{"name":"x",)", R"([1,2])", "", "nope",
        R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]} x)",
        R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,]}]})"}) {
    auto r = Parse(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code(), ErrorCode::kBadRequest) << body << ": " << r.error().message();
  }
}

std::string Le32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

TEST(OipParseTest, BinaryTensorExtension) {
  float f[3] = {1.5f, -2.0f, 8.0f};
  std::string bin(reinterpret_cast<const char*>(f), sizeof f);
  bin += Le32(2) + "ab" + Le32(0);
  auto r = ParseOipInferRequest(
      R"({"inputs":[{"name":"f","datatype":"FP32","shape":[1,3],"parameters":{"binary_data_size":12}},
                    {"name":"s","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":10}}]})",
      bin);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->inputs[0].values<float>()[1], -2.0f);
  EXPECT_EQ(r->inputs[1].strings(), (std::vector<std::string>{"ab", ""}));

  auto short_size = ParseOipInferRequest(
      R"({"inputs":[{"name":"f","datatype":"FP32","shape":[1,3],"parameters":{"binary_data_size":8}}]})",
      bin.substr(0, 8));
  ASSERT_FALSE(short_size);
  EXPECT_EQ(short_size.error().message(),
            "input 'f': shape [1,3] needs 12 bytes of FP32, binary_data_size is 8");
  auto overrun = ParseOipInferRequest(
      R"({"inputs":[{"name":"f","datatype":"FP32","shape":[1,3],"parameters":{"binary_data_size":12}}]})",
      bin.substr(0, 4));
  ASSERT_FALSE(overrun);
  EXPECT_EQ(overrun.error().message(),
            "input 'f': binary_data_size 12 exceeds the 4 bytes of binary data left");
  auto leftover = ParseOipInferRequest(One("FP32", "[1]", "[1]"), "xyz");
  ASSERT_FALSE(leftover);
  EXPECT_EQ(leftover.error().message(),
            "3 bytes of binary data follow the JSON but no input claims them");
}

TEST(OipWriteTest, InferResponse) {
  InferResponse resp;
  resp.model_name = "fraud";
  resp.model_version = "3";
  resp.id = "r1";
  std::vector<float> p{0.1f, 1.0f};
  resp.outputs.push_back(*Tensor::FromValues<float>("prob", DataType::kFp32, {2, 1}, p));
  std::vector<uint8_t> b{1, 0};
  resp.outputs.push_back(*Tensor::FromValues<uint8_t>("flag", DataType::kBool, {2}, b));
  resp.outputs.push_back(*Tensor::FromStrings("label", {1}, {"a\"b"}));
  std::vector<uint64_t> u{18446744073709551615ULL};
  resp.outputs.push_back(*Tensor::FromValues<uint64_t>("u", DataType::kUint64, {1}, u));
  std::vector<uint16_t> h{FloatToHalf(0.5f)};
  resp.outputs.push_back(*Tensor::FromValues<uint16_t>("h", DataType::kFp16, {1}, h));
  EXPECT_EQ(WriteOipInferResponse(resp),
            R"({"model_name":"fraud","model_version":"3","id":"r1","outputs":[)"
            R"({"name":"prob","datatype":"FP32","shape":[2,1],"data":[0.1,1.0]},)"
            R"({"name":"flag","datatype":"BOOL","shape":[2],"data":[true,false]},)"
            R"({"name":"label","datatype":"BYTES","shape":[1],"data":["a\"b"]},)"
            R"({"name":"u","datatype":"UINT64","shape":[1],"data":[18446744073709551615]},)"
            R"({"name":"h","datatype":"FP16","shape":[1],"data":[0.5]}]})");
  InferResponse minimal;
  minimal.model_name = "m";
  EXPECT_EQ(WriteOipInferResponse(minimal), R"({"model_name":"m","outputs":[]})");
}

TEST(OipWriteTest, ResponseRoundTripsThroughParser) {
  InferResponse resp;
  resp.model_name = "m";
  std::vector<double> d{1e-300, -0.0, 123456.789};
  resp.outputs.push_back(*Tensor::FromValues<double>("x", DataType::kFp64, {3}, d));
  std::string json = WriteOipInferResponse(resp);
  // The outputs array has the shape of a request's inputs.
  std::string as_request =
      "{\"inputs\":" + json.substr(json.find('['), json.size() - json.find('[') - 1) + "}";
  auto r = Parse(as_request);
  ASSERT_TRUE(r) << r.error().message() << " in " << as_request;
  EXPECT_EQ(r->inputs[0].values<double>()[0], 1e-300);
  EXPECT_EQ(r->inputs[0].values<double>()[2], 123456.789);
}

TEST(OipWriteTest, ErrorAndMetadata) {
  EXPECT_EQ(WriteOipError("input 'x': bad"), R"({"error":"input 'x': bad"})");
  ModelMetadata m;
  m.name = "fraud";
  m.versions = {"1", "2"};
  m.platform = "xgboost";
  m.inputs = {{"input", DataType::kFp32, {-1, 10}}};
  m.outputs = {{"prob", DataType::kFp32, {-1}}};
  EXPECT_EQ(WriteOipModelMetadata(m),
            R"({"name":"fraud","versions":["1","2"],"platform":"xgboost",)"
            R"("inputs":[{"name":"input","datatype":"FP32","shape":[-1,10]}],)"
            R"("outputs":[{"name":"prob","datatype":"FP32","shape":[-1]}]})");
  ServerMetadata s{"cairn", "0.1.0", {"binary_tensor_data"}};
  EXPECT_EQ(WriteOipServerMetadata(s),
            R"({"name":"cairn","version":"0.1.0","extensions":["binary_tensor_data"]})");
}

}  // namespace
}  // namespace cairn::serving

namespace cairn::serving {
namespace {

TEST(OipWriteTest, BinaryOutputs) {
  auto req = ParseOipInferRequest(
      R"({"parameters":{"binary_data_output":true},
          "inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],
          "outputs":[{"name":"prob"},{"name":"label","parameters":{"binary_data":false}}]})");
  ASSERT_TRUE(req) << req.error().message();
  EXPECT_TRUE(req->binary_data_output);
  EXPECT_EQ(req->parameters_json, R"({"binary_data_output":true})");

  InferResponse resp;
  resp.model_name = "m";
  std::vector<float> p{0.5f, 2.0f};
  resp.outputs.push_back(*Tensor::FromValues<float>("prob", DataType::kFp32, {2}, p));
  resp.outputs.push_back(*Tensor::FromStrings("label", {1}, {"a"}));
  resp.outputs.push_back(*Tensor::FromStrings("extra", {2}, {"hi", ""}));
  auto binary = OipBinaryOutputs(*req, resp);
  EXPECT_EQ(binary, (std::vector<bool>{true, false, true}));

  OipResponseBody out = WriteOipInferResponse(resp, binary);
  ASSERT_TRUE(out.has_binary());
  const std::string json = out.body.substr(0, out.json_size);
  EXPECT_EQ(
      json,
      R"({"model_name":"m","outputs":[)"
      R"({"name":"prob","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},)"
      R"({"name":"label","datatype":"BYTES","shape":[1],"data":["a"]},)"
      R"({"name":"extra","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":10}}]})");
  const std::string tail = out.body.substr(out.json_size);
  ASSERT_EQ(tail.size(), 18u);
  float f1 = 0;
  std::memcpy(&f1, tail.data() + 4, 4);
  EXPECT_EQ(f1, 2.0f);
  EXPECT_EQ(tail.substr(8), std::string("\x02\0\0\0hi\0\0\0\0", 10));

  // What the server wrote in binary, a client could send back as an input.
  auto echo = ParseOipInferRequest(
      R"({"inputs":[{"name":"prob","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},
                    {"name":"extra","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":10}}]})",
      tail);
  ASSERT_TRUE(echo) << echo.error().message();
  EXPECT_EQ(echo->inputs[0].values<float>()[0], 0.5f);
  EXPECT_EQ(echo->inputs[1].strings(), (std::vector<std::string>{"hi", ""}));

  OipResponseBody plain = WriteOipInferResponse(resp, {});
  EXPECT_FALSE(plain.has_binary());
  EXPECT_EQ(plain.body, WriteOipInferResponse(resp));
}

}  // namespace
}  // namespace cairn::serving

namespace cairn::serving {
namespace {

// The exact body tritonclient (HTTP, 2.x) sends for five inputs, three of them
// in binary (its default) and two as JSON, asking for outputs y (binary) and z.
// The response format of BinaryOutputs above was checked the same way:
// tritonclient.http.InferResult.from_response_body decodes it.
TEST(OipParseTest, TritonclientRequest) {
  const std::string json =
      R"({"id":"7","inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","parameters":{"binary_data_size":24}},)"
      R"({"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":10}},)"
      R"({"name":"u","shape":[1,2],"datatype":"UINT8","data":[1,255]},)"
      R"({"name":"f16","shape":[2],"datatype":"FP16","parameters":{"binary_data_size":4}},)"
      R"({"name":"bo","shape":[2],"datatype":"BOOL","data":[true,false]}],)"
      R"("outputs":[{"name":"y","parameters":{"binary_data":true}},{"name":"z","parameters":{"binary_data":false}}]})";
  const std::string binary(
      "\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00"
      "\xa0\x40\x02\x00\x00\x00\x61\x62\x00\x00\x00\x00\x00\x38\x00\xc0",
      38);
  auto r = ParseOipInferRequest(json, binary);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->id, "7");
  ASSERT_EQ(r->inputs.size(), 5u);
  auto x = r->inputs[0].values<float>();
  EXPECT_EQ(std::vector<float>(x.begin(), x.end()), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(r->inputs[1].strings(), (std::vector<std::string>{"ab", ""}));
  EXPECT_EQ(r->inputs[2].values<uint8_t>()[1], 255);
  EXPECT_EQ(r->inputs[3].AsDouble(0), 0.5);
  EXPECT_EQ(r->inputs[3].AsDouble(1), -2.0);
  EXPECT_EQ(r->inputs[4].values<uint8_t>()[0], 1);
  ASSERT_EQ(r->outputs.size(), 2u);
  EXPECT_EQ(r->outputs[0].binary_data, std::optional<bool>(true));
  EXPECT_EQ(r->outputs[1].binary_data, std::optional<bool>(false));
  EXPECT_FALSE(r->binary_data_output);
}

}  // namespace
}  // namespace cairn::serving

namespace cairn::serving {
namespace {

TEST(OipNonFiniteTokensTest, BareNaNAndInfinityAsTritonclientWritesThem) {
  // tritonclient's JSON mode writes numpy non-finite floats as bare tokens.
  auto req = ParseOipInferRequest(
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],)"
      R"("data":[NaN, Infinity,-Infinity ,1.5]}],"id":"NaN in a string stays"})");
  ASSERT_TRUE(req.has_value()) << req.error().ToString();
  const auto v = req->inputs[0].values<float>();
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[2], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[3], 1.5f);
  EXPECT_EQ(req->id, "NaN in a string stays");
  // Still malformed when it is malformed for another reason; a NaN for an
  // integer tensor is still refused.
  auto bad = ParseOipInferRequest(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[NaN}]})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kBadRequest);
  auto int_nan = ParseOipInferRequest(
      R"({"inputs":[{"name":"x","datatype":"INT64","shape":[1],"data":[NaN]}]})");
  ASSERT_FALSE(int_nan.has_value());
  EXPECT_EQ(int_nan.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn::serving
