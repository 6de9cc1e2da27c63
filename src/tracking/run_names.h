#pragma once
// Friendly run names in MLflow's style, "<adjective>-<noun>-<0..999>", for
// runs created without a name. Pure given the random source; thread-safe.

#include <cstdint>
#include <functional>
#include <string>

namespace cairn::tracking {

// `random` returns uniformly distributed 64-bit values.
std::string GenerateRunName(const std::function<uint64_t()>& random);

}  // namespace cairn::tracking
