#pragma once
// .cairn/config.yaml (docs/pipelines.md, "Files in the repository"): the
// repository's data settings, committed to git.
//
//   # Cairn repository settings: commit this file.
//   remotes:
//     shared: /mnt/share/cairn-cache        # a folder (or file:///...)
//     server: http://mlops.internal:5000    # a Cairn server (http:// or https://)
//   default: shared                          # the remote push/pull use without --remote
//   jobs: 8                                  # hashing / transfer threads (0 or absent: cores)
//   cache: /fast/disk/cairn-cache            # optional cache folder (default .cairn/cache)
//
// Reading is strict (unknown keys, wrong types, a default naming no remote,
// a remote URL with another scheme: kInvalidArgument "<file>:<line>: ...").
// A missing file is an empty configuration. Writing is canonical (the comment,
// keys in the order above, remotes sorted by name) and atomic (temp + rename).
//
// Remote names: 1-64 characters of [A-Za-z0-9._-], not starting with '.'.
//
// Thread safety: free functions on values.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "data/workspace.h"

namespace cairn::data {

struct DataConfig {
  std::map<std::string, std::string> remotes;  // name -> url as written
  std::optional<std::string> default_remote;
  int jobs = 0;                                // 0: hardware concurrency
  std::optional<std::string> cache_dir;        // absolute, or relative to the root

  // The remote `name`, or the default when `name` is empty. kNotFound naming
  // the known remotes (or saying how to add one) otherwise; kInvalidArgument
  // when `name` is empty and there is no default.
  Result<std::pair<std::string, std::string>> ResolveRemote(std::string_view name) const;
};

// True when `name` is a valid remote name (above).
bool IsValidRemoteName(std::string_view name);

// Checks a remote URL: an absolute local path, file://<absolute path>,
// http://host[:port] or https://... (no query or fragment). kInvalidArgument
// naming the URL and the accepted forms otherwise.
Status ValidateRemoteUrl(std::string_view url);

Result<DataConfig> ParseDataConfig(std::string_view yaml_text, std::string_view file_name);
// Reads ws.ConfigFile(); an absent file is an empty configuration.
Result<DataConfig> LoadDataConfig(const Workspace& ws);
std::string FormatDataConfig(const DataConfig& config);
// FormatDataConfig, then an atomic write of ws.ConfigFile().
Status SaveDataConfig(const Workspace& ws, const DataConfig& config);

// The cache folder for `ws` under `config` (config.cache_dir resolved against
// the root, else ws.CacheDir()).
std::string CacheDirFor(const Workspace& ws, const DataConfig& config);

}  // namespace cairn::data
