// MLflow's scoring protocol routes of `cairn serve`, answering as
// `mlflow models serve` does (checked against MLflow 3.x):
//   POST /invocations   JSON (dataframe_split, dataframe_records, instances,
//                       inputs) or CSV -> {"predictions": ...}; errors
//                       {"error_code": "BAD_REQUEST", "message": ...} with 400,
//                       an unsupported Content-Type 415 as text/plain.
//   GET  /ping, /health 200 with body "\n" when ready (application/json).
//   GET  /version       the version as the body (application/json, as MLflow).
// Which deployment: the only one; else X-Cairn-Deployment or ?model=; else 400.

#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.h"
#include "serve/serve_handlers.h"
#include "serving/mlflow_scoring.h"
#include "serving/model_input.h"

namespace cairn::serve::internal {
namespace {

constexpr std::string_view kRoute = "/invocations";

// MLflow's scoring server answers client errors as BAD_REQUEST, except the
// signature's missing inputs, which keep INVALID_PARAMETER_VALUE.
http::Response ScoringErrorResponse(const Error& error) {
  const int status = ServeStatusFor(error);
  http::Response response;
  if (status == 400 && error.message().starts_with(serving::kMissingInputsMessage)) {
    response = http::Response::Json(
        status, serving::WriteScoringError(Error(ErrorCode::kInvalidArgument, error.message())));
  } else if (status == 400) {
    response = http::Response::Json(
        status, serving::WriteScoringError(Error(ErrorCode::kBadRequest, error.message())));
  } else {
    response = http::Response::Json(status, serving::WriteScoringError(error));
  }
  AddRetryAfter(response);
  return response;
}

// A model's table answer as a DataFrame: one column per tensor; a [rows]
// tensor keeps its type, a [rows, k...] tensor becomes a column of JSON lists.
serving::DataFrame OutputToFrame(const serving::ModelOutput& output) {
  using serving::ColumnType;
  using serving::DataType;
  serving::DataFrame frame;
  for (const serving::Tensor& t : output.tensors) {
    const int64_t rows = t.shape().empty() ? 1 : t.shape()[0];
    frame.num_rows = static_cast<size_t>(rows);
    serving::Column c;
    c.name = t.name();
    const int64_t per_row = rows > 0 ? t.element_count() / rows : 0;
    if (per_row != 1 || t.shape().size() > 1) {
      c.type = ColumnType::kJson;
      for (int64_t r = 0; r < rows; ++r) {
        JsonWriter w;
        w.BeginArray();
        for (int64_t k = 0; k < per_row; ++k) serving::WriteScoringValue(w, t, r * per_row + k);
        w.EndArray();
        c.strings.push_back(w.Take());
      }
    } else if (t.datatype() == DataType::kBytes) {
      c.type = ColumnType::kString;
      c.strings = t.strings();
    } else if (t.datatype() == DataType::kBool) {
      c.type = ColumnType::kBool;
      for (int64_t r = 0; r < rows; ++r) c.bools.push_back(t.AsDouble(r) != 0 ? 1 : 0);
    } else if (t.datatype() == DataType::kFp16 || t.datatype() == DataType::kFp32 ||
               t.datatype() == DataType::kFp64) {
      c.type = ColumnType::kFloat64;
      for (int64_t r = 0; r < rows; ++r) c.doubles.push_back(t.AsDouble(r));
    } else if (t.datatype() == DataType::kInt64) {
      c.type = ColumnType::kInt64;
      auto v = t.values<int64_t>();
      c.ints.assign(v.begin(), v.end());
    } else {
      c.type = ColumnType::kInt64;
      for (int64_t r = 0; r < rows; ++r) c.ints.push_back(static_cast<int64_t>(t.AsDouble(r)));
    }
    frame.columns.push_back(std::move(c));
  }
  return frame;
}

Result<http::Response> RenderPredictions(const serving::ModelOutput& output) {
  std::string body;
  if (output.frame) {
    body = serving::WriteScoringPredictions(OutputToFrame(output));
  } else if (output.tensors.size() == 1) {
    body = serving::WriteScoringPredictions(output.tensors[0]);
  } else {
    body = serving::WriteScoringPredictions(std::span<const serving::Tensor>(output.tensors));
  }
  return http::Response::Json(200, std::move(body));
}

// The deployment /invocations scores with, or the error to answer.
Result<std::string> ChooseDeployment(ServeContext& ctx, const http::Request& request) {
  std::vector<std::string> names = ctx.manager->DeploymentNames();
  std::optional<std::string> asked = request.Header("X-Cairn-Deployment");
  if (!asked || asked->empty()) asked = request.QueryParam("model");
  if (asked && !asked->empty()) return *asked;
  if (names.size() == 1) return names[0];
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  return BadRequest("this server has several deployments (" + list +
                    "): choose one with the X-Cairn-Deployment header or ?model=NAME");
}

void HandleInvocations(ServeContext& ctx, http::Request& request, http::Responder respond) {
  auto job = std::make_shared<InferJob>(StartJob(std::string(kRoute)));
  job->request_id = RequestIdFor(request, "");

  auto fail = [&](http::Response response, bool observe) {
    AnswerBeforeSubmit(ctx, *job, respond, std::move(response), observe);
  };

  const std::string content_type = request.Header("Content-Type").value_or("");
  auto type = serving::ParseScoringContentType(content_type);
  if (!type) return fail(http::Response{415, "text/plain; charset=utf-8", type.error().message(),
                                        "", {}},
                         false);

  auto deployment = ChooseDeployment(ctx, request);
  if (!deployment) return fail(ScoringErrorResponse(deployment.error()), false);
  job->deployment = *deployment;
  auto routed =
      ctx.manager->Route(job->deployment, std::nullopt, StickyValue(ctx, request, job->deployment));
  if (!routed) return fail(ScoringErrorResponse(routed.error()), false);
  job->routed = std::move(*routed);

  auto parsed = *type == serving::ScoringContentType::kJson
                    ? serving::ParseScoringJson(request.body)
                    : serving::ParseScoringCsv(request.body);
  if (!parsed) return fail(ScoringErrorResponse(parsed.error()), true);
  auto input =
      serving::ConformScoringInput(std::move(*parsed), job->routed.live->manifest().signature);
  if (!input) return fail(ScoringErrorResponse(input.error()), true);

  auto render = std::make_shared<InferRenderer>();
  render->ok = RenderPredictions;
  render->error = ScoringErrorResponse;
  SubmitLive(ctx, std::move(job), std::move(*input), std::move(render), std::move(respond));
}

}  // namespace

void AddScoringRoutes(ServeContext& ctx, http::Router& router) {
  router.AddAsync(http::Method::kPost, std::string(kRoute),
                  [&ctx](http::Request& request, http::Responder respond) {
                    HandleInvocations(ctx, request, std::move(respond));
                  });
  for (const char* path : {"/ping", "/health"}) {
    std::string route = path;
    router.Add(http::Method::kGet, route, [&ctx, route](http::Request&) {
      const bool ready = ctx.manager->Ready();
      http::Response r = http::Response::Json(ready ? 200 : 503, "\n");
      if (!ready) AddRetryAfter(r);
      ctx.http_requests_total->WithLabels({route, std::to_string(r.status)}).Increment();
      return r;
    });
  }
  router.Add(http::Method::kGet, "/version", [&ctx](http::Request&) {
    ctx.http_requests_total->WithLabels({"/version", "200"}).Increment();
    return http::Response::Json(200, ctx.config.version);
  });
}

}  // namespace cairn::serve::internal
