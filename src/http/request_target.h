#pragma once
// Parsing of an HTTP request target ("/path?query") into the decoded path and
// query parameters Request carries. Pure functions, no I/O; thread-safe.
//
// Errors: kBadRequest for a malformed percent-escape ('%' not followed by two
// hex digits), an encoded NUL, or a target that is not origin-form
// ("/..."), absolute-form ("http://host/...") or "*".

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace cairn::http {

// Appends the percent-decoding of `in` to `out`; with plus_as_space, '+'
// decodes to ' ' (form/query encoding). Returns false on a malformed escape
// or an encoded NUL ("%00"); `out` is then unspecified.
bool AppendPercentDecoded(std::string_view in, bool plus_as_space, std::string& out);

Result<std::string> PercentDecode(std::string_view in, bool plus_as_space);

// Splits `target` into its decoded path and decoded query parameters, in
// order ("a&b=1" -> {"a",""}, {"b","1"}; empty segments are skipped). The
// outputs are overwritten; their existing capacity is reused (the server
// calls this once per request with per-connection buffers).
Status ParseTarget(std::string_view target, std::string& path,
                   std::vector<std::pair<std::string, std::string>>& query);

}  // namespace cairn::http
