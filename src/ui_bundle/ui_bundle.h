#pragma once
// Files compiled into the binary (docs/ui.md, "Serving the files"): the
// built web UI (Vite's ui/dist at build time), so a `cairn` binary copied to
// another machine serves its UI with no folder to install.
//
// A Bundle is a read-only view of an array of Files (path, bytes, ETag) with
// static storage duration; copying a Bundle copies the view, not the bytes.
// Paths are relative to the embedded folder, '/'-separated, without "." or
// ".." segments: "index.html", "assets/index-DjJbRpT_.js".
//
// The array behind Embedded() is generated at build time by
// embed_files.cmake (src/ui_bundle/CMakeLists.txt), which globs ui/dist on
// every build and rewrites the generated source only when a file was added,
// removed or changed. When ui/dist did not exist, Embedded() is empty.
//
// Thread safety: immutable after construction; safe from any thread.

#include <cstddef>
#include <span>
#include <string_view>

namespace cairn::ui_bundle {

struct File {
  std::string_view path;
  std::string_view bytes;
  // A strong HTTP entity tag, quotes included: "\"<first 20 hex digits of
  // the SHA-256 of bytes>\"".
  std::string_view etag;
};

class Bundle {
 public:
  constexpr Bundle() = default;  // empty
  constexpr explicit Bundle(std::span<const File> files) : files_(files) {}

  // The file at exactly `path` (no normalisation: callers validate paths);
  // nullptr when there is none.
  const File* Find(std::string_view path) const;

  constexpr bool empty() const { return files_.empty(); }
  constexpr std::span<const File> files() const { return files_; }
  // The sum of the files' sizes in bytes.
  size_t total_bytes() const;

 private:
  std::span<const File> files_;
};

// The web UI compiled into this binary (the files of ui/dist when it was
// built); empty when ui/dist did not exist at build time.
const Bundle& Embedded();

}  // namespace cairn::ui_bundle
