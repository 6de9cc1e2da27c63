#include "pipeline/plan.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "blob/blob_store.h"
#include "core/hash.h"
#include "core/log.h"
#include "data/workspace.h"
#include "pipeline/param_value.h"
#include "pipeline/params.h"

namespace cairn::pipeline {
namespace {

namespace fs = std::filesystem;
using internal::AppendJsonString;

constexpr std::string_view kRunFormat = "cairn-run";
constexpr int kRunVersion = 1;

// `path` is `dir` or lies inside it.
bool IsWithin(std::string_view path, std::string_view dir) {
  return path == dir ||
         (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

void AddStats(data::HashStats& total, const data::HashStats& s) {
  total.files += s.files;
  total.hashed += s.hashed;
  total.from_cache += s.from_cache;
  total.rehashed += s.rehashed;
  total.not_cached += s.not_cached;
  total.bytes_hashed += s.bytes_hashed;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out;
}

// ---- run cache entries as JSON ----

nlohmann::json PathJson(const LockedPath& p) {
  nlohmann::json j = {{"path", p.path},
                      {"kind", std::string(data::PointerKindName(p.kind))},
                      {"digest", p.digest},
                      {"size", p.size}};
  if (p.files) j["files"] = *p.files;
  return j;
}

std::optional<LockedPath> PathFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  for (const auto& [key, value] : j.items()) {
    (void)value;
    if (key != "path" && key != "kind" && key != "digest" && key != "size" && key != "files") {
      return std::nullopt;
    }
  }
  auto path = j.find("path");
  auto kind = j.find("kind");
  auto digest = j.find("digest");
  auto size = j.find("size");
  if (path == j.end() || !path->is_string() || kind == j.end() || !kind->is_string() ||
      digest == j.end() || !digest->is_string() || size == j.end() || !size->is_number_unsigned()) {
    return std::nullopt;
  }
  LockedPath p;
  p.path = path->get<std::string>();
  if (!data::ValidateRepoPath(p.path)) return std::nullopt;
  std::string k = kind->get<std::string>();
  if (k == "file") {
    p.kind = data::PointerKind::kFile;
  } else if (k == "dir") {
    p.kind = data::PointerKind::kDir;
  } else {
    return std::nullopt;
  }
  p.digest = digest->get<std::string>();
  if (!blob::IsValidDigest(p.digest)) return std::nullopt;
  p.size = size->get<uint64_t>();
  auto files = j.find("files");
  if (files != j.end()) {
    if (!files->is_number_unsigned() || p.kind != data::PointerKind::kDir) return std::nullopt;
    p.files = files->get<uint64_t>();
  } else if (p.kind == data::PointerKind::kDir) {
    return std::nullopt;
  }
  return p;
}

// Parses an entry; the error names what is wrong (for the debug log).
Result<RunCacheEntry> ParseRunEntry(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("not JSON: ") + e.what());
  }
  if (!j.is_object()) return InvalidArgument("not an object");
  auto format = j.find("format");
  auto version = j.find("version");
  if (format == j.end() || *format != kRunFormat || version == j.end() || *version != kRunVersion) {
    return InvalidArgument("not a cairn-run version 1 entry");
  }
  RunCacheEntry entry;
  auto step = j.find("step");
  if (step == j.end() || !step->is_string()) return InvalidArgument("no step");
  entry.step = step->get<std::string>();
  auto created = j.find("created_ms");
  if (created != j.end()) {
    if (!created->is_number_integer()) return InvalidArgument("created_ms is not an integer");
    entry.created_ms = created->get<int64_t>();
  }
  for (const char* list : {"outs", "metrics"}) {
    auto it = j.find(list);
    if (it == j.end()) continue;
    if (!it->is_array()) return InvalidArgument(std::string(list) + " is not a list");
    for (const auto& item : *it) {
      std::optional<LockedPath> p = PathFromJson(item);
      if (!p) return InvalidArgument(std::string("bad entry in ") + list + ": " + item.dump());
      (std::string_view(list) == "outs" ? entry.outs : entry.metrics).push_back(std::move(*p));
    }
  }
  return entry;
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  fs::path file(path);
  std::random_device rd;
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%08x%08x", rd(), rd());
  fs::path tmp = file.parent_path() / ("." + file.filename().string() + ".tmp-" + suffix);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("cannot create '" + tmp.string() + "': " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return MakeError(err == ENOSPC ? ErrorCode::kResourceExhausted : ErrorCode::kInternal,
                       "cannot write '" + path + "': " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Internal("cannot write '" + path + "': " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Internal("cannot rename into '" + path + "': " + std::strerror(err));
  }
  return {};
}

// ---- planning helpers ----

std::unexpected<Error> MissingDep(std::string_view step, std::string_view path) {
  return NotFound(fmt::format(
      "step '{}': dep {} does not exist (is it produced by a step, or tracked with cairn data "
      "add and not pulled?)",
      step, path));
}

LockedPath FromManifest(std::string path, const data::Manifest& manifest) {
  LockedPath p;
  p.path = std::move(path);
  p.kind = data::PointerKind::kDir;
  p.digest = data::ManifestDigest(manifest);
  p.size = manifest.TotalSize();
  p.files = manifest.files.size();
  return p;
}

// Describes deps and outs for one Planner: the workspace through the stat
// cache, with outs of restorable steps standing in for what is not there yet.
class Describer {
 public:
  Describer(data::Cache& cache, data::HashStats& stats) : cache_(cache), stats_(stats) {}

  // The workspace path as it is: nullopt when it does not exist.
  Result<std::optional<LockedPath>> Workspace(const std::string& path) {
    data::HashStats local;
    Result<data::Pointer> p = data::ValidateRepoPath(path) ? cache_.Describe(path, &local)
                                                           : DescribeOutside(path, &local);
    AddStats(stats_, local);
    if (!p) {
      if (p.error().code() == ErrorCode::kNotFound) return std::optional<LockedPath>();
      return std::unexpected(p.error());
    }
    return std::optional<LockedPath>(FromPointer(path, *p));
  }

  // A dep: stand-ins first (a restorable upstream step's outs), else the
  // workspace. kNotFound (the header's message) when it is nowhere.
  Result<LockedPath> Dep(const std::string& path, const std::vector<LockedPath>& standins,
                         std::string_view step) {
    std::vector<const LockedPath*> inside;  // stand-ins within `path`
    for (const LockedPath& s : standins) {
      if (s.path == path) {
        LockedPath p = s;
        return p;
      }
      if (IsWithin(path, s.path)) return WithinStandin(path, s, step);
      if (IsWithin(s.path, path)) inside.push_back(&s);
    }
    if (!inside.empty()) return Overlay(path, inside);
    CAIRN_ASSIGN_OR_RETURN(std::optional<LockedPath> p, Workspace(path));
    if (!p) return MissingDep(step, path);
    return std::move(*p);
  }

 private:
  // A dep outside the repository (absolute, or climbing with ".."): hashed
  // where it is, through the stat cache.
  Result<data::Pointer> DescribeOutside(const std::string& path, data::HashStats* stats) {
    fs::path abs =
        fs::path(path).is_absolute() ? fs::path(path) : cache_.workspace().root / fs::path(path);
    struct stat st;
    if (::lstat(abs.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return NotFound("'" + path + "' does not exist");
      return Internal("cannot stat '" + abs.string() + "': " + std::strerror(errno));
    }
    data::Pointer p;
    p.path = abs.filename().string();
    if (p.path.empty()) p.path = "root";
    if (S_ISDIR(st.st_mode)) {
      CAIRN_ASSIGN_OR_RETURN(data::Manifest m,
                             data::BuildManifest(abs, cache_.hash_options(), stats));
      p.kind = data::PointerKind::kDir;
      p.digest = data::ManifestDigest(m);
      p.size = m.TotalSize();
      p.files = m.files.size();
      return p;
    }
    CAIRN_ASSIGN_OR_RETURN(auto hashed,
                           data::HashFiles({abs.string()}, cache_.hash_options(), stats));
    p.kind = data::PointerKind::kFile;
    p.digest = hashed[0].digest;
    p.size = hashed[0].stat.size;
    return p;
  }

  // `path` lies inside the stand-in folder `s`: read from its manifest.
  Result<LockedPath> WithinStandin(const std::string& path, const LockedPath& s,
                                   std::string_view step) {
    if (s.kind != data::PointerKind::kDir) return MissingDep(step, path);
    CAIRN_ASSIGN_OR_RETURN(data::Manifest m, cache_.LoadManifest(s.digest));
    std::string rel = path.substr(s.path.size() + 1);
    data::Manifest sub;
    for (const data::ManifestEntry& e : m.files) {
      if (e.path == rel) {
        return LockedPath{path, data::PointerKind::kFile, e.digest, e.size, std::nullopt};
      }
      if (IsWithin(e.path, rel)) {
        data::ManifestEntry inner = e;
        inner.path = e.path.substr(rel.size() + 1);
        sub.files.push_back(std::move(inner));
      }
    }
    if (sub.files.empty()) return MissingDep(step, path);
    return FromManifest(path, sub);
  }

  // The folder `path` as it will be once the stand-ins inside it are restored.
  Result<LockedPath> Overlay(const std::string& path,
                             const std::vector<const LockedPath*>& inside) {
    data::Manifest m;
    if (data::ValidateRepoPath(path)) {
      data::HashStats local;
      auto described = cache_.DescribeWithManifest(path, &local);
      AddStats(stats_, local);
      if (described) {
        if (described->first.kind == data::PointerKind::kDir) m = std::move(described->second);
      } else if (described.error().code() != ErrorCode::kNotFound) {
        return std::unexpected(described.error());
      }
    }
    for (const LockedPath* s : inside) {
      std::string rel = s->path.substr(path.size() + 1);
      std::erase_if(m.files, [&](const data::ManifestEntry& e) { return IsWithin(e.path, rel); });
      if (s->kind == data::PointerKind::kFile) {
        m.files.push_back({rel, s->digest, s->size, false});
      } else {
        CAIRN_ASSIGN_OR_RETURN(data::Manifest inner, cache_.LoadManifest(s->digest));
        for (data::ManifestEntry& e : inner.files) {
          e.path = rel + "/" + e.path;
          m.files.push_back(std::move(e));
        }
      }
    }
    std::sort(
        m.files.begin(), m.files.end(),
        [](const data::ManifestEntry& a, const data::ManifestEntry& b) { return a.path < b.path; });
    return FromManifest(path, m);
  }

  data::Cache& cache_;
  data::HashStats& stats_;
};

const LockedPath* FindPath(const std::vector<LockedPath>& paths, std::string_view path) {
  for (const LockedPath& p : paths) {
    if (p.path == path) return &p;
  }
  return nullptr;
}

// The step's outs then metrics files, as written.
std::vector<std::string> OutputPaths(const Step& step) {
  std::vector<std::string> out;
  for (const PathEntry& e : step.outs) out.push_back(e.path);
  for (const PathEntry& e : step.metrics) out.push_back(e.path);
  return out;
}

// Stale reasons by kind, joined in the header's order.
struct Reasons {
  bool forced = false;
  bool never_run = false;
  bool cmd_changed = false;
  bool env_changed = false;
  std::vector<std::string> params;
  std::vector<std::string> deps;
  std::vector<std::string> outs;
  std::vector<std::string> upstream;

  std::vector<std::string> Join() const {
    std::vector<std::string> out;
    if (forced) out.push_back("forced");
    if (never_run) out.push_back("never run");
    if (cmd_changed) out.push_back("cmd changed");
    if (env_changed) out.push_back("env changed");
    for (const auto* list : {&params, &deps, &outs, &upstream}) {
      out.insert(out.end(), list->begin(), list->end());
    }
    return out;
  }
};

void DiffParams(const std::map<std::string, std::string>& old_params,
                const std::map<std::string, std::string>& new_params, Reasons& r) {
  std::set<std::string> keys;
  for (const auto& [k, v] : old_params) keys.insert(k);
  for (const auto& [k, v] : new_params) keys.insert(k);
  for (const std::string& k : keys) {
    auto o = old_params.find(k);
    auto n = new_params.find(k);
    if (o == old_params.end()) {
      r.params.push_back(fmt::format("param {} added", k));
    } else if (n == new_params.end()) {
      r.params.push_back(fmt::format("param {} removed", k));
    } else if (o->second != n->second) {
      r.params.push_back(fmt::format("param {} {} -> {}", k, o->second, n->second));
    }
  }
}

// `known` holds the deps whose digest is known; `declared` every dep path of
// the step (a declared dep missing from `known` waits on an upstream step and
// is not compared).
void DiffDeps(const std::vector<LockedPath>& locked, const std::vector<LockedPath>& known,
              const std::vector<std::string>& declared, Reasons& r) {
  for (const LockedPath& d : known) {
    const LockedPath* old = FindPath(locked, d.path);
    if (old == nullptr) {
      r.deps.push_back(fmt::format("dep {} added", d.path));
    } else if (old->digest != d.digest || old->kind != d.kind) {
      r.deps.push_back(fmt::format("dep {} changed", d.path));
    }
  }
  for (const LockedPath& old : locked) {
    if (std::find(declared.begin(), declared.end(), old.path) == declared.end()) {
      r.deps.push_back(fmt::format("dep {} removed", old.path));
    }
  }
}

}  // namespace

// ---- fingerprints ----

std::string FingerprintInput(const Step& step, const std::map<std::string, std::string>& params,
                             const std::vector<LockedPath>& deps) {
  std::vector<const LockedPath*> sorted;
  sorted.reserve(deps.size());
  for (const LockedPath& d : deps) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const LockedPath* a, const LockedPath* b) { return a->path < b->path; });
  std::string out = "{\"cmd\":";
  AppendJsonString(out, step.cmd);
  out += ",\"deps\":[";
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i) out += ',';
    out += "{\"digest\":";
    AppendJsonString(out, sorted[i]->digest);
    out += ",\"path\":";
    AppendJsonString(out, sorted[i]->path);
    out += '}';
  }
  out += "],\"env\":{";
  bool first = true;
  for (const auto& [name, value] : step.env) {  // std::map: sorted by bytes
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, name);
    out += ':';
    AppendJsonString(out, value);
  }
  out += "},\"params\":{";
  first = true;
  for (const auto& [key, json] : params) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, key);
    out += ':';
    out += json;
  }
  out += "}}";
  return out;
}

std::string ComputeFingerprint(const Step& step, const std::map<std::string, std::string>& params,
                               const std::vector<LockedPath>& deps) {
  return Sha256Hex(FingerprintInput(step, params, deps));
}

// ---- run cache ----

Result<std::optional<RunCacheEntry>> RunCache::Lookup(std::string_view fingerprint) const {
  if (!blob::IsValidDigest(fingerprint)) {
    return InvalidArgument("run cache: '" + std::string(fingerprint) +
                           "' is not a fingerprint (64 lowercase hex characters)");
  }
  std::string path = dir_ + "/" + std::string(fingerprint) + ".json";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT) return std::optional<RunCacheEntry>();
    return Internal("cannot open '" + path + "': " + std::strerror(err));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Internal("cannot read '" + path + "'");
  auto entry = ParseRunEntry(text.str());
  if (!entry) {
    CAIRN_LOG_DEBUG("run cache entry ignored path={} why={}", path, entry.error().message());
    return std::optional<RunCacheEntry>();
  }
  return std::optional<RunCacheEntry>(std::move(*entry));
}

Status RunCache::Record(std::string_view fingerprint, const RunCacheEntry& entry) const {
  if (!blob::IsValidDigest(fingerprint)) {
    return InvalidArgument("run cache: '" + std::string(fingerprint) +
                           "' is not a fingerprint (64 lowercase hex characters)");
  }
  nlohmann::json j = {{"format", kRunFormat},
                      {"version", kRunVersion},
                      {"step", entry.step},
                      {"created_ms", entry.created_ms}};
  j["outs"] = nlohmann::json::array();
  for (const LockedPath& p : entry.outs) j["outs"].push_back(PathJson(p));
  j["metrics"] = nlohmann::json::array();
  for (const LockedPath& p : entry.metrics) j["metrics"].push_back(PathJson(p));
  std::string text;
  try {
    text = j.dump();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("run cache entry is not valid UTF-8: ") + e.what());
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Internal("cannot create '" + dir_ + "': " + ec.message());
  return WriteFileAtomically(dir_ + "/" + std::string(fingerprint) + ".json", text + "\n");
}

// ---- the planner ----

std::string_view StepStatusName(StepStatus status) {
  switch (status) {
    case StepStatus::kUpToDate:
      return "up to date";
    case StepStatus::kRestorable:
      return "cached";
    case StepStatus::kStale:
      return "stale";
  }
  return "stale";
}

Planner::Planner(data::Cache& cache, const Dag& dag, LockFile lock, PlanOptions options)
    : cache_(cache),
      dag_(dag),
      lock_(std::move(lock)),
      options_(options),
      run_cache_(cache.RunsDir()) {}

Result<std::vector<std::string>> Planner::Select(const std::vector<std::string>& targets) const {
  const std::vector<std::string>& order = dag_.TopologicalOrder();
  if (targets.empty()) return order;
  std::set<std::string> selected;
  for (const std::string& target : targets) {
    std::vector<std::string> matches;
    if (dag_.spec().Find(target) != nullptr) {
      matches.push_back(target);
    } else {
      for (const Step& s : dag_.spec().steps) {
        if (s.base_name == target) matches.push_back(s.name);
      }
    }
    if (matches.empty()) {
      return NotFound(fmt::format("unknown step '{}' (steps: {})", target, JoinNames(order)));
    }
    for (const std::string& m : matches) {
      selected.insert(m);
      CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> up, dag_.Upstream(m));
      selected.insert(up.begin(), up.end());
    }
  }
  std::vector<std::string> out;
  for (const std::string& name : order) {
    if (selected.contains(name)) out.push_back(name);
  }
  return out;
}

namespace {

// The planning of one step (PlanStep and PlanAll share it).
class StepPlanner {
 public:
  StepPlanner(data::Cache& cache, const Dag& dag, const LockFile& lock, const PlanOptions& options,
              const RunCache& run_cache, data::HashStats& stats)
      : cache_(cache),
        dag_(dag),
        lock_(lock),
        options_(options),
        run_cache_(run_cache),
        describer_(cache, stats) {}

  // Full plan: every dep known (stand-ins first).
  Result<StepPlan> Plan(std::string_view name, const std::vector<LockedPath>& standins) {
    CAIRN_ASSIGN_OR_RETURN(const Step* step, Find(name));
    StepPlan plan;
    plan.step = step->name;
    CAIRN_ASSIGN_OR_RETURN(plan.params,
                           ReadParams(cache_.workspace().root, step->params, step->name));
    std::vector<std::string> declared;
    for (const PathEntry& dep : step->deps) {
      CAIRN_ASSIGN_OR_RETURN(LockedPath d, describer_.Dep(dep.path, standins, step->name));
      plan.deps.push_back(std::move(d));
      declared.push_back(dep.path);
    }
    plan.fingerprint = ComputeFingerprint(*step, plan.params, plan.deps);
    const LockedStep* locked = Locked(step->name);

    Reasons reasons;
    reasons.forced = options_.force;
    if (locked != nullptr) {
      CAIRN_RETURN_IF_ERROR(DiffOuts(*step, *locked, reasons));
    }
    if (!options_.force && locked != nullptr && locked->fingerprint == plan.fingerprint &&
        reasons.outs.empty()) {
      plan.status = StepStatus::kUpToDate;
      return plan;
    }
    if (!options_.force && options_.use_run_cache) {
      CAIRN_ASSIGN_OR_RETURN(std::optional<RunCacheEntry> entry,
                             run_cache_.Lookup(plan.fingerprint));
      if (entry) {
        CAIRN_ASSIGN_OR_RETURN(bool usable, Restorable(*step, *entry));
        if (usable) {
          plan.status = StepStatus::kRestorable;
          plan.cached = std::move(entry);
          return plan;
        }
      }
      // No run cache entry (a fresh clone: the run cache is local), but the
      // lock recorded this very fingerprint and `cairn data pull` may have
      // fetched its outs.
      if (locked != nullptr && locked->fingerprint == plan.fingerprint) {
        RunCacheEntry from_lock{step->name, 0, locked->outs, locked->metrics};
        CAIRN_ASSIGN_OR_RETURN(bool usable, Restorable(*step, from_lock));
        if (usable) {
          plan.status = StepStatus::kRestorable;
          plan.cached = std::move(from_lock);
          return plan;
        }
      }
    }
    plan.status = StepStatus::kStale;
    if (locked == nullptr) {
      reasons.never_run = true;
    } else {
      reasons.cmd_changed = locked->cmd != step->cmd;
      DiffParams(locked->params, plan.params, reasons);
      DiffDeps(locked->deps, plan.deps, declared, reasons);
      // The lock does not keep env: a fingerprint that moved while cmd,
      // params and deps did not can only be env.
      reasons.env_changed = locked->fingerprint != plan.fingerprint && !reasons.cmd_changed &&
                            reasons.params.empty() && reasons.deps.empty();
    }
    plan.reasons = reasons.Join();
    return plan;
  }

  // A step with upstream steps that will run: no fingerprint; the reasons
  // that can be known now, then one per upstream step that will run.
  Result<StepPlan> PlanBehind(std::string_view name, const std::vector<std::string>& running,
                              const std::set<std::string>& will_run,
                              const std::vector<LockedPath>& standins) {
    CAIRN_ASSIGN_OR_RETURN(const Step* step, Find(name));
    CAIRN_ASSIGN_OR_RETURN(std::vector<DepSource> sources, dag_.Deps(step->name));
    StepPlan plan;
    plan.step = step->name;
    plan.status = StepStatus::kStale;
    CAIRN_ASSIGN_OR_RETURN(plan.params,
                           ReadParams(cache_.workspace().root, step->params, step->name));
    std::vector<LockedPath> known;
    std::vector<std::string> declared;
    for (const DepSource& source : sources) {
      declared.push_back(source.path);
      bool pending = std::any_of(source.producers.begin(), source.producers.end(),
                                 [&](const std::string& p) { return will_run.contains(p); });
      if (pending) continue;
      CAIRN_ASSIGN_OR_RETURN(LockedPath d, describer_.Dep(source.path, standins, step->name));
      known.push_back(std::move(d));
    }
    Reasons reasons;
    reasons.forced = options_.force;
    const LockedStep* locked = Locked(step->name);
    if (locked == nullptr) {
      reasons.never_run = true;
    } else {
      reasons.cmd_changed = locked->cmd != step->cmd;
      DiffParams(locked->params, plan.params, reasons);
      DiffDeps(locked->deps, known, declared, reasons);
      CAIRN_RETURN_IF_ERROR(DiffOuts(*step, *locked, reasons));
    }
    for (const std::string& up : running)
      reasons.upstream.push_back(fmt::format("upstream '{}' will run", up));
    plan.reasons = reasons.Join();
    return plan;
  }

 private:
  Result<const Step*> Find(std::string_view name) const {
    const Step* step = dag_.spec().Find(name);
    if (step == nullptr) {
      return NotFound(
          fmt::format("unknown step '{}' (steps: {})", name, JoinNames(dag_.TopologicalOrder())));
    }
    return step;
  }

  const LockedStep* Locked(const std::string& name) const {
    auto it = lock_.steps.find(name);
    return it == lock_.steps.end() ? nullptr : &it->second;
  }

  // "out X missing" / "out X modified" for each out and metrics file that
  // the workspace does not hold as the lock recorded it.
  Status DiffOuts(const Step& step, const LockedStep& locked, Reasons& reasons) {
    for (const std::string& path : OutputPaths(step)) {
      const LockedPath* recorded = FindPath(locked.outs, path);
      if (recorded == nullptr) recorded = FindPath(locked.metrics, path);
      CAIRN_ASSIGN_OR_RETURN(std::optional<LockedPath> now, describer_.Workspace(path));
      if (!now) {
        reasons.outs.push_back(fmt::format("out {} missing", path));
      } else if (recorded == nullptr || recorded->digest != now->digest ||
                 recorded->kind != now->kind) {
        reasons.outs.push_back(fmt::format("out {} modified", path));
      }
    }
    return {};
  }

  // The entry holds every out and metrics file of the step and the local
  // cache has all their objects.
  Result<bool> Restorable(const Step& step, const RunCacheEntry& entry) {
    for (const std::string& path : OutputPaths(step)) {
      if (FindPath(entry.outs, path) == nullptr && FindPath(entry.metrics, path) == nullptr) {
        return false;
      }
    }
    for (const auto* list : {&entry.outs, &entry.metrics}) {
      for (const LockedPath& p : *list) {
        auto missing = cache_.MissingObjects(ToPointer(p));
        if (!missing) {
          if (missing.error().code() == ErrorCode::kNotFound) return false;
          return std::unexpected(missing.error());
        }
        if (!missing->empty()) return false;
      }
    }
    return true;
  }

  data::Cache& cache_;
  const Dag& dag_;
  const LockFile& lock_;
  const PlanOptions& options_;
  const RunCache& run_cache_;
  Describer describer_;
};

}  // namespace

Result<StepPlan> Planner::PlanStep(std::string_view step) {
  StepPlanner planner(cache_, dag_, lock_, options_, run_cache_, hash_stats_);
  return planner.Plan(step, {});
}

Result<std::vector<StepPlan>> Planner::PlanAll(const std::vector<std::string>& steps) {
  StepPlanner planner(cache_, dag_, lock_, options_, run_cache_, hash_stats_);
  std::set<std::string> will_run;
  std::vector<LockedPath> standins;  // outs of restorable steps, not in the workspace yet
  std::vector<StepPlan> plans;
  plans.reserve(steps.size());
  for (const std::string& name : steps) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> parents, dag_.Parents(name));
    std::vector<std::string> running;
    for (const std::string& p : parents) {
      if (will_run.contains(p)) running.push_back(p);
    }
    StepPlan plan;
    if (!running.empty()) {
      CAIRN_ASSIGN_OR_RETURN(plan, planner.PlanBehind(name, running, will_run, standins));
    } else {
      CAIRN_ASSIGN_OR_RETURN(plan, planner.Plan(name, standins));
    }
    if (plan.status == StepStatus::kStale) {
      will_run.insert(plan.step);
    } else if (plan.status == StepStatus::kRestorable && plan.cached) {
      for (const auto* list : {&plan.cached->outs, &plan.cached->metrics}) {
        standins.insert(standins.end(), list->begin(), list->end());
      }
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

}  // namespace cairn::pipeline
