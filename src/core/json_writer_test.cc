#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cairn {
namespace {

TEST(JsonWriterTest, NestedWithEscapes) {
  JsonWriter w;
  w.BeginObject().Field("a", "x\"y\n").Key("b").BeginArray().Int(1).Int(-2).EndArray();
  w.Key("c").Double(0.5).Key("d").Double(3).Key("e").Null().Key("f").Bool(true).EndObject();
  EXPECT_EQ(w.str(), R"({"a":"x\"y\n","b":[1,-2],"c":0.5,"d":3.0,"e":null,"f":true})");
}

TEST(JsonWriterTest, NonFiniteAsProtobufStrings) {
  JsonWriter w;
  w.BeginArray().Double(std::nan("")).Double(std::numeric_limits<double>::infinity());
  w.Double(-std::numeric_limits<double>::infinity()).EndArray();
  EXPECT_EQ(w.str(), R"(["NaN","Infinity","-Infinity"])");
}

TEST(JsonWriterTest, ControlCharsEscaped) {
  std::string out;
  AppendJsonEscaped(out, std::string("a\x01z", 3));
  EXPECT_EQ(out, "a\\u0001z");
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST(JsonWriterUtf8Test, StringLossyReplacesInvalidBytesOnly) {
  JsonWriter w;
  w.BeginArray();
  w.StringLossy("caf\xC3\xA9");          // valid: unchanged
  w.StringLossy("a\xFF" "b");            // stray byte
  w.StringLossy("\xC0\xAF");             // overlong '/'
  w.StringLossy("\xED\xA0\x80");         // surrogate
  w.StringLossy("\xF0\x9F\x98\x80");     // valid 4-byte
  w.EndArray();
  EXPECT_EQ(w.str(),
            "[\"caf\xC3\xA9\",\"a\xEF\xBF\xBD" "b\",\"\xEF\xBF\xBD\xEF\xBF\xBD\","
            "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\",\"\xF0\x9F\x98\x80\"]");
  std::string scratch;
  const std::string valid = "plain";
  EXPECT_EQ(ValidUtf8(valid, scratch).data(), valid.data());  // no copy when valid
}

}  // namespace
}  // namespace cairn
