#pragma once
// Identifiers. Run ids are 32 lowercase hex characters (a random UUID4
// without dashes), as MLflow makes them.

#include <string>
#include <string_view>

namespace cairn {

// 128 random bits from a thread-local CSPRNG-seeded generator, as 32 hex chars.
std::string NewRunId();
// 128 bits as 32 hex chars (UUID4 form) for request ids: a thread-local
// xoshiro256** generator seeded once per thread from the CSPRNG. Unique for
// every practical purpose and ~20x cheaper than NewRunId, but predictable by
// whoever learns a thread's state: never use it for secrets or tokens.
std::string NewRequestId();
// True when `id` is 1..256 characters of [0-9a-zA-Z_-] (accepts MLflow ids
// and anything a client may have chosen); used to reject path-like ids.
bool IsValidId(std::string_view id);
// Lowercase hex of raw bytes.
std::string HexEncode(std::string_view bytes);
// The value of one hex digit (either case), or -1 when `c` is not one.
int HexDigitValue(char c);

}  // namespace cairn
