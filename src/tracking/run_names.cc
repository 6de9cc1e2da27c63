#include "tracking/run_names.h"

#include <array>
#include <string_view>

namespace cairn::tracking {
namespace {

// Our own short lists (landscape words, to go with the project's name).
constexpr std::array<std::string_view, 48> kAdjectives = {
    "amber",  "ancient", "bold",   "brisk",  "calm",   "clever", "crisp",  "dapper",
    "daring", "eager",   "early",  "fancy",  "gentle", "gifted", "glossy", "golden",
    "grand",  "hardy",   "honest", "humble", "jolly",  "keen",   "kind",   "lively",
    "lucky",  "merry",   "misty",  "mossy",  "nimble", "noble",  "quiet",  "rapid",
    "rocky",  "rustic",  "serene", "sharp",  "shiny",  "silent", "sleek",  "snowy",
    "steady", "sunny",   "swift",  "tidy",   "vivid",  "warm",   "wise",   "zesty"};
constexpr std::array<std::string_view, 48> kNouns = {
    "alder",   "badger", "basin", "bay",    "birch", "bluff", "boulder", "brook", "canyon", "cedar",
    "cliff",   "cove",   "crane", "creek",  "dune",  "eagle", "falcon",  "fern",  "fjord",  "fox",
    "glacier", "glen",   "grove", "harbor", "heron", "hill",  "island",  "lake",  "lynx",   "marsh",
    "meadow",  "mesa",   "moose", "otter",  "owl",   "peak",  "pine",    "raven", "ridge",  "river",
    "salmon",  "spruce", "stone", "summit", "tarn",  "trail", "valley",  "wren"};

}  // namespace

std::string GenerateRunName(const std::function<uint64_t()>& random) {
  uint64_t a = random(), n = random(), k = random();
  std::string name(kAdjectives[a % kAdjectives.size()]);
  name += "-";
  name += kNouns[n % kNouns.size()];
  name += "-";
  name += std::to_string(k % 1000);
  return name;
}

}  // namespace cairn::tracking
