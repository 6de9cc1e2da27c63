#pragma once
// The pipeline spec: `cairn.yaml` parsed, validated and with `foreach`
// expanded into concrete steps (docs/pipelines.md, "The pipeline").
//
//   steps:
//     train:
//       cmd: python train.py            # required, non-empty string
//       deps: [data/prepared]           # list of paths
//       outs: [model]                   # list of paths (relative, inside the repo)
//       metrics: [metrics.json]         # list of paths (relative, inside the repo)
//       params: [train.lr, other.yaml:a.b]   # keys of params.yaml, or file:key
//       retries: 2                      # integer >= 0
//       timeout: 30m                    # duration (core/cron.h ParseDurationMs), > 0
//       resources: {cpus: 2, memory: 4G, gpus: 0}
//       executor: slurm                 # local (default) | slurm
//       env: {OMP_NUM_THREADS: "2"}     # map name -> string
//       foreach: [small, large]         # or a matrix {seed: [1, 2], split: [a, b]}
//
// foreach: a list of scalars expands `evaluate` into `evaluate@small`,
// `evaluate@large`, with `${item}` bound to the value; a matrix expands into
// the cartesian product, named with the keys sorted (`evaluate@seed=1,split=a`;
// the first key varies slowest, values in their declared order) with
// `${item.seed}`, `${item.split}` bound. `${...}` is substituted in cmd, deps,
// outs, metrics and env values; any other `${name}` (also in a step without
// foreach) is an error naming it; `$${` writes a literal `${` (so a shell
// variable is `$${HOME}`); a `$` not followed by `{` is left alone.
// A `${...}` closed on its line is one token even inside a YAML flow
// collection, so `outs: [eval/${item}.json]` (the example) parses
// although plain YAML would read its braces as a map.
//
// Paths are normalized lexically ("./a//b/" -> "a/b"). outs and metrics must
// be relative and stay inside the repository (no ".." escaping); deps may be
// anything non-empty.
//
// Errors: every error is kInvalidArgument (kNotFound when LoadPipelineSpec's
// file does not exist) and its message starts with "<file>:<line>:<column>: "
// (1-based) and names the step when there is one:
//   cairn.yaml:12:5: step 'train': 'retries' must be a non-negative integer, got 'two'
// The first error found is returned. Cross-step checks (cycles, overlapping
// outs) live in dag.h.
//
// Thread safety: free functions with no shared state; a PipelineSpec is a
// plain value.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cairn::pipeline {

// A position in the spec file, 1-based; 0 when unknown.
struct Location {
  int line = 0;
  int column = 0;
};

// A path in deps/outs/metrics with where it was written.
struct PathEntry {
  std::string path;  // normalized, after ${...} substitution
  Location location;
};

// A key of a params file: "train.lr" is {"params.yaml", "train.lr"}.
struct ParamRef {
  std::string file;  // "params.yaml" unless written as "file.yaml:key"
  std::string key;   // dotted path into the file, non-empty segments
  Location location;
  friend bool operator==(const ParamRef& a, const ParamRef& b) {
    return a.file == b.file && a.key == b.key;
  }
};

struct Resources {
  std::optional<int> cpus;              // > 0 when set
  std::optional<int64_t> memory_bytes;  // > 0 when set; "4G" = 4 * 1024^3
  int gpus = 0;                         // >= 0
};

enum class ExecutorKind { kLocal, kSlurm };
std::string_view ExecutorKindName(ExecutorKind kind);  // "local" | "slurm"

struct Step {
  std::string name;       // "train", "evaluate@small", "evaluate@seed=1,split=a"
  std::string base_name;  // the key in cairn.yaml: "evaluate"
  // The foreach binding: {"item": "small"} for a list, {"item.seed": "1",
  // "item.split": "a"} for a matrix; empty for a plain step.
  std::map<std::string, std::string> item;
  std::string cmd;
  std::vector<PathEntry> deps;
  std::vector<PathEntry> outs;
  std::vector<PathEntry> metrics;
  std::vector<ParamRef> params;
  int retries = 0;
  std::optional<int64_t> timeout_ms;
  Resources resources;
  ExecutorKind executor = ExecutorKind::kLocal;
  std::map<std::string, std::string> env;
  Location location;  // of the step's key in cairn.yaml
};

struct PipelineSpec {
  std::string file_name;    // as given to the parser; used in messages
  std::vector<Step> steps;  // declaration order, foreach expansions in place
  // The step with this (expanded) name, or nullptr.
  const Step* Find(std::string_view name) const;
};

// Parses and validates `yaml_text`; `file_name` is only used in messages.
Result<PipelineSpec> ParsePipelineSpec(std::string_view yaml_text, std::string_view file_name);

// Reads `path` and parses it (messages name `path` as given). kNotFound when
// the file does not exist, kInvalidArgument when it cannot be read or parsed.
Result<PipelineSpec> LoadPipelineSpec(const std::string& path);

// "4G", "512M", "64k", "1T" (binary units, case-insensitive, an optional
// trailing "B" or "iB"), or a plain byte count -> bytes. kInvalidArgument for
// anything else, zero or overflow.
Result<int64_t> ParseMemorySize(std::string_view text);

// Substitutes `${name}` from `vars` in `text` (rules above). The error
// message has no location prefix: "unknown variable '${x}' (defined: ${item})".
Result<std::string> SubstituteVariables(std::string_view text,
                                        const std::map<std::string, std::string>& vars);

// Lexical normalization of a '/'-separated path: drops "." and empty
// segments, resolves ".." against earlier segments ("a/../b" -> "b"), keeps
// a leading '/' and leading ".." segments. "" and "." normalize to ".".
std::string NormalizePath(std::string_view path);

}  // namespace cairn::pipeline
