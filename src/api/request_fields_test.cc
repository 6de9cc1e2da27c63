#include "api/request_fields.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cairn::api {
namespace {

http::Request Post(std::string body) {
  http::Request r;
  r.method = http::Method::kPost;
  r.body = std::move(body);
  return r;
}

TEST(RequestFieldsTest, ReadsJsonBodyWithProtobufLeniency) {
  auto f = RequestFields::FromRequest(Post(
      R"({"name":"x","start_time":"123","max":5.0,"v":"NaN","w":"-Infinity","n":null,"extra":{"a":1}})"));
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(*f->String("name").value(), "x");
  EXPECT_EQ(*f->Int64("start_time").value(), 123);
  EXPECT_EQ(*f->Int64("max").value(), 5);
  EXPECT_TRUE(std::isnan(*f->Double("v").value()));
  EXPECT_EQ(*f->Double("w").value(), -INFINITY);
  EXPECT_FALSE(f->String("n").value().has_value());  // null is absent
  EXPECT_FALSE(f->Has("missing"));
  EXPECT_EQ(f->StringOrEmpty("missing").value(), "");
}

TEST(RequestFieldsTest, WrongTypesNameTheField) {
  auto f = RequestFields::FromRequest(
      Post(R"({"run_id":123,"start_time":"soon","tags":{"a":1},"x":1.5,"b":true})"));
  ASSERT_TRUE(f);
  auto s = f->String("run_id");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.error().message(),
            "Invalid value 123 for parameter 'run_id' supplied:  Hint: Value was of type 'int'. "
            "See the API docs for more information about request parameters.");
  auto t = f->Int64("start_time");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message(),
            "Invalid value \"soon\" for parameter 'start_time' supplied:  Hint: Value was of type "
            "'str'. See the API docs for more information about request parameters.");
  auto tags = f->KeyValueList("tags");
  ASSERT_FALSE(tags);
  EXPECT_NE(tags.error().message().find("'tags'"), std::string::npos);
  EXPECT_NE(tags.error().message().find("'dict'"), std::string::npos);
  EXPECT_FALSE(f->Int64("x"));
  auto b = f->Double("b");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("'bool'"), std::string::npos);
}

TEST(RequestFieldsTest, MalformedAndNonObjectBodies) {
  auto bad = RequestFields::FromRequest(Post("{\"name\": "));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kBadRequest);
  EXPECT_EQ(bad.error().message().rfind("Malformed JSON in request body: ", 0), 0u);
  auto arr = RequestFields::FromRequest(Post("[1,2]"));
  ASSERT_FALSE(arr);
  EXPECT_EQ(arr.error().code(), ErrorCode::kBadRequest);
  EXPECT_EQ(arr.error().message(), "The request body must be a JSON object, got an array.");
  auto empty = RequestFields::FromRequest(Post(""));
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->Has("name"));
  // Older clients double-encode.
  auto dbl = RequestFields::FromRequest(Post(R"("{\"name\":\"y\"}")"));
  ASSERT_TRUE(dbl) << dbl.error().ToString();
  EXPECT_EQ(*dbl->String("name").value(), "y");
}

TEST(RequestFieldsTest, GetRequestsReadTheQueryString) {
  http::Request r;
  r.method = http::Method::kGet;
  r.body = "{\"ignored\":1}";
  r.query = {{"run_ids", "a"},
             {"run_ids", "b"},
             {"metric_key", "loss"},
             {"metric_key", "other"},
             {"max_results", "10"}};
  auto f = RequestFields::FromRequest(r, {"run_ids"});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->StringList("run_ids").value(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*f->String("metric_key").value(), "loss");
  EXPECT_EQ(*f->Int64("max_results").value(), 10);
  EXPECT_FALSE(f->Has("ignored"));
}

TEST(RequestFieldsTest, ListsAndKeyValues) {
  auto f = RequestFields::FromRequest(Post(
      R"({"ids":["1",2],"one":"7","tags":[{"key":"a","value":"b"},{"key":"c"}],"bad":[{"value":"x"}]})"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->StringList("ids").value(), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(f->StringList("one").value(), (std::vector<std::string>{"7"}));
  auto tags = f->KeyValueList("tags");
  ASSERT_TRUE(tags);
  ASSERT_EQ(tags->size(), 2u);
  EXPECT_EQ((*tags)[0], (store::Tag{"a", "b"}));
  EXPECT_EQ((*tags)[1], (store::Tag{"c", ""}));
  auto bad = f->KeyValueList("bad");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "Missing value for required parameter 'bad[0].key'. See the API docs for more "
            "information about request parameters.");
}

TEST(RequestFieldsTest, EnumsByNameOrNumber) {
  std::vector<std::string_view> names = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"};
  auto f = RequestFields::FromRequest(Post(R"({"a":"FINISHED","b":3,"c":"4","d":"DONE","e":9})"));
  ASSERT_TRUE(f);
  EXPECT_EQ(*f->Enum("a", names, 1).value(), "FINISHED");
  EXPECT_EQ(*f->Enum("b", names, 1).value(), "FINISHED");
  EXPECT_EQ(*f->Enum("c", names, 1).value(), "FAILED");
  auto d = f->Enum("d", names, 1);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message(),
            "Invalid value \"DONE\" for parameter 'd' supplied: must be one of RUNNING, "
            "SCHEDULED, FINISHED, FAILED, KILLED.");
  EXPECT_FALSE(f->Enum("e", names, 1));
  EXPECT_FALSE(f->Enum("zz", names, 1).value().has_value());
}

TEST(RequestFieldsTest, TextNumberParsing) {
  EXPECT_TRUE(std::isnan(*ParseDoubleText("NaN")));
  EXPECT_EQ(*ParseDoubleText("Infinity"), INFINITY);
  EXPECT_EQ(*ParseDoubleText("-inf"), -INFINITY);
  EXPECT_EQ(*ParseDoubleText("1.5e2"), 150.0);
  EXPECT_FALSE(ParseDoubleText("1.5x"));
  EXPECT_FALSE(ParseDoubleText(""));
  EXPECT_EQ(*ParseInt64Text("-42"), -42);
  EXPECT_EQ(*ParseInt64Text("+7"), 7);
  EXPECT_FALSE(ParseInt64Text("1.0"));
  EXPECT_FALSE(ParseInt64Text("99999999999999999999"));
}

TEST(SplitPathTest, KeepsEmptySegments) {
  EXPECT_EQ(SplitPath("fraud/versions/3"), (std::vector<std::string>{"fraud", "versions", "3"}));
  EXPECT_EQ(SplitPath("a//b/"), (std::vector<std::string>{"a", "", "b", ""}));
  EXPECT_EQ(SplitPath(""), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace cairn::api
