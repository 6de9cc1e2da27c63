// `cairn artifacts log|list|download` (client mode).

#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/table.h"

namespace cairn::cli {
namespace {

using nlohmann::json;

struct ArtifactsFlags {
  ClientFlags client;
  std::string run_id;
  std::string local_path;
  std::string artifact_path;
  std::string path;
  std::string dst = ".";
};

std::string FormatSize(int64_t bytes) {
  return bytes < 0 ? "" : FormatBytes(static_cast<uint64_t>(bytes));
}

int Log(ArtifactsFlags& f) {
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  auto n = c->LogArtifacts(f.run_id, f.local_path, f.artifact_path);
  if (!n) return ReportError(n.error());
  if (f.client.json) {
    PrintJson(json{{"files_uploaded", *n}});
  } else {
    std::cout << "Uploaded " << *n << (*n == 1 ? " file" : " files") << " to run " << f.run_id
              << (f.artifact_path.empty() ? "" : " under '" + f.artifact_path + "'") << "\n";
  }
  return kExitOk;
}

int List(ArtifactsFlags& f) {
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  auto files = c->ListArtifacts(f.run_id, f.path);
  if (!files) return ReportError(files.error());
  if (f.client.json) {
    json arr = json::array();
    for (const auto& fi : *files) arr.push_back(client::FileInfoJson(fi));
    PrintJson(json{{"files", std::move(arr)}});
    return kExitOk;
  }
  TextTable t({"path", "type", "size"}, 80);
  for (const auto& fi : *files) {
    t.AddRow(
        {fi.path + (fi.is_dir ? "/" : ""), fi.is_dir ? "dir" : "file", FormatSize(fi.file_size)});
  }
  std::cout << t.Render();
  return kExitOk;
}

int Download(ArtifactsFlags& f) {
  auto c = MakeClient(f.client);
  if (!c) return ReportError(c.error());
  auto local = c->DownloadArtifacts(f.run_id, f.path, f.dst);
  if (!local) return ReportError(local.error());
  if (f.client.json) {
    PrintJson(json{{"local_path", *local}});
  } else {
    std::cout << *local << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddArtifactsCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<ArtifactsFlags>();
  CLI::App* group = app.add_subcommand("artifacts", "Upload, list and download run artifacts");
  group->require_subcommand(1);
  AddClientFlags(*group, f->client);

  CLI::App* log =
      group->add_subcommand("log", "Upload a file, or a folder's contents recursively, to a run");
  log->add_option("RUN_ID", f->run_id)->required();
  log->add_option("LOCAL_PATH", f->local_path, "File or folder")->required();
  log->add_option("--artifact-path", f->artifact_path,
                  "Folder under the run's artifact root (default: the root)");
  log->callback([f, &action] { action = [f] { return Log(*f); }; });

  CLI::App* list = group->add_subcommand("list", "List a folder of a run's artifacts");
  list->add_option("RUN_ID", f->run_id)->required();
  list->add_option("--path", f->path, "Folder (default: the root)");
  list->callback([f, &action] { action = [f] { return List(*f); }; });

  CLI::App* download = group->add_subcommand(
      "download", "Download a file or folder of a run's artifacts to DST/PATH");
  download->add_option("RUN_ID", f->run_id)->required();
  download->add_option("--path", f->path, "File or folder (default: everything)");
  download->add_option("--dst", f->dst, "Local folder")->capture_default_str();
  download->callback([f, &action] { action = [f] { return Download(*f); }; });
}

}  // namespace cairn::cli
