#include <gtest/gtest.h>

#include "http/server.h"

namespace cairn::http {
namespace {

Handler Named(std::string name) {
  return [name](Request&) { return Response::Text(200, name); };
}

std::string Dispatch(const Router& r, Method m, std::string_view path) {
  auto match = r.Find(m, path);
  if (match.route == nullptr) return match.method_mismatch ? "405" : "404";
  Request req;
  return match.route->handler(req).body;
}

TEST(RouterTest, ExactPrefixAndLongestMatch) {
  Router r;
  r.Add(Method::kGet, "/api/2.0/mlflow/runs/get", Named("runs-get"));
  r.Add(Route{Method::kGet, "/api", true, BodyMode::kBuffer, Named("api-prefix")});
  r.Add(Route{Method::kGet, "/api/2.0/mlflow-artifacts/artifacts", true, BodyMode::kBuffer,
              Named("artifacts")});
  r.Add(Route{Method::kGet, "/", true, BodyMode::kBuffer, Named("catch-all")});

  EXPECT_EQ(Dispatch(r, Method::kGet, "/api/2.0/mlflow/runs/get"), "runs-get");
  EXPECT_EQ(Dispatch(r, Method::kGet, "/api/2.0/mlflow/runs/get/x"), "api-prefix");
  EXPECT_EQ(Dispatch(r, Method::kGet, "/api/2.0/mlflow-artifacts/artifacts/a/b"), "artifacts");
  EXPECT_EQ(Dispatch(r, Method::kGet, "/api/2.0/mlflow-artifacts/artifacts"), "artifacts");
  EXPECT_EQ(Dispatch(r, Method::kGet, "/api"), "api-prefix");
  // "/apix" does not match prefix "/api" (segment boundary), only the catch-all.
  EXPECT_EQ(Dispatch(r, Method::kGet, "/apix"), "catch-all");
  EXPECT_EQ(Dispatch(r, Method::kGet, "/"), "catch-all");
  EXPECT_EQ(Dispatch(r, Method::kGet, "/index.html"), "catch-all");
}

TEST(RouterTest, MethodMismatchAndHeadFallback) {
  Router r;
  r.Add(Method::kPost, "/runs/create", Named("create"));
  r.Add(Method::kGet, "/runs/get", Named("get"));
  r.Add(Method::kDelete, "/runs/get", Named("delete"));
  EXPECT_EQ(Dispatch(r, Method::kGet, "/runs/create"), "405");
  EXPECT_EQ(Dispatch(r, Method::kPost, "/nope"), "404");
  EXPECT_EQ(Dispatch(r, Method::kHead, "/runs/get"), "get");
  EXPECT_EQ(Dispatch(r, Method::kHead, "/runs/create"), "405");
  EXPECT_EQ(r.AllowedMethods("/runs/get"), "GET, HEAD, DELETE");
  EXPECT_EQ(r.AllowedMethods("/runs/create"), "POST");
  EXPECT_EQ(r.AllowedMethods("/nope"), "");
}

TEST(RouterTest, LongestMatchAmongRoutesWithTheMethod) {
  Router r;
  r.Add(Route{Method::kGet, "/a", true, BodyMode::kBuffer, Named("get-a")});
  r.Add(Route{Method::kPut, "/a/b", true, BodyMode::kBuffer, Named("put-ab")});
  EXPECT_EQ(Dispatch(r, Method::kGet, "/a/b/c"), "get-a");
  EXPECT_EQ(Dispatch(r, Method::kPut, "/a/b/c"), "put-ab");
  EXPECT_EQ(Dispatch(r, Method::kPut, "/a/x"), "405");
}

TEST(RouterTest, ExactBeatsPrefixOfSameLength) {
  Router r;
  r.Add(Route{Method::kGet, "/x", true, BodyMode::kBuffer, Named("prefix")});
  r.Add(Method::kGet, "/x", Named("exact"));
  EXPECT_EQ(Dispatch(r, Method::kGet, "/x"), "exact");
  EXPECT_EQ(Dispatch(r, Method::kGet, "/x/y"), "prefix");
}

TEST(RouterTest, RouteSuffix) {
  Route with_slash{Method::kGet, "/", true, BodyMode::kBuffer, nullptr};
  Route plain{Method::kGet, "/files", true, BodyMode::kBuffer, nullptr};
  Route exact{Method::kGet, "/files", false, BodyMode::kBuffer, nullptr};
  EXPECT_EQ(Router::RouteSuffix(plain, "/files"), "");
  EXPECT_EQ(Router::RouteSuffix(plain, "/files/a/b.txt"), "a/b.txt");
  EXPECT_EQ(Router::RouteSuffix(plain, "/files/"), "");
  EXPECT_EQ(Router::RouteSuffix(with_slash, "/ui/app.js"), "ui/app.js");
  EXPECT_EQ(Router::RouteSuffix(exact, "/files"), "");
}

TEST(ErrorResponseTest, RendersMlflowShape) {
  Response r = ErrorResponse(Error(ErrorCode::kNotFound, "run \"x\" not found"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error_code":"RESOURCE_DOES_NOT_EXIST","message":"run \"x\" not found"})");
  EXPECT_EQ(ErrorResponse(Error(ErrorCode::kAlreadyExists, "a")).status, 400);
}

TEST(RequestTest, Accessors) {
  Request req;
  req.query = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  req.headers = {{"content-type", "application/json"}};
  EXPECT_EQ(req.QueryParam("a"), "1");
  EXPECT_EQ(req.QueryParam("c"), std::nullopt);
  EXPECT_EQ(req.QueryParams("a"), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(req.Header("Content-Type"), "application/json");
  EXPECT_EQ(req.Header("accept"), std::nullopt);
  EXPECT_EQ(MethodName(Method::kDelete), "DELETE");
}

}  // namespace
}  // namespace cairn::http
