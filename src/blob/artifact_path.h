#pragma once
// Artifact paths: the names under an artifact repository root, in MLflow's
// form ("model/MLmodel", "1/0a1b.../artifacts/plot.png"). This is the one
// place that decides which paths are acceptable; every ArtifactRepository
// implementation validates through it before touching storage.
//
// A valid path is relative and canonical:
//   - no leading '/', no empty segments ("a//b", trailing "/"), no "." or
//     ".." segments;
//   - no backslash, no NUL or other control characters;
//   - no percent escape that would decode to '/', '.', '\' or a control
//     character (%2F, %2e, %5C, %00 ...): the HTTP server decodes a URL once,
//     so such a sequence here is a double-encoding attempt, refused rather
//     than guessed at;
//   - at most kMaxArtifactPathBytes bytes and kMaxArtifactSegmentBytes per
//     segment.
// Everything else (spaces, unicode, '#', '%41') is a literal name.
//
// Errors: kInvalidArgument whose message names the (escaped) path and the rule.
// Thread safety: pure functions.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cairn::blob {

inline constexpr size_t kMaxArtifactPathBytes = 4096;
inline constexpr size_t kMaxArtifactSegmentBytes = 255;

// Splits a valid path into its segments. With `allow_root`, the empty path
// is accepted and means the repository root (no segments).
Result<std::vector<std::string>> SplitArtifactPath(std::string_view path, bool allow_root);

// The path as it may appear in a message or log: control characters and
// bytes >= 0x7f shown as \xNN, truncated to 300 bytes.
std::string PrintableArtifactPath(std::string_view path);

}  // namespace cairn::blob
