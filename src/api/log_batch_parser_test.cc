#include "api/log_batch_parser.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cairn::api {
namespace {

TEST(LogBatchParserTest, ParsesAllParts) {
  auto b = ParseLogBatchBody(R"({
    "run_id": "abc", "unknown": {"nested": [1, 2, {"x": null}]},
    "metrics": [
      {"key": "loss", "value": 0.5, "timestamp": 1700000000000, "step": 3},
      {"key": "nan", "value": "NaN", "timestamp": "5"},
      {"key": "inf", "value": "Infinity", "timestamp": 6, "step": "7", "model_id": "m"},
      {"key": "ninf", "value": "-Infinity", "timestamp": 6.0},
      {"key": "int", "value": 2, "timestamp": 1}
    ],
    "params": [{"key": "lr", "value": "0.1"}, {"key": "empty"}],
    "tags": [{"key": "t", "value": "v"}]
  })");
  ASSERT_TRUE(b) << b.error().ToString();
  EXPECT_EQ(b->run_id, "abc");
  ASSERT_EQ(b->metrics.size(), 5u);
  EXPECT_EQ(b->metrics[0].key, "loss");
  EXPECT_EQ(b->metrics[0].value, 0.5);
  EXPECT_EQ(b->metrics[0].timestamp, 1700000000000);
  EXPECT_EQ(b->metrics[0].step, 3);
  EXPECT_TRUE(std::isnan(b->metrics[1].value));
  EXPECT_EQ(b->metrics[1].timestamp, 5);
  EXPECT_EQ(b->metrics[1].step, 0);
  EXPECT_EQ(b->metrics[2].value, INFINITY);
  EXPECT_EQ(b->metrics[2].step, 7);
  EXPECT_EQ(b->metrics[3].value, -INFINITY);
  EXPECT_EQ(b->metrics[3].timestamp, 6);
  EXPECT_EQ(b->metrics[4].value, 2.0);
  ASSERT_EQ(b->params.size(), 2u);
  EXPECT_EQ(b->params[0], (store::Param{"lr", "0.1"}));
  EXPECT_EQ(b->params[1], (store::Param{"empty", ""}));
  ASSERT_EQ(b->tags.size(), 1u);
  EXPECT_EQ(b->tags[0], (store::Tag{"t", "v"}));
}

TEST(LogBatchParserTest, RunUuidAliasAndEmptyLists) {
  auto b = ParseLogBatchBody(R"({"run_uuid":"r1","metrics":[],"params":null})");
  ASSERT_TRUE(b) << b.error().ToString();
  EXPECT_EQ(b->run_id, "r1");
  EXPECT_TRUE(b->metrics.empty());
}

TEST(LogBatchParserTest, MissingFieldsUseMlflowMessages) {
  auto a = ParseLogBatchBody(R"({"metrics":[]})");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message(),
            "Missing value for required parameter 'run_id'. See the API docs for more "
            "information about request parameters.");
  auto b = ParseLogBatchBody(R"({"run_id":"r","metrics":[{"key":"k","value":1}]})");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message(),
            "Missing value for required parameter 'metrics[0].timestamp'. See the API docs for "
            "more information about request parameters.");
  auto c = ParseLogBatchBody(R"({"run_id":"r","params":[{"value":"x"}]})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("'params[0].key'"), std::string::npos);
  auto d = ParseLogBatchBody(R"({"run_id":"r","metrics":[{"key":"","value":1,"timestamp":1}]})");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("'metrics[0].key'"), std::string::npos);
}

TEST(LogBatchParserTest, WrongTypesNameTheField) {
  auto a =
      ParseLogBatchBody(R"({"run_id":"r","metrics":[{"key":"k","value":"high","timestamp":1}]})");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(a.error().message(),
            "Invalid value \"high\" for parameter 'metrics[0].value' supplied:  Hint: Value was "
            "of type 'str'. See the API docs for more information about request parameters.");
  auto b = ParseLogBatchBody(R"({"run_id":"r","metrics":{"key":"k"}})");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message(),
            "Invalid value {\"key\":\"k\"} for parameter 'metrics' supplied:  Hint: Value was of "
            "type 'dict'. See the API docs for more information about request parameters.");
  auto c = ParseLogBatchBody(R"({"run_id":7})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("'int'"), std::string::npos);
  auto d = ParseLogBatchBody(R"({"run_id":"r","metrics":[{"key":"k","value":1,"timestamp":1.5}]})");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("'metrics[0].timestamp'"), std::string::npos);
  auto e = ParseLogBatchBody(R"({"run_id":"r","tags":[{"key":"k","value":true}]})");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("'tags[0].value'"), std::string::npos);
  EXPECT_NE(e.error().message().find("'bool'"), std::string::npos);
}

TEST(LogBatchParserTest, MalformedJsonIsBadRequest) {
  for (const char* body :
       {"{\"run_id\": ", "{\"run_id\":\"r\",}", "[1,2", "{\"run_id\":\"r\"} x",
        "{\"metrics\":[{\"key\":\"k\",\"value\":1,\"timestamp\":1}", "{\"run_id\": nope}",
        "{\"run_id\":\"r\",\"metrics\":[{\"key\":\"k\",\"value\":nul,\"timestamp\":1}]}"}) {
    auto r = ParseLogBatchBody(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code(), ErrorCode::kBadRequest) << body << " " << r.error().message();
  }
  auto arr = ParseLogBatchBody("[]");
  ASSERT_FALSE(arr);
  EXPECT_EQ(arr.error().message(), "The request body must be a JSON object, got an array.");
}

TEST(LogMetricParserTest, ParsesAndRequires) {
  auto m = ParseLogMetricBody(
      R"({"run_id":"r","run_uuid":"r","key":"loss","value":"NaN","timestamp":10,"step":2})");
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->run_id, "r");
  EXPECT_EQ(m->metric.key, "loss");
  EXPECT_TRUE(std::isnan(m->metric.value));
  EXPECT_EQ(m->metric.timestamp, 10);
  EXPECT_EQ(m->metric.step, 2);
  auto alias = ParseLogMetricBody(R"({"run_uuid":"u","key":"a","value":1,"timestamp":1})");
  ASSERT_TRUE(alias);
  EXPECT_EQ(alias->run_id, "u");
  auto no_value = ParseLogMetricBody(R"({"run_id":"r","key":"a","timestamp":1})");
  ASSERT_FALSE(no_value);
  EXPECT_EQ(no_value.error().message(),
            "Missing value for required parameter 'value'. See the API docs for more information "
            "about request parameters.");
  auto dbl =
      ParseLogMetricBody(R"("{\"run_id\":\"r\",\"key\":\"a\",\"value\":1,\"timestamp\":1}")");
  ASSERT_TRUE(dbl) << dbl.error().ToString();
  EXPECT_EQ(dbl->metric.key, "a");
}

}  // namespace
}  // namespace cairn::api
