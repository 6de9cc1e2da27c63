#include "pipeline/lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "blob/blob_store.h"
#include "data/workspace.h"
#include "data/yaml_node.h"
#include "pipeline/param_value.h"

namespace cairn::pipeline {
namespace {

namespace fs = std::filesystem;
using internal::LineOf;

constexpr std::string_view kLockComment = "# Written by cairn repro. Commit it with cairn.yaml.";
constexpr std::string_view kDigestPrefix = "sha256:";
constexpr int kLockVersion = 1;

std::string Describe(const YAML::Node& node) { return data::DescribeYamlNode(node, "nothing"); }

bool IsYamlKeyword(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* k : {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}) {
    if (lower == k) return true;
  }
  return false;
}

// A YAML scalar for `s`: plain when no YAML reader can take it for anything
// but this string (also inside a flow collection), else double-quoted with
// JSON escapes (a subset of YAML's).
std::string YamlString(std::string_view s) {
  bool plain = !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_') &&
               std::all_of(s.begin(), s.end(),
                           [](char c) {
                             return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                                    c == '.' || c == '/' || c == '-' || c == '@' || c == '=';
                           }) &&
               !IsYamlKeyword(s);
  if (plain) return std::string(s);
  std::string out;
  internal::AppendJsonString(out, s);
  return out;
}

// A command as a block-context YAML value: plain when safe, else quoted.
std::string YamlCommand(std::string_view s) {
  bool plain = !s.empty() && !std::isspace(static_cast<unsigned char>(s.front())) &&
               !std::isspace(static_cast<unsigned char>(s.back())) && s.back() != ':' &&
               std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) == std::string_view::npos &&
               s.find(": ") == std::string_view::npos && s.find(" #") == std::string_view::npos &&
               std::all_of(s.begin(), s.end(),
                           [](char c) {
                             auto u = static_cast<unsigned char>(c);
                             return u >= 0x20 && u != 0x7f;
                           }) &&
               !IsYamlKeyword(s) && !internal::IsJsonNumber(s) && s != "~" &&
               s.find_first_not_of("0123456789.+-eE") != std::string_view::npos;
  if (plain) return std::string(s);
  std::string out;
  internal::AppendJsonString(out, s);
  return out;
}

std::string FormatLockedPath(const LockedPath& p) {
  std::string out = "{path: " + YamlString(p.path);
  out += ", kind: ";
  out += data::PointerKindName(p.kind);
  out += ", digest: sha256:" + p.digest;
  out += ", size: " + std::to_string(p.size);
  if (p.files) out += ", files: " + std::to_string(*p.files);
  out += '}';
  return out;
}

class LockParser {
 public:
  explicit LockParser(std::string_view file) : file_(file) {}

  Result<LockFile> Parse(std::string_view text) {
    try {
      return ParseUnsafe(text);
    } catch (const YAML::Exception& e) {
      return At(e.mark.line + 1, "invalid YAML: " + e.msg);
    }
  }

 private:
  Result<LockFile> ParseUnsafe(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      return At(e.mark.line + 1, "invalid YAML: " + e.msg);
    }
    LockFile lock;
    if (root.IsNull()) return lock;
    if (!root.IsMap()) {
      return At(LineOf(root),
                "cairn.lock must be a mapping of version and steps, not " + Describe(root));
    }
    bool have_version = false;
    std::set<std::string> seen;
    std::optional<YAML::Node> steps;
    for (const auto& kv : root) {
      const YAML::Node key = kv.first;
      CAIRN_ASSIGN_OR_RETURN(std::string name, Key(key, seen));
      if (name == "version") {
        const YAML::Node v = kv.second;
        if (!v.IsScalar() || v.Tag() != "?" || v.Scalar() != std::to_string(kLockVersion)) {
          return At(LineOf(v), fmt::format("unsupported version {} (this cairn reads version {})",
                                           Describe(v), kLockVersion));
        }
        have_version = true;
      } else if (name == "steps") {
        steps = kv.second;
      } else {
        return At(LineOf(key), "unknown key '" + name + "' (cairn.lock has version, steps)");
      }
    }
    if (!have_version) return At(LineOf(root), "missing key 'version'");
    if (!steps || steps->IsNull()) return lock;
    if (!steps->IsMap()) {
      return At(LineOf(*steps), "steps must be a mapping of step names, not " + Describe(*steps));
    }
    std::set<std::string> step_names;
    for (const auto& kv : *steps) {
      CAIRN_ASSIGN_OR_RETURN(std::string name, Key(kv.first, step_names));
      CAIRN_ASSIGN_OR_RETURN(LockedStep step, Step(kv.second, name, LineOf(kv.first)));
      lock.steps.emplace(std::move(name), std::move(step));
    }
    return lock;
  }

  Result<LockedStep> Step(const YAML::Node& node, const std::string& step_name, int name_line) {
    if (!node.IsMap()) {
      return At(LineOf(node),
                fmt::format("step '{}' must be a mapping, not {}", step_name, Describe(node)));
    }
    LockedStep step;
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const YAML::Node key = kv.first;
      const YAML::Node value = kv.second;
      CAIRN_ASSIGN_OR_RETURN(std::string name, Key(key, seen));
      std::string where = fmt::format("step '{}': ", step_name);
      if (name == "fingerprint") {
        CAIRN_ASSIGN_OR_RETURN(step.fingerprint, Digest(value, where + "fingerprint"));
      } else if (name == "cmd") {
        if (!value.IsScalar()) {
          return At(LineOf(value), where + "cmd must be a string, not " + Describe(value));
        }
        step.cmd = value.Scalar();
      } else if (name == "params") {
        if (value.IsNull()) continue;
        if (!value.IsMap()) {
          return At(LineOf(value), where + "params must be a mapping, not " + Describe(value));
        }
        std::set<std::string> keys;
        for (const auto& param : value) {
          CAIRN_ASSIGN_OR_RETURN(std::string param_key, Key(param.first, keys));
          CAIRN_ASSIGN_OR_RETURN(std::string json,
                                 internal::CanonicalJsonFromYaml(param.second, file_));
          step.params.emplace(std::move(param_key), std::move(json));
        }
      } else if (name == "deps" || name == "outs" || name == "metrics") {
        std::vector<LockedPath>& list =
            name == "deps" ? step.deps : (name == "outs" ? step.outs : step.metrics);
        CAIRN_ASSIGN_OR_RETURN(list, Paths(value, where + name, name != "deps"));
      } else {
        return At(LineOf(key), fmt::format("{}unknown key '{}' (a step has fingerprint, cmd, "
                                           "params, deps, outs, metrics)",
                                           where, name));
      }
    }
    if (!seen.contains("fingerprint")) {
      return At(name_line, fmt::format("step '{}': missing key 'fingerprint'", step_name));
    }
    if (!seen.contains("cmd")) {
      return At(name_line, fmt::format("step '{}': missing key 'cmd'", step_name));
    }
    return step;
  }

  Result<std::vector<LockedPath>> Paths(const YAML::Node& node, const std::string& what,
                                        bool repo_paths) {
    std::vector<LockedPath> out;
    if (node.IsNull()) return out;
    if (!node.IsSequence()) {
      return At(LineOf(node), what + " must be a list, not " + Describe(node));
    }
    for (const auto& item : node) {
      CAIRN_ASSIGN_OR_RETURN(LockedPath p, Path(item, what, repo_paths));
      out.push_back(std::move(p));
    }
    return out;
  }

  Result<LockedPath> Path(const YAML::Node& node, const std::string& what, bool repo_path) {
    if (!node.IsMap()) {
      return At(LineOf(node), what +
                                  ": an entry must be a mapping of path, kind, digest, size "
                                  "(and files), not " +
                                  Describe(node));
    }
    LockedPath p;
    std::set<std::string> seen;
    std::optional<YAML::Node> files;
    for (const auto& kv : node) {
      const YAML::Node key = kv.first;
      const YAML::Node value = kv.second;
      CAIRN_ASSIGN_OR_RETURN(std::string name, Key(key, seen));
      if (name == "path") {
        if (!value.IsScalar() || value.Scalar().empty()) {
          return At(LineOf(value),
                    what + ": path must be a non-empty string, not " + Describe(value));
        }
        p.path = value.Scalar();
        if (repo_path) {
          if (auto ok = data::ValidateRepoPath(p.path); !ok) {
            return At(LineOf(value), what + ": " + ok.error().message());
          }
        } else if (p.path.find('\0') != std::string::npos) {
          return At(LineOf(value), what + ": path has a NUL character");
        }
      } else if (name == "kind") {
        std::string kind = value.IsScalar() ? value.Scalar() : "";
        if (kind == "file") {
          p.kind = data::PointerKind::kFile;
        } else if (kind == "dir") {
          p.kind = data::PointerKind::kDir;
        } else {
          return At(LineOf(value), what + ": kind must be 'file' or 'dir', not " + Describe(value));
        }
      } else if (name == "digest") {
        CAIRN_ASSIGN_OR_RETURN(p.digest, Digest(value, what + ": digest"));
      } else if (name == "size") {
        CAIRN_ASSIGN_OR_RETURN(p.size, Count(value, what + ": size"));
      } else if (name == "files") {
        files = value;
      } else {
        return At(LineOf(key), fmt::format("{}: unknown key '{}' (an entry has path, kind, "
                                           "digest, size, files)",
                                           what, name));
      }
    }
    for (const char* required : {"path", "kind", "digest", "size"}) {
      if (!seen.contains(required)) {
        return At(LineOf(node), fmt::format("{}: missing key '{}'", what, required));
      }
    }
    if (files) {
      if (p.kind == data::PointerKind::kFile) {
        return At(LineOf(*files),
                  what + ": 'files' is only for kind: dir (" + p.path + " is kind: file)");
      }
      CAIRN_ASSIGN_OR_RETURN(uint64_t n, Count(*files, what + ": files"));
      p.files = n;
    } else if (p.kind == data::PointerKind::kDir) {
      return At(LineOf(node),
                what + ": missing key 'files' (required for kind: dir, " + p.path + ")");
    }
    return p;
  }

  Result<std::string> Key(const YAML::Node& key, std::set<std::string>& seen) {
    if (!key.IsScalar()) return At(LineOf(key), "a key must be a name, not " + Describe(key));
    const std::string& name = key.Scalar();
    if (!seen.insert(name).second) return At(LineOf(key), "key '" + name + "' is repeated");
    return name;
  }

  Result<std::string> Digest(const YAML::Node& node, const std::string& what) {
    std::string text = node.IsScalar() ? node.Scalar() : "";
    if (!text.starts_with(kDigestPrefix) ||
        !blob::IsValidDigest(std::string_view(text).substr(kDigestPrefix.size()))) {
      return At(LineOf(node), what +
                                  " must be 'sha256:' followed by 64 lowercase hex "
                                  "characters, not " +
                                  Describe(node));
    }
    return text.substr(kDigestPrefix.size());
  }

  Result<uint64_t> Count(const YAML::Node& node, const std::string& what) {
    if (!node.IsScalar() || node.Tag() != "?") {
      return At(LineOf(node), what + " must be a non-negative integer, not " + Describe(node));
    }
    const std::string& s = node.Scalar();
    if (s.empty() || s.size() > 20 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return At(LineOf(node), what + " must be a non-negative integer, not '" + s + "'");
    }
    uint64_t v = 0;
    for (char c : s) {
      auto d = static_cast<uint64_t>(c - '0');
      if (v > (UINT64_MAX - d) / 10) return At(LineOf(node), what + " '" + s + "' is too large");
      v = v * 10 + d;
    }
    return v;
  }

  std::unexpected<Error> At(int line, std::string_view what) const {
    return InvalidArgument(fmt::format("{}:{}: {}", file_, std::max(line, 1), what));
  }

  std::string file_;
};

}  // namespace

data::Pointer ToPointer(const LockedPath& locked) {
  data::Pointer p;
  std::string_view path = locked.path;
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  p.path = std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
  p.kind = locked.kind;
  p.digest = locked.digest;
  p.size = locked.size;
  p.files = locked.files;
  return p;
}

LockedPath FromPointer(std::string repo_path, const data::Pointer& pointer) {
  LockedPath p;
  p.path = std::move(repo_path);
  p.kind = pointer.kind;
  p.digest = pointer.digest;
  p.size = pointer.size;
  p.files = pointer.files;
  return p;
}

Result<LockFile> ParseLockFile(std::string_view text, std::string_view file_name) {
  return LockParser(file_name).Parse(text);
}

Result<LockFile> LoadLockFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT) return LockFile{};
    return Internal("cannot open '" + path + "': " + std::strerror(err));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Internal("cannot read '" + path + "'");
  return ParseLockFile(text.str(), path);
}

std::string FormatLockFile(const LockFile& lock) {
  std::string out;
  out += kLockComment;
  out += "\nversion: " + std::to_string(kLockVersion) + "\n";
  if (lock.steps.empty()) {
    out += "steps: {}\n";
    return out;
  }
  out += "steps:\n";
  for (const auto& [name, step] : lock.steps) {
    out += "  " + YamlString(name) + ":\n";
    out += "    fingerprint: sha256:" + step.fingerprint + "\n";
    out += "    cmd: " + YamlCommand(step.cmd) + "\n";
    if (!step.params.empty()) {
      out += "    params: {";
      bool first = true;
      for (const auto& [key, json] : step.params) {
        if (!first) out += ", ";
        first = false;
        out += YamlString(key) + ": " + json;
      }
      out += "}\n";
    }
    auto list = [&](std::string_view label, const std::vector<LockedPath>& paths) {
      if (paths.empty()) return;
      out += "    ";
      out += label;
      out += ":\n";
      for (const LockedPath& p : paths) out += "    - " + FormatLockedPath(p) + "\n";
    };
    list("deps", step.deps);
    list("outs", step.outs);
    list("metrics", step.metrics);
  }
  return out;
}

Status WriteLockFile(const std::string& path, const LockFile& lock) {
  std::string text = FormatLockFile(lock);
  fs::path file(path);
  fs::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  std::random_device rd;
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%08x%08x", rd(), rd());
  fs::path tmp = dir / ("." + file.filename().string() + ".tmp-" + suffix);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("cannot create '" + tmp.string() + "': " + std::strerror(errno));
  auto fail = [&](std::string_view what) -> Status {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return MakeError(err == ENOSPC ? ErrorCode::kResourceExhausted : ErrorCode::kInternal,
                     std::string(what) + " '" + path + "': " + std::strerror(err));
  };
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Internal("cannot write '" + path + "': " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Internal("cannot rename '" + tmp.string() + "' to '" + path +
                    "': " + std::strerror(err));
  }
  // Make the rename durable; a failure here loses nothing already visible.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace cairn::pipeline
