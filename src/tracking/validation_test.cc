#include "tracking/validation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cairn::tracking {
namespace {

std::string Msg(const Status& s) { return s ? std::string("ok") : s.error().message(); }

TEST(ValidationTest, NormalizePosixPathMatchesPython) {
  EXPECT_EQ(NormalizePosixPath(""), ".");
  EXPECT_EQ(NormalizePosixPath("a/b"), "a/b");
  EXPECT_EQ(NormalizePosixPath("a//b"), "a/b");
  EXPECT_EQ(NormalizePosixPath("a/./b/"), "a/b");
  EXPECT_EQ(NormalizePosixPath("a/../b"), "b");
  EXPECT_EQ(NormalizePosixPath("../x"), "../x");
  EXPECT_EQ(NormalizePosixPath("/x/../.."), "/");
  EXPECT_EQ(NormalizePosixPath("//x"), "//x");
  EXPECT_EQ(NormalizePosixPath("///x"), "/x");
}

TEST(ValidationTest, KeyNames) {
  EXPECT_TRUE(ValidateKeyName("loss", "key"));
  EXPECT_TRUE(ValidateKeyName("train/loss-1.0 x:y_z", "key"));
  EXPECT_TRUE(ValidateKeyName("précision", "key"));
  EXPECT_EQ(Msg(ValidateKeyName("a$b", "key")),
            "Invalid value \"a$b\" for parameter 'key' supplied: Names may only contain "
            "alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and "
            "slashes (/).");
  EXPECT_EQ(Msg(ValidateKeyName("../etc/passwd", "params[2].key")),
            "Invalid value \"../etc/passwd\" for parameter 'params[2].key' supplied: Names may "
            "be treated as files in certain cases, and must not resolve to other names when "
            "treated as such. This name would resolve to '../etc/passwd'");
  EXPECT_FALSE(ValidateKeyName("/abs", "key"));
  EXPECT_FALSE(ValidateKeyName("a/../b", "key"));
  EXPECT_FALSE(ValidateKeyName("a//b", "key"));
  EXPECT_FALSE(ValidateKeyName("a/", "key"));
  EXPECT_FALSE(ValidateKeyName(".", "key"));
  EXPECT_FALSE(ValidateKeyName("", "key"));
}

TEST(ValidationTest, MetricRules) {
  store::Metric m{"loss", std::nan(""), 5, 0};
  EXPECT_TRUE(ValidateMetric(m));  // NaN is a value MLflow accepts
  m.value = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(ValidateMetric(m));
  m.timestamp = -1;
  m.value = 1;
  EXPECT_EQ(Msg(ValidateMetric(m, "metrics[0]")),
            "Invalid value -1 for parameter 'metrics[0].timestamp' supplied: metric 'loss' "
            "(value=1.0). Timestamp must be a nonnegative long (64-bit integer) ");
  store::Metric bad{"a*b", 1, 0, 0};
  EXPECT_EQ(Msg(ValidateMetric(bad)),
            "Invalid value \"a*b\" for parameter 'name' supplied: Names may only contain "
            "alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and "
            "slashes (/).");
  store::Metric long_key{std::string(251, 'k'), 1, 0, 0};
  EXPECT_EQ(Msg(ValidateMetric(long_key)),
            "'Metric name' exceeds the maximum length of 250 characters");
}

TEST(ValidationTest, ParamAndTagLimits) {
  EXPECT_TRUE(ValidateParam({"p", std::string(6000, 'v')}));
  EXPECT_EQ(Msg(ValidateParam({"p", std::string(6001, 'v')})),
            "'Param value' exceeds the maximum length of 6000 characters");
  EXPECT_EQ(Msg(ValidateParam({std::string(251, 'k'), "v"})),
            "'Param key' exceeds the maximum length of 250 characters");
  // Characters, not bytes: 6000 two-byte characters are within the limit.
  std::string wide;
  for (int i = 0; i < 6000; ++i) wide += "é";
  EXPECT_TRUE(ValidateParam({"p", wide}));
  EXPECT_TRUE(ValidateRunTag({"t", std::string(8000, 'v')}));
  EXPECT_EQ(Msg(ValidateRunTag({"t", std::string(8001, 'v')}, "tags[1]")),
            "'tags[1].value' exceeds the maximum length of 8000 characters");
  EXPECT_EQ(Msg(ValidateRunTag({"t", std::string(8001, 'v')})),
            "'value' exceeds the maximum length of 8000 characters");
  EXPECT_TRUE(ValidateExperimentTag({"t", std::string(20000, 'v')}));
  EXPECT_FALSE(ValidateExperimentTag({"t", std::string(20001, 'v')}));
}

TEST(ValidationTest, BatchLimits) {
  EXPECT_TRUE(ValidateBatchLimits(1000, 0, 0));
  EXPECT_TRUE(ValidateBatchLimits(800, 100, 100));
  EXPECT_EQ(Msg(ValidateBatchLimits(1001, 0, 0)),
            "A batch logging request can contain at most 1000 metrics. Got 1001 metrics. Please "
            "split up metrics across multiple requests and try again.");
  EXPECT_EQ(Msg(ValidateBatchLimits(0, 101, 0)),
            "A batch logging request can contain at most 100 params. Got 101 params. Please "
            "split up params across multiple requests and try again.");
  EXPECT_FALSE(ValidateBatchLimits(0, 0, 101));
  EXPECT_EQ(Msg(ValidateBatchLimits(900, 100, 1)),
            "A batch logging request can contain at most 1000 metrics, params, and tags. Got "
            "1001 metrics, params, and tags. Please split up metrics, params, and tags across "
            "multiple requests and try again.");
}

TEST(ValidationTest, DuplicateParamKeys) {
  EXPECT_TRUE(ValidateParamKeysUnique({{"a", "1"}, {"b", "1"}}));
  EXPECT_EQ(Msg(ValidateParamKeysUnique({{"a", "1"}, {"b", "1"}, {"a", "2"}})),
            "Duplicate parameter keys have been submitted: ['a']. Please ensure the request "
            "contains only one param value per param key.");
}

TEST(ValidationTest, RunIdsAndStatus) {
  EXPECT_TRUE(ValidateRunId("0123456789abcdef0123456789abcdef"));
  EXPECT_EQ(Msg(ValidateRunId("")),
            "Missing value for required parameter 'run_id'. See the API docs for more "
            "information about request parameters.");
  EXPECT_EQ(Msg(ValidateRunId("../x")), "Invalid value \"../x\" for parameter 'run_id' supplied.");
  EXPECT_FALSE(ValidateRunId("_a"));
  EXPECT_TRUE(IsValidRunStatus("FINISHED"));
  EXPECT_FALSE(IsValidRunStatus("finished"));
  EXPECT_FALSE(IsValidRunStatus("DONE"));
}

TEST(ValidationTest, ExperimentNamesAndMessages) {
  EXPECT_EQ(Msg(ValidateExperimentName("")),
            "Missing value for required parameter 'name'. See the API docs for more information "
            "about request parameters.");
  EXPECT_TRUE(ValidateExperimentName(std::string(500, 'n')));
  EXPECT_EQ(Msg(ValidateExperimentName(std::string(501, 'n'))),
            "'name' exceeds the maximum length of 500 characters");
  EXPECT_EQ(WrongType("run_id", "123", "int").message(),
            "Invalid value 123 for parameter 'run_id' supplied:  Hint: Value was of type 'int'. "
            "See the API docs for more information about request parameters.");
  EXPECT_EQ(PythonFloatRepr(1), "1.0");
  EXPECT_EQ(PythonFloatRepr(0.25), "0.25");
  EXPECT_EQ(PythonFloatRepr(std::nan("")), "nan");
  EXPECT_EQ(PythonFloatRepr(-std::numeric_limits<double>::infinity()), "-inf");
}

TEST(ValidationTest, DatasetInputs) {
  store::DatasetInput in;
  in.dataset = {"iris", "abc123", "local", "/data/iris.csv", "", ""};
  in.tags = {{"mlflow.data.context", "training"}};
  EXPECT_TRUE(ValidateDatasetInput(in));
  in.dataset.digest = std::string(37, 'd');
  EXPECT_EQ(Msg(ValidateDatasetInput(in)), "'digest' exceeds the maximum length of 36 characters");
  in.dataset.digest = "";
  EXPECT_EQ(Msg(ValidateDatasetInput(in)), "Dataset digest cannot be empty");
  in.dataset.digest = "d";
  in.tags[0].value = std::string(501, 'v');
  EXPECT_EQ(Msg(ValidateDatasetInput(in)), "'value' exceeds the maximum length of 500 characters");
}

}  // namespace
}  // namespace cairn::tracking
