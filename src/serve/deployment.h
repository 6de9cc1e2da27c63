#pragma once
// Deployments: an endpoint name served by weighted model targets plus
// shadows, declared on the command line or in a YAML file, changeable at
// runtime (admin API, `cairn deployments set-traffic`).
//
// YAML (`cairn serve --deployment-file deploy.yaml`):
//
//   deployments:
//     fraud:                              # the endpoint: /v2/models/fraud/infer
//       sticky_header: X-User-Id          # optional: same header value -> same target
//       runtime: auto                     # optional: auto | python
//       batching:                         # optional, per version of this deployment
//         max_batch_size: 32
//         policy: greedy                  # greedy (default) | wait
//         max_queue_delay_us: 500         # used by policy: wait only
//         instances: 2
//         max_queue: 1024
//         timeout_ms: 30000
//       targets:
//         - model: models:/fraud@champion
//           weight: 95
//         - model: models:/fraud/4
//           weight: 5
//         - model: models:/fraud/5
//           shadow: true                  # gets a copy of live traffic; never answers
//
// Command line: `cairn serve --model URI [--model URI ...] [--traffic 95,5]
// [--shadow URI ...] [--name NAME] [--sticky-header H]` makes one deployment
// (DeploymentFromFlags); without --traffic the weights are equal.
//
// Validation (kInvalidArgument; YAML errors name the file, line and the
// deployment: "deploy.yaml line 7: deployment 'fraud': targets[1].weight must
// be a non-negative integer"):
//   - deployment names: 1-256 chars of [A-Za-z0-9._-], not starting with '.'
//     or '-'; unique;
//   - at least one live (non-shadow) target; live weights are integers
//     0..1000000 whose sum is > 0; a shadow's weight is ignored (must be
//     absent or 0 in YAML);
//   - model URIs: `models:/name/<n>`, `models:/name@alias`, or a local path
//     (absolute, ./ or ../ relative, or an existing folder); the same URI
//     twice in one deployment is an error;
//   - unknown keys are errors (typos must not be silently ignored);
//   - batching: max_batch_size >= 1, max_queue_delay_us >= 0, instances 1..64,
//     max_queue >= 1, timeout_ms >= 0.
//
// Thread safety: pure functions and immutable values, except TrafficSplit
// which is immutable after Create and safe to share.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cairn::serve {

struct TargetSpec {
  std::string model_uri;
  int64_t weight = 1;
  bool shadow = false;
  bool operator==(const TargetSpec&) const = default;
};

struct BatchingSpec {
  int64_t max_batch_size = 32;
  // "greedy" (default): a free instance runs what is queued at once, batches
  // form while every instance is busy; max_queue_delay_us is not used.
  // "wait": a free instance waits up to max_queue_delay_us for a full batch
  // (see serving::BatcherOptions::greedy).
  std::string policy = "greedy";
  int64_t max_queue_delay_us = 0;
  int instances = 2;
  int64_t max_queue = 1024;
  int64_t timeout_ms = 30000;
  bool operator==(const BatchingSpec&) const = default;
};

struct DeploymentSpec {
  std::string name;
  std::vector<TargetSpec> targets;  // live and shadow, in declaration order
  std::string sticky_header;        // "" = random by weight
  std::string runtime = "auto";     // "auto" | "python"
  BatchingSpec batching;
  bool operator==(const DeploymentSpec&) const = default;
};

Status ValidateDeployment(const DeploymentSpec& spec);

// The YAML file above. `file_name` is how errors name the file.
Result<std::vector<DeploymentSpec>> ParseDeploymentFile(std::string_view yaml_text,
                                                        std::string_view file_name);

// The command-line form. `name` empty: the model name of the first URI
// (`models:/fraud@champion` -> "fraud"), or the folder's base name.
// `traffic` empty: equal weights; else one weight per live model.
Result<DeploymentSpec> DeploymentFromFlags(std::string name, const std::vector<std::string>& models,
                                           const std::vector<int64_t>& traffic,
                                           const std::vector<std::string>& shadows,
                                           std::string sticky_header, const BatchingSpec& batching,
                                           std::string runtime);

// "models:/fraud@champion" -> "fraud"; "models:/fraud/3" -> "fraud"; a
// folder -> its base name ("./models/iris/" -> "iris").
std::string DefaultDeploymentName(std::string_view model_uri);

// The admin API's traffic change (PUT /v1/deployments/{d}/traffic):
//   {"targets": [{"model": "models:/fraud@champion", "weight": 95},
//                {"model": "models:/fraud/4", "weight": 5},
//                {"model": "models:/fraud/5", "shadow": true}]}
// The new target list replaces the old one (validated as above).
// kBadRequest for malformed JSON, kInvalidArgument for bad fields.
Result<std::vector<TargetSpec>> ParseTrafficJson(std::string_view body);
std::string TrafficToJson(const std::vector<TargetSpec>& targets);

// `cairn deployments set-traffic fraud models:/fraud@champion=95 models:/fraud/4=5
//  --shadow models:/fraud/5`: "URI=WEIGHT" (the last '=' splits; no '=' means weight 1).
Result<TargetSpec> ParseTargetArgument(std::string_view text);

// Picks a live target by weight. Choose(nullopt) is uniformly random by
// weight (thread-local PRNG); Choose(key) is deterministic in the key
// (a 64-bit hash of it, by weight), so one user sticks to one target while
// the weights stay the same. Targets with weight 0 are never chosen.
class TrafficSplit {
 public:
  // weights.size() >= 1, each >= 0, sum > 0 (else kInvalidArgument).
  static Result<TrafficSplit> Create(std::vector<int64_t> weights);
  size_t Choose(std::optional<std::string_view> sticky_key = std::nullopt) const;
  size_t size() const { return cumulative_.size(); }

 private:
  std::vector<uint64_t> cumulative_;  // running sums
};

}  // namespace cairn::serve
