#pragma once
// Structured logging over spdlog: one line per event, "msg key=value ...".
// Thread-safe. Level from CAIRN_LOG_LEVEL (trace|debug|info|warn|error), default info.

#include <spdlog/spdlog.h>

namespace cairn {

// Configures the default logger once (stderr, ISO time, level). Idempotent.
void InitLogging();

}  // namespace cairn

#define CAIRN_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define CAIRN_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define CAIRN_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
#define CAIRN_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
