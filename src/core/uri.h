#pragma once
// URIs Cairn understands (see ARCHITECTURE.md, "URIs"):
//   sqlite:///abs/path.db, sqlite:///:memory:, postgresql://user:pw@host:port/db?k=v
//   file:///abs/path, http(s)://host:port/prefix, runs:/<run_id>/<path>,
//   mlflow-artifacts:/<path> (or mlflow-artifacts://host:port/<path>), models:/<name>/<v>
// Parsing is pure; no I/O.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace cairn {

struct Uri {
  std::string scheme;    // lowercase, without ':' ("sqlite", "postgresql", "file", ...)
  std::string user;      // percent-decoded
  std::string password;  // percent-decoded
  std::string host;      // empty for sqlite:///, file:///, runs:/ ...
  int port = 0;          // 0 when absent
  std::string path;      // percent-decoded; begins with '/' when present
  std::map<std::string, std::string> query;  // percent-decoded

  // Parses `text`. Unknown schemes parse generically; a missing scheme or a
  // bad port is kInvalidArgument naming the URI.
  static Result<Uri> Parse(std::string_view text);
};

// A local filesystem path from "file:///abs", "file:/abs" or a bare "/abs" or
// relative path (made absolute against the current directory).
Result<std::string> LocalPathFromUri(std::string_view uri_or_path);

// runs:/<run_id>/<path> -> {run_id, path}; kInvalidArgument otherwise.
struct RunsUri {
  std::string run_id;
  std::string path;
};
Result<RunsUri> ParseRunsUri(std::string_view text);

// Percent-decoding ('+' is left alone) and encoding of one path segment set.
Result<std::string> PercentDecode(std::string_view s);
std::string PercentEncode(std::string_view s, bool keep_slash);

}  // namespace cairn
