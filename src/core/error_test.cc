#include "core/error.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  CAIRN_ASSIGN_OR_RETURN(int h, Half(x));
  CAIRN_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(ErrorTest, MapsToHttpAndMlflow) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404);
  EXPECT_EQ(MlflowErrorCodeFor(ErrorCode::kNotFound), "RESOURCE_DOES_NOT_EXIST");
  EXPECT_EQ(HttpStatusFor(ErrorCode::kAlreadyExists), 400);
  EXPECT_EQ(MlflowErrorCodeFor(ErrorCode::kAlreadyExists), "RESOURCE_ALREADY_EXISTS");
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(MlflowErrorCodeFor(ErrorCode::kInvalidArgument), "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(ErrorCodeFromMlflow("RESOURCE_DOES_NOT_EXIST", 404), ErrorCode::kNotFound);
  EXPECT_EQ(ErrorCodeFromMlflow("WHATEVER", 503), ErrorCode::kUnavailable);
}

TEST(ErrorTest, AssignOrReturnPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "odd: 3");
  EXPECT_EQ(r.error().ToString(), "INVALID_ARGUMENT: odd: 3");
}

}  // namespace
}  // namespace cairn
