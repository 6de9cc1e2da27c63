#pragma once
// `.cairn` pointer files (docs/pipelines.md, "Files in the repository"): one
// small YAML file next to each tracked file or folder, committed to git:
//
//   # Cairn data pointer: commit this file; the data is in the cache and on remotes.
//   path: raw
//   kind: dir
//   digest: sha256:9f2c...
//   size: 1048576
//   files: 12
//
// Reading is strict, because a pointer edited by hand into an invalid state
// must be reported, never silently rewritten: unknown or repeated keys,
// missing keys, wrong types (a list where a string is expected, a quoted
// number), a digest that is not "sha256:" + 64 lowercase hex, a negative or
// non-integer size, `files` on a file pointer (or missing on a dir pointer)
// and a path that is absolute or climbs with ".." are kInvalidArgument, with
// the message "<file>:<line>: <what>". Writing is canonical (the comment,
// then the keys in the order above, `files` only for dirs) and atomic
// (temp file in the same folder + fsync + rename), so the bytes for one
// pointer never vary.
//
// Errors: kInvalidArgument (above), kNotFound (ReadPointer of a missing
// file), kInternal (I/O, naming the file).
// Thread safety: free functions on values; thread-safe.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace cairn::data {

inline constexpr std::string_view kPointerSuffix = ".cairn";
inline constexpr std::string_view kPointerComment =
    "# Cairn data pointer: commit this file; the data is in the cache and on remotes.";

enum class PointerKind { kFile, kDir };
std::string_view PointerKindName(PointerKind kind);  // "file" | "dir"

struct Pointer {
  // Relative to the pointer file's folder, '/'-separated (usually one name).
  std::string path;
  PointerKind kind = PointerKind::kFile;
  // Lowercase hex SHA-256 without the "sha256:" prefix: the file's bytes, or
  // for a dir its manifest's canonical bytes (manifest.h).
  std::string digest;
  uint64_t size = 0;              // bytes (dir: all files)
  std::optional<uint64_t> files;  // dir only: number of files

  bool operator==(const Pointer&) const = default;
};

// Checks the invariants above (kind/files agreement, digest form, path form).
// `file_name` prefixes the message.
Status ValidatePointer(const Pointer& pointer, std::string_view file_name);

// Parses pointer text; `file_name` is used in messages ("data/raw.cairn:4: ...").
Result<Pointer> ParsePointer(std::string_view text, std::string_view file_name);
// Reads and parses the file at `file` (messages name it as given).
Result<Pointer> ReadPointer(const std::filesystem::path& file);

// The canonical text of `pointer` (validated first).
Result<std::string> FormatPointer(const Pointer& pointer);
// FormatPointer, then writes it to `file` atomically (mode 0644).
Status WritePointer(const std::filesystem::path& file, const Pointer& pointer);

}  // namespace cairn::data
