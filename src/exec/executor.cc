#include "exec/executor.h"

namespace cairn::exec {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSucceeded:
      return "succeeded";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kTimedOut:
      return "timed out";
    case Outcome::kCancelled:
      return "cancelled";
    case Outcome::kLost:
      return "lost";
  }
  return "unknown";
}

}  // namespace cairn::exec
