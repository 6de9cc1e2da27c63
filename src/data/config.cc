#include "data/config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "blob/local/posix_file.h"
#include "data/yaml_node.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kConfigComment = "# Cairn repository settings: commit this file.";
constexpr std::string_view kAcceptedForms =
    "an absolute folder path, file:///absolute/path, http://host[:port] or https://host[:port]";

int LineOf(const YAML::Node& node) { return YamlLine(node); }
std::string DescribeNode(const YAML::Node& node) { return DescribeYamlNode(node, "empty"); }

class ConfigParser {
 public:
  explicit ConfigParser(std::string_view file) : file_(file) {}

  Result<DataConfig> Parse(std::string_view text) {
    try {
      return ParseUnchecked(text);
    } catch (const YAML::Exception& e) {
      return At(e.mark.line, "invalid YAML: " + e.msg);
    }
  }

 private:
  Result<DataConfig> ParseUnchecked(std::string_view text) {
    DataConfig config;
    YAML::Node root = YAML::Load(std::string(text));
    if (root.IsNull() || !root.IsDefined()) return config;  // empty file
    if (!root.IsMap()) {
      return At(LineOf(root),
                "the configuration must be a mapping (remotes, default, jobs, "
                "cache), not " +
                    DescribeNode(root));
    }
    std::optional<std::pair<std::string, int>> default_remote;
    bool seen[4] = {};
    for (const auto& kv : root) {
      const YAML::Node key = kv.first;
      const YAML::Node value = kv.second;
      int line = LineOf(key);
      if (!key.IsScalar()) return At(line, "a key must be a name, not " + DescribeNode(key));
      const std::string& name = key.Scalar();
      int idx = name == "remotes"   ? 0
                : name == "default" ? 1
                : name == "jobs"    ? 2
                : name == "cache"   ? 3
                                    : -1;
      if (idx < 0) {
        return At(line, "unknown key '" + name +
                            "' (the configuration has remotes, default, "
                            "jobs, cache)");
      }
      if (seen[idx]) return At(line, "key '" + name + "' is repeated");
      seen[idx] = true;
      if (idx == 0) {
        if (value.IsNull()) continue;
        if (!value.IsMap()) {
          return At(line, "remotes must be a mapping of name: url, not " + DescribeNode(value));
        }
        for (const auto& r : value) {
          int rline = LineOf(r.first);
          if (!r.first.IsScalar()) return At(rline, "a remote name must be a string");
          const std::string& rname = r.first.Scalar();
          if (!IsValidRemoteName(rname)) {
            return At(rline, "invalid remote name '" + rname +
                                 "' (1-64 characters of A-Z a-z 0-9 . _ -, not starting "
                                 "with '.')");
          }
          if (!r.second.IsScalar() || r.second.Scalar().empty()) {
            return At(rline,
                      "remote '" + rname + "' must have a URL, not " + DescribeNode(r.second));
          }
          const std::string& url = r.second.Scalar();
          if (Status st = ValidateRemoteUrl(url); !st) {
            return At(LineOf(r.second), "remote '" + rname + "': " + st.error().message());
          }
          if (!config.remotes.emplace(rname, url).second) {
            return At(rline, "remote '" + rname + "' is repeated");
          }
        }
      } else if (idx == 1) {
        if (!value.IsScalar() || value.Scalar().empty()) {
          return At(line, "default must be a remote name, not " + DescribeNode(value));
        }
        default_remote.emplace(value.Scalar(), LineOf(value));
      } else if (idx == 2) {
        if (!value.IsScalar() || value.Tag() == "!") {
          return At(line, "jobs must be a non-negative integer, not " + DescribeNode(value));
        }
        const std::string& s = value.Scalar();
        if (s.empty() || s.size() > 6 ||
            !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          return At(line, "jobs must be a non-negative integer (at most 999999), not '" + s + "'");
        }
        config.jobs = std::stoi(s);
      } else {
        if (!value.IsScalar() || value.Scalar().empty()) {
          return At(line, "cache must be a folder path, not " + DescribeNode(value));
        }
        config.cache_dir = value.Scalar();
      }
    }
    if (default_remote) {
      if (!config.remotes.contains(default_remote->first)) {
        return At(default_remote->second,
                  "default '" + default_remote->first + "' names no remote" +
                      (config.remotes.empty() ? std::string(" (there are none)") : ""));
      }
      config.default_remote = default_remote->first;
    }
    return config;
  }

  std::unexpected<Error> At(int zero_based_line, std::string_view what) const {
    return InvalidArgument(file_ + ":" + std::to_string(std::max(zero_based_line, 0) + 1) + ": " +
                           std::string(what));
  }

  std::string file_;
};

// A YAML scalar for a remote URL or path: plain when safe, else double-quoted.
std::string YamlValue(std::string_view s) {
  bool plain =
      !s.empty() &&
      std::all_of(s.begin(), s.end(),
                  [](char c) {
                    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' || c == '-' ||
                           c == ':' || c == '@' || c == '+' || c == '~';
                  }) &&
      s.back() != ':' && s.find(": ") == std::string_view::npos &&
      ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '/' || s[0] == '_');
  if (plain) {
    // YAML 1.1 keywords read as booleans or null.
    std::string lower(s);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const char* k : {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}) {
      if (lower == k) plain = false;
    }
  }
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

Status WriteFileAtomic(const fs::path& file, std::string_view text) {
  fs::path tmp =
      file.parent_path() / ("." + file.filename().string() + "." + blob::local::TempName("tmp-"));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(blob::local::ErrnoError(errno, "cannot create", tmp.string()));
  int err = blob::local::WriteAll(fd, text.data(), text.size());
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), file.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return std::unexpected(blob::local::ErrnoError(err, "cannot write", file.string()));
  }
  return {};
}

}  // namespace

Result<std::pair<std::string, std::string>> DataConfig::ResolveRemote(std::string_view name) const {
  if (name.empty()) {
    if (!default_remote) {
      if (remotes.empty()) {
        return InvalidArgument(
            "no remote is configured; add one with: cairn data remote add NAME URL --default");
      }
      return InvalidArgument(
          "no default remote; pass --remote NAME or set one with: cairn data remote default NAME");
    }
    name = *default_remote;
  }
  auto it = remotes.find(std::string(name));
  if (it == remotes.end()) {
    if (remotes.empty()) {
      return NotFound("no remote named '" + std::string(name) +
                      "': none is configured; add one with: cairn data remote add NAME URL");
    }
    std::string known;
    for (const auto& [n, url] : remotes) known += (known.empty() ? "" : ", ") + n;
    return NotFound("no remote named '" + std::string(name) + "' (known: " + known + ")");
  }
  return std::pair<std::string, std::string>(it->first, it->second);
}

bool IsValidRemoteName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Status ValidateRemoteUrl(std::string_view url) {
  auto bad = [&](std::string_view why) -> Status {
    return InvalidArgument("remote URL '" + std::string(url) + "' " + std::string(why) + "; use " +
                           std::string(kAcceptedForms));
  };
  if (url.empty()) return bad("is empty");
  for (char c : url) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return bad("contains a control character");
    }
  }
  if (url.starts_with("/")) return {};
  if (url.starts_with("file://")) {
    std::string_view rest = url.substr(7);
    if (!rest.starts_with("/") || rest.size() < 2)
      return bad("is not file:// and an absolute path");
    return {};
  }
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return bad("has an unsupported form");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) return bad("has a query or fragment");
  std::string_view host_port = rest.substr(0, rest.find('/'));
  if (host_port.empty()) return bad("has no host");
  if (host_port.find('@') != std::string_view::npos) return bad("must not contain credentials");
  std::string_view host = host_port;
  if (host_port.front() == '[') {  // [::1]:5000
    size_t close = host_port.find(']');
    if (close == std::string_view::npos) return bad("has an unclosed IPv6 address");
    host = host_port.substr(0, close + 1);
    std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("has garbage after the host");
      std::string_view port = after.substr(1);
      if (port.empty() || port.size() > 5 ||
          !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stoi(std::string(port)) > 65535) {
        return bad("has an invalid port");
      }
    }
    return {};
  }
  size_t colon = host_port.find(':');
  if (colon != std::string_view::npos) {
    host = host_port.substr(0, colon);
    std::string_view port = host_port.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(port)) > 65535) {
      return bad("has an invalid port");
    }
  }
  if (host.empty()) return bad("has no host");
  for (char c : host) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    if (!ok) return bad("has an invalid host");
  }
  return {};
}

Result<DataConfig> ParseDataConfig(std::string_view yaml_text, std::string_view file_name) {
  return ConfigParser(file_name).Parse(yaml_text);
}

Result<DataConfig> LoadDataConfig(const Workspace& ws) {
  fs::path file = ws.ConfigFile();
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT) return DataConfig{};
    return Internal("cannot open '" + file.string() + "': " + std::strerror(err));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Internal("cannot read '" + file.string() + "'");
  return ParseDataConfig(text.str(), file.string());
}

std::string FormatDataConfig(const DataConfig& config) {
  std::string out(kConfigComment);
  out += '\n';
  if (config.remotes.empty()) {
    out += "remotes: {}\n";
  } else {
    out += "remotes:\n";
    for (const auto& [name, url] : config.remotes) {
      out += "  " + YamlValue(name) + ": " + YamlValue(url) + "\n";
    }
  }
  if (config.default_remote) out += "default: " + YamlValue(*config.default_remote) + "\n";
  if (config.jobs > 0) out += "jobs: " + std::to_string(config.jobs) + "\n";
  if (config.cache_dir) out += "cache: " + YamlValue(*config.cache_dir) + "\n";
  return out;
}

Status SaveDataConfig(const Workspace& ws, const DataConfig& config) {
  CAIRN_RETURN_IF_ERROR(blob::local::MakeDirs(ws.CairnDir().string()));
  return WriteFileAtomic(ws.ConfigFile(), FormatDataConfig(config));
}

std::string CacheDirFor(const Workspace& ws, const DataConfig& config) {
  if (config.cache_dir) {
    fs::path p(*config.cache_dir);
    if (p.is_relative()) p = ws.root / p;
    return p.lexically_normal().string();
  }
  return ws.CacheDir().string();
}

}  // namespace cairn::data
