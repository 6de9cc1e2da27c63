#include "data/pointer.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "blob/blob_store.h"
#include "data/workspace.h"
#include "data/yaml_node.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDigestPrefix = "sha256:";
constexpr const char* kKeys[] = {"path", "kind", "digest", "size", "files"};

int LineOf(const YAML::Node& node) { return YamlLine(node); }
std::string Describe(const YAML::Node& node) { return DescribeYamlNode(node, "empty"); }

class PointerParser {
 public:
  explicit PointerParser(std::string_view file) : file_(file) {}

  Result<Pointer> Parse(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      return At(e.mark.line, "invalid YAML: " + e.msg);
    }
    if (!root.IsMap()) {
      return At(LineOf(root),
                "a pointer must be a mapping of path, kind, digest, size (and files), not " +
                    Describe(root));
    }
    Pointer p;
    YAML::Node values[std::size(kKeys)];
    int lines[std::size(kKeys)] = {};
    bool seen[std::size(kKeys)] = {};
    try {
      for (const auto& kv : root) {
        const YAML::Node key = kv.first;
        int line = LineOf(key);
        if (!key.IsScalar()) return At(line, "a key must be a name, not " + Describe(key));
        const std::string& name = key.Scalar();
        auto found = std::find_if(std::begin(kKeys), std::end(kKeys),
                                  [&](const char* k) { return name == k; });
        if (found == std::end(kKeys)) {
          return At(line,
                    "unknown key '" + name + "' (a pointer has path, kind, digest, size, files)");
        }
        size_t idx = static_cast<size_t>(found - std::begin(kKeys));
        if (seen[idx]) return At(line, "key '" + name + "' is repeated");
        seen[idx] = true;
        values[idx] = kv.second;
        lines[idx] = line;
      }
    } catch (const YAML::Exception& e) {
      return At(e.mark.line, "invalid YAML: " + e.msg);
    }
    int map_line = LineOf(root);
    for (size_t i = 0; i < 4; ++i) {
      if (!seen[i]) return At(map_line, std::string("missing key '") + kKeys[i] + "'");
    }
    // path
    CAIRN_ASSIGN_OR_RETURN(p.path, String(values[0], "path", lines[0]));
    if (!IsCleanRelativePath(p.path)) {
      return At(lines[0], "path '" + p.path +
                              "' must be relative to the pointer's folder, without '..', '.' or "
                              "empty parts");
    }
    // kind
    CAIRN_ASSIGN_OR_RETURN(std::string kind, String(values[1], "kind", lines[1]));
    if (kind == "file") {
      p.kind = PointerKind::kFile;
    } else if (kind == "dir") {
      p.kind = PointerKind::kDir;
    } else {
      return At(lines[1], "kind must be 'file' or 'dir', not '" + kind + "'");
    }
    // digest
    CAIRN_ASSIGN_OR_RETURN(std::string digest, String(values[2], "digest", lines[2]));
    if (!digest.starts_with(kDigestPrefix) || !blob::IsValidDigest(std::string_view(digest).substr(7))) {
      return At(
          lines[2],
          "digest must be 'sha256:' followed by 64 lowercase hex characters, not '" + digest + "'");
    }
    p.digest = digest.substr(kDigestPrefix.size());
    // size, files
    CAIRN_ASSIGN_OR_RETURN(p.size, Count(values[3], "size", lines[3]));
    if (seen[4]) {
      if (p.kind == PointerKind::kFile) {
        return At(lines[4], "'files' is only for kind: dir (this pointer is kind: file)");
      }
      CAIRN_ASSIGN_OR_RETURN(uint64_t files, Count(values[4], "files", lines[4]));
      p.files = files;
    } else if (p.kind == PointerKind::kDir) {
      return At(map_line, "missing key 'files' (required for kind: dir)");
    }
    return p;
  }

 private:
  std::unexpected<Error> At(int zero_based_line, std::string_view what) const {
    return InvalidArgument(file_ + ":" + std::to_string(std::max(zero_based_line, 0) + 1) + ": " +
                           std::string(what));
  }

  Result<std::string> String(const YAML::Node& node, std::string_view key, int line) const {
    if (!node.IsScalar()) {
      return At(line, std::string(key) + " must be a string, not " + Describe(node));
    }
    if (node.Scalar().empty()) return At(line, std::string(key) + " is empty");
    return node.Scalar();
  }

  // A non-negative decimal integer written as a plain (unquoted) scalar.
  Result<uint64_t> Count(const YAML::Node& node, std::string_view key, int line) const {
    if (!node.IsScalar()) {
      return At(line, std::string(key) + " must be a non-negative integer, not " + Describe(node));
    }
    const std::string& s = node.Scalar();
    if (node.Tag() == "!") {
      return At(line, std::string(key) + " must be a number, not the quoted string '" + s + "'");
    }
    if (s.empty() || s.size() > 20 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return At(line, std::string(key) + " must be a non-negative integer, not '" + s + "'");
    }
    uint64_t v = 0;
    for (char c : s) {
      uint64_t d = static_cast<uint64_t>(c - '0');
      if (v > (UINT64_MAX - d) / 10)
        return At(line, std::string(key) + " '" + s + "' is too large");
      v = v * 10 + d;
    }
    return v;
  }

  std::string file_;
};

bool IsYaml11Keyword(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* k : {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}) {
    if (lower == k) return true;
  }
  return false;
}

// A YAML scalar for `s`: plain when it cannot be mistaken for anything but a
// string by any YAML 1.1/1.2 reader, else double-quoted.
std::string YamlScalar(std::string_view s) {
  bool plain =
      !s.empty() && ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_') &&
      std::all_of(s.begin(), s.end(),
                  [](char c) {
                    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' || c == '-';
                  }) &&
      !IsYaml11Keyword(s);
  if (plain) return std::string(s);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::string_view PointerKindName(PointerKind kind) {
  return kind == PointerKind::kDir ? "dir" : "file";
}

Status ValidatePointer(const Pointer& p, std::string_view file_name) {
  const std::string f(file_name);
  if (!IsCleanRelativePath(p.path)) {
    return InvalidArgument(f + ": path '" + p.path +
                           "' must be relative, without '..', '.' or empty parts");
  }
  if (!blob::IsValidDigest(p.digest)) {
    return InvalidArgument(f + ": digest '" + p.digest + "' is not 64 lowercase hex characters");
  }
  if (p.kind == PointerKind::kFile && p.files) {
    return InvalidArgument(f + ": 'files' is only for kind: dir");
  }
  if (p.kind == PointerKind::kDir && !p.files) {
    return InvalidArgument(f + ": 'files' is required for kind: dir");
  }
  return {};
}

Result<Pointer> ParsePointer(std::string_view text, std::string_view file_name) {
  return PointerParser(file_name).Parse(text);
}

Result<Pointer> ReadPointer(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string msg = "cannot open pointer '" + file.string() + "': " + std::strerror(err);
    if (err == ENOENT) return NotFound(std::move(msg));
    return Internal(std::move(msg));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Internal("cannot read pointer '" + file.string() + "'");
  return ParsePointer(text.str(), file.string());
}

Result<std::string> FormatPointer(const Pointer& p) {
  CAIRN_RETURN_IF_ERROR(ValidatePointer(p, "pointer"));
  std::string out;
  out += kPointerComment;
  out += "\npath: ";
  out += YamlScalar(p.path);
  out += "\nkind: ";
  out += PointerKindName(p.kind);
  out += "\ndigest: sha256:";
  out += p.digest;
  out += "\nsize: ";
  out += std::to_string(p.size);
  if (p.files) {
    out += "\nfiles: ";
    out += std::to_string(*p.files);
  }
  out += '\n';
  return out;
}

Status WritePointer(const fs::path& file, const Pointer& pointer) {
  CAIRN_ASSIGN_OR_RETURN(std::string text, FormatPointer(pointer));
  std::random_device rd;
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%08x%08x", rd(), rd());
  fs::path tmp = file.parent_path() / ("." + file.filename().string() + ".tmp-" + suffix);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Internal("cannot create '" + tmp.string() + "': " + std::strerror(errno));
  }
  auto fail = [&](std::string_view what) -> Status {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Internal(std::string(what) + " '" + file.string() + "': " + std::strerror(err));
  };
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write pointer");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync pointer");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Internal("cannot write pointer '" + file.string() + "': " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Internal("cannot rename pointer into place '" + file.string() +
                    "': " + std::strerror(err));
  }
  return {};
}

}  // namespace cairn::data
