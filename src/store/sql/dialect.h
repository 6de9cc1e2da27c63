#pragma once
// The few places where SQLite and PostgreSQL SQL differ, in one spot. The
// rest of the store's SQL is common to both (upserts use
// INSERT ... ON CONFLICT, which both engines accept).

#include <string>
#include <string_view>

#include "store/sql/driver.h"

namespace cairn::store::sql {

// `lhs LIKE ?` (case-sensitive; SQLite runs with case_sensitive_like=ON) or
// the case-insensitive ILIKE. Backslash escapes % and _ on both engines
// (PostgreSQL's default; SQLite is told so with ESCAPE).
inline std::string LikeCondition(Dialect d, std::string_view lhs, bool case_insensitive) {
  std::string out;
  if (case_insensitive && d == Dialect::kSqlite) {
    out.append("lower(").append(lhs).append(") LIKE lower(?)");
  } else {
    out.append(lhs).append(case_insensitive ? " ILIKE ?" : " LIKE ?");
  }
  out.append(" ESCAPE '\\'");
  return out;
}

// Rewrites the portable DDL tokens used by migrations:
//   @ID_PK@        an integer primary key the engine assigns (next = max + 1 on
//                  SQLite, an identity column on PostgreSQL)
//   @ID_PK_NEVER_REUSED@ the same, but an id is never given twice, even after
//                  the newest row is deleted (AUTOINCREMENT on SQLite; identity
//                  columns never reuse on PostgreSQL): for ids the audit log names
//   @WITHOUT_ROWID@ SQLite's clustered-table option (empty on PostgreSQL)
//   @TEXT@         text compared by bytes (SQLite's default BINARY; COLLATE "C")
std::string RewriteDdl(Dialect d, std::string_view ddl);

}  // namespace cairn::store::sql
