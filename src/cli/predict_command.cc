// `cairn predict`: batch inference over a file with the runtimes `cairn serve`
// uses.
//
//   cairn predict --model models:/fraud@champion --input data.csv --output scores.csv
//
// Input: CSV with a header row (streamed: read in chunks of --batch-size
// records, quoted fields may hold newlines), JSON lines (.jsonl/.ndjson: one
// record object per line, streamed), or .json (a list of record objects,
// predicted in chunks; or one MLflow scoring document, predicted at once).
// Each chunk is parsed with the scoring codec, conformed to the model's
// signature and predicted through the runtime directly (no batcher).
// Output: CSV (.csv: a header, then one column per output tensor, or per
// element for [rows, k] outputs "name_0".."name_k-1") or JSON lines (one
// object per row). Written to "<output>.part" and renamed when complete, so
// a failure never leaves a half file that looks whole.
// Errors name the rows of the chunk that failed ("rows 1001-2000: ...").
// A progress bar on stderr when stderr is a terminal; then one summary line
// "predicted N rows in T s" on stdout.

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "core/config.h"
#include "core/log.h"
#include "serve/batch_predict.h"
#include "serve/model_manager.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;

struct PredictFlags {
  std::string model;
  std::string input;
  std::string output;
  int64_t batch_size = 1000;
  std::string tracking_uri;
  std::string cache_dir;
  std::string runtime = "auto";
  std::string python;
  std::string user;
};

// A progress bar on stderr (rows done, share of the input bytes read), only
// when stderr is a terminal.
class Progress {
 public:
  explicit Progress(uint64_t total_bytes) : total_(total_bytes), tty_(::isatty(2) == 1) {}
  void Update(uint64_t bytes, int64_t rows) {
    if (!tty_) return;
    const double fraction =
        total_ > 0 ? std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total_)) : 1.0;
    const int width = 30;
    const int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(width - filled), ' ');
    std::fprintf(stderr, "\r[%s] %3d%%  %lld rows", bar.c_str(), static_cast<int>(fraction * 100),
                 static_cast<long long>(rows));  // NOLINT(runtime/int)
    std::fflush(stderr);
  }
  void Done() {
    if (tty_) std::fputs("\n", stderr);
  }

 private:
  uint64_t total_;
  bool tty_;
};

int RunPredict(const PredictFlags& f) {
  InitLogging();
  const auto started = std::chrono::steady_clock::now();
  auto input_format = serve::TableFormatOf(f.input);
  if (!input_format) return ReportError(input_format.error());
  auto output_format = serve::TableFormatOf(f.output);
  if (!output_format) return ReportError(output_format.error());
  if (f.batch_size < 1) {
    return ReportError(Error(ErrorCode::kInvalidArgument, "--batch-size must be at least 1"));
  }
  std::error_code ec;
  const uintmax_t total = fs::file_size(f.input, ec);
  if (ec) {
    return ReportError(
        Error(ErrorCode::kNotFound, "cannot read --input " + f.input + ": " + ec.message()));
  }

  serve::RegistrySourceOptions source;
  source.tracking_uri = ResolveTrackingUri(
      f.tracking_uri.empty() ? std::nullopt : std::optional<std::string>(f.tracking_uri));
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string default_cache = xdg != nullptr && *xdg != '\0' ? std::string(xdg) + "/cairn/models"
                              : home != nullptr ? std::string(home) + "/.cache/cairn/models"
                                                : "/tmp/cairn-models";
  source.cache_dir = ResolveSetting(f.cache_dir.empty() ? std::nullopt : std::optional(f.cache_dir),
                                    {"CAIRN_MODEL_CACHE"}, default_cache);
  source.user =
      ResolveSetting(f.user.empty() ? std::nullopt : std::optional(f.user), {"CAIRN_USER"}, "");
  auto model_source = serve::MakeModelSource(source);
  if (!model_source) return ReportError(model_source.error());
  auto resolved = (*model_source)->Resolve(f.model);
  if (!resolved) return ReportError(resolved.error());

  serve::RuntimeOptions runtime;
  runtime.runtime = f.runtime;
  runtime.python = ResolveSetting(f.python.empty() ? std::nullopt : std::optional(f.python),
                                  {"CAIRN_PYTHON"}, "python3");
  serve::BatchingSpec batching;
  batching.instances = 1;
  batching.max_batch_size = f.batch_size;
  auto version =
      serve::LoadedVersion::Load("predict", std::move(*resolved), batching, runtime, nullptr);
  if (!version) return ReportError(version.error());

  const std::string part = f.output + ".part";
  Result<int64_t> rows = 0;
  {
    std::ifstream in(f.input, std::ios::binary);
    std::ofstream out(part, std::ios::binary | std::ios::trunc);
    if (!out) {
      return ReportError(Error(ErrorCode::kInvalidArgument, "cannot write --output " + part));
    }
    Progress progress(total);
    serve::BatchPredictOptions options;
    options.batch_size = f.batch_size;
    options.progress = [&progress](uint64_t bytes, int64_t done) { progress.Update(bytes, done); };
    rows = serve::BatchPredict((*version)->runtime(), (*version)->manifest().signature, in,
                               *input_format, out, *output_format, options);
    progress.Done();
    out.flush();
    if (rows && !out) rows = Internal("cannot write --output " + part);
  }
  if (!rows) {
    fs::remove(part, ec);
    return ReportError(rows.error());
  }
  fs::rename(part, f.output, ec);
  if (ec) {
    return ReportError(Error(ErrorCode::kInternal,
                             "cannot rename " + part + " to " + f.output + ": " + ec.message()));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char line[128];
  std::snprintf(line, sizeof(line), "predicted %lld rows in %.2f s",
                static_cast<long long>(*rows), seconds);  // NOLINT(runtime/int)
  std::cout << line << std::endl;
  return kExitOk;
}

}  // namespace

void AddPredictCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<PredictFlags>();
  CLI::App* cmd = app.add_subcommand("predict", "Batch inference over a CSV or JSON file");
  cmd->add_option("-m,--model", f->model,
                  "models:/name@alias, models:/name/N or a local model folder")
      ->required();
  cmd->add_option("-i,--input", f->input, "data.csv, data.json (records) or data.jsonl")
      ->required();
  cmd->add_option("-o,--output", f->output, "scores.csv or scores.json/.jsonl (JSON lines)")
      ->required();
  cmd->add_option("--batch-size", f->batch_size, "Rows per prediction call (default 1000)");
  cmd->add_option("--tracking-uri", f->tracking_uri,
                  "Registry for models:/ URIs ($CAIRN_TRACKING_URI, $MLFLOW_TRACKING_URI, default "
                  "http://127.0.0.1:5000)");
  cmd->add_option("--cache-dir", f->cache_dir, "Where registry models are downloaded");
  cmd->add_option("--runtime", f->runtime, "auto or python")
      ->check(CLI::IsMember({"auto", "python"}));
  cmd->add_option("--python", f->python, "Python interpreter ($CAIRN_PYTHON, default python3)");
  cmd->add_option("--user", f->user, "Who is acting, sent to the registry ($CAIRN_USER)");
  cmd->callback([f, &action] { action = [f] { return RunPredict(*f); }; });
}

}  // namespace cairn::cli
