#include "store/metadata_store.h"

#include <charconv>

#include "core/uri.h"
#include "store/postgres/postgres_database.h"
#include "store/sql/sql_metadata_store.h"
#include "store/sqlite/sqlite_database.h"

namespace cairn::store {
namespace {

Result<std::unique_ptr<MetadataStore>> OpenSqlite(const Uri& u, const std::string& text) {
  if (!u.host.empty() && u.host != "localhost") {
    return InvalidArgument("SQLite URI '" + text + "' names a host; use sqlite:///abs/path.db");
  }
  std::string path = u.path;
  if (path == "/:memory:" || path == ":memory:") path = ":memory:";
  if (path.empty() || path == "/") {
    return InvalidArgument("SQLite URI '" + text + "' has no database path");
  }
  sqlite::SqliteOptions options;
  if (auto it = u.query.find("readers"); it != u.query.end()) {
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(),
                                   options.max_readers);
    if (ec != std::errc() || options.max_readers < 1) {
      return InvalidArgument("invalid readers='" + it->second + "' in '" + text + "'");
    }
  }
  CAIRN_ASSIGN_OR_RETURN(auto db, sqlite::OpenSqliteDatabase(path, options));
  return std::unique_ptr<MetadataStore>(std::make_unique<sql::SqlMetadataStore>(std::move(db)));
}

Result<std::unique_ptr<MetadataStore>> OpenPostgres(const Uri& u, const std::string& text) {
  postgres::PostgresOptions options;
  options.host = u.host.empty() ? "localhost" : u.host;
  options.port = u.port == 0 ? 5432 : u.port;
  options.user = u.user;
  options.password = u.password;
  options.dbname = u.path.starts_with('/') ? u.path.substr(1) : u.path;
  for (const auto& [k, v] : u.query) {
    if (k == "pool_size") {
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), options.max_connections);
      if (ec != std::errc() || options.max_connections < 1) {
        return InvalidArgument("invalid pool_size='" + v + "' in '" + text + "'");
      }
    } else {
      options.params[k] = v;  // passed to libpq as a connection keyword
    }
  }
  CAIRN_ASSIGN_OR_RETURN(auto db, postgres::OpenPostgresDatabase(options));
  return std::unique_ptr<MetadataStore>(std::make_unique<sql::SqlMetadataStore>(std::move(db)));
}

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenMetadataStore(const std::string& uri) {
  CAIRN_ASSIGN_OR_RETURN(Uri u, Uri::Parse(uri));
  if (u.scheme == "sqlite") return OpenSqlite(u, uri);
  if (u.scheme == "postgresql" || u.scheme == "postgres") return OpenPostgres(u, uri);
  return InvalidArgument("unsupported metadata store URI '" + uri +
                         "': expected sqlite:///abs/path.db or postgresql://user@host:port/db");
}

}  // namespace cairn::store
