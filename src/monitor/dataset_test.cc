#include "monitor/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "monitor/drift.h"

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

// ---------------------------------------------------------------- profiles

TEST(ProfileTest, WritesSortedDistinctValuesCountsAndMissing) {
  auto t = ParseCsv("a,b\n2,x\n1,\"y, \"\"q\"\"\"\n2,\n,x\n0.1,x\n");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(TableToProfileJson(*t),
            "{\"format\":\"cairn-profile\",\"version\":1,\"rows\":5,\"columns\":["
            "{\"name\":\"a\",\"kind\":\"numeric\",\"missing\":1,\"values\":[0.1,1,2],"
            "\"counts\":[1,1,2]},"
            "{\"name\":\"b\",\"kind\":\"categorical\",\"missing\":1,"
            "\"values\":[\"x\",\"y, \\\"q\\\"\"],\"counts\":[3,1]}]}");
}

TEST(ProfileTest, ExpandsCountsBackIntoTheSameValues) {
  auto t = ParseCsv("a,b\n2,x\n1,y\n2,\n,x\n");
  ASSERT_TRUE(t);
  auto back = ParseProfile(TableToProfileJson(*t));
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->rows, 4);
  ASSERT_EQ(back->Names(), (std::vector<std::string>{"a", "b"}));
  const Column& a = Col(*back, "a");
  EXPECT_EQ(a.kind, ColumnKind::kNumeric);
  ASSERT_EQ(a.numbers.size(), 4u);
  EXPECT_EQ(a.numbers[0], 1);
  EXPECT_EQ(a.numbers[1], 2);
  EXPECT_EQ(a.numbers[2], 2);
  EXPECT_TRUE(std::isnan(a.numbers[3]));  // the missing cells come last
  const Column& b = Col(*back, "b");
  EXPECT_EQ(b.kind, ColumnKind::kCategorical);
  EXPECT_EQ(b.strings, (std::vector<std::string>{"x", "x", "y", ""}));
  EXPECT_EQ(b.missing, (std::vector<uint8_t>{0, 0, 0, 1}));
}

TEST(ProfileTest, NumbersRoundTripExactlyIncludingInfinities) {
  Table t;
  t.rows = 7;
  Column c;
  c.name = "x";
  const double inf = std::numeric_limits<double>::infinity();
  c.numbers = {0.1, 1e300, 5e-324, -inf, inf, 1.0 / 3, 123456789012345680.0};
  t.columns.push_back(c);
  const std::string json = TableToProfileJson(t);
  EXPECT_NE(json.find("\"values\":[\"-Infinity\",5e-324,0.1,0.3333333333333333,"
                      "123456789012345680,1e+300,\"Infinity\"]"),
            std::string::npos)
      << json;
  auto back = ParseProfile(json);
  ASSERT_TRUE(back) << back.error().ToString();
  std::vector<double> want = c.numbers;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Col(*back, "x").numbers, want);
}

TEST(ProfileTest, ForcedKindsConvertAsTheOtherReaders) {
  auto t = ParseCsv("n,s\n1.5,7\n1.5,x\n2,7\n");
  ASSERT_TRUE(t);
  ReadOptions o;
  o.kinds["n"] = ColumnKind::kCategorical;
  o.kinds["s"] = ColumnKind::kNumeric;
  auto back = ParseProfile(TableToProfileJson(*t), o);
  ASSERT_TRUE(back) << back.error().ToString();
  const Column& n = Col(*back, "n");
  EXPECT_EQ(n.kind, ColumnKind::kCategorical);
  EXPECT_EQ(n.strings, (std::vector<std::string>{"1.5", "1.5", "2"}));
  const Column& s = Col(*back, "s");
  EXPECT_EQ(s.kind, ColumnKind::kNumeric);
  EXPECT_EQ(s.type_violations, 1);
  EXPECT_EQ(s.numbers[0], 7);
  EXPECT_EQ(s.numbers[1], 7);
  EXPECT_TRUE(std::isnan(s.numbers[2]));
}

// Drift and the reference side of quality are the same against a table and
// against its profile read back, for every test Cairn runs.
void ExpectSameDrift(const Table& ref, const Table& profiled, const Table& cur) {
  for (StatTest test : {StatTest::kAuto, StatTest::kKs, StatTest::kChiSquare, StatTest::kZ,
                        StatTest::kWasserstein, StatTest::kJensenShannon, StatTest::kPsi}) {
    SCOPED_TRACE(std::string(StatTestName(test)));
    DriftOptions o;
    o.threads = 1;
    for (const Column& c : ref.columns) o.tests[c.name] = test;
    auto a = ComputeDrift(ref, cur, o);
    auto b = ComputeDrift(profiled, cur, o);
    ASSERT_TRUE(a) << a.error().ToString();
    ASSERT_TRUE(b) << b.error().ToString();
    EXPECT_EQ(DriftReportToJson(*a), DriftReportToJson(*b));
    ASSERT_EQ(a->columns.size(), b->columns.size());
    int64_t tested = 0;
    for (size_t i = 0; i < a->columns.size(); ++i) {
      const ColumnDrift& x = a->columns[i];
      const ColumnDrift& y = b->columns[i];
      SCOPED_TRACE(x.column);
      tested += x.tested;
      EXPECT_EQ(x.test, y.test);
      EXPECT_EQ(x.tested, y.tested);
      // Bit for bit: the tests sort or count their inputs, so order is moot.
      EXPECT_EQ(x.score, y.score);
      EXPECT_EQ(x.statistic, y.statistic);
      EXPECT_EQ(x.drifted, y.drifted);
      EXPECT_EQ(x.reference_count, y.reference_count);
      EXPECT_EQ(x.distinct_values, y.distinct_values);
    }
    EXPECT_GT(tested, 0);
  }
  const QualityReport qa = ComputeQuality(ref, cur);
  const QualityReport qb = ComputeQuality(profiled, cur);
  EXPECT_EQ(QualityReportToJson(qa), QualityReportToJson(qb));
  for (size_t i = 0; i < qa.columns.size() && i < qb.columns.size(); ++i) {
    EXPECT_EQ(qa.columns[i].reference_min, qb.columns[i].reference_min);
    EXPECT_EQ(qa.columns[i].reference_max, qb.columns[i].reference_max);
  }
}

// A reference of `n` rows: a continuous column with repeats and missing
// values, a 4-valued numeric one, a binary one, a categorical one with
// missing cells and text that needs escaping.
std::string ReferenceCsv(int n, int shift) {
  std::string csv = "amount,level,flag,country\n";
  const char* countries[] = {"US", "DE", "FR", "S\xc3\xa3o \"Tom\xc3\xa9\"", "a,b"};
  for (int i = 0; i < n; ++i) {
    const int k = (i * 7919 + shift) % 97;
    csv += (i % 11 == 0) ? "" : std::to_string(k * 0.37 + shift);
    csv += "," + std::to_string((i + shift) % 4 * 2.5);
    csv += "," + std::to_string((i * 3 + shift) % 5 == 0 ? 1 : 0);
    std::string c = countries[(i * 13 + shift) % 5];
    if (i % 17 == 0) c = "";
    csv += ",\"";
    for (char ch : c) csv += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    csv += "\"\n";
  }
  return csv;
}

TEST(ProfileTest, DriftAgainstAProfileEqualsDriftAgainstTheData) {
  for (int n : {300, 1500}) {  // both sides of the default rule's 1000-row switch
    SCOPED_TRACE(n);
    auto ref = ParseCsv(ReferenceCsv(n, 0));
    ASSERT_TRUE(ref) << ref.error().ToString();
    ASSERT_EQ(Col(*ref, "country").kind, ColumnKind::kCategorical);
    const std::string json = TableToProfileJson(*ref);
    EXPECT_LT(json.size(), ReferenceCsv(n, 0).size());
    auto profiled = ParseProfile(json);
    ASSERT_TRUE(profiled) << profiled.error().ToString();
    EXPECT_EQ(profiled->rows, ref->rows);
    ReadOptions o;
    for (const Column& c : ref->columns) o.kinds[c.name] = c.kind;
    for (int shift : {0, 3}) {
      SCOPED_TRACE(shift);
      auto cur = ParseCsv(ReferenceCsv(n / 2, shift), o);
      ASSERT_TRUE(cur) << cur.error().ToString();
      ExpectSameDrift(*ref, *profiled, *cur);
    }
  }
}

TEST(ProfileTest, ErrorsNameWhatIsWrong) {
  ReadOptions o;
  o.source_name = "train.profile.json";
  auto error = [&](const std::string& json) {
    auto t = ParseProfile(json, o);
    EXPECT_FALSE(t) << json;
    if (t) return std::string();
    EXPECT_EQ(t.error().code(), ErrorCode::kInvalidArgument);
    return t.error().message();
  };
  auto col = [](const std::string& body) {
    return "{\"format\":\"cairn-profile\",\"version\":1,\"rows\":3,\"columns\":[" + body + "]}";
  };
  EXPECT_TRUE(error("{\"format\":").starts_with("train.profile.json: not JSON: "));
  EXPECT_EQ(error("[1]"), "train.profile.json: a profile is a JSON object, this is an array");
  EXPECT_EQ(error("{\"format\":\"evidently\",\"version\":1,\"rows\":0,\"columns\":[]}"),
            "train.profile.json: not a Cairn profile (\"format\" is 'evidently', expected "
            "'cairn-profile')");
  EXPECT_EQ(error("{\"version\":1,\"rows\":0,\"columns\":[]}"),
            "train.profile.json: not a Cairn profile (\"format\" is absent, expected "
            "'cairn-profile')");
  EXPECT_EQ(error("{\"format\":\"cairn-profile\",\"version\":2,\"rows\":0,\"columns\":[]}"),
            "train.profile.json: unsupported profile version 2 (this Cairn reads version 1)");
  EXPECT_EQ(error("{\"format\":\"cairn-profile\",\"version\":1,\"rows\":-1,\"columns\":[]}"),
            "train.profile.json: \"rows\" is absent or not a non-negative integer");
  EXPECT_EQ(error("{\"format\":\"cairn-profile\",\"version\":1,\"rows\":1}"),
            "train.profile.json: \"columns\" is absent or not an array");
  EXPECT_EQ(error(col("{\"name\":\"a\",\"kind\":\"numeric\",\"missing\":0,"
                      "\"values\":[1,2],\"counts\":[3]}")),
            "train.profile.json: column 'a': 2 values but 1 counts (one count per value)");
  EXPECT_EQ(error(col("{\"name\":\"a\",\"kind\":\"numeric\",\"missing\":0,"
                      "\"values\":[1,2],\"counts\":[4,-1]}")),
            "train.profile.json: column 'a': counts[1] is -1: counts must be non-negative "
            "integers");
  EXPECT_EQ(error(col("{\"name\":\"a\",\"kind\":\"numeric\",\"missing\":0,"
                      "\"values\":[1,2],\"counts\":[2,0.5]}")),
            "train.profile.json: column 'a': counts[1] is 0.5: counts must be non-negative "
            "integers");
  EXPECT_EQ(error(col("{\"name\":\"a\",\"kind\":\"ordinal\",\"missing\":0,"
                      "\"values\":[1],\"counts\":[3]}")),
            "train.profile.json: column 'a': unknown kind 'ordinal' (expected numeric or "
            "categorical)");
  EXPECT_EQ(error(col("{\"name\":\"a\",\"kind\":\"numeric\",\"missing\":1,"
                      "\"values\":[1,2],\"counts\":[2,2]}")),
            "train.profile.json: column 'a': counts sum to 4 and missing is 1, together 5, "
            "but rows is 3");
  EXPECT_EQ(error(col("{\"name\":\"a\",\"kind\":\"numeric\",\"missing\":0,"
                      "\"values\":[1,\"x\"],\"counts\":[2,1]}")),
            "train.profile.json: column 'a': values[1] is a string, a numeric column's values "
            "are numbers (or \"Infinity\", \"-Infinity\")");
  EXPECT_EQ(error(col("{\"name\":\"c\",\"kind\":\"categorical\",\"missing\":0,"
                      "\"values\":[\"x\",2],\"counts\":[2,1]}")),
            "train.profile.json: column 'c': values[1] is a number, a categorical column's "
            "values are strings");
  EXPECT_EQ(error(col("{\"name\":\"a\",\"kind\":\"numeric\",\"values\":[],\"counts\":[]}")),
            "train.profile.json: column 'a': \"missing\" is absent or not a non-negative "
            "integer");
  EXPECT_EQ(error(col("{\"kind\":\"numeric\"}")),
            "train.profile.json: columns[0]: \"name\" is missing or not a string");
  const std::string a3 =
      "{\"name\":\"a\",\"kind\":\"numeric\",\"missing\":3,\"values\":[],\"counts\":[]}";
  EXPECT_EQ(error(col(a3 + "," + a3)), "train.profile.json: duplicated column name 'a'");
  // Without a source name the messages say "profile".
  auto unnamed = ParseProfile("{}");
  ASSERT_FALSE(unnamed);
  EXPECT_TRUE(unnamed.error().message().starts_with("profile: not a Cairn profile"))
      << unnamed.error().message();
}

TEST(ProfileTest, SuffixDispatchBeforeTheJsonLinesRule) {
  auto t = ParseCsv("a,b\n1,x\n2,y\n2,y\n");
  ASSERT_TRUE(t);
  const std::string profile = TableToProfileJson(*t);
  for (const char* name : {"train.profile.json", "runs/abc/TRAIN.Profile.JSON"}) {
    auto p = ParseDataset(name, profile);
    ASSERT_TRUE(p) << name << ": " << p.error().ToString();
    EXPECT_EQ(p->rows, 3);
    EXPECT_EQ(Col(*p, "a").numbers, (std::vector<double>{1, 2, 2}));
    EXPECT_EQ(Col(*p, "b").strings, (std::vector<std::string>{"x", "y", "y"}));
  }
  // A plain .json stays JSON lines (where the profile's arrays are not cells).
  auto lines = ParseDataset("train.json", profile);
  ASSERT_FALSE(lines);
  EXPECT_EQ(lines.error().message(), "train.json:1: the value of 'columns' is not a scalar");
  // Errors carry the name.
  auto bad = ParseDataset("ref.profile.json", "{\"a\": 1}\n{\"a\": 2}\n");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message().starts_with("ref.profile.json: not JSON"))
      << bad.error().message();

  const auto dir = std::filesystem::temp_directory_path() / "cairn_profile_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "ref.profile.json").string();
  std::ofstream(path) << profile;
  auto f = ReadDatasetFile(path);
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->rows, 3);
  EXPECT_EQ(Col(*f, "b").strings, (std::vector<std::string>{"x", "y", "y"}));
  std::ofstream(dir / "empty.profile.json") << "";
  auto empty = ReadDatasetFile((dir / "empty.profile.json").string());
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message().find("empty.profile.json: not JSON"), std::string::npos)
      << empty.error().message();
  auto ext = ReadDatasetFile((dir / "x.parquet").string());
  ASSERT_FALSE(ext);
  EXPECT_NE(ext.error().message().find(".profile.json"), std::string::npos);
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
