#pragma once
// Python's json module and numpy write non-finite floats as the bare tokens
// NaN, Infinity and -Infinity, which are not JSON (RFC 8259), and the servers
// we replace accept them (Triton with RapidJSON's NaN/Inf flag, MLflow's
// scorer with Python's json). The protocol parsers (simdjson) refuse them;
// on such a failure they retry once with the tokens rewritten by
// ReplaceNonFiniteTokens, so valid JSON pays nothing.

#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace cairn::serving {

// `json` with simdjson's padding after it, for parser.iterate: a copy into a
// per-thread buffer for inputs up to 1 MiB (no allocation per request once
// the buffer has grown), else a copy into `large`. The view is valid until
// the next call on this thread (or while `large` lives).
simdjson::padded_string_view PaddedJson(std::string_view json, simdjson::padded_string& large);

struct NonFiniteReplacements {
  std::optional<std::string_view> nan;       // nullopt: leave the token as it is
  std::optional<std::string_view> infinity;
  std::optional<std::string_view> negative_infinity;
};

// `json` with each bare NaN / Infinity / -Infinity in a value position
// (after '[', ',' or ':', outside strings) replaced; nullopt when nothing
// was replaced.
std::optional<std::string> ReplaceNonFiniteTokens(std::string_view json,
                                                  const NonFiniteReplacements& with);

}  // namespace cairn::serving
