// Transaction helpers shared by the SQL stores (metadata, registry, logged
// models): run a body inside one transaction on a leased connection.
//
// WithWriteTxn leases the writer connection and begins a write transaction;
// WithReadTxn leases a reader and begins a read-only one. The body receives
// the Connection& and returns a Result<T> or Status. If the body fails, the
// transaction is rolled back and the body's error is returned unchanged; if it
// succeeds, the transaction is committed and a commit failure is returned in
// place of the body's value. Lease/Begin failures are returned as they come
// from the driver (typically kUnavailable / kInternal).
//
// Thread safety: as the Database: each call leases its own connection; the
// body must not keep the Connection& beyond its return.
#pragma once

#include <utility>

#include "core/error.h"
#include "store/sql/driver.h"

namespace cairn::store::sql {

namespace internal {

template <typename F>
auto RunInTxn(Database& db, TxnMode mode, F&& body) -> decltype(body(std::declval<Connection&>())) {
  CAIRN_ASSIGN_OR_RETURN(auto conn, mode == TxnMode::kWrite ? db.Writer() : db.Reader());
  CAIRN_RETURN_IF_ERROR(conn->Begin(mode));
  auto result = body(*conn);
  if (!result) {
    conn->Rollback();
    return result;
  }
  CAIRN_RETURN_IF_ERROR(conn->Commit());
  return result;
}

}  // namespace internal

// Runs `body(Connection&)` in a write transaction on db's writer connection.
template <typename F>
auto WithWriteTxn(Database& db, F&& body) -> decltype(body(std::declval<Connection&>())) {
  return internal::RunInTxn(db, TxnMode::kWrite, std::forward<F>(body));
}

// Runs `body(Connection&)` in a read-only transaction on a reader connection.
template <typename F>
auto WithReadTxn(Database& db, F&& body) -> decltype(body(std::declval<Connection&>())) {
  return internal::RunInTxn(db, TxnMode::kReadOnly, std::forward<F>(body));
}

}  // namespace cairn::store::sql
