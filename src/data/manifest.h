#pragma once
// A tracked folder's manifest (docs/pipelines.md, "Files in the repository"):
// the list of its regular files with their digests, sizes and exec bits,
// serialised as canonical JSON
//   {"format":"cairn-manifest","version":1,"files":[{"path":"a/b.csv",
//    "digest":"<64 hex>","size":12,"exec":false},...]}
// with files sorted by path (byte order), no whitespace, keys in that order,
// strings escaped as RFC 8785 does (\" \\ \b \f \n \r \t, other control
// characters as \u00xx, everything else as is). The folder's digest is the
// SHA-256 of those bytes, so equal folders have equal digests on every machine.
// The manifest is stored as an object in the cache under that digest.
//
// Errors: kInvalidArgument for a manifest that does not parse or breaks the
// format (the message names what: "manifest: files[3].digest ..."), and for
// folders BuildManifest refuses (symlinks, special files: named); I/O errors
// as hashing.h.
//
// Thread safety: free functions on values; thread-safe.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "data/hashing.h"

namespace cairn::data {

struct ManifestEntry {
  std::string path;    // relative to the folder, '/'-separated
  std::string digest;  // lowercase hex SHA-256 of the file's bytes
  uint64_t size = 0;
  bool exec = false;

  bool operator==(const ManifestEntry&) const = default;
};

struct Manifest {
  // Sorted by path in byte order, paths unique (CanonicalManifestJson sorts a
  // copy when they are not; ParseManifest requires it).
  std::vector<ManifestEntry> files;

  uint64_t TotalSize() const;
  bool operator==(const Manifest&) const = default;
};

// The canonical bytes. Entries are sorted by path first (a copy; the input
// is not changed). Precondition: paths are unique and valid UTF-8.
std::string CanonicalManifestJson(const Manifest& manifest);
// Lowercase hex SHA-256 of CanonicalManifestJson(manifest).
std::string ManifestDigest(const Manifest& manifest);

// Parses manifest bytes and validates them: format "cairn-manifest", version
// 1, no unknown keys, every entry with a valid relative path (no "", ".",
// ".." components, not absolute), a 64-lowercase-hex digest, a non-negative
// integer size and a boolean exec, paths strictly increasing (sorted, no
// duplicates; also no path that is both a file and a folder of another).
Result<Manifest> ParseManifest(std::string_view bytes);

// Hashes the folder `dir` (hashing.h HashTree: symlinks refused, named) and
// returns its manifest.
Result<Manifest> BuildManifest(const std::filesystem::path& dir, const HashOptions& options,
                               HashStats* stats = nullptr);

}  // namespace cairn::data
