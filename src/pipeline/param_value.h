#pragma once
// Internal to cairn_pipeline (params.cc, lock.cc, plan.cc): the canonical
// JSON text of a parameter value (params.h) and the JSON string escaping the
// fingerprint uses.
//
// Canonical JSON: no whitespace, object keys sorted by bytes, strings escaped
// as RFC 8785 does (\" \\ \b \f \n \r \t, other control characters \u00xx,
// every other byte as is). YAML scalars are typed by the YAML 1.2 core
// schema: a plain `null`/`~`/empty is null, `true`/`false` (and their
// Capitalized/UPPER forms) are booleans, a plain scalar that is a JSON number
// is kept as written ("0.10" stays "0.10"), another YAML 1.2 number (+1, .5,
// 0x1f, 0o17, 1.) is rewritten as the shortest JSON number with its value,
// and everything else (quoted, !!str, .inf, .nan, words) is a string.
//
// Errors: kInvalidArgument "<where>:<line>: key '<k>' is repeated" for a
// mapping with a repeated key, and for a key that is not a scalar.
// Thread safety: free functions.
#include <string>
#include <string_view>

#include "core/error.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace cairn::pipeline::internal {

// Appends `s` as a quoted JSON string (the escaping above).
void AppendJsonString(std::string& out, std::string_view s);
// True when `s` is a number in JSON's grammar.
bool IsJsonNumber(std::string_view s);
// The canonical JSON of `node`; `where` (a file name) prefixes messages.
Result<std::string> CanonicalJsonFromYaml(const YAML::Node& node, std::string_view where);
// The 1-based line of `node` (0 when unknown). Not inlined: g++ 12 reports
// a false -Wdangling-pointer inside yaml-cpp's Node::Mark() when it is.
int LineOf(const YAML::Node& node);

}  // namespace cairn::pipeline::internal
