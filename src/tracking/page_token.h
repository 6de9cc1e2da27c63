#pragma once
// Search page tokens, opaque to clients and compatible with MLflow's own:
// standard base64 of the JSON text {"offset": N}. Pure; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace cairn::tracking {

// base64('{"offset": <offset>}'); offset > 0.
std::string EncodePageToken(int64_t offset);
// 0 for an empty token. A token that is not base64, not JSON, or has no
// positive integer "offset" is kInvalidArgument ("Invalid page token, ...").
Result<int64_t> DecodePageToken(std::string_view token);

// RFC 4648 standard alphabet with padding.
std::string Base64Encode(std::string_view bytes);
// Strict: the standard alphabet, padding required; kInvalidArgument otherwise.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace cairn::tracking
