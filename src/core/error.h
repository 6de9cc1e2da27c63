#pragma once
// One error type for all of Cairn. Every failure a user can see is an Error
// with a code and a message they can act on. Result<T> is std::expected.

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace cairn {

enum class ErrorCode {
  kInvalidArgument,     // bad input: 400 INVALID_PARAMETER_VALUE
  kNotFound,            // 404 RESOURCE_DOES_NOT_EXIST
  kAlreadyExists,       // 400 RESOURCE_ALREADY_EXISTS
  kFailedPrecondition,  // 400 INVALID_STATE
  kPermissionDenied,    // 403 PERMISSION_DENIED
  kUnauthenticated,     // 401 UNAUTHENTICATED
  kResourceExhausted,   // 429 RESOURCE_EXHAUSTED (also: body too large -> 413)
  kUnavailable,         // 503 TEMPORARILY_UNAVAILABLE
  kDeadlineExceeded,    // 504 DEADLINE_EXCEEDED
  kUnimplemented,       // 501 NOT_IMPLEMENTED
  kInternal,            // 500 INTERNAL_ERROR
  kDataLoss,            // 500 DATA_LOSS
  kBadRequest,          // 400 BAD_REQUEST (malformed request: JSON syntax, wrong method)
  kEndpointNotFound,    // 404 ENDPOINT_NOT_FOUND
  kPayloadTooLarge,     // 413 (MLflow has none; we say INVALID_PARAMETER_VALUE)
};

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: experiment 42 does not exist"
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}
inline std::unexpected<Error> InvalidArgument(std::string m) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(m));
}
inline std::unexpected<Error> NotFound(std::string m) {
  return MakeError(ErrorCode::kNotFound, std::move(m));
}
inline std::unexpected<Error> AlreadyExists(std::string m) {
  return MakeError(ErrorCode::kAlreadyExists, std::move(m));
}
inline std::unexpected<Error> FailedPrecondition(std::string m) {
  return MakeError(ErrorCode::kFailedPrecondition, std::move(m));
}
inline std::unexpected<Error> Unavailable(std::string m) {
  return MakeError(ErrorCode::kUnavailable, std::move(m));
}
inline std::unexpected<Error> Internal(std::string m) {
  return MakeError(ErrorCode::kInternal, std::move(m));
}
inline std::unexpected<Error> BadRequest(std::string m) {
  return MakeError(ErrorCode::kBadRequest, std::move(m));
}

// The one mapping from ErrorCode to the outside world.
int HttpStatusFor(ErrorCode code);
// MLflow's `error_code` string (databricks.ErrorCode names).
std::string_view MlflowErrorCodeFor(ErrorCode code);
// Short canonical name ("NOT_FOUND"), used in logs and the CLI.
std::string_view ErrorCodeName(ErrorCode code);
// Inverse of MlflowErrorCodeFor, for the HTTP client: unknown strings map to kInternal.
ErrorCode ErrorCodeFromMlflow(std::string_view mlflow_code, int http_status);

}  // namespace cairn

// Propagates an error from an expression returning Result<T>/Status.
#define CAIRN_CONCAT_INNER(a, b) a##b
#define CAIRN_CONCAT(a, b) CAIRN_CONCAT_INNER(a, b)
#define CAIRN_RETURN_IF_ERROR(expr)                                       \
  do {                                                                    \
    auto&& cairn_status_ = (expr);                                        \
    if (!cairn_status_) return std::unexpected(cairn_status_.error());    \
  } while (0)
// CAIRN_ASSIGN_OR_RETURN(auto x, Foo());
#define CAIRN_ASSIGN_OR_RETURN(lhs, expr)                                       \
  auto CAIRN_CONCAT(cairn_result_, __LINE__) = (expr);                          \
  if (!CAIRN_CONCAT(cairn_result_, __LINE__))                                   \
    return std::unexpected(CAIRN_CONCAT(cairn_result_, __LINE__).error());      \
  lhs = std::move(*CAIRN_CONCAT(cairn_result_, __LINE__))
