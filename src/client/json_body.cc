#include "client/json_body.h"

namespace cairn::client {

std::unexpected<Error> UnexpectedResponse(const std::string& what) {
  return Internal("unexpected response from the server: " + what);
}

Result<nlohmann::json> ParseResponseBody(const std::string& body) {
  if (body.empty()) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    return UnexpectedResponse(std::string("not JSON (") + e.what() + ")");
  }
}

Result<std::string> DumpRequestBody(const nlohmann::json& body) {
  try {
    return body.dump();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("cannot encode the request as JSON: ") + e.what());
  }
}

}  // namespace cairn::client
