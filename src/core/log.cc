#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>

namespace cairn {

void InitLogging() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto logger = spdlog::stderr_color_mt("cairn");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    const char* lvl = std::getenv("CAIRN_LOG_LEVEL");
    spdlog::set_level(lvl ? spdlog::level::from_str(lvl) : spdlog::level::info);
  });
}

}  // namespace cairn
