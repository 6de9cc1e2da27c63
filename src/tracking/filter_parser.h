#pragma once
// MLflow's search filter and order_by syntax, parsed by hand (a tokenizer
// plus a recursive-descent parser) into store::Comparison / store::OrderBy.
// User text only ever becomes typed operands; the store binds them as SQL
// parameters, so "'; DROP TABLE runs; --" is just a string value.
//
// Filter grammar (keywords case-insensitive):
//   filter     := <empty> | comparison (AND comparison)*
//   comparison := ident op value | ident [NOT] IN '(' string (',' string)* ')'
//               | ident IS [NOT] NULL
//   ident      := [entity '.'] key      key: word, `back ticked`, "double" or 'single' quoted
//   entity     := metric(s) | param(s) | parameter(s) | tag(s) | attribute(s) | attr | run
//               | dataset(s)              (a bare name is an attribute)
//   op         := = | == | != | <> | < | <= | > | >= | LIKE | ILIKE
//   value      := 'string' | "string" | number
// Type rules are MLflow's: metrics compare with numbers (= != < <= > >=);
// params and tags with quoted strings (= != LIKE ILIKE, IS [NOT] NULL);
// string attributes with quoted strings (= != LIKE ILIKE [NOT] IN);
// start_time/end_time (alias: created) with integers; datasets.name|digest|context
// with strings or lists. OR is rejected.
//
// Errors: kInvalidArgument, "Invalid filter '<filter>': <what> at position <n>"
// (n is the 0-based offset of the offending token), or
// "Invalid order_by clause '<clause>': <what> ...". Pure; thread-safe.

#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/query.h"

namespace cairn::tracking {

// Runs: metrics, params, tags, attributes (run_id, run_name, status, user_id,
// start_time, end_time, artifact_uri), datasets.
Result<std::vector<store::Comparison>> ParseRunFilter(std::string_view filter);
// Experiments: attributes name, experiment_id, creation_time, last_update_time; tags.
Result<std::vector<store::Comparison>> ParseExperimentFilter(std::string_view filter);

// "metrics.loss ASC", "params.lr", "attributes.start_time DESC", "start_time",
// "metrics.`my metric` DESC". Default direction ascending.
Result<store::OrderBy> ParseRunOrderBy(std::string_view clause);
// name, experiment_id, creation_time, last_update_time (attribute prefix optional).
Result<store::OrderBy> ParseExperimentOrderBy(std::string_view clause);

}  // namespace cairn::tracking
