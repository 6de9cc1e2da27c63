#include "registry/names.h"

#include <gtest/gtest.h>

namespace cairn::registry {
namespace {

std::string Message(const Status& s) {
  EXPECT_FALSE(s.has_value());
  if (s) return "";
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  return s.error().message();
}

TEST(ModelName, Valid) {
  EXPECT_TRUE(ValidateModelName("fraud").has_value());
  EXPECT_TRUE(ValidateModelName("fraud model v2.1 (prod)").has_value());
  EXPECT_TRUE(ValidateModelName("modèle").has_value());
  EXPECT_TRUE(ValidateModelName("a..b").has_value());
}

TEST(ModelName, Invalid) {
  EXPECT_NE(Message(ValidateModelName("")).find("Missing value for required parameter 'name'"),
            std::string::npos);
  EXPECT_NE(Message(ValidateModelName("  ")).find("'name'"), std::string::npos);
  EXPECT_NE(Message(ValidateModelName("", "new_name")).find("'new_name'"), std::string::npos);
  EXPECT_EQ(Message(ValidateModelName("a/b")),
            "Invalid model name 'a/b'. Names cannot contain '/' or ':'.");
  EXPECT_EQ(Message(ValidateModelName("a:b")),
            "Invalid model name 'a:b'. Names cannot contain '/' or ':'.");
  EXPECT_EQ(Message(ValidateModelName("..x")),
            "Invalid value \"..x\" for parameter 'name' supplied: Names may be treated as files "
            "in certain cases, and must not resolve to other names when treated as such. This "
            "name would resolve to '..x'");
  EXPECT_FALSE(ValidateModelName(".").has_value());
}

TEST(Alias, Syntax) {
  EXPECT_TRUE(ValidateAliasSyntax("champion").has_value());
  EXPECT_TRUE(ValidateAliasSyntax("champ-1_B").has_value());
  EXPECT_TRUE(ValidateAliasSyntax("v1").has_value());  // reserved only for set
  EXPECT_EQ(Message(ValidateAliasSyntax("")), "Registered model alias name cannot be empty.");
  EXPECT_EQ(Message(ValidateAliasSyntax("a b")),
            "Invalid alias name: 'a b'. Names may only contain alphanumerics, underscores (_), "
            "and dashes (-).");
  EXPECT_FALSE(ValidateAliasSyntax("a.b").has_value());
  EXPECT_TRUE(ValidateAliasSyntax(std::string(255, 'a')).has_value());
  EXPECT_EQ(Message(ValidateAliasSyntax(std::string(256, 'a'))),
            "'Registered model alias name' exceeds the maximum length of 255 characters");
}

TEST(Alias, Reserved) {
  EXPECT_TRUE(ValidateAliasForSet("champion").has_value());
  EXPECT_TRUE(ValidateAliasForSet("v").has_value());
  EXPECT_TRUE(ValidateAliasForSet("v1a").has_value());
  EXPECT_TRUE(ValidateAliasForSet("latest2").has_value());
  EXPECT_EQ(Message(ValidateAliasForSet("latest")),
            "'latest' alias name (case insensitive) is reserved.");
  EXPECT_EQ(Message(ValidateAliasForSet("LaTeSt")),
            "'latest' alias name (case insensitive) is reserved.");
  EXPECT_EQ(Message(ValidateAliasForSet("v1")), "Version alias name 'v1' is reserved.");
  EXPECT_EQ(Message(ValidateAliasForSet("V12")), "Version alias name 'V12' is reserved.");
  EXPECT_EQ(Message(ValidateAliasForSet("")), "Registered model alias name cannot be empty.");
}

TEST(Stage, Canonical) {
  EXPECT_EQ(CanonicalStage("production").value(), "Production");
  EXPECT_EQ(CanonicalStage("STAGING").value(), "Staging");
  EXPECT_EQ(CanonicalStage("none").value(), "None");
  EXPECT_EQ(CanonicalStage("Archived").value(), "Archived");
  auto bad = CanonicalStage("prod");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(),
            "Invalid Model Version stage: prod. Value must be one of None, Staging, Production, "
            "Archived.");
  EXPECT_EQ(AllStages().size(), 4u);
}

TEST(RegistryTag, Limits) {
  EXPECT_TRUE(ValidateRegistryTag({"team", "ml"}).has_value());
  EXPECT_TRUE(ValidateRegistryTag({"k", std::string(100000, 'x')}).has_value());
  EXPECT_EQ(Message(ValidateRegistryTag({"k", std::string(100001, 'x')})),
            "'value' exceeds the maximum length of 100000 characters");
  EXPECT_EQ(Message(ValidateRegistryTag({std::string(251, 'k'), "v"})),
            "'key' exceeds the maximum length of 250 characters");
  EXPECT_FALSE(ValidateRegistryTag({"bad*key", "v"}).has_value());
  EXPECT_FALSE(ValidateRegistryTag({"../x", "v"}).has_value());
}

TEST(VersionNumber, Parse) {
  EXPECT_EQ(ParseVersionNumber("3").value(), 3);
  EXPECT_EQ(ParseVersionNumber(" 12 ").value(), 12);
  EXPECT_EQ(ParseVersionNumber("-1").value(), -1);
  auto bad = ParseVersionNumber("x");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "Parameter 'version' must be an integer, got 'x'.");
  EXPECT_FALSE(ParseVersionNumber("1.5").has_value());
  EXPECT_FALSE(ParseVersionNumber("").has_value());
}

}  // namespace
}  // namespace cairn::registry
