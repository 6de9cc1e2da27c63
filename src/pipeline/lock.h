#pragma once
// cairn.lock (docs/pipelines.md, "The pipeline"): what the last `cairn repro`
// ran or restored, per step, committed to git next to cairn.yaml.
//
//   # Written by cairn repro. Commit it with cairn.yaml.
//   version: 1
//   steps:
//     train:
//       fingerprint: sha256:<64 hex>
//       cmd: python train.py --out model
//       params: {train.lr: 0.1, train.depth: 6}
//       deps:
//       - {path: data/prepared, kind: dir, digest: sha256:..., size: 123, files: 4}
//       outs:
//       - {path: model, kind: dir, digest: sha256:..., size: 456, files: 3}
//       metrics:
//       - {path: metrics.json, kind: file, digest: sha256:..., size: 40}
//
// Params values are stored as canonical JSON text (params.h) and written as
// YAML flow values. Steps are written sorted by name, paths in spec order.
// Reading is strict (unknown keys, bad digests, bad kinds: kInvalidArgument
// "<file>:<line>: ..."); a missing file is an empty lock. Writing is atomic
// (temp + fsync + rename) so a crash never leaves half a lock.
//
// Thread safety: free functions on values.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "data/pointer.h"

namespace cairn::pipeline {

inline constexpr std::string_view kLockFileName = "cairn.lock";

// A dep, out or metrics file with its content digest (a folder: its manifest's).
struct LockedPath {
  std::string path;  // repo path
  data::PointerKind kind = data::PointerKind::kFile;
  std::string digest;  // lowercase hex, no "sha256:" prefix
  uint64_t size = 0;
  std::optional<uint64_t> files;  // folders only
  bool operator==(const LockedPath&) const = default;
};

// The pointer a LockedPath corresponds to (path = the last component).
data::Pointer ToPointer(const LockedPath& locked);
LockedPath FromPointer(std::string repo_path, const data::Pointer& pointer);

struct LockedStep {
  std::string fingerprint;  // lowercase hex, no prefix
  std::string cmd;
  std::map<std::string, std::string> params;  // display key (params.h) -> canonical JSON
  std::vector<LockedPath> deps;
  std::vector<LockedPath> outs;
  std::vector<LockedPath> metrics;
  bool operator==(const LockedStep&) const = default;
};

struct LockFile {
  std::map<std::string, LockedStep> steps;  // by expanded step name
  bool operator==(const LockFile&) const = default;
};

Result<LockFile> ParseLockFile(std::string_view text, std::string_view file_name);
// Reads `path`; an absent file is an empty LockFile.
Result<LockFile> LoadLockFile(const std::string& path);
std::string FormatLockFile(const LockFile& lock);
Status WriteLockFile(const std::string& path, const LockFile& lock);

}  // namespace cairn::pipeline
