#pragma once
// File helpers for tests: a fresh temporary folder and whole-file reads.
//
// MakeTempDir reports a failure to create the folder as a (non-fatal)
// GoogleTest failure of the running test and still returns the would-be path.
// The caller owns (and removes) the folder. Thread-safe.

#include <filesystem>
#include <string>
#include <string_view>

namespace cairn::test {

// A new empty folder "<system temp dir>/<prefix>-XXXXXX".
std::string MakeTempDir(std::string_view prefix);

// The bytes of the file at `p` ("" when it cannot be read).
std::string ReadFile(const std::filesystem::path& p);

}  // namespace cairn::test
