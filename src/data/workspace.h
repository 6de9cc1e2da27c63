#pragma once
// The data-versioning workspace: the repository root and its .cairn/ folder
// (docs/pipelines.md, "Files in the repository"), and the one place that turns
// a path a user typed into a repository path.
//
// A repository path ("repo path") is relative to the root, '/'-separated,
// lexically normal (no "", "." or ".." components), never the root itself and
// never inside .cairn/ or .git/. Every tracked path the data commands store or compare
// is a repo path, so two spellings of one file ("./a/../b", "/abs/repo/b")
// are one key.
//
// Errors: kNotFound (no repository above a folder: the message says how to
// make one), kInvalidArgument (a path outside the repository, escaping it with
// "..", the root itself or the .cairn folder; the message names the path as
// typed), kInternal (file system errors, naming the path and errno text).
//
// Thread safety: all functions are thread-safe (they touch no shared state);
// InitWorkspace racing another InitWorkspace on one root is safe (files are
// created with O_EXCL semantics or left alone when present).

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"

namespace cairn::data {

// The name of the workspace folder at the repository root.
inline constexpr std::string_view kCairnDirName = ".cairn";

struct Workspace {
  // Absolute, canonical (symlinks resolved) repository root.
  std::filesystem::path root;

  std::filesystem::path CairnDir() const { return root / kCairnDirName; }
  std::filesystem::path ConfigFile() const { return CairnDir() / "config.yaml"; }
  std::filesystem::path CacheDir() const { return CairnDir() / "cache"; }
  std::filesystem::path TmpDir() const { return CairnDir() / "tmp"; }
  // The stat cache database (hashing.h).
  std::filesystem::path StatCacheFile() const { return TmpDir() / "hashes.db"; }
  // The absolute path of a repo path (not checked: pass a validated one).
  std::filesystem::path Absolute(std::string_view repo_path) const {
    return root / std::filesystem::path(repo_path);
  }
};

// The repository root for `start` (a folder; relative paths are taken from the
// current directory): the nearest folder at or above it holding a .cairn/
// folder; when there is none, the nearest holding .git/ (a folder or, for
// worktrees and submodules, a file). kNotFound when neither exists up to "/".
Result<Workspace> FindWorkspace(const std::filesystem::path& start);

// Makes `root` a Cairn repository: creates .cairn/, .cairn/config.yaml (an
// empty configuration with a comment), .cairn/cache/, .cairn/tmp/ and
// .cairn/.gitignore (ignoring cache/ and tmp/). Idempotent: what exists is
// kept as it is (an edited config.yaml is never rewritten). `root` must be an
// existing folder. Returns the workspace on `root` (canonical).
Result<Workspace> InitWorkspace(const std::filesystem::path& root);

// Turns `user_path` (absolute, or relative to `cwd`, which must be absolute)
// into a repo path of `ws`. Only lexical: the target need not exist, and a
// symlink at the target itself is not followed (the caller decides what a
// symlink means); a symlinked folder on the way to the root is allowed
// (the parent is resolved when the lexical path is outside the root).
// kInvalidArgument for paths outside the repository, the root itself, and
// .cairn/ or .git/ at the root or anything inside them.
Result<std::string> ToRepoPath(const Workspace& ws, const std::filesystem::path& cwd,
                               std::string_view user_path);

// Checks that `path` is already a repo path (as read back from a pointer file
// or cairn.lock): relative, '/'-separated, no "", "." or ".." component, not
// .cairn/ or .git/ at the root (or inside them), no NUL. kInvalidArgument naming the path
// otherwise.
Status ValidateRepoPath(std::string_view path);

// True when `path` is relative, '/'-separated, without "", "." or ".."
// components and without NUL: the form of paths inside manifests and pointers.
bool IsCleanRelativePath(std::string_view path);

}  // namespace cairn::data
