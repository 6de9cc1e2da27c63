// Request accessors, Response factories and ErrorResponse (no Beast here).

#include <strings.h>

#include "core/json_writer.h"
#include "http/server.h"

namespace cairn::http {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Request::QueryParams(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query) {
    if (k == name) out.push_back(v);
  }
  return out;
}

std::optional<std::string> Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response ErrorResponse(const Error& e) {
  JsonWriter w;
  w.BeginObject();
  w.Field("error_code", MlflowErrorCodeFor(e.code()));
  w.Field("message", e.message());
  w.EndObject();
  return Response::Json(HttpStatusFor(e.code()), w.Take());
}

}  // namespace cairn::http
