#include "blob/artifact_path.h"

#include "core/ids.h"

#include <cstdio>

namespace cairn::blob {
namespace {

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

std::unexpected<Error> Refuse(std::string_view path, std::string_view why) {
  return InvalidArgument("invalid artifact path '" + PrintableArtifactPath(path) + "': " +
                         std::string(why));
}

}  // namespace

std::string PrintableArtifactPath(std::string_view path) {
  constexpr size_t kMaxShown = 300;
  std::string out;
  for (size_t i = 0; i < path.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(path[i]);
    if (IsControl(c) || c == '\'') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);  // UTF-8 passes through
    }
  }
  if (path.size() > kMaxShown) out += "...";
  return out;
}

Result<std::vector<std::string>> SplitArtifactPath(std::string_view path, bool allow_root) {
  if (path.empty()) {
    if (allow_root) return std::vector<std::string>{};
    return InvalidArgument("artifact path is empty");
  }
  if (path.size() > kMaxArtifactPathBytes) {
    return Refuse(path, "longer than " + std::to_string(kMaxArtifactPathBytes) + " bytes");
  }
  if (path.front() == '/') return Refuse(path, "absolute paths are not allowed");
  for (size_t i = 0; i < path.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(path[i]);
    if (c == '\0') return Refuse(path, "NUL bytes are not allowed");
    if (IsControl(c)) return Refuse(path, "control characters are not allowed");
    if (c == '\\') return Refuse(path, "backslashes are not allowed");
    if (c == '%' && i + 2 < path.size()) {
      int hi = HexDigitValue(path[i + 1]);
      int lo = HexDigitValue(path[i + 2]);
      if (hi >= 0 && lo >= 0) {
        unsigned char decoded = static_cast<unsigned char>(hi * 16 + lo);
        if (decoded == '/' || decoded == '.' || decoded == '\\' || IsControl(decoded)) {
          return Refuse(path,
                        "percent-encoded '/', '.', '\\' or control characters are not allowed");
        }
      }
    }
  }
  std::vector<std::string> segments;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    size_t length = slash == std::string_view::npos ? std::string_view::npos : slash - start;
    std::string_view seg = path.substr(start, length);
    if (seg.empty()) {
      return Refuse(path, "empty path segments ('//' or a trailing '/') are not allowed");
    }
    if (seg == "." || seg == "..") return Refuse(path, "'.' and '..' segments are not allowed");
    if (seg.size() > kMaxArtifactSegmentBytes) {
      return Refuse(path, "a segment is longer than " + std::to_string(kMaxArtifactSegmentBytes) +
                              " bytes");
    }
    segments.emplace_back(seg);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

}  // namespace cairn::blob
