#include "cli/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/table.h"

namespace cairn::cli {

std::string FormatCount(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatProgressLine(std::string_view label, const ProgressSnapshot& s, double seconds,
                               size_t width) {
  std::string line(label);
  line += "  " + FormatCount(s.files_done);
  if (s.files_total > 0) line += "/" + FormatCount(s.files_total);
  line += s.files_total == 1 ? " file" : " files";
  line += "  " + FormatBytes(s.bytes_done);
  if (s.bytes_total > 0) line += "/" + FormatBytes(s.bytes_total);
  line += "  ";
  if (seconds > 0) {
    line += FormatBytes(static_cast<uint64_t>(static_cast<double>(s.bytes_done) / seconds)) + "/s";
  } else {
    line += "-";
  }
  double fraction = -1;
  if (s.bytes_total > 0) {
    fraction = static_cast<double>(s.bytes_done) / static_cast<double>(s.bytes_total);
  } else if (s.files_total > 0) {
    fraction = static_cast<double>(s.files_done) / static_cast<double>(s.files_total);
  }
  if (fraction >= 0) {
    if (fraction > 1) fraction = 1;
    char pct[8];
    std::snprintf(pct, sizeof(pct), "%3d%%", static_cast<int>(fraction * 100));
    // "  [" + bar + "]" + "  " + pct: a bar of 10 to 30 cells when it fits.
    size_t fixed = line.size() + 3 + 1 + 2 + std::strlen(pct);
    if (fixed + 10 <= width) {
      size_t cells = std::min<size_t>(30, width - fixed);
      size_t filled = static_cast<size_t>(fraction * static_cast<double>(cells));
      line += "  [" + std::string(filled, '#') + std::string(cells - filled, '-') + "]";
    }
    line += "  ";
    line += pct;
  }
  if (line.size() > width) line.resize(width);
  return line;
}

ProgressMode DecideProgressMode(bool stderr_is_tty, const char* term, const char* setting) {
  if (setting != nullptr && std::strcmp(setting, "always") == 0) return ProgressMode::kForced;
  if (setting != nullptr && std::strcmp(setting, "never") == 0) return ProgressMode::kOff;
  if (!stderr_is_tty) return ProgressMode::kOff;
  if (term != nullptr && std::strcmp(term, "dumb") == 0) return ProgressMode::kOff;
  return ProgressMode::kTerminal;
}

ProgressMode ProgressModeFromEnvironment() {
  return DecideProgressMode(::isatty(2) == 1, std::getenv("TERM"), std::getenv("CAIRN_PROGRESS"));
}

ProgressBar::ProgressBar(std::string label, std::function<ProgressSnapshot()> poll)
    : ProgressBar(std::move(label), std::move(poll), ProgressModeFromEnvironment()) {}

ProgressBar::ProgressBar(std::string label, std::function<ProgressSnapshot()> poll,
                         ProgressMode mode)
    : label_(std::move(label)),
      poll_(std::move(poll)),
      mode_(mode),
      enabled_(mode != ProgressMode::kOff) {
  if (enabled_) thread_ = std::thread([this] { Run(); });
}

ProgressBar::~ProgressBar() { Stop(); }

void ProgressBar::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressBar::Run() {
  const auto start = std::chrono::steady_clock::now();
  bool drawn = false;
  std::unique_lock lock(mu_);
  // On a terminal, a first draw after 200 ms: quick operations never flash a bar.
  auto next = start + std::chrono::milliseconds(mode_ == ProgressMode::kForced ? 0 : 200);
  while (!cv_.wait_until(lock, next, [this] { return stop_; })) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string line = FormatProgressLine(label_, poll_(), seconds);
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    drawn = true;
    next = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  }
  if (drawn) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

}  // namespace cairn::cli
