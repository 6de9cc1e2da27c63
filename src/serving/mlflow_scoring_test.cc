#include "serving/mlflow_scoring.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cairn::serving {
namespace {

const std::string kFormats =
    "The input must be a JSON dictionary with exactly one of the input fields "
    "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}";

std::string ErrorOf(Result<ScoringRequest> r, ErrorCode want = ErrorCode::kBadRequest) {
  if (r) return "<parsed>";
  EXPECT_EQ(r.error().code(), want) << r.error().message();
  return r.error().message();
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

TEST(ScoringJsonTest, DataframeSplitInfersColumnTypes) {
  auto r = ParseScoringJson(R"({"dataframe_split":{
      "columns":["i","f","b","s","mixed","nested"],
      "index":[10,11],
      "data":[[1,1.5,true,"a",1,[1,2]],[2,2,false,"b\"c","x",{"k":null}]]},
    "params":{"top_k":3}})");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->format, ScoringFormat::kDataframeSplit);
  EXPECT_EQ(r->params_json, R"({"top_k":3})");
  const DataFrame& f = r->frame;
  EXPECT_EQ(f.num_rows, 2u);
  ASSERT_EQ(f.columns.size(), 6u);
  EXPECT_EQ(f.columns[0].type, ColumnType::kInt64);
  EXPECT_EQ(f.columns[0].ints, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(f.columns[1].type, ColumnType::kFloat64);
  EXPECT_EQ(f.columns[1].doubles, (std::vector<double>{1.5, 2.0}));
  EXPECT_EQ(f.columns[2].type, ColumnType::kBool);
  EXPECT_EQ(f.columns[2].bools, (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(f.columns[3].type, ColumnType::kString);
  EXPECT_EQ(f.columns[3].strings[1], "b\"c");
  EXPECT_EQ(f.columns[4].type, ColumnType::kJson);
  EXPECT_EQ(f.columns[4].strings, (std::vector<std::string>{"1", "\"x\""}));
  EXPECT_EQ(f.columns[5].strings, (std::vector<std::string>{"[1,2]", R"({"k":null})"}));
  ASSERT_NE(f.Find("s"), nullptr);
  EXPECT_EQ(f.Find("s")->size(), 2u);
  EXPECT_EQ(f.Find("nope"), nullptr);
}

TEST(ScoringJsonTest, DataframeSplitNullsAndUnnamedColumns) {
  auto r = ParseScoringJson(R"({"dataframe_split":{"data":[[1,null],[null,2.5],[3]]}})");
  ASSERT_TRUE(r) << r.error().message();
  const DataFrame& f = r->frame;
  ASSERT_EQ(f.columns.size(), 2u);
  EXPECT_EQ(f.columns[0].name, "0");
  EXPECT_EQ(f.columns[1].name, "1");
  EXPECT_EQ(f.columns[0].type, ColumnType::kInt64);
  EXPECT_TRUE(f.columns[0].is_null(1));
  EXPECT_FALSE(f.columns[0].is_null(2));
  EXPECT_EQ(f.columns[0].ints[2], 3);
  EXPECT_EQ(f.columns[1].type, ColumnType::kFloat64);
  EXPECT_TRUE(f.columns[1].is_null(0));
  EXPECT_TRUE(f.columns[1].is_null(2));  // a short row is padded with null
  EXPECT_TRUE(std::isnan(f.columns[1].doubles[2]));
  EXPECT_EQ(f.columns[1].doubles[1], 2.5);
}

TEST(ScoringJsonTest, DataframeSplitErrors) {
  EXPECT_EQ(
      ErrorOf(ParseScoringJson(R"({"dataframe_split":{"columns":["a","b","c"],"data":[[1,2]]}})")),
      "Invalid input. Provided dataframe_split field is not a valid dataframe representation "
      "in 'split' format. Error: '3 columns passed, passed data had 2 columns'");
  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"dataframe_split":{"columns":["a"]}})")),
            "Invalid input. Dataframe split format must have 'data' field and optionally "
            "'columns' and 'index' fields. Got {'columns'}.'");
  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"dataframe_split":{"data":[[1]],"rows":1}})")),
            "Invalid input. Dataframe split format must have 'data' field and optionally "
            "'columns' and 'index' fields. Got {'data', 'rows'}.'");
  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"dataframe_split":[[1,2]]})")),
            "Invalid input. Dataframe split format must be a dictionary. Got list.");
  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"dataframe_split":"x"})")),
            "Invalid input. Dataframe split format must be a dictionary. Got type <class 'str'>.");
  EXPECT_EQ(
      ErrorOf(ParseScoringJson(R"({"dataframe_split":{"index":[0,1,2],"data":[[1,2],[3,4]]}})")),
      "Invalid input. Provided dataframe_split field is not a valid dataframe "
      "representation in 'split' format. Error: 'Length of values (2) does not match length "
      "of index (3)'");
}

TEST(ScoringJsonTest, DataframeRecords) {
  auto r = ParseScoringJson(R"({"dataframe_records":[{"a":1,"b":"x"},{"b":"y","c":0.5}]})");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->format, ScoringFormat::kDataframeRecords);
  const DataFrame& f = r->frame;
  ASSERT_EQ(f.columns.size(), 3u);
  EXPECT_EQ(f.columns[0].name, "a");
  EXPECT_EQ(f.columns[1].name, "b");
  EXPECT_EQ(f.columns[2].name, "c");
  EXPECT_EQ(f.columns[0].ints[0], 1);
  EXPECT_TRUE(f.columns[0].is_null(1));
  EXPECT_EQ(f.columns[1].strings, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(f.columns[2].is_null(0));
  EXPECT_EQ(f.columns[2].doubles[1], 0.5);

  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"dataframe_records":{"a":[1]}})")),
            "Invalid input. Dataframe records format must be a list of records. Got dictionary.");
  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"dataframe_records":[{"a":1},[1]]})")),
            "Invalid input. Provided dataframe_records field is not a valid dataframe "
            "representation in 'records' format. Error: 'records mix objects and lists'");
}

TEST(ScoringJsonTest, InstancesOfRecordsStackPerKey) {
  auto r = ParseScoringJson(R"({"instances":[{"a":[1,2],"b":"x"},{"b":"y","a":[3,4]}]})");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->format, ScoringFormat::kInstances);
  ASSERT_EQ(r->tensors.size(), 2u);
  const Tensor& a = r->tensors[0];
  EXPECT_EQ(a.name(), "a");
  EXPECT_EQ(a.datatype(), DataType::kInt64);
  EXPECT_EQ(a.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(a.values<int64_t>()[2], 3);
  const Tensor& b = r->tensors[1];
  EXPECT_EQ(b.datatype(), DataType::kBytes);
  EXPECT_EQ(b.shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(b.strings()[1], "y");

  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"instances":[{"a":1,"b":2},{"a":3}]})")),
            "Invalid input. The length of values for each input/column name are not the same");
}

TEST(ScoringJsonTest, InstancesAndInputsAsOneTensor) {
  auto r = ParseScoringJson(R"({"instances":[[1,2.5],[3,4]]})");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->tensors.size(), 1u);
  EXPECT_EQ(r->tensors[0].name(), "");
  EXPECT_EQ(r->tensors[0].datatype(), DataType::kFp64);
  EXPECT_EQ(r->tensors[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(r->tensors[0].values<double>()[1], 2.5);

  auto in = ParseScoringJson(R"({"inputs":[[true],[false],[true]]})");
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->format, ScoringFormat::kInputs);
  EXPECT_EQ(in->tensors[0].datatype(), DataType::kBool);
  EXPECT_EQ(in->tensors[0].shape(), (std::vector<int64_t>{3, 1}));

  auto named = ParseScoringJson(R"({"inputs":{"x":[[1,2,3]],"n":7,"z":[[],[]]},"params":null})");
  ASSERT_TRUE(named) << named.error().message();
  ASSERT_EQ(named->tensors.size(), 3u);
  EXPECT_EQ(named->tensors[0].name(), "x");
  EXPECT_EQ(named->tensors[0].shape(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(named->tensors[1].shape(), (std::vector<int64_t>{}));
  EXPECT_EQ(named->tensors[1].values<int64_t>()[0], 7);
  EXPECT_EQ(named->tensors[2].shape(), (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(named->params_json, "");

  auto with_null = ParseScoringJson(R"({"inputs":[1,null,3]})");
  ASSERT_TRUE(with_null);
  EXPECT_EQ(with_null->tensors[0].datatype(), DataType::kFp64);
  EXPECT_TRUE(std::isnan(with_null->tensors[0].values<double>()[1]));
}

TEST(ScoringJsonTest, RaggedOrMixedTensorsAreErrors) {
  const std::string ragged =
      "Invalid input. setting an array element with a sequence. The requested array has an "
      "inhomogeneous shape after 1 dimensions.";
  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"inputs":[[1,2],[3]]})")), ragged);
  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"inputs":{"x":[[1,2],3]}})")), ragged);
  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"inputs":[[[1],[2]],[[3],[4,5]]]})")),
            "Invalid input. setting an array element with a sequence. The requested array has an "
            "inhomogeneous shape after 2 dimensions.");
  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"inputs":{"x":[1,"a"]}})")),
            "Invalid input. Ensure that the input is a valid JSON-formatted string.\n"
            "Error: input 'x' mixes value types");
  EXPECT_EQ(ErrorOf(ParseScoringJson(R"({"inputs":[{"a":1}]})")),
            "Invalid input. Ensure that the input is a valid JSON-formatted string.\n"
            "Error: the input holds an object");
}

TEST(ScoringJsonTest, TopLevelErrorsQuoteMlflow) {
  const std::string change_info_start =
      "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0.";
  std::string none = ErrorOf(ParseScoringJson(R"({"data":[1]})"));
  EXPECT_TRUE(StartsWith(
      none, kFormats + ". Received dictionary with input fields: []. " + change_info_start))
      << none;
  std::string two = ErrorOf(ParseScoringJson(R"({"inputs":[1],"params":{},"instances":[1]})"));
  EXPECT_TRUE(StartsWith(two, kFormats + ". Received dictionary with input fields: ['inputs', "
                                         "'instances']. IMPORTANT"))
      << two;
  EXPECT_EQ(ErrorOf(ParseScoringJson("[1,2]")),
            "Invalid input. " + kFormats + ". Received a list.");
  EXPECT_EQ(ErrorOf(ParseScoringJson("\"x\"")),
            "Invalid input. " + kFormats + ". Received unexpected input type '<class 'str'>.");
  EXPECT_EQ(ErrorOf(ParseScoringJson("3")),
            "Invalid input. " + kFormats + ". Received unexpected input type '<class 'int'>.");
  for (std::string_view body : {"{\"inputs\":[1,", "not json", "", "{\"inputs\":[1]} {}"}) {
    std::string m = ErrorOf(ParseScoringJson(body));
    EXPECT_TRUE(StartsWith(m,
                           "Invalid input. Ensure that input is a valid JSON formatted string. "
                           "Error: '"))
        << body << " -> " << m;
    EXPECT_NE(m.find("\nInput: \n" + std::string(body) + "\n"), std::string::npos) << m;
  }
}

TEST(ScoringCsvTest, HeaderQuotesAndTypes) {
  auto r = ParseScoringCsv(
      "a,b,\"c, d\",e,,a\r\n"
      "1,2.5,\"x, \"\"quoted\"\"\",True,0,9\r\n"
      "\n"
      "3,,\"multi\nline\",false,1,8\r\n");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->format, ScoringFormat::kCsv);
  const DataFrame& f = r->frame;
  EXPECT_EQ(f.num_rows, 2u);
  ASSERT_EQ(f.columns.size(), 6u);
  EXPECT_EQ(f.columns[2].name, "c, d");
  EXPECT_EQ(f.columns[4].name, "Unnamed: 4");
  EXPECT_EQ(f.columns[5].name, "a.1");
  EXPECT_EQ(f.columns[0].type, ColumnType::kInt64);
  EXPECT_EQ(f.columns[0].ints, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(f.columns[1].type, ColumnType::kFloat64);
  EXPECT_EQ(f.columns[1].doubles[0], 2.5);
  EXPECT_TRUE(f.columns[1].is_null(1));
  EXPECT_EQ(f.columns[2].type, ColumnType::kString);
  EXPECT_EQ(f.columns[2].strings, (std::vector<std::string>{"x, \"quoted\"", "multi\nline"}));
  EXPECT_EQ(f.columns[3].type, ColumnType::kBool);
  EXPECT_EQ(f.columns[3].bools, (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(f.columns[5].ints, (std::vector<int64_t>{9, 8}));
}

TEST(ScoringCsvTest, MixedColumnKeepsTextAndShortRowsPad) {
  auto r = ParseScoringCsv("x,y\n1,a\nb\n2.5,NA\n");
  ASSERT_TRUE(r) << r.error().message();
  const DataFrame& f = r->frame;
  EXPECT_EQ(f.num_rows, 3u);
  EXPECT_EQ(f.columns[0].type, ColumnType::kString);
  EXPECT_EQ(f.columns[0].strings, (std::vector<std::string>{"1", "b", "2.5"}));
  EXPECT_EQ(f.columns[1].type, ColumnType::kString);
  EXPECT_TRUE(f.columns[1].is_null(1));
  EXPECT_TRUE(f.columns[1].is_null(2));
  EXPECT_EQ(f.columns[1].strings[0], "a");
}

TEST(ScoringCsvTest, Errors) {
  const std::string prefix =
      "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid "
      "CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. "
      "Error: '";
  EXPECT_EQ(ErrorOf(ParseScoringCsv("a,b\n1,2\n3,4,5\n")),
            prefix + "Error tokenizing data. C error: Expected 2 fields in line 3, saw 3\n'");
  EXPECT_EQ(ErrorOf(ParseScoringCsv("")), prefix + "No columns to parse from file'");
  EXPECT_EQ(ErrorOf(ParseScoringCsv("a,b\n1,\"open\n")),
            prefix + "Error tokenizing data. C error: EOF inside string starting at row 1'");
}

TEST(ScoringContentTypeTest, DispatchAndMlflowMessages) {
  EXPECT_EQ(*ParseScoringContentType("application/json"), ScoringContentType::kJson);
  EXPECT_EQ(*ParseScoringContentType("text/csv; charset=UTF-8"), ScoringContentType::kCsv);
  auto latin = ParseScoringContentType("text/csv; charset=latin-1");
  ASSERT_FALSE(latin);
  EXPECT_EQ(latin.error().message(), "The scoring server only supports UTF-8");
  auto orient = ParseScoringContentType("application/json; format=pandas-split");
  ASSERT_FALSE(orient);
  EXPECT_TRUE(StartsWith(orient.error().message(),
                         "Unrecognized content type parameters: format. IMPORTANT"));
  auto xml = ParseScoringContentType("application/xml");
  ASSERT_FALSE(xml);
  EXPECT_EQ(xml.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(xml.error().message(),
            "This predictor only supports the following content types: Types: ['text/csv', "
            "'application/json', 'application/vnd.apache.parquet']. Got 'application/xml'.");
  auto csv = ParseScoringRequest("text/csv", "a\n1\n");
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv->frame.columns[0].ints[0], 1);
  auto json = ParseScoringRequest("application/json", R"({"inputs":[1]})");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->format, ScoringFormat::kInputs);
}

TEST(ScoringWriteTest, Predictions) {
  std::vector<double> v{0.25, 1.0, 2.0, 3.0};
  auto t = *Tensor::FromValues<double>("", DataType::kFp64, {2, 2}, v);
  EXPECT_EQ(WriteScoringPredictions(t), R"({"predictions":[[0.25,1.0],[2.0,3.0]]})");
  std::vector<int64_t> labels{1, 0};
  auto l = *Tensor::FromValues<int64_t>("label", DataType::kInt64, {2}, labels);
  EXPECT_EQ(WriteScoringPredictions(l), R"({"predictions":[1,0]})");
  std::vector<Tensor> named{l, *Tensor::FromStrings("cls", {2}, {"a", "b"})};
  EXPECT_EQ(WriteScoringPredictions(std::span<const Tensor>(named)),
            R"({"predictions":{"label":[1,0],"cls":["a","b"]}})");

  auto frame = ParseScoringJson(
      R"({"dataframe_split":{"columns":["p","c"],"data":[[0.5,"x"],[null,"y"]]}})");
  ASSERT_TRUE(frame);
  EXPECT_EQ(WriteScoringPredictions(frame->frame),
            R"({"predictions":[{"p":0.5,"c":"x"},{"p":null,"c":"y"}]})");
}

TEST(ScoringWriteTest, ErrorBody) {
  Error e(ErrorCode::kBadRequest, "Invalid input. x");
  EXPECT_EQ(WriteScoringError(e), R"({"error_code":"BAD_REQUEST","message":"Invalid input. x"})");
}

}  // namespace
}  // namespace cairn::serving

namespace cairn::serving {
namespace {

TEST(ScoringNonFiniteTest, BareNaNIsAMissingValueAsPandasReadsIt) {
  auto req = ParseScoringJson(
      R"({"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, NaN], [NaN, 2.0]]}})");
  ASSERT_TRUE(req.has_value()) << req.error().ToString();
  const Column* a = req->frame.Find("a");
  const Column* b = req->frame.Find("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->type, ColumnType::kFloat64);
  EXPECT_EQ(a->doubles[0], 1.5);
  EXPECT_TRUE(a->is_null(1));
  EXPECT_TRUE(b->is_null(0));
  EXPECT_EQ(b->doubles[1], 2.0);
  // A string "NaN" is a string, untouched.
  auto s = ParseScoringJson(R"({"dataframe_records": [{"c": "NaN"}]})");
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(s->frame.Find("c")->type, ColumnType::kString);
  EXPECT_EQ(s->frame.Find("c")->strings[0], "NaN");
}

}  // namespace
}  // namespace cairn::serving
