#pragma once
// Parameter values for steps (docs/pipelines.md): `params: [train.lr]` reads
// key `train.lr` (nested maps, dotted) from params.yaml at the repository
// root; `other.yaml:a.b` from other.yaml (a repo path; .json files are read
// as JSON). A value is rendered as canonical JSON (numbers as YAML wrote them
// when they are valid JSON numbers, strings quoted, booleans, null; maps with
// sorted keys and lists, no whitespace), so 0.10 and 0.1 differ but a
// reformatted file with the same values does not change a fingerprint.
//
// Errors: kNotFound (a params file that does not exist, naming it and the
// step's key), kInvalidArgument (a key that is not in the file: "params.yaml
// has no key 'train.lr' (step 'train'; keys under 'train': depth, epochs)";
// malformed YAML with file:line).
// Thread safety: free functions.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "pipeline/spec.h"

namespace cairn::pipeline {

// "train.lr" for params.yaml, else "file:key".
std::string ParamDisplayKey(const ParamRef& ref);

// display key -> canonical JSON of the value, for every ref. Each file is
// read once. `root` is the repository root; `step` only names the step in
// messages.
Result<std::map<std::string, std::string>> ReadParams(const std::filesystem::path& root,
                                                      const std::vector<ParamRef>& refs,
                                                      std::string_view step);

}  // namespace cairn::pipeline
