#pragma once
// The pipeline DAG: which step feeds which, built from a validated
// PipelineSpec (spec.h).
//
// Outputs of a step are its outs and its metrics files. A dep D of step S is
// produced by step P when one of P's outputs O is D, contains D ("data/prepared"
// produces "data/prepared/x.csv"), or lies inside D (a dep "eval" is fed by
// every step writing under "eval/", e.g. all expansions of a foreach step).
// Each such P is a parent of S. A dep with no producer is a *source*: the
// planner checks later that it exists on disk.
//
// Build errors (kInvalidArgument, "<file>:<line>:<col>: step '<s>': ..."):
//   - two steps writing the same output, or one output inside another step's
//     output (also within one step): both steps and locations are named;
//   - a cycle, printed in data-flow order from its earliest-declared step:
//     "cycle: a -> b -> a" (a step reading its own output is "a -> a").
//
// Order: TopologicalOrder() is stable: among the steps whose parents are all
// placed, the earliest declared comes first (so a spec already in order keeps
// its order).
//
// Thread safety: a built Dag is immutable; const methods are safe from any
// number of threads.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "pipeline/spec.h"

namespace cairn::pipeline {

// How one dep of a step is satisfied.
struct DepSource {
  std::string path;                    // the dep as written (normalized)
  std::vector<std::string> producers;  // steps whose outputs feed it; empty: a source
};

class Dag {
 public:
  static Result<Dag> Build(PipelineSpec spec);

  const PipelineSpec& spec() const { return spec_; }
  // Step names in stable topological order (see above).
  const std::vector<std::string>& TopologicalOrder() const { return order_; }

  // Direct parents / children, in topological order. kNotFound for an unknown step.
  Result<std::vector<std::string>> Parents(std::string_view step) const;
  Result<std::vector<std::string>> Children(std::string_view step) const;
  // All transitive ancestors / descendants (the step itself excluded), in
  // topological order. kNotFound for an unknown step.
  Result<std::vector<std::string>> Upstream(std::string_view step) const;
  Result<std::vector<std::string>> Downstream(std::string_view step) const;

  // Each dep of `step` with its producers, in the step's declared dep order.
  Result<std::vector<DepSource>> Deps(std::string_view step) const;
  // Every dep path that no step produces (sorted, unique): what must exist
  // in the repository before the pipeline can run.
  std::vector<std::string> SourcePaths() const;

  // The DAG as text for `cairn pipeline dag`: a layered list. Layer 0 holds
  // the steps with no parents; a step's layer is one more than its deepest
  // parent. One line per step, steps grouped by layer and in topological
  // order within it:
  //   layer 0
  //     prepare
  //   layer 1
  //     train <- prepare
  //   layer 2
  //     evaluate@small <- train
  //     evaluate@large <- train
  // Parents are listed in topological order, ", "-separated. Ends with '\n'.
  std::string RenderDag() const;

 private:
  Dag() = default;
  std::optional<size_t> IndexOf(std::string_view step) const;
  Result<size_t> Lookup(std::string_view step) const;  // kNotFound naming the step
  std::vector<std::string> Names(const std::vector<size_t>& indices) const;
  std::vector<size_t> Closure(size_t start, bool upstream) const;

  PipelineSpec spec_;
  std::map<std::string, size_t, std::less<>> index_;  // step name -> index in spec_.steps
  // Per step, indexed like spec_.steps:
  std::vector<std::vector<size_t>> parents_;   // sorted by topological rank
  std::vector<std::vector<size_t>> children_;  // sorted by topological rank
  std::vector<std::vector<DepSource>> deps_;
  std::vector<size_t> rank_;  // position in order_
  std::vector<std::string> order_;
  std::vector<size_t> order_index_;  // order_ as indices into spec_.steps
};

}  // namespace cairn::pipeline
