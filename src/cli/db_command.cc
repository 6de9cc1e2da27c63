// `cairn db upgrade|version`: direct mode on the metadata store (no server).

#include <iostream>
#include <memory>

#include "api/app.h"
#include "cli/command.h"
#include "core/config.h"
#include "store/metadata_store.h"

namespace cairn::cli {
namespace {

struct DbFlags {
  std::string backend_store_uri;
};

std::string ResolveBackend(const DbFlags& f) {
  api::AppConfig cfg;
  cfg.backend_store_uri = ResolveSetting(f.backend_store_uri, {"CAIRN_BACKEND_STORE_URI"}, "");
  return api::WithDefaults(std::move(cfg)).backend_store_uri;
}

int Run(const DbFlags& f, bool upgrade) {
  std::string uri = ResolveBackend(f);
  auto store = store::OpenMetadataStore(uri);
  if (!store) return ReportError(store.error());
  auto version = upgrade ? (*store)->Migrate() : (*store)->SchemaVersion();
  if (!version) return ReportError(version.error());
  std::cout << (upgrade ? "Upgraded " : "") << RedactUri(uri) << (upgrade ? " to" : " is at")
            << " schema version " << *version << "\n";
  return kExitOk;
}

}  // namespace

void AddDbCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<DbFlags>();
  CLI::App* group = app.add_subcommand("db", "Manage the metadata store's schema");
  group->require_subcommand(1);
  group->add_option("--backend-store-uri", f->backend_store_uri,
                    "Metadata store ($CAIRN_BACKEND_STORE_URI, default ./cairn-data/cairn.db)");
  group->fallthrough();
  CLI::App* upgrade =
      group->add_subcommand("upgrade", "Apply every pending migration; print the schema version");
  upgrade->callback([f, &action] { action = [f] { return Run(*f, true); }; });
  CLI::App* version = group->add_subcommand("version", "Print the schema version");
  version->callback([f, &action] { action = [f] { return Run(*f, false); }; });
}

}  // namespace cairn::cli
