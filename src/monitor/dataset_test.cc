#include "monitor/dataset.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace cairn::monitor {
namespace {

const Column& Col(const Table& t, std::string_view name) {
  const Column* c = t.Find(name);
  EXPECT_NE(c, nullptr) << name;
  static const Column kEmpty;
  return c ? *c : kEmpty;
}

TEST(CsvTest, InfersKindsAndReadsValues) {
  auto t = ParseCsv("a,b,c\n1,x,2.5\n-3,y,\n1e3,z,nan\n");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->rows, 3);
  EXPECT_EQ(t->Names(), (std::vector<std::string>{"a", "b", "c"}));
  const Column& a = Col(*t, "a");
  EXPECT_EQ(a.kind, ColumnKind::kNumeric);
  EXPECT_EQ(a.numbers, (std::vector<double>{1, -3, 1000}));
  const Column& b = Col(*t, "b");
  EXPECT_EQ(b.kind, ColumnKind::kCategorical);
  EXPECT_EQ(b.strings, (std::vector<std::string>{"x", "y", "z"}));
  const Column& c = Col(*t, "c");
  EXPECT_EQ(c.kind, ColumnKind::kNumeric);
  EXPECT_EQ(c.numbers[0], 2.5);
  EXPECT_TRUE(c.IsMissing(1));
  EXPECT_TRUE(c.IsMissing(2));
  EXPECT_EQ(c.Text(0), "2.5");
  EXPECT_EQ(c.Text(1), "");
}

TEST(CsvTest, QuotingEscapesAndEmbeddedNewlines) {
  auto t = ParseCsv("name,note\n\"Smith, J\",\"said \"\"hi\"\"\"\n\"multi\nline\",\"\"\n");
  ASSERT_TRUE(t) << t.error().ToString();
  ASSERT_EQ(t->rows, 2);
  const Column& name = Col(*t, "name");
  EXPECT_EQ(name.strings[0], "Smith, J");
  EXPECT_EQ(name.strings[1], "multi\nline");
  const Column& note = Col(*t, "note");
  EXPECT_EQ(note.kind, ColumnKind::kCategorical);
  EXPECT_EQ(note.strings[0], "said \"hi\"");
  EXPECT_TRUE(note.IsMissing(1));  // "" is an empty (missing) cell
}

TEST(CsvTest, QuotedNumbersAreNumbers) {
  auto t = ParseCsv("x\n\"1.5\"\n\"2\"\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(Col(*t, "x").kind, ColumnKind::kNumeric);
  EXPECT_EQ(Col(*t, "x").numbers, (std::vector<double>{1.5, 2}));
}

TEST(CsvTest, CrlfAndBomAndNoTrailingNewline) {
  auto t = ParseCsv("\xEF\xBB\xBF" "id,v\r\n1,a\r\n2,b");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->Names(), (std::vector<std::string>{"id", "v"}));
  EXPECT_EQ(t->rows, 2);
  EXPECT_EQ(Col(*t, "v").strings, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Col(*t, "id").numbers, (std::vector<double>{1, 2}));
  // A quoted last field followed by CRLF.
  auto q = ParseCsv("a,b\r\n1,\"x\"\r\n2,\"y\"\r\n");
  ASSERT_TRUE(q) << q.error().ToString();
  EXPECT_EQ(Col(*q, "b").strings, (std::vector<std::string>{"x", "y"}));
}

TEST(CsvTest, PlainNumbersWithEmptyCellsSignsAndSpecials) {
  auto t = ParseCsv("a,b\r\n1,\r\n,2.5\r\n+3, 4\r\n-0.5,inf\r\nNaN,1e400\r\n");
  ASSERT_TRUE(t) << t.error().ToString();
  ASSERT_EQ(t->rows, 5);
  const Column& a = Col(*t, "a");
  const Column& b = Col(*t, "b");
  EXPECT_EQ(a.kind, ColumnKind::kNumeric);
  EXPECT_EQ(b.kind, ColumnKind::kNumeric);
  EXPECT_EQ(a.numbers[0], 1);
  EXPECT_TRUE(b.IsMissing(0));
  EXPECT_TRUE(a.IsMissing(1));
  EXPECT_EQ(b.numbers[1], 2.5);
  EXPECT_EQ(a.numbers[2], 3);   // leading '+'
  EXPECT_EQ(b.numbers[2], 4);   // leading blank
  EXPECT_EQ(a.numbers[3], -0.5);
  EXPECT_TRUE(std::isinf(b.numbers[3]));
  EXPECT_TRUE(a.IsMissing(4));  // "NaN" is a missing number
  EXPECT_TRUE(std::isinf(b.numbers[4]));  // overflow: +inf, as strtod
  EXPECT_EQ(a.type_violations + b.type_violations, 0);
}

TEST(CsvTest, RaggedRowNamesFileAndLine) {
  ReadOptions o;
  o.source_name = "train.csv";
  auto t = ParseCsv("a,b,c\n1,2,3\n4,5\n", o);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.error().message(), "train.csv:3: 2 fields, the header has 3");
  // The line counts physical lines, including a quoted newline before.
  auto u = ParseCsv("a,b\n\"x\ny\",1\n1,2,3\n", o);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().message(), "train.csv:4: 3 fields, the header has 2");
}

TEST(CsvTest, EmptyDuplicateAndUnterminated) {
  auto e = ParseCsv("");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument);
  auto d = ParseCsv("a,b,a\n1,2,3\n");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("duplicated column name 'a'"), std::string::npos);
  auto u = ParseCsv("a\n\"open\n");
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message().find(":2: unterminated"), std::string::npos);
  auto h = ParseCsv("a,b\n");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rows, 0);
  EXPECT_EQ(h->columns.size(), 2u);
}

TEST(CsvTest, ForcedKindsCountTypeViolations) {
  ReadOptions o;
  o.kinds["n"] = ColumnKind::kNumeric;
  o.kinds["c"] = ColumnKind::kCategorical;
  auto t = ParseCsv("n,c\n1,3\nabc,2.50\n,x\n", o);
  ASSERT_TRUE(t) << t.error().ToString();
  const Column& n = Col(*t, "n");
  EXPECT_EQ(n.kind, ColumnKind::kNumeric);
  EXPECT_EQ(n.type_violations, 1);
  EXPECT_EQ(n.numbers[0], 1);
  EXPECT_TRUE(n.IsMissing(1));
  EXPECT_TRUE(n.IsMissing(2));
  const Column& c = Col(*t, "c");
  EXPECT_EQ(c.kind, ColumnKind::kCategorical);
  // Numbers in a categorical column keep their text.
  EXPECT_EQ(c.strings, (std::vector<std::string>{"3", "2.50", "x"}));
  EXPECT_EQ(c.type_violations, 0);
}

TEST(CsvTest, ParallelChunksMatchSingleThread) {
  std::string csv = "i,x,s\n";
  for (int i = 0; i < 200000; ++i) {
    csv += std::to_string(i) + "," + std::to_string(i * 0.5) + "," + (i % 3 ? "a" : "b") + "\n";
  }
  ReadOptions one;
  one.threads = 1;
  ReadOptions four;
  four.threads = 4;
  auto a = ParseCsv(csv, one);
  auto b = ParseCsv(csv, four);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(a->rows, 200000);
  EXPECT_EQ(b->rows, 200000);
  EXPECT_EQ(Col(*a, "x").numbers, Col(*b, "x").numbers);
  EXPECT_EQ(Col(*b, "i").numbers[123456], 123456);
  EXPECT_EQ(Col(*b, "s").kind, ColumnKind::kCategorical);
  EXPECT_EQ(Col(*a, "s").strings, Col(*b, "s").strings);
  // A ragged row deep in a later chunk still names its line.
  std::string bad = csv + "1,2\n";
  auto c = ParseCsv(bad, four);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "csv:200002: 2 fields, the header has 3");
}

TEST(JsonLinesTest, NullsMissingKeysBooleans) {
  auto t = ParseJsonLines(
      "{\"a\": 1, \"b\": \"x\", \"flag\": true}\n"
      "\n"
      "{\"a\": null, \"flag\": false, \"c\": 2.5}\r\n"
      "{\"b\": \"y\", \"a\": 3}\n");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->rows, 3);
  const Column& a = Col(*t, "a");
  EXPECT_EQ(a.kind, ColumnKind::kNumeric);
  EXPECT_EQ(a.numbers[0], 1);
  EXPECT_TRUE(a.IsMissing(1));
  EXPECT_EQ(a.numbers[2], 3);
  const Column& b = Col(*t, "b");
  EXPECT_EQ(b.kind, ColumnKind::kCategorical);
  EXPECT_EQ(b.strings[0], "x");
  EXPECT_TRUE(b.IsMissing(1));
  EXPECT_EQ(b.strings[2], "y");
  const Column& flag = Col(*t, "flag");
  EXPECT_EQ(flag.kind, ColumnKind::kCategorical);
  EXPECT_EQ(flag.strings[0], "true");
  EXPECT_EQ(flag.strings[1], "false");
  EXPECT_TRUE(flag.IsMissing(2));
  const Column& c = Col(*t, "c");  // first seen on the second row
  EXPECT_TRUE(c.IsMissing(0));
  EXPECT_EQ(c.numbers[1], 2.5);
  EXPECT_TRUE(c.IsMissing(2));
}

TEST(JsonLinesTest, MixedColumnKeepsNumberTextAndForcedNumericViolations) {
  auto t = ParseJsonLines("{\"v\": 3}\n{\"v\": \"abc\"}\n{\"v\": 2.5}\n");
  ASSERT_TRUE(t);
  const Column& v = Col(*t, "v");
  EXPECT_EQ(v.kind, ColumnKind::kCategorical);
  EXPECT_EQ(v.strings, (std::vector<std::string>{"3", "abc", "2.5"}));
  ReadOptions o;
  o.kinds["v"] = ColumnKind::kNumeric;
  auto f = ParseJsonLines("{\"v\": 3}\n{\"v\": \"abc\"}\n{\"v\": true}\n", o);
  ASSERT_TRUE(f);
  EXPECT_EQ(Col(*f, "v").type_violations, 2);
  EXPECT_EQ(Col(*f, "v").numbers[0], 3);
}

TEST(JsonLinesTest, ErrorsNameTheLine) {
  ReadOptions o;
  o.source_name = "cur.jsonl";
  auto t = ParseJsonLines("{\"a\": 1}\n[1, 2]\n", o);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.error().message().rfind("cur.jsonl:2:", 0), 0u) << t.error().message();
  auto n = ParseJsonLines("{\"a\": {\"b\": 1}}\n", o);
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message().find("cur.jsonl:1: the value of 'a' is not a scalar"),
            std::string::npos);
  EXPECT_FALSE(ParseJsonLines("\n\n", o));
}

TEST(DatasetFileTest, ByExtensionAndErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "cairn_dataset_test";
  std::filesystem::create_directories(dir);
  const std::string csv = (dir / "train.csv").string();
  const std::string jsonl = (dir / "cur.ndjson").string();
  std::ofstream(csv) << "a,b\n1,2\n3,4\n";
  std::ofstream(jsonl) << "{\"a\": 1}\n{\"a\": 2}\n";
  auto t = ReadDatasetFile(csv);
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->rows, 2);
  EXPECT_EQ(Col(*t, "b").numbers, (std::vector<double>{2, 4}));
  auto j = ReadDatasetFile(jsonl);
  ASSERT_TRUE(j) << j.error().ToString();
  EXPECT_EQ(Col(*j, "a").numbers, (std::vector<double>{1, 2}));
  auto missing = ReadDatasetFile((dir / "nope.csv").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  auto ext = ReadDatasetFile((dir / "x.parquet").string());
  ASSERT_FALSE(ext);
  EXPECT_EQ(ext.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(ext.error().message().find(".csv"), std::string::npos);
  std::ofstream(dir / "ragged.csv") << "a,b\n1\n";
  auto r = ReadDatasetFile((dir / "ragged.csv").string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("ragged.csv:2: 1 fields, the header has 2"),
            std::string::npos);
  auto p = ParseDataset("x.json", "{\"q\": \"s\"}\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(Col(*p, "q").strings[0], "s");
  std::filesystem::remove_all(dir);
}

// ------------------------------------------------------------ inference log

std::string Record(int64_t ts, std::string_view id, std::string_view inputs,
                   std::string_view outputs, std::string_view role = "live", int status = 200,
                   std::string_view deployment = "fraud") {
  std::string s = "{\"ts\": " + std::to_string(ts) + ", \"request_id\": \"" + std::string(id) +
                  "\", \"deployment\": \"" + std::string(deployment) +
                  "\", \"model\": \"fraud\", \"version\": \"3\", \"role\": \"" +
                  std::string(role) + "\", \"latency_us\": 10, \"status\": " +
                  std::to_string(status) + ", \"inputs\": " + std::string(inputs);
  if (!outputs.empty()) s += ", \"outputs\": " + std::string(outputs);
  return s + "}\n";
}

TEST(LoggedRowsTest, ColumnsInputWithScoresAndFilters) {
  const std::string in1 =
      R"({"kind": "columns", "tensors": [)"
      R"({"name": "amount", "datatype": "FP64", "shape": [2], "data": [10.5, "NaN"]},)"
      R"({"name": "country", "datatype": "BYTES", "shape": [2], "data": ["FR", "DE"]},)"
      R"({"name": "emb", "datatype": "FP32", "shape": [2, 2], "data": [1.0, 2.0, 3.0, 4.0]}]})";
  const std::string out1 =
      R"({"frame": false, "tensors": [{"name": "probabilities", "datatype": "FP64", "shape": [2, 2], "data": [0.9, 0.1, 0.2, 0.8]}]})";
  const std::string in2 =
      R"({"kind": "columns", "tensors": [{"name": "amount", "datatype": "INT64", "shape": [1], "data": [7]},)"
      R"({"name": "vip", "datatype": "BOOL", "shape": [1], "data": [true]}]})";
  const std::string out2 =
      R"({"frame": false, "tensors": [{"name": "p", "datatype": "FP64", "shape": [1, 2], "data": [0.4, 0.6]}]})";
  std::string log = Record(1000, "r1", in1, out1) + Record(1500, "shadow", in2, out2, "shadow") +
                    Record(1600, "failed", in2, "", "live", 500) +
                    Record(1700, "other", in2, out2, "live", 200, "churn") +
                    Record(5000, "late", in2, out2) + "not json\n" +
                    "{\"ts\": 1800, \"request_id\": \"x\"}\n" + Record(2000, "r2", in2, out2);
  LogFilter f;
  f.deployment = "fraud";
  f.from_ms = 1000;
  f.to_ms = 3000;
  LoggedRows rows;
  ASSERT_TRUE(AppendLoggedRows(log, f, rows));
  EXPECT_EQ(rows.requests, 2);
  EXPECT_EQ(rows.skipped_records, 4);  // shadow, failed, other deployment, late
  EXPECT_EQ(rows.malformed_lines, 2);
  EXPECT_EQ(rows.request_ids, (std::vector<std::string>{"r1", "r1", "r2"}));
  EXPECT_EQ(rows.row_in_request, (std::vector<int32_t>{0, 1, 0}));
  EXPECT_EQ(rows.ts_millis, (std::vector<int64_t>{1000, 1000, 2000}));
  EXPECT_EQ(rows.features.rows, 3);
  EXPECT_EQ(rows.features.Names(),
            (std::vector<std::string>{"amount", "country", "emb_0", "emb_1", "vip"}));
  const Column& amount = Col(rows.features, "amount");
  EXPECT_EQ(amount.kind, ColumnKind::kNumeric);
  EXPECT_EQ(amount.numbers[0], 10.5);
  EXPECT_TRUE(amount.IsMissing(1));
  EXPECT_EQ(amount.numbers[2], 7);
  const Column& country = Col(rows.features, "country");
  EXPECT_EQ(country.kind, ColumnKind::kCategorical);
  EXPECT_EQ(country.strings[1], "DE");
  EXPECT_TRUE(country.IsMissing(2));  // absent from the second record
  EXPECT_EQ(Col(rows.features, "emb_1").numbers[1], 4.0);
  EXPECT_EQ(Col(rows.features, "emb_0").numbers[1], 3.0);
  const Column& vip = Col(rows.features, "vip");
  EXPECT_EQ(vip.kind, ColumnKind::kCategorical);
  EXPECT_TRUE(vip.IsMissing(0));
  EXPECT_EQ(vip.strings[2], "true");
  ASSERT_EQ(rows.predictions.Names(), (std::vector<std::string>{"prediction"}));
  EXPECT_EQ(Col(rows.predictions, "prediction").numbers, (std::vector<double>{0.1, 0.8, 0.6}));
  EXPECT_EQ(rows.predictions.rows, 3);

  // include_shadow keeps the shadow record; no deployment filter keeps "churn".
  LogFilter all;
  all.include_shadow = true;
  LoggedRows more;
  ASSERT_TRUE(AppendLoggedRows(log, all, more));
  EXPECT_EQ(more.requests, 5);
  EXPECT_EQ(more.skipped_records, 1);  // the failed one
}

TEST(LoggedRowsTest, TensorsInputWithFeatureNamesAndOtherOutputs) {
  const std::string in =
      R"({"kind": "tensors", "tensors": [{"name": "input", "datatype": "FP32", "shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]}]})";
  const std::string out =
      R"({"frame": false, "tensors": [{"name": "label", "datatype": "INT64", "shape": [2, 1], "data": [0, 1]}, {"name": "probs", "datatype": "FP32", "shape": [2, 3], "data": [0.1, 0.2, 0.7, 0.3, 0.3, 0.4]}]})";
  LogFilter f;
  f.feature_names = {"x", "y", "z"};
  LoggedRows rows;
  ASSERT_TRUE(AppendLoggedRows(Record(1, "a", in, out), f, rows));
  EXPECT_EQ(rows.features.Names(), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(Col(rows.features, "y").numbers, (std::vector<double>{2, 5}));
  EXPECT_EQ(rows.predictions.Names(),
            (std::vector<std::string>{"prediction", "probs_0", "probs_1", "probs_2"}));
  EXPECT_EQ(Col(rows.predictions, "prediction").numbers, (std::vector<double>{0, 1}));
  EXPECT_EQ(Col(rows.predictions, "probs_2").numbers[1], 0.4);

  // Without names: "0".."k-1"; a named tensor: name_i; forced kinds apply.
  LogFilter g;
  g.options.kinds["1"] = ColumnKind::kCategorical;
  LoggedRows r2;
  ASSERT_TRUE(AppendLoggedRows(Record(1, "a", in, out), g, r2));
  EXPECT_EQ(r2.features.Names(), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(Col(r2.features, "1").kind, ColumnKind::kCategorical);
  EXPECT_EQ(Col(r2.features, "1").strings, (std::vector<std::string>{"2", "5"}));
  const std::string named =
      R"({"kind": "tensors", "tensors": [{"name": "pix", "datatype": "UINT8", "shape": [1, 2], "data": [7, 8]}]})";
  LoggedRows r3;
  ASSERT_TRUE(AppendLoggedRows(Record(1, "b", named, ""), {}, r3));
  EXPECT_EQ(r3.features.Names(), (std::vector<std::string>{"pix_0", "pix_1"}));
  EXPECT_EQ(r3.predictions.rows, 1);
}

TEST(LoggedRowsTest, FrameOutputsAndMalformedShapes) {
  const std::string in =
      R"({"kind": "columns", "tensors": [{"name": "a", "datatype": "FP64", "shape": [2], "data": [1, 2]}]})";
  const std::string frame =
      R"({"frame": true, "tensors": [{"name": "score", "datatype": "FP64", "shape": [2], "data": [0.5, 0.25]}, {"name": "cls", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}]})";
  const std::string bad_count =
      R"({"kind": "columns", "tensors": [{"name": "a", "datatype": "FP64", "shape": [3], "data": [1, 2]}]})";
  const std::string mismatched_rows =
      R"({"kind": "columns", "tensors": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1]}, {"name": "b", "datatype": "FP64", "shape": [2], "data": [1, 2]}]})";
  LoggedRows rows;
  ASSERT_TRUE(AppendLoggedRows(Record(1, "ok", in, frame) + Record(2, "bad", bad_count, "") +
                                   Record(3, "bad2", mismatched_rows, "") + "[]\n",
                               {}, rows));
  EXPECT_EQ(rows.requests, 1);
  EXPECT_EQ(rows.malformed_lines, 3);
  EXPECT_EQ(rows.features.rows, 2);
  EXPECT_EQ(rows.predictions.Names(), (std::vector<std::string>{"score", "cls"}));
  EXPECT_EQ(Col(rows.predictions, "cls").strings, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Col(rows.predictions, "score").numbers, (std::vector<double>{0.5, 0.25}));
  // Appending a second segment extends the same tables.
  ASSERT_TRUE(AppendLoggedRows(Record(4, "next", in, ""), {}, rows));
  EXPECT_EQ(rows.features.rows, 4);
  EXPECT_EQ(Col(rows.features, "a").numbers, (std::vector<double>{1, 2, 1, 2}));
  EXPECT_EQ(Col(rows.predictions, "score").size(), 4);
  EXPECT_TRUE(Col(rows.predictions, "score").IsMissing(3));
}

}  // namespace
}  // namespace cairn::monitor
