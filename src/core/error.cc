#include "core/error.h"

namespace cairn {

std::string Error::ToString() const {
  return std::string(ErrorCodeName(code_)) + ": " + message_;
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists: return 400;
    case ErrorCode::kFailedPrecondition: return 400;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kResourceExhausted: return 429;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kDeadlineExceeded: return 504;
    case ErrorCode::kUnimplemented: return 501;
    case ErrorCode::kInternal: return 500;
    case ErrorCode::kDataLoss: return 500;
    case ErrorCode::kBadRequest: return 400;
    case ErrorCode::kEndpointNotFound: return 404;
    case ErrorCode::kPayloadTooLarge: return 413;
  }
  return 500;
}

std::string_view MlflowErrorCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "INVALID_PARAMETER_VALUE";
    case ErrorCode::kNotFound: return "RESOURCE_DOES_NOT_EXIST";
    case ErrorCode::kAlreadyExists: return "RESOURCE_ALREADY_EXISTS";
    case ErrorCode::kFailedPrecondition: return "INVALID_STATE";
    case ErrorCode::kPermissionDenied: return "PERMISSION_DENIED";
    case ErrorCode::kUnauthenticated: return "UNAUTHENTICATED";
    case ErrorCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case ErrorCode::kUnavailable: return "TEMPORARILY_UNAVAILABLE";
    case ErrorCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case ErrorCode::kUnimplemented: return "NOT_IMPLEMENTED";
    case ErrorCode::kInternal: return "INTERNAL_ERROR";
    case ErrorCode::kDataLoss: return "DATA_LOSS";
    case ErrorCode::kBadRequest: return "BAD_REQUEST";
    case ErrorCode::kEndpointNotFound: return "ENDPOINT_NOT_FOUND";
    case ErrorCode::kPayloadTooLarge: return "INVALID_PARAMETER_VALUE";
  }
  return "INTERNAL_ERROR";
}

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case ErrorCode::kNotFound: return "NOT_FOUND";
    case ErrorCode::kAlreadyExists: return "ALREADY_EXISTS";
    case ErrorCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case ErrorCode::kPermissionDenied: return "PERMISSION_DENIED";
    case ErrorCode::kUnauthenticated: return "UNAUTHENTICATED";
    case ErrorCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case ErrorCode::kUnavailable: return "UNAVAILABLE";
    case ErrorCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case ErrorCode::kUnimplemented: return "UNIMPLEMENTED";
    case ErrorCode::kInternal: return "INTERNAL";
    case ErrorCode::kDataLoss: return "DATA_LOSS";
    case ErrorCode::kBadRequest: return "BAD_REQUEST";
    case ErrorCode::kEndpointNotFound: return "ENDPOINT_NOT_FOUND";
    case ErrorCode::kPayloadTooLarge: return "PAYLOAD_TOO_LARGE";
  }
  return "INTERNAL";
}

ErrorCode ErrorCodeFromMlflow(std::string_view c, int http_status) {
  if (c == "INVALID_PARAMETER_VALUE") {
    return http_status == 413 ? ErrorCode::kPayloadTooLarge : ErrorCode::kInvalidArgument;
  }
  if (c == "RESOURCE_DOES_NOT_EXIST") return ErrorCode::kNotFound;
  if (c == "RESOURCE_ALREADY_EXISTS") return ErrorCode::kAlreadyExists;
  if (c == "INVALID_STATE") return ErrorCode::kFailedPrecondition;
  if (c == "PERMISSION_DENIED") return ErrorCode::kPermissionDenied;
  if (c == "UNAUTHENTICATED") return ErrorCode::kUnauthenticated;
  if (c == "RESOURCE_EXHAUSTED") return ErrorCode::kResourceExhausted;
  if (c == "TEMPORARILY_UNAVAILABLE") return ErrorCode::kUnavailable;
  if (c == "DEADLINE_EXCEEDED") return ErrorCode::kDeadlineExceeded;
  if (c == "NOT_IMPLEMENTED") return ErrorCode::kUnimplemented;
  if (c == "DATA_LOSS") return ErrorCode::kDataLoss;
  if (c == "BAD_REQUEST") return ErrorCode::kBadRequest;
  if (c == "ENDPOINT_NOT_FOUND") return ErrorCode::kEndpointNotFound;
  if (http_status == 404) return ErrorCode::kNotFound;
  if (http_status == 503) return ErrorCode::kUnavailable;
  if (http_status >= 400 && http_status < 500) return ErrorCode::kInvalidArgument;
  return ErrorCode::kInternal;
}

}  // namespace cairn
