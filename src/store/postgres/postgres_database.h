#pragma once
// PostgreSQL driver for the metadata store (see store/sql/driver.h), over
// libpq.
//
// A bounded, thread-safe pool of connections. Statements the store reuses
// are prepared once per connection (named server-side statements); bulk
// inserts are multi-row INSERTs, chunked to stay under the protocol's
// parameter limit, so a 1000-metric batch is one round trip.
//
// A lost connection (server restarted, backend terminated) is detected and
// discarded: an idle connection with unexpected input is dropped before use;
// one that fails mid-operation makes that operation fail with kUnavailable
// ("metadata store unavailable: ...") and the pool drops it and every idle
// sibling, so later operations reconnect.
//
// A background thread analyzes tables that changed a lot since their last
// analysis, so plans do not wait a minute for autovacuum after a burst.
//
// Thread safety: the Database is thread-safe; a leased connection belongs to
// one thread until released.

#include <map>
#include <memory>
#include <string>

#include "core/error.h"
#include "store/sql/driver.h"

namespace cairn::store::postgres {

struct PostgresOptions {
  std::string host = "127.0.0.1";
  int port = 5432;
  std::string user;
  std::string password;
  std::string dbname;
  // Extra libpq connection keywords (e.g. "options", "sslmode",
  // "application_name", "connect_timeout").
  std::map<std::string, std::string> params;
  int max_connections = 16;
};

// Connects once to check the server is reachable. kUnavailable naming host
// and port when it is not.
Result<std::unique_ptr<sql::Database>> OpenPostgresDatabase(const PostgresOptions& options);

}  // namespace cairn::store::postgres
