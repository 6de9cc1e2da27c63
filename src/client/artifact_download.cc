#include "client/artifact_download.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <system_error>

namespace cairn::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kMaxDepth = 64;

std::unexpected<Error> Unexpected(const std::string& what) {
  return Internal("unexpected response from the server: " + what);
}

Result<std::vector<FileInfo>> ListLocal(const ArtifactLocation& loc, const std::string& rel) {
  std::vector<FileInfo> out;
  fs::path dir = fs::path(loc.local_dir) / rel;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    FileInfo f;
    f.path = JoinArtifactPath(rel, entry.path().filename().string());
    f.is_dir = entry.is_directory(ec);
    f.file_size = f.is_dir ? -1 : static_cast<int64_t>(entry.file_size(ec));
    out.push_back(std::move(f));
  }
  if (ec) return Internal("cannot list '" + dir.string() + "': " + ec.message());
  return out;
}

Result<std::vector<FileInfo>> ListProxy(HttpTransport& transport, const ArtifactLocation& loc,
                                        const std::string& rel) {
  std::string url = loc.endpoint + "?" + QueryString({{"path", JoinArtifactPath(loc.root, rel)}});
  CAIRN_ASSIGN_OR_RETURN(HttpResponse r, transport.Send("GET", url));
  json j;
  try {
    j = r.body.empty() ? json::object() : json::parse(r.body);
  } catch (const json::exception& e) {
    return Unexpected(std::string("not JSON (") + e.what() + ")");
  }
  std::vector<FileInfo> out;
  if (!j.is_object()) return Unexpected("a listing is not a JSON object");
  auto files = j.find("files");
  if (files == j.end() || files->is_null()) return out;
  if (!files->is_array()) return Unexpected("'files' is not a list");
  for (const auto& e : *files) {
    if (!e.is_object() || !e.contains("path") || !e["path"].is_string()) {
      return Unexpected("a listed file has no path");
    }
    // Entries are relative to the listed folder; refuse any that would escape
    // it (a hostile server must not make us write outside dst).
    CAIRN_ASSIGN_OR_RETURN(std::string name, NormalizeArtifactPath(e["path"].get<std::string>()));
    if (name.empty()) return Unexpected("a listed file has an empty path");
    FileInfo f;
    f.path = JoinArtifactPath(rel, name);
    f.is_dir = e.value("is_dir", false);
    if (auto size = e.find("file_size"); size != e.end() && !size->is_null()) {
      if (size->is_number()) {
        f.file_size = size->get<int64_t>();
      } else if (size->is_string()) {
        f.file_size = std::strtoll(size->get<std::string>().c_str(), nullptr, 10);
      }
    }
    if (f.is_dir) f.file_size = -1;
    out.push_back(std::move(f));
  }
  // MLflow's servers answer a listing of a file with the file itself.
  if (!rel.empty() && out.size() == 1 && !out[0].is_dir &&
      out[0].path == JoinArtifactPath(rel, fs::path(rel).filename().string())) {
    out.clear();
  }
  return out;
}

Status GetFile(HttpTransport& transport, const ArtifactLocation& loc, const std::string& rel,
               const fs::path& dest) {
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) return Internal("cannot create '" + dest.parent_path().string() + "': " + ec.message());
  if (loc.kind == ArtifactLocation::Kind::kProxy) {
    return transport.Download(JoinUrl(loc.endpoint, JoinArtifactPath(loc.root, rel)),
                              dest.string());
  }
  fs::path src = fs::path(loc.local_dir) / rel;
  if (!fs::is_regular_file(src, ec)) {
    return NotFound("artifact '" + rel + "' does not exist (" + src.string() + ")");
  }
  fs::copy_file(src, dest, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    return Internal("cannot copy '" + src.string() + "' to '" + dest.string() +
                    "': " + ec.message());
  }
  return {};
}

Status DownloadTree(HttpTransport& transport, const ArtifactLocation& loc, const std::string& rel,
                    const fs::path& dst, int depth, int64_t* files) {
  if (depth > kMaxDepth) {
    return FailedPrecondition("artifact tree deeper than " + std::to_string(kMaxDepth) +
                              " levels at " + rel);
  }
  auto listing = ListArtifactFolder(transport, loc, rel);
  if (!listing && listing.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(listing.error());
  }
  // A folder lists its children; a file (or a missing path) lists as empty.
  bool is_dir = rel.empty() || (listing && !listing->empty());
  if (!is_dir && loc.kind == ArtifactLocation::Kind::kLocal) {
    std::error_code ec;
    is_dir = fs::is_directory(fs::path(loc.local_dir) / rel, ec);
  }
  if (!is_dir) {
    CAIRN_RETURN_IF_ERROR(GetFile(transport, loc, rel, dst / rel));
    if (files != nullptr) ++*files;
    return {};
  }
  std::error_code ec;
  fs::create_directories(dst / rel, ec);
  if (ec) return Internal("cannot create '" + (dst / rel).string() + "': " + ec.message());
  if (!listing) return {};
  for (const auto& f : *listing) {
    if (f.is_dir) {
      CAIRN_RETURN_IF_ERROR(DownloadTree(transport, loc, f.path, dst, depth + 1, files));
    } else {
      CAIRN_RETURN_IF_ERROR(GetFile(transport, loc, f.path, dst / f.path));
      if (files != nullptr) ++*files;
    }
  }
  return {};
}

}  // namespace

Result<std::vector<FileInfo>> ListArtifactFolder(HttpTransport& transport,
                                                 const ArtifactLocation& loc,
                                                 const std::string& rel) {
  Result<std::vector<FileInfo>> out = loc.kind == ArtifactLocation::Kind::kLocal
                                          ? ListLocal(loc, rel)
                                          : ListProxy(transport, loc, rel);
  if (out) {
    std::sort(out->begin(), out->end(),
              [](const FileInfo& a, const FileInfo& b) { return a.path < b.path; });
  }
  return out;
}

Status DownloadArtifactTree(HttpTransport& transport, const ArtifactLocation& loc,
                            const std::string& rel, const std::filesystem::path& dst,
                            int64_t* files) {
  return DownloadTree(transport, loc, rel, dst, 0, files);
}

}  // namespace cairn::client
