#include "data/manifest.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_set>
#include <utility>

#include "blob/blob_store.h"
#include "core/hash.h"
#include "core/json_writer.h"
#include "data/workspace.h"

namespace cairn::data {
namespace {

constexpr std::string_view kFormat = "cairn-manifest";
constexpr int kVersion = 1;

// RFC 8785 string escaping: the short escapes JSON has, \u00xx for the other
// control characters, every other byte as is.
void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  AppendJsonEscaped(out, s);
  out += '"';
}

std::unexpected<Error> Bad(const std::string& where, std::string_view what) {
  return InvalidArgument("manifest: " + where + " " + std::string(what));
}

}  // namespace

uint64_t Manifest::TotalSize() const {
  uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  return total;
}

std::string CanonicalManifestJson(const Manifest& manifest) {
  std::vector<const ManifestEntry*> sorted;
  sorted.reserve(manifest.files.size());
  for (const auto& f : manifest.files) sorted.push_back(&f);
  if (!std::is_sorted(sorted.begin(), sorted.end(),
                      [](const auto* a, const auto* b) { return a->path < b->path; })) {
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->path < b->path; });
  }
  std::string out;
  out.reserve(64 + manifest.files.size() * 128);
  out += "{\"format\":\"cairn-manifest\",\"version\":1,\"files\":[";
  bool first = true;
  for (const ManifestEntry* f : sorted) {
    if (!first) out += ',';
    first = false;
    out += "{\"path\":";
    AppendJsonString(out, f->path);
    out += ",\"digest\":\"";
    out += f->digest;
    out += "\",\"size\":";
    out += std::to_string(f->size);
    out += ",\"exec\":";
    out += f->exec ? "true" : "false";
    out += '}';
  }
  out += "]}";
  return out;
}

std::string ManifestDigest(const Manifest& manifest) {
  return Sha256Hex(CanonicalManifestJson(manifest));
}

Result<Manifest> ParseManifest(std::string_view bytes) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("manifest: not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) return InvalidArgument("manifest: the document is not a JSON object");
  for (const auto& [key, value] : doc.items()) {
    if (key != "format" && key != "version" && key != "files") {
      return InvalidArgument("manifest: unknown key '" + key + "'");
    }
  }
  auto format = doc.find("format");
  if (format == doc.end() || !format->is_string() || format->get<std::string>() != kFormat) {
    return InvalidArgument("manifest: 'format' must be \"cairn-manifest\"");
  }
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer()) {
    return InvalidArgument("manifest: 'version' must be an integer");
  }
  if (version->get<int64_t>() != kVersion) {
    return InvalidArgument("manifest: version " + version->dump() +
                           " is not supported (this Cairn reads version 1)");
  }
  auto files = doc.find("files");
  if (files == doc.end() || !files->is_array()) {
    return InvalidArgument("manifest: 'files' must be a list");
  }
  Manifest m;
  m.files.reserve(files->size());
  for (size_t i = 0; i < files->size(); ++i) {
    const auto& e = (*files)[i];
    const std::string where = "files[" + std::to_string(i) + "]";
    if (!e.is_object()) return Bad(where, "is not an object");
    for (const auto& [key, value] : e.items()) {
      if (key != "path" && key != "digest" && key != "size" && key != "exec") {
        return Bad(where, "has an unknown key '" + key + "'");
      }
    }
    ManifestEntry entry;
    auto path = e.find("path");
    if (path == e.end() || !path->is_string()) return Bad(where + ".path", "must be a string");
    entry.path = path->get<std::string>();
    if (!IsCleanRelativePath(entry.path)) {
      return Bad(where + ".path",
                 "'" + entry.path + "' is not a relative path without '.', '..' or empty parts");
    }
    auto digest = e.find("digest");
    if (digest == e.end() || !digest->is_string() || !blob::IsValidDigest(digest->get<std::string>())) {
      return Bad(where + ".digest", "must be 64 lowercase hex characters");
    }
    entry.digest = digest->get<std::string>();
    auto size = e.find("size");
    if (size == e.end() || !size->is_number_unsigned()) {
      return Bad(where + ".size", "must be a non-negative integer");
    }
    entry.size = size->get<uint64_t>();
    auto exec = e.find("exec");
    if (exec == e.end() || !exec->is_boolean())
      return Bad(where + ".exec", "must be true or false");
    entry.exec = exec->get<bool>();
    if (!m.files.empty() && !(m.files.back().path < entry.path)) {
      return Bad(where + ".path", "'" + entry.path +
                                      "' is out of order or repeated (paths must "
                                      "be sorted by byte order, each once)");
    }
    m.files.push_back(std::move(entry));
  }
  // A path may not be both a file and a folder holding other files.
  std::unordered_set<std::string_view> paths;
  for (const auto& f : m.files) paths.insert(f.path);
  for (const auto& f : m.files) {
    for (size_t slash = f.path.find('/'); slash != std::string::npos;
         slash = f.path.find('/', slash + 1)) {
      if (paths.count(std::string_view(f.path).substr(0, slash))) {
        return InvalidArgument("manifest: '" + f.path.substr(0, slash) +
                               "' is listed as a file and as a folder of '" + f.path + "'");
      }
    }
  }
  return m;
}

Result<Manifest> BuildManifest(const std::filesystem::path& dir, const HashOptions& options,
                               HashStats* stats) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<HashedFile> files, HashTree(dir, options, stats));
  Manifest m;
  m.files.reserve(files.size());
  for (auto& f : files) {
    m.files.push_back({std::move(f.path), std::move(f.digest), f.stat.size, f.stat.exec});
  }
  return m;
}

}  // namespace cairn::data
