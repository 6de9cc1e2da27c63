// Pipeline-schedule endpoints: parse -> PipelineScheduleService -> render
// (see schedule_handlers.h).

#include "api/schedule_handlers.h"

#include <climits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "api/request_fields.h"

namespace cairn::api {
namespace {

using nlohmann::json;

constexpr int64_t kDefaultRuns = 20;
constexpr int64_t kDefaultGetRuns = 10;
constexpr std::string_view kPrefix = "/api/v1/pipeline-schedules";

std::unexpected<Error> NoEndpoint(const http::Request& req) {
  return MakeError(ErrorCode::kEndpointNotFound,
                   "No endpoint " + std::string(http::MethodName(req.method)) + " " + req.path +
                       " (try /api/v1/pipeline-schedules, /api/v1/pipeline-schedules/{name}, "
                       "/api/v1/pipeline-schedules/{name}/enable|disable|trigger|runs)");
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json ScheduleJson(const store::PipelineSchedule& s) {
  return json{{"id", s.id},
              {"name", s.name},
              {"cron", s.cron},
              {"repo", s.repo},
              {"targets", s.targets},
              {"jobs", s.jobs},
              {"enabled", s.enabled},
              {"created_at", s.created_at},
              {"updated_at", s.updated_at},
              {"next_tick", s.next_tick_ms}};
}

json RunJson(const store::PipelineScheduleRun& r) {
  return json{{"id", r.id},
              {"schedule", r.schedule_name},
              {"tick", r.tick_ms},
              {"triggered_by", r.triggered_by},
              {"status", r.status},
              {"owner", r.owner},
              {"lease_until", r.lease_until_ms},
              {"created_at", r.created_at},
              {"started_at", r.started_at},
              {"finished_at", r.finished_at},
              {"exit_code", r.exit_code ? json(*r.exit_code) : json(nullptr)},
              {"log_tail", r.log_tail},
              {"log_path", r.log_path},
              {"message", r.message}};
}

json RunsJson(const std::vector<store::PipelineScheduleRun>& runs) {
  json arr = json::array();
  for (const auto& r : runs) arr.push_back(RunJson(r));
  return arr;
}

Result<json> BodyObject(const http::Request& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  try {
    json j = json::parse(req.body);
    if (!j.is_object()) return BadRequest("The request body must be a JSON object");
    return j;
  } catch (const json::exception& e) {
    return BadRequest(std::string("Malformed JSON in request body: ") + e.what());
  }
}

Result<std::string> RequiredString(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    return InvalidArgument(std::string("Missing value for required parameter '") + name + "'");
  }
  if (!it->is_string()) {
    return InvalidArgument(std::string("Parameter '") + name + "' must be a string");
  }
  return it->get<std::string>();
}

Result<int64_t> LimitParam(const http::Request& req, std::string_view name, int64_t fallback) {
  std::optional<std::string> text = req.QueryParam(name);
  if (!text || text->empty()) return fallback;
  std::optional<int64_t> v = ParseInt64Text(*text);
  if (!v || *v <= 0 || *v > INT_MAX) {
    return InvalidArgument("Parameter '" + std::string(name) +
                           "' must be a positive integer, got '" + *text + "'");
  }
  return *v;
}

Result<std::string> Create(schedule::PipelineScheduleService& s, const http::Request& req) {
  CAIRN_ASSIGN_OR_RETURN(json body, BodyObject(req));
  schedule::NewSchedule n;
  CAIRN_ASSIGN_OR_RETURN(n.name, RequiredString(body, "name"));
  CAIRN_ASSIGN_OR_RETURN(n.cron, RequiredString(body, "cron"));
  CAIRN_ASSIGN_OR_RETURN(n.repo, RequiredString(body, "repo"));
  if (auto it = body.find("targets"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("Parameter 'targets' must be a list of step names");
    for (const json& t : *it) {
      if (!t.is_string()) {
        return InvalidArgument("Parameter 'targets' must be a list of step names");
      }
      n.targets.push_back(t.get<std::string>());
    }
  }
  if (auto it = body.find("jobs"); it != body.end() && !it->is_null()) {
    CAIRN_ASSIGN_OR_RETURN(int64_t jobs, JsonToInt64(*it, "jobs"));
    if (jobs < 0 || jobs > INT_MAX) {
      return InvalidArgument("Parameter 'jobs' must be between 0 (the default) and 256, got " +
                             std::to_string(jobs));
    }
    n.jobs = static_cast<int>(jobs);
  }
  if (auto it = body.find("enabled"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return InvalidArgument("Parameter 'enabled' must be true or false");
    n.enabled = it->get<bool>();
  }
  CAIRN_ASSIGN_OR_RETURN(store::PipelineSchedule created, s.Create(n));
  return Dump(json{{"schedule", ScheduleJson(created)}});
}

// PATCH {name} {"cron": "..."}: the only field that changes in place.
Result<std::string> Update(schedule::PipelineScheduleService& s, const http::Request& req,
                           const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(json body, BodyObject(req));
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "cron") {
      return InvalidArgument("Parameter '" + it.key() +
                             "' cannot be changed in place (only 'cron' can; delete and add the "
                             "schedule to change the rest)");
    }
  }
  CAIRN_ASSIGN_OR_RETURN(std::string cron, RequiredString(body, "cron"));
  CAIRN_ASSIGN_OR_RETURN(store::PipelineSchedule p, s.UpdateCron(name, cron));
  return Dump(json{{"schedule", ScheduleJson(p)}});
}

Result<std::string> List(schedule::PipelineScheduleService& s) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::PipelineSchedule> all, s.List());
  json arr = json::array();
  for (const auto& p : all) arr.push_back(ScheduleJson(p));
  return Dump(json{{"schedules", std::move(arr)}, {"runs_enabled", s.runs_enabled()}});
}

Result<std::string> Get(schedule::PipelineScheduleService& s, const http::Request& req,
                        const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(int64_t limit, LimitParam(req, "runs", kDefaultGetRuns));
  CAIRN_ASSIGN_OR_RETURN(store::PipelineSchedule p, s.Get(name));
  CAIRN_ASSIGN_OR_RETURN(auto runs, s.Runs(name, static_cast<int>(limit)));
  return Dump(json{{"schedule", ScheduleJson(p)}, {"runs", RunsJson(runs)}});
}

Result<std::string> Runs(schedule::PipelineScheduleService& s, const http::Request& req,
                         const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(int64_t limit, LimitParam(req, "limit", kDefaultRuns));
  CAIRN_ASSIGN_OR_RETURN(auto runs, s.Runs(name, static_cast<int>(limit)));
  return Dump(json{{"runs", RunsJson(runs)}});
}

Result<std::string> Resource(schedule::PipelineScheduleService& s, const http::Request& req) {
  const http::Method m = req.method;
  if (req.route_suffix.empty()) {
    if (m == http::Method::kGet) return List(s);
    if (m == http::Method::kPost) return Create(s, req);
    return NoEndpoint(req);
  }
  std::vector<std::string> segs = SplitPath(req.route_suffix);
  if (segs.empty() || segs.size() > 2 || segs[0].empty()) return NoEndpoint(req);
  const std::string& name = segs[0];
  if (segs.size() == 1) {
    if (m == http::Method::kGet) return Get(s, req, name);
    if (m == http::Method::kPatch) return Update(s, req, name);
    if (m == http::Method::kDelete) {
      CAIRN_RETURN_IF_ERROR(s.Delete(name));
      return std::string("{}");
    }
    return NoEndpoint(req);
  }
  const std::string& what = segs[1];
  if (m == http::Method::kPost && (what == "enable" || what == "disable")) {
    CAIRN_ASSIGN_OR_RETURN(store::PipelineSchedule p, s.SetEnabled(name, what == "enable"));
    return Dump(json{{"schedule", ScheduleJson(p)}});
  }
  if (m == http::Method::kPost && what == "trigger") {
    CAIRN_ASSIGN_OR_RETURN(store::PipelineScheduleRun r, s.Trigger(name));
    return Dump(json{{"run", RunJson(r)}});
  }
  if (m == http::Method::kGet && what == "runs") return Runs(s, req, name);
  return NoEndpoint(req);
}

}  // namespace

void MountPipelineScheduleRoutes(http::Router& router, schedule::PipelineScheduleService& service) {
  for (http::Method m :
       {http::Method::kGet, http::Method::kPost, http::Method::kPatch, http::Method::kDelete}) {
    router.Add(http::Route{m, std::string(kPrefix), /*prefix=*/true, http::BodyMode::kBuffer,
                           [&service](http::Request& req) -> http::Response {
                             Result<std::string> body = Resource(service, req);
                             if (!body) return http::ErrorResponse(body.error());
                             return http::Response::Json(200, std::move(*body));
                           }});
  }
}

}  // namespace cairn::api
