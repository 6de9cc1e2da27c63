// Small helpers shared by the SQL stores (metadata, registry, logged models):
// stepping through result rows, "(?, ?, ...)" placeholder lists and IN
// conditions, sorting
// key/value items, and trimming a page read with one row more than asked.
//
// All are stateless; thread safety is that of the objects passed in.
// ForEachRow returns the driver's error of a failing step (kInternal /
// kUnavailable); the others cannot fail.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/sql/driver.h"

namespace cairn::store::sql {

// Steps `s` to its end, calling on_row() with the statement on each row.
template <typename F>
Status ForEachRow(Statement& s, F&& on_row) {
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, s.Next());
    if (!row) return {};
    on_row();
  }
}

// "(?, ?, ...)" with n placeholders (n >= 1).
inline std::string Placeholders(size_t n) {
  std::string out = "(";
  for (size_t i = 0; i < n; ++i) out.append(i == 0 ? "?" : ", ?");
  out.push_back(')');
  return out;
}

// "<lhs> IN (?, ...)" or "<lhs> NOT IN (?, ...)" for n values (bound by the
// caller), or the constant condition an empty list means: "1 = 0" / "1 = 1".
inline std::string InListCondition(std::string_view lhs, size_t n, bool negate) {
  if (n == 0) return negate ? "1 = 1" : "1 = 0";
  return std::string(lhs) + (negate ? " NOT IN " : " IN ") + Placeholders(n);
}

// Sorts items with a `key` member by key (tags, params).
template <typename T>
void SortByKey(std::vector<T>& v) {
  std::sort(v.begin(), v.end(), [](const T& a, const T& b) { return a.key < b.key; });
}

// A page is read with LIMIT max_results + 1 to know whether another follows:
// if `rows` holds more than max_results (> 0), cuts it to max_results and
// returns the next page's offset; otherwise returns -1 (the last page).
template <typename T>
int64_t TrimPage(std::vector<T>& rows, int64_t max_results, int64_t offset) {
  if (max_results > 0 && static_cast<int64_t>(rows.size()) > max_results) {
    rows.resize(static_cast<size_t>(max_results));
    return offset + max_results;
  }
  return -1;
}

}  // namespace cairn::store::sql
