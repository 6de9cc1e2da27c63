#pragma once
// Shape rules of the model registry's names, with MLflow's messages, so a
// user sees the same error from Cairn's REST API, its CLI and a stock MLflow
// server. Pure functions: no I/O, thread-safe. Every failure is
// kInvalidArgument (MLflow's INVALID_PARAMETER_VALUE).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/registry_types.h"
#include "store/types.h"

namespace cairn::registry {

inline constexpr size_t kMaxAliasLength = 255;
inline constexpr size_t kMaxRegistryTagKeyLength = 250;
inline constexpr size_t kMaxRegistryTagValueLength = 100000;

// Registered model names: not empty or blank ("Missing value for required
// parameter 'name'."), no '/' or ':' ("Invalid model name 'a/b'. Names
// cannot contain '/' or ':'."), and not a name a path would resolve to
// something else ("." , "..x"). `path` is the request field ("name",
// "new_name").
Status ValidateModelName(std::string_view name, std::string_view path = "name");

// Alias syntax: not empty ("Registered model alias name cannot be empty."),
// only letters, digits, '_' and '-' (non-ASCII letters count as letters, as
// in Python's \w), at most 255 characters. Used by every alias operation.
Status ValidateAliasSyntax(std::string_view alias);
// For setting an alias: the syntax, and not reserved: "latest" in any case
// ("'latest' alias name (case insensitive) is reserved.") and version-like
// names "v1", "V12" ("Version alias name 'v1' is reserved.").
Status ValidateAliasForSet(std::string_view alias);

// Stages: "none", "STAGING", ... -> "None", "Staging", "Production",
// "Archived". Unknown: "Invalid Model Version stage: foo. Value must be one
// of None, Staging, Production, Archived."
Result<std::string> CanonicalStage(std::string_view stage);
// The four stages in MLflow's order.
const std::vector<std::string>& AllStages();

// Registered model and model version tags: key rules of tracking tags, key
// at most 250 characters, value at most 100000.
Status ValidateRegistryTag(const store::Tag& tag);

// A version number from its text ("3"): "Parameter 'version' must be an
// integer, got 'x'." MLflow accepts any integer here; the registry's versions
// start at 1, so 0 and negatives simply find nothing.
Result<int64_t> ParseVersionNumber(std::string_view text);

}  // namespace cairn::registry
