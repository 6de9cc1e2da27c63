// BatchPredict with a fake Runtime that records the rows of every Predict
// call: chunking, the three input formats, output rendering, row-range errors.

#include "serve/batch_predict.h"

#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cairn::serve {
namespace {

// Answers "predict" = 2 * column x (FP64), and "label" = column s (BYTES) when
// the input has one. A row with x == 999 is an error naming the column.
class EchoRuntime : public serving::Runtime {
 public:
  std::string_view platform() const override { return "test"; }
  Result<serving::ModelOutput> Predict(const serving::ModelInput& input) override {
    calls.push_back(input.rows);
    const serving::Tensor* x = nullptr;
    const serving::Tensor* s = nullptr;
    for (const serving::Tensor& t : input.tensors) {
      if (t.name() == "x") x = &t;
      if (t.name() == "s") s = &t;
    }
    if (x == nullptr) return InvalidArgument("missing column 'x'");
    std::vector<double> doubled;
    for (int64_t i = 0; i < x->element_count(); ++i) {
      if (x->AsDouble(i) == 999) return InvalidArgument("column 'x' holds 999");
      doubled.push_back(2 * x->AsDouble(i));
    }
    serving::ModelOutput out;
    out.tensors.push_back(*serving::Tensor::FromValues<double>(
        "predict", serving::DataType::kFp64, {input.rows}, doubled));
    if (s != nullptr) {
      out.tensors.push_back(*serving::Tensor::FromStrings("label", {input.rows}, s->strings()));
    }
    if (pairs) {
      std::vector<float> both;
      for (double d : doubled) {
        both.push_back(static_cast<float>(d));
        both.push_back(static_cast<float>(-d));
      }
      out.tensors.push_back(*serving::Tensor::FromValues<float>(
          "proba", serving::DataType::kFp32, {input.rows, 2}, both));
    }
    return out;
  }
  std::vector<int64_t> calls;
  bool pairs = false;
};

Result<int64_t> RunBatch(EchoRuntime& runtime, const std::string& input, TableFormat in_format,
                    std::string& output, TableFormat out_format, int64_t batch_size) {
  std::istringstream in(input);
  std::ostringstream out;
  BatchPredictOptions options;
  options.batch_size = batch_size;
  auto rows = BatchPredict(runtime, std::nullopt, in, in_format, out, out_format, options);
  output = out.str();
  return rows;
}

TEST(BatchPredictTest, CsvStreamsInChunksAndKeepsQuotedNewlines) {
  EchoRuntime runtime;
  std::string output;
  const std::string csv = "x,s\n1,a\n2,\"two\nlines\"\n3,c\n4,\"d,e\"\n5,f\n";
  auto rows = RunBatch(runtime, csv, TableFormat::kCsv, output, TableFormat::kCsv, 2);
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  EXPECT_EQ(*rows, 5);
  EXPECT_EQ(runtime.calls, (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(output, "predict,label\n2.0,a\n4.0,\"two\nlines\"\n6.0,c\n8.0,\"d,e\"\n10.0,f\n");
}

TEST(BatchPredictTest, JsonLinesAndJsonListGiveTheSameRows) {
  const std::string lines = "{\"x\": 1.5}\n\n{\"x\": 2}\r\n{\"x\": 3}\n";
  EchoRuntime a;
  std::string out_a;
  ASSERT_EQ(*RunBatch(a, lines, TableFormat::kJsonLines, out_a, TableFormat::kJsonLines, 2), 3);
  EXPECT_EQ(a.calls, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(out_a, "{\"predict\":3.0}\n{\"predict\":4.0}\n{\"predict\":6.0}\n");

  EchoRuntime b;
  std::string out_b;
  ASSERT_EQ(*RunBatch(b, R"([{"x": 1.5}, {"x": 2}, {"x": 3}])", TableFormat::kJson, out_b,
                 TableFormat::kJson, 2),
            3);
  EXPECT_EQ(b.calls, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(out_b, out_a);

  // One scoring document is predicted at once.
  EchoRuntime c;
  std::string out_c;
  ASSERT_EQ(*RunBatch(c, R"({"dataframe_split": {"columns": ["x"], "data": [[1.5], [2], [3]]}})",
                 TableFormat::kJson, out_c, TableFormat::kCsv, 2),
            3);
  EXPECT_EQ(c.calls, (std::vector<int64_t>{3}));
  EXPECT_EQ(out_c, "predict\n3.0\n4.0\n6.0\n");
}

TEST(BatchPredictTest, MatrixOutputsBecomeNumberedColumns) {
  EchoRuntime runtime;
  runtime.pairs = true;
  std::string csv_out;
  ASSERT_TRUE(RunBatch(runtime, "x\n1\n2\n", TableFormat::kCsv, csv_out, TableFormat::kCsv, 10));
  EXPECT_EQ(csv_out, "predict,proba_0,proba_1\n2.0,2.0,-2.0\n4.0,4.0,-4.0\n");
  std::string json_out;
  ASSERT_TRUE(RunBatch(runtime, "x\n1\n", TableFormat::kCsv, json_out, TableFormat::kJsonLines, 10));
  EXPECT_EQ(json_out, "{\"predict\":2.0,\"proba\":[2.0,-2.0]}\n");
}

TEST(BatchPredictTest, ErrorsNameTheRowsOfTheFailingChunk) {
  EchoRuntime runtime;
  std::string output;
  auto rows = RunBatch(runtime, "x\n1\n2\n3\n999\n5\n", TableFormat::kCsv, output, TableFormat::kCsv, 2);
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(rows.error().message(), "rows 3-4: column 'x' holds 999");
  // What came before the failing chunk was written.
  EXPECT_EQ(output, "predict\n2.0\n4.0\n");

  EchoRuntime bad_json;
  auto parse = RunBatch(bad_json, "{\"x\": 1}\n{\"x\": \n", TableFormat::kJsonLines, output,
                   TableFormat::kJsonLines, 10);
  ASSERT_FALSE(parse.has_value());
  EXPECT_EQ(parse.error().message().rfind("rows 1-2: ", 0), 0u) << parse.error().message();
  EXPECT_TRUE(bad_json.calls.empty());

  EchoRuntime empty;
  EXPECT_FALSE(RunBatch(empty, "", TableFormat::kCsv, output, TableFormat::kCsv, 10).has_value());
  EXPECT_FALSE(RunBatch(empty, "x\n1\n", TableFormat::kCsv, output, TableFormat::kCsv, 0).has_value());
}

TEST(BatchPredictTest, FormatsByExtension) {
  EXPECT_EQ(*TableFormatOf("a/b.csv"), TableFormat::kCsv);
  EXPECT_EQ(*TableFormatOf("b.jsonl"), TableFormat::kJsonLines);
  EXPECT_EQ(*TableFormatOf("b.ndjson"), TableFormat::kJsonLines);
  EXPECT_EQ(*TableFormatOf("b.json"), TableFormat::kJson);
  EXPECT_FALSE(TableFormatOf("b.parquet").has_value());
}

}  // namespace
}  // namespace cairn::serve
