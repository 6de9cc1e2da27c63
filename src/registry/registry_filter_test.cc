#include "registry/registry_filter.h"

#include <gtest/gtest.h>

#include "tracking/page_token.h"

namespace cairn::registry {
namespace {

using store::RegistryComparison;
using store::RegistryOrderBy;
using Field = RegistryComparison::Field;
using Op = RegistryComparison::Op;
using OField = RegistryOrderBy::Field;

std::string ModelError(std::string_view f) {
  auto r = ParseRegisteredModelFilter(f);
  EXPECT_FALSE(r.has_value()) << f;
  if (r) return "";
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  return r.error().message();
}

std::string VersionError(std::string_view f) {
  auto r = ParseModelVersionFilter(f);
  EXPECT_FALSE(r.has_value()) << f;
  if (r) return "";
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  return r.error().message();
}

TEST(RegisteredModelFilter, EmptyIsNoFilter) {
  ASSERT_TRUE(ParseRegisteredModelFilter("").has_value());
  EXPECT_TRUE(ParseRegisteredModelFilter("")->empty());
  EXPECT_TRUE(ParseRegisteredModelFilter("   ")->empty());
}

TEST(RegisteredModelFilter, NameAndTags) {
  auto r = ParseRegisteredModelFilter("name = 'fraud' and tags.team LIKE 'ml%'");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].field, Field::kName);
  EXPECT_EQ((*r)[0].op, Op::kEq);
  EXPECT_EQ((*r)[0].values, std::vector<std::string>{"fraud"});
  EXPECT_EQ((*r)[1].field, Field::kTag);
  EXPECT_EQ((*r)[1].key, "team");
  EXPECT_EQ((*r)[1].op, Op::kLike);
  EXPECT_EQ((*r)[1].values, std::vector<std::string>{"ml%"});
}

TEST(RegisteredModelFilter, QuotedTagKeysAndValues) {
  auto r = ParseRegisteredModelFilter(
      "tags.`key with space` ILIKE '%X%' AND tag.\"k 2\" != \"it's\" AND attribute.name='a''b'");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].key, "key with space");
  EXPECT_EQ((*r)[0].op, Op::kILike);
  EXPECT_EQ((*r)[1].key, "k 2");
  EXPECT_EQ((*r)[1].op, Op::kNe);
  EXPECT_EQ((*r)[1].values[0], "it's");
  EXPECT_EQ((*r)[2].field, Field::kName);
  EXPECT_EQ((*r)[2].values[0], "a'b");
}

TEST(RegisteredModelFilter, NameInList) {
  auto r = ParseRegisteredModelFilter("name IN ('a', 'b',) and name not in ('c')");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].op, Op::kIn);
  EXPECT_EQ((*r)[0].values, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ((*r)[1].op, Op::kNotIn);
  EXPECT_EQ((*r)[1].values, std::vector<std::string>{"c"});
}

TEST(RegisteredModelFilter, MlflowMessages) {
  EXPECT_EQ(ModelError("run_id = 'x'"),
            "Invalid attribute key 'run_id' specified. Valid keys are '{'name'}'");
  EXPECT_EQ(ModelError("foo.bar = 'x'"),
            "Invalid entity type 'foo'. Valid entity types are ('attribute', 'tag', 'tags')");
  EXPECT_EQ(ModelError("Tags.k = 'v'"),
            "Invalid entity type 'Tags'. Valid entity types are ('attribute', 'tag', 'tags')");
  EXPECT_EQ(ModelError("name = 'a' OR name = 'b'"), "Invalid clause(s) in filter string: OR");
  EXPECT_EQ(ModelError("name"), "Invalid clause(s) in filter string: name");
  EXPECT_EQ(ModelError("name ="), "Invalid clause(s) in filter string: name, =");
  EXPECT_EQ(ModelError("name = a"),
            "Parameter value is either not quoted or unidentified quote types used for string "
            "value a. Use either single or double quotes.");
  EXPECT_EQ(ModelError("name = 3"),
            "Expected a quoted string value or a list of quoted string values for attributes. "
            "Got value 3");
  EXPECT_EQ(ModelError("tags.k = 5"),
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value 5");
  EXPECT_EQ(ModelError("tags.k > 'a'"), "Invalid comparator for tag: >");
  EXPECT_EQ(ModelError("name > 'a'"), "Invalid comparator for attribute: >");
  EXPECT_EQ(ModelError("name == 'a'"), "Invalid comparator for attribute: ==");
  EXPECT_EQ(ModelError("(name = 'a')").substr(0, 37), "Invalid clause(s) in filter string: (");
  EXPECT_EQ(ModelError("name = 'a' AND"), "Invalid clause(s) in filter string: AND");
  EXPECT_EQ(ModelError("name IS NULL"), "Invalid clause(s) in filter string: IS");
  EXPECT_NE(ModelError("name = 'abc").find("unterminated"), std::string::npos);
}

TEST(ModelVersionFilter, AllKeys) {
  auto r = ParseModelVersionFilter(
      "name = 'm' AND run_id IN ('r1','r2') AND source_path LIKE 's3://%' AND "
      "version_number >= 2 AND version_number < '10' AND tags.`a b` = 'c'");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->size(), 6u);
  EXPECT_EQ((*r)[1].field, Field::kRunId);
  EXPECT_EQ((*r)[1].op, Op::kIn);
  EXPECT_EQ((*r)[1].values, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ((*r)[2].field, Field::kSource);
  EXPECT_EQ((*r)[2].values[0], "s3://%");
  EXPECT_EQ((*r)[3].field, Field::kVersion);
  EXPECT_EQ((*r)[3].op, Op::kGe);
  EXPECT_EQ((*r)[3].values[0], "2");
  EXPECT_EQ((*r)[4].op, Op::kLt);
  EXPECT_EQ((*r)[4].values[0], "10");
  EXPECT_EQ((*r)[5].field, Field::kTag);
  EXPECT_EQ((*r)[5].key, "a b");
}

TEST(ModelVersionFilter, RunIdNotInAndNegativeVersion) {
  auto r = ParseModelVersionFilter("run_id NOT IN ('x') AND version_number != -1");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ((*r)[0].op, Op::kNotIn);
  EXPECT_EQ((*r)[1].op, Op::kNe);
  EXPECT_EQ((*r)[1].values[0], "-1");
}

TEST(ModelVersionFilter, MlflowMessages) {
  EXPECT_EQ(VersionError("model_id = 'm'"),
            "Invalid attribute key 'model_id' specified. Valid keys are '{'name', 'run_id', "
            "'source_path', 'version_number'}'");
  EXPECT_EQ(VersionError("source_path IN ('x')"),
            "Only ['name', 'run_id'] attributes support comparison with a list of quoted string "
            "values.");
  EXPECT_EQ(VersionError("version_number IN ('1')"),
            "Only ['name', 'run_id'] attributes support comparison with a list of quoted string "
            "values.");
  EXPECT_EQ(VersionError("run_id IN ()"),
            "While parsing a list in the query, expected a non-empty list of string values, but "
            "got empty list");
  EXPECT_EQ(VersionError("run_id IN ('a', 3)"),
            "While parsing a list in the query, expected string value, punctuation, or "
            "whitespace, but got different type in list: ('a', 3)");
  EXPECT_EQ(VersionError("version_number > 1.5"),
            "Invalid value for numeric attribute 'version_number': 1.5");
  EXPECT_EQ(VersionError("version_number = 'abc'"),
            "Invalid value for numeric attribute 'version_number': 'abc'");
  EXPECT_EQ(VersionError("version_number LIKE '1'"),
            "Invalid comparator for attribute version_number: LIKE");
  EXPECT_EQ(VersionError("run_id = 3"),
            "Only the '{'creation_timestamp', 'last_updated_timestamp', 'version_number'}' "
            "attributes support comparison with numeric values.");
  EXPECT_EQ(VersionError("source_path < 'x'"), "Invalid comparator for attribute: <");
  EXPECT_EQ(VersionError("tags.k IN ('a')"),
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('a')");
  EXPECT_EQ(VersionError("name IN 'a'"), "Invalid clause(s) in filter string: name, IN, 'a'");
}

TEST(OrderBy, RegisteredModels) {
  auto r = ParseRegisteredModelOrderBy({"timestamp DESC"});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].field, OField::kLastUpdatedTime);
  EXPECT_FALSE((*r)[0].ascending);
  EXPECT_EQ((*r)[1].field, OField::kName);  // tie-breaker
  EXPECT_TRUE((*r)[1].ascending);

  r = ParseRegisteredModelOrderBy({"`name` desc"});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_FALSE((*r)[0].ascending);

  r = ParseRegisteredModelOrderBy({});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].field, OField::kName);

  r = ParseRegisteredModelOrderBy({"creation_timestamp"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)[0].field, OField::kCreationTime);
}

TEST(OrderBy, RegisteredModelErrors) {
  auto r = ParseRegisteredModelOrderBy({"version_number"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(),
            "Invalid order by key 'version_number' specified. Valid keys are '{'name', "
            "'timestamp'}'");
  r = ParseRegisteredModelOrderBy({"name up"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "Invalid ordering key in order_by clause 'name up'.");
  r = ParseRegisteredModelOrderBy({"name asc desc"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "Invalid order_by clause 'name asc desc'. Could not be parsed.");
  r = ParseRegisteredModelOrderBy({"timestamp", "last_updated_timestamp DESC"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(),
            "`order_by` contains duplicate fields: ['timestamp', 'last_updated_timestamp DESC']");
}

TEST(OrderBy, ModelVersions) {
  auto r = ParseModelVersionOrderBy({"version_number ASC", "attribute.creation_timestamp DESC"});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].field, OField::kVersion);
  EXPECT_TRUE((*r)[0].ascending);
  EXPECT_EQ((*r)[1].field, OField::kCreationTime);
  EXPECT_FALSE((*r)[1].ascending);
  EXPECT_EQ((*r)[2].field, OField::kName);

  // No order_by: MLflow's SQL store default.
  r = ParseModelVersionOrderBy({});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].field, OField::kLastUpdatedTime);
  EXPECT_FALSE((*r)[0].ascending);
  EXPECT_EQ((*r)[1].field, OField::kName);
  EXPECT_TRUE((*r)[1].ascending);
  EXPECT_EQ((*r)[2].field, OField::kVersion);
  EXPECT_FALSE((*r)[2].ascending);

  auto bad = ParseModelVersionOrderBy({"foo"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(),
            "Invalid attribute key 'foo' specified. Valid keys are '{'creation_timestamp', "
            "'last_updated_timestamp', 'name', 'version_number'}'");
}

TEST(BuildQuery, MaxResultsAndPageToken) {
  auto q = BuildRegisteredModelQuery("", {}, std::nullopt, "");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->max_results, 100);
  EXPECT_EQ(q->offset, 0);

  q = BuildModelVersionQuery("name='a'", {}, std::nullopt, tracking::EncodePageToken(20));
  ASSERT_TRUE(q.has_value()) << q.error().message();
  EXPECT_EQ(q->max_results, 10000);
  EXPECT_EQ(q->offset, 20);
  EXPECT_EQ(q->filter.size(), 1u);

  q = BuildRegisteredModelQuery("", {}, 1001, "");
  ASSERT_FALSE(q.has_value());
  EXPECT_EQ(q.error().message(),
            "Invalid value for request parameter max_results. It must be at most 1000, but got "
            "value 1001");
  q = BuildModelVersionQuery("", {}, 200001, "");
  ASSERT_FALSE(q.has_value());
  EXPECT_NE(q.error().message().find("at most 200000"), std::string::npos);
  EXPECT_TRUE(BuildModelVersionQuery("", {}, 200000, "").has_value());
  q = BuildModelVersionQuery("", {}, 0, "");
  ASSERT_FALSE(q.has_value());
  q = BuildModelVersionQuery("", {}, 5, "not a token");
  ASSERT_FALSE(q.has_value());
  EXPECT_EQ(q.error().code(), ErrorCode::kInvalidArgument);
}

TEST(BuildQuery, NextPageTokenRoundTrips) {
  EXPECT_EQ(NextPageToken(-1), "");
  std::string t = NextPageToken(42);
  ASSERT_FALSE(t.empty());
  auto q = BuildRegisteredModelQuery("", {}, 10, t);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->offset, 42);
}

}  // namespace
}  // namespace cairn::registry
