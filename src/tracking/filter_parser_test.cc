#include "tracking/filter_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace cairn::tracking {
namespace {

using store::Comparator;
using store::Comparison;
using store::Entity;

// A canonical text of a parsed tree, so expectations read like the input:
// metric[loss] < d:0.5 ; param[lr] = s:'0.1'
std::string Show(const std::vector<Comparison>& cs) {
  std::string out;
  for (const Comparison& c : cs) {
    if (!out.empty()) out += " ; ";
    out += std::string(store::EntityName(c.entity)) + "[" + c.key + "] " +
           std::string(store::ComparatorName(c.op));
    if (auto* s = std::get_if<std::string>(&c.value)) out += " s:'" + *s + "'";
    if (auto* d = std::get_if<double>(&c.value)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%g", *d);
      out += std::string(" d:") + buf;
    }
    if (auto* i = std::get_if<int64_t>(&c.value)) out += " i:" + std::to_string(*i);
    if (auto* l = std::get_if<std::vector<std::string>>(&c.value)) {
      out += " (";
      for (size_t k = 0; k < l->size(); ++k) out += (k ? "," : "") + ("'" + (*l)[k] + "'");
      out += ")";
    }
  }
  return out;
}

std::string Runs(std::string_view f) {
  auto r = ParseRunFilter(f);
  if (!r) return "ERROR: " + r.error().message();
  return Show(*r);
}

std::string Exps(std::string_view f) {
  auto r = ParseExperimentFilter(f);
  if (!r) return "ERROR: " + r.error().message();
  return Show(*r);
}

TEST(FilterParserTest, EmptyFilterIsNoCondition) {
  EXPECT_EQ(Runs(""), "");
  EXPECT_EQ(Runs("   "), "");
}

TEST(FilterParserTest, MetricsParamsTagsAttributes) {
  EXPECT_EQ(Runs("metrics.loss < 0.5"), "metric[loss] < d:0.5");
  EXPECT_EQ(Runs("metrics.loss < 0.5 and params.lr = \"0.1\""),
            "metric[loss] < d:0.5 ; param[lr] = s:'0.1'");
  EXPECT_EQ(Runs("metric.acc >= 1e-3 AND tags.team = 'core'"),
            "metric[acc] >= d:0.001 ; tag[team] = s:'core'");
  EXPECT_EQ(Runs("params.optimizer != 'sgd'"), "param[optimizer] != s:'sgd'");
  EXPECT_EQ(Runs("parameters.x LIKE 'a%'"), "param[x] LIKE s:'a%'");
  EXPECT_EQ(Runs("tag.x ILIKE '%B%'"), "tag[x] ILIKE s:'%B%'");
  EXPECT_EQ(Runs("attributes.status = 'FINISHED'"), "attribute[status] = s:'FINISHED'");
  EXPECT_EQ(Runs("attribute.run_name = 'a'"), "attribute[run_name] = s:'a'");
  EXPECT_EQ(Runs("run.user_id = 'bob'"), "attribute[user_id] = s:'bob'");
  EXPECT_EQ(Runs("attr.artifact_uri LIKE 's3://%'"), "attribute[artifact_uri] LIKE s:'s3://%'");
}

TEST(FilterParserTest, OperatorsAndSpacing) {
  EXPECT_EQ(Runs("metrics.a=1"), "metric[a] = d:1");
  EXPECT_EQ(Runs("metrics.a==1"), "metric[a] = d:1");
  EXPECT_EQ(Runs("metrics.a<>1"), "metric[a] != d:1");
  EXPECT_EQ(Runs("metrics.a>-1"), "metric[a] > d:-1");
  EXPECT_EQ(Runs("metrics.a<=+2.5"), "metric[a] <= d:2.5");
  EXPECT_EQ(Runs("metrics.a > .5"), "metric[a] > d:0.5");
  EXPECT_EQ(Runs("  metrics.a   >   1  AND  metrics.b < 2 "), "metric[a] > d:1 ; metric[b] < d:2");
  EXPECT_EQ(Runs("metrics.a > 1 AnD metrics.b < 2"), "metric[a] > d:1 ; metric[b] < d:2");
}

TEST(FilterParserTest, BareAttributesAndAliases) {
  EXPECT_EQ(Runs("status = 'RUNNING'"), "attribute[status] = s:'RUNNING'");
  EXPECT_EQ(Runs("run_name LIKE 'exp-%'"), "attribute[run_name] LIKE s:'exp-%'");
  EXPECT_EQ(Runs("start_time > 1700000000000"), "attribute[start_time] > i:1700000000000");
  EXPECT_EQ(Runs("end_time <= 5"), "attribute[end_time] <= i:5");
  EXPECT_EQ(Runs("created >= 10"), "attribute[start_time] >= i:10");
  EXPECT_EQ(Runs("attributes.created < 10"), "attribute[start_time] < i:10");
  EXPECT_EQ(Runs("`Run Name` = 'x'"), "attribute[run_name] = s:'x'");
  EXPECT_EQ(Runs("run_id = 'abc'"), "attribute[run_id] = s:'abc'");
  // A large timestamp keeps every digit (no trip through double).
  EXPECT_EQ(Runs("start_time = 9007199254740993"), "attribute[start_time] = i:9007199254740993");
}

TEST(FilterParserTest, QuotedKeys) {
  EXPECT_EQ(Runs("metrics.`my metric` > 1"), "metric[my metric] > d:1");
  EXPECT_EQ(Runs("metrics.\"my metric\" > 1"), "metric[my metric] > d:1");
  EXPECT_EQ(Runs("tags.`mlflow.source.type` = 'LOCAL'"), "tag[mlflow.source.type] = s:'LOCAL'");
  EXPECT_EQ(Runs("tags.mlflow.runName = 'x'"), "tag[mlflow.runName] = s:'x'");
  EXPECT_EQ(Runs("params.a-b/c:d = 'v'"), "param[a-b/c:d] = s:'v'");
  EXPECT_EQ(Runs("metrics.`a``b` > 0"), "metric[a`b] > d:0");
}

TEST(FilterParserTest, StringsAndEscapes) {
  EXPECT_EQ(Runs("params.a = 'it''s'"), "param[a] = s:'it's'");
  EXPECT_EQ(Runs("params.a = 'it\\'s'"), "param[a] = s:'it's'");
  EXPECT_EQ(Runs("params.a = \"say \"\"hi\"\"\""), "param[a] = s:'say \"hi\"'");
  EXPECT_EQ(Runs("params.a = ''"), "param[a] = s:''");
  EXPECT_EQ(Runs("params.a = 'AND b = 1'"), "param[a] = s:'AND b = 1'");
}

TEST(FilterParserTest, SqlInjectionStaysAValue) {
  EXPECT_EQ(Runs("params.a = '1''; DROP TABLE runs; --'"),
            "param[a] = s:'1'; DROP TABLE runs; --'");
  EXPECT_EQ(Runs("tags.x = '\" OR 1=1 --'"), "tag[x] = s:'\" OR 1=1 --'");
  // Unquoted SQL is not a value at all.
  auto r = ParseRunFilter("params.a = 1; DROP TABLE runs");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST(FilterParserTest, InAndNullForms) {
  EXPECT_EQ(Runs("attributes.run_id IN ('a', 'b')"), "attribute[run_id] IN ('a','b')");
  EXPECT_EQ(Runs("run_id not in ('a')"), "attribute[run_id] NOT IN ('a')");
  EXPECT_EQ(Runs("status IN (\"FINISHED\",'FAILED')"),
            "attribute[status] IN ('FINISHED','FAILED')");
  EXPECT_EQ(Runs("params.x IS NULL"), "param[x] IS NULL");
  EXPECT_EQ(Runs("tags.x is not null"), "tag[x] IS NOT NULL");
  EXPECT_EQ(Runs("datasets.name = 'iris'"), "dataset[name] = s:'iris'");
  EXPECT_EQ(Runs("dataset.digest IN ('d1','d2')"), "dataset[digest] IN ('d1','d2')");
  EXPECT_EQ(Runs("datasets.context LIKE 'train%'"), "dataset[context] LIKE s:'train%'");
}

std::string RunsError(std::string_view f) {
  auto r = ParseRunFilter(f);
  if (r) return "parsed: " + Show(*r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  return r.error().message();
}

TEST(FilterParserTest, MalformedFiltersNameTokenAndPosition) {
  EXPECT_EQ(RunsError("metrics.loss <"),
            "Invalid filter 'metrics.loss <': expected a value after '<' at position 13");
  EXPECT_EQ(RunsError("metrics.loss"),
            "Invalid filter 'metrics.loss': expected a comparison operator after 'metrics.loss' "
            "at position 0");
  EXPECT_EQ(RunsError("metrics.loss foo 1"),
            "Invalid filter 'metrics.loss foo 1': expected a comparison operator after "
            "'metrics.loss' but found 'foo' at position 13");
  EXPECT_EQ(RunsError("metrics.a < 1 or metrics.b > 2"),
            "Invalid filter 'metrics.a < 1 or metrics.b > 2': 'OR' is not supported (combine "
            "conditions with AND) at position 14");
  EXPECT_EQ(RunsError("metrics.a < 1 metrics.b > 2"),
            "Invalid filter 'metrics.a < 1 metrics.b > 2': expected AND between conditions but "
            "found 'metrics.b' at position 14");
  EXPECT_EQ(RunsError("metrics.a < 1 AND"),
            "Invalid filter 'metrics.a < 1 AND': expected a condition after 'AND' at position 14");
  EXPECT_EQ(RunsError("params.a = 'open"),
            "Invalid filter 'params.a = 'open': unterminated quoted text starting with ' at "
            "position 11");
  EXPECT_EQ(RunsError("params.a ~ 'x'"),
            "Invalid filter 'params.a ~ 'x'': unexpected character '~' at position 9");
  EXPECT_EQ(RunsError("metrics. > 1"),
            "Invalid filter 'metrics. > 1': expected a key after 'metrics.' at position 0");
  EXPECT_EQ(RunsError("(metrics.a > 1)"),
            "Invalid filter '(metrics.a > 1)': parenthesized conditions are not supported at "
            "position 0");
  EXPECT_EQ(RunsError("= 1"),
            "Invalid filter '= 1': expected an identifier such as metrics.<key>, params.<key>, "
            "tags.<key> or attributes.<name> but found '=' at position 0");
  EXPECT_EQ(RunsError("metrics.a > 1abc"),
            "Invalid filter 'metrics.a > 1abc': invalid number '1abc' at position 12");
  EXPECT_EQ(RunsError("params.x IS 'a'"),
            "Invalid filter 'params.x IS 'a'': expected NULL or NOT NULL after IS but found ''a'' "
            "at position 12");
  EXPECT_EQ(RunsError("run_id NOT LIKE 'a'"),
            "Invalid filter 'run_id NOT LIKE 'a'': expected IN after NOT but found 'LIKE' at "
            "position 11");
}

TEST(FilterParserTest, TypeRules) {
  EXPECT_EQ(RunsError("metrics.loss = 'low'"),
            "Invalid filter 'metrics.loss = 'low'': metric 'loss' must be compared with a "
            "number, found ''low'' at position 15");
  EXPECT_EQ(RunsError("params.lr = 0.1"),
            "Invalid filter 'params.lr = 0.1': param 'lr' must be compared with a quoted string "
            "(e.g. 'value'), found '0.1' at position 12");
  EXPECT_EQ(RunsError("tags.t = x"),
            "Invalid filter 'tags.t = x': tag 't' must be compared with a quoted string (e.g. "
            "'value'), found 'x' at position 9");
  EXPECT_EQ(RunsError("start_time > '2024'"),
            "Invalid filter 'start_time > '2024'': attribute 'start_time' must be compared with "
            "an integer (milliseconds), found ''2024'' at position 13");
  EXPECT_EQ(RunsError("end_time > 1.5"),
            "Invalid filter 'end_time > 1.5': attribute 'end_time' must be compared with an "
            "integer (milliseconds), found '1.5' at position 11");
  EXPECT_EQ(RunsError("status = 3"),
            "Invalid filter 'status = 3': attribute 'status' must be compared with a quoted "
            "string (e.g. 'value'), found '3' at position 9");
}

TEST(FilterParserTest, ComparatorRules) {
  EXPECT_EQ(RunsError("metrics.a LIKE '1'"),
            "Invalid filter 'metrics.a LIKE '1'': comparator 'LIKE' is not supported for metric "
            "'a' (use one of =, !=, <, <=, >, >=) at position 10");
  EXPECT_EQ(RunsError("params.a > 'x'"),
            "Invalid filter 'params.a > 'x'': comparator '>' is not supported for param 'a' (use "
            "one of =, !=, LIKE, ILIKE, IS NULL, IS NOT NULL) at position 9");
  EXPECT_EQ(RunsError("params.a IN ('x')"),
            "Invalid filter 'params.a IN ('x')': comparator 'IN' is not supported for param 'a' "
            "(use one of =, !=, LIKE, ILIKE, IS NULL, IS NOT NULL) at position 9");
  EXPECT_EQ(RunsError("metrics.a IS NULL"),
            "Invalid filter 'metrics.a IS NULL': comparator 'IS NULL' is not supported for "
            "metric 'a' (use one of =, !=, <, <=, >, >=) at position 10");
  EXPECT_EQ(RunsError("start_time LIKE '1'"),
            "Invalid filter 'start_time LIKE '1'': comparator 'LIKE' is not supported for "
            "attribute 'start_time' (use one of =, !=, <, <=, >, >=) at position 11");
  EXPECT_EQ(RunsError("run_id IN ()"),
            "Invalid filter 'run_id IN ()': the list after 'IN' is empty at position 11");
  EXPECT_EQ(RunsError("run_id IN 'a'"),
            "Invalid filter 'run_id IN 'a'': expected a parenthesized list after 'IN' but found "
            "''a'' at position 10");
  EXPECT_EQ(RunsError("run_id IN ('a' 'b')"),
            "Invalid filter 'run_id IN ('a' 'b')': expected ',' or ')' in the list but found "
            "''b'' at position 15");
  EXPECT_EQ(RunsError("run_id IN ('a', 1)"),
            "Invalid filter 'run_id IN ('a', 1)': expected a quoted string in the list but found "
            "'1' at position 16");
}

TEST(FilterParserTest, UnknownNames) {
  EXPECT_EQ(RunsError("foo.x = 1"),
            "Invalid filter 'foo.x = 1': unknown entity 'foo' (valid: metrics, params, tags, "
            "attributes, datasets) at position 0");
  EXPECT_EQ(RunsError("colour = 'red'"),
            "Invalid filter 'colour = 'red'': unknown attribute 'colour' (valid: run_id, "
            "run_name, status, user_id, start_time, end_time, artifact_uri) at position 0");
  EXPECT_EQ(RunsError("datasets.size = 'x'"),
            "Invalid filter 'datasets.size = 'x'': unknown dataset field 'size' (valid: name, "
            "digest, context) at position 0");
}

TEST(FilterParserTest, Experiments) {
  EXPECT_EQ(Exps("name = 'Default'"), "attribute[name] = s:'Default'");
  EXPECT_EQ(Exps("attributes.name LIKE 'proj-%'"), "attribute[name] LIKE s:'proj-%'");
  EXPECT_EQ(Exps("attribute.name ILIKE '%x%' AND tags.owner = 'ann'"),
            "attribute[name] ILIKE s:'%x%' ; tag[owner] = s:'ann'");
  EXPECT_EQ(Exps("creation_time > 5 and last_update_time <= 7"),
            "attribute[creation_time] > i:5 ; attribute[last_update_time] <= i:7");
  EXPECT_EQ(Exps("experiment_id IN ('1','2')"), "attribute[experiment_id] IN ('1','2')");
  EXPECT_EQ(Exps("tags.x IS NULL"), "tag[x] IS NULL");
  auto r = ParseExperimentFilter("metrics.a > 1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "Invalid filter 'metrics.a > 1': unknown entity 'metrics' (valid for experiments: "
            "attributes, tags) at position 0");
  r = ParseExperimentFilter("status = 'x'");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "Invalid filter 'status = 'x'': unknown attribute 'status' (valid: name, "
            "experiment_id, creation_time, last_update_time) at position 0");
}

TEST(OrderByParserTest, RunOrderBy) {
  auto a = ParseRunOrderBy("metrics.loss ASC");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->entity, Entity::kMetric);
  EXPECT_EQ(a->key, "loss");
  EXPECT_TRUE(a->ascending);

  auto b = ParseRunOrderBy("params.lr");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->entity, Entity::kParam);
  EXPECT_TRUE(b->ascending);

  auto c = ParseRunOrderBy("attributes.start_time DESC");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->entity, Entity::kAttribute);
  EXPECT_EQ(c->key, "start_time");
  EXPECT_FALSE(c->ascending);

  auto d = ParseRunOrderBy("start_time desc");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->key, "start_time");
  EXPECT_FALSE(d->ascending);

  auto e = ParseRunOrderBy("metrics.`my metric` DESC");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->key, "my metric");
  EXPECT_FALSE(e->ascending);

  auto f = ParseRunOrderBy("tags.\"a b\"");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->entity, Entity::kTag);
  EXPECT_EQ(f->key, "a b");

  auto g = ParseRunOrderBy("created");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->key, "start_time");
}

TEST(OrderByParserTest, RunOrderByErrors) {
  auto a = ParseRunOrderBy("metrics.loss UP");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message(),
            "Invalid order_by clause 'metrics.loss UP': expected ASC, DESC or the end but found "
            "'UP' at position 13");
  auto b = ParseRunOrderBy("");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message(), "Invalid order_by clause '': it is empty");
  auto c = ParseRunOrderBy("bogus DESC");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  auto d = ParseRunOrderBy("datasets.name");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message(),
            "Invalid order_by clause 'datasets.name': ordering by datasets is not supported at "
            "position 0");
  auto e = ParseRunOrderBy("metrics.a ASC DESC");
  ASSERT_FALSE(e);
}

TEST(OrderByParserTest, ExperimentOrderBy) {
  auto a = ParseExperimentOrderBy("name DESC");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->entity, Entity::kAttribute);
  EXPECT_EQ(a->key, "name");
  EXPECT_FALSE(a->ascending);
  auto b = ParseExperimentOrderBy("attributes.creation_time");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->key, "creation_time");
  EXPECT_TRUE(b->ascending);
  EXPECT_FALSE(ParseExperimentOrderBy("start_time"));
  EXPECT_FALSE(ParseExperimentOrderBy("metrics.x"));
}

}  // namespace
}  // namespace cairn::tracking
