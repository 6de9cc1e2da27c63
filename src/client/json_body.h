#pragma once
// JSON bodies of the REST calls every client makes (tracking, registry,
// monitors): one way to read an answer and to write a request.

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace cairn::client {

// kInternal "unexpected response from the server: <what>".
std::unexpected<Error> UnexpectedResponse(const std::string& what);
// The answer's JSON ({} for an empty body); kInternal when it is not JSON.
Result<nlohmann::json> ParseResponseBody(const std::string& body);
// The request's JSON text; kInvalidArgument when a caller's string is not
// valid UTF-8 (nlohmann refuses to encode it).
Result<std::string> DumpRequestBody(const nlohmann::json& body);

}  // namespace cairn::client
