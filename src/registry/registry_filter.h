#pragma once
// MLflow's model registry search syntax (search-registered-models and
// search-model-versions), parsed by hand into store::RegistryQuery. User text
// only ever becomes typed values the store binds as SQL parameters.
//
// Filter grammar (keywords case-insensitive, entity prefixes as MLflow:
// lowercase "attribute", "tag", "tags"):
//   filter     := <empty> | comparison (AND comparison)*
//   comparison := ident op value
//   ident      := name | [attribute.]attr | (tag|tags).key
//                 key: word, `back ticked` or "double quoted"
//   op         := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN
//   value      := 'string' | "string" | integer | '(' string (',' string)* ')'
// Registered models: attribute `name` (=, !=, LIKE, ILIKE, IN, NOT IN) and
// tags (=, !=, LIKE, ILIKE).
// Model versions: `name` and `run_id` (=, !=, LIKE, ILIKE, IN, NOT IN),
// `source_path` (=, !=, LIKE, ILIKE), `version_number` (=, !=, <, <=, >, >=
// with an integer, or a string holding one) and tags.
// Inside quotes, a doubled quote or a backslash before the quote stands for
// the quote itself. OR, parentheses and IS [NOT] NULL are rejected.
//
// order_by: "<key> [ASC|DESC]" (key optionally `back ticked`).
// Registered models: name, timestamp / last_updated_timestamp (the same
// field, as in MLflow), and creation_timestamp (a Cairn extension). Model
// versions: name, version_number, creation_timestamp,
// last_updated_timestamp (attribute. prefix allowed), and timestamp as an
// alias of last_updated_timestamp (a Cairn extension). A field named twice
// is an error. Tie-breakers are appended as MLflow does: name ASC (models);
// name ASC, version DESC (versions). Versions with no order_by at all are
// ordered as MLflow's SQL store does: last_updated_timestamp DESC, name ASC,
// version DESC.
//
// Errors: kInvalidArgument with MLflow's messages, e.g.
// "Invalid clause(s) in filter string: OR",
// "Invalid attribute key 'run_id' specified. Valid keys are '{'name'}'",
// "Invalid comparator for tag: >",
// "Invalid order by key 'foo' specified. Valid keys are '{'name', 'timestamp'}'".
// Pure; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/registry_types.h"

namespace cairn::registry {

inline constexpr int64_t kRegisteredModelsMaxResultsDefault = 100;
inline constexpr int64_t kRegisteredModelsMaxResultsThreshold = 1000;
inline constexpr int64_t kModelVersionsMaxResultsDefault = 10000;
inline constexpr int64_t kModelVersionsMaxResultsThreshold = 200000;

Result<std::vector<store::RegistryComparison>> ParseRegisteredModelFilter(std::string_view filter);
Result<std::vector<store::RegistryComparison>> ParseModelVersionFilter(std::string_view filter);

Result<std::vector<store::RegistryOrderBy>> ParseRegisteredModelOrderBy(
    const std::vector<std::string>& clauses);
Result<std::vector<store::RegistryOrderBy>> ParseModelVersionOrderBy(
    const std::vector<std::string>& clauses);

// The whole query: filter, order_by (with tie-breakers), max_results
// (default / threshold above; below 1 or above the threshold is
// kInvalidArgument) and the page token (tracking/page_token.h) as offset.
Result<store::RegistryQuery> BuildRegisteredModelQuery(std::string_view filter,
                                                       const std::vector<std::string>& order_by,
                                                       std::optional<int64_t> max_results,
                                                       std::string_view page_token);
Result<store::RegistryQuery> BuildModelVersionQuery(std::string_view filter,
                                                    const std::vector<std::string>& order_by,
                                                    std::optional<int64_t> max_results,
                                                    std::string_view page_token);

// The page token for a store page's next_offset ("" when it is -1).
std::string NextPageToken(int64_t next_offset);

}  // namespace cairn::registry
