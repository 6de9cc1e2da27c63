#include "http/request_target.h"

#include "core/ids.h"

namespace cairn::http {
bool AppendPercentDecoded(std::string_view in, bool plus_as_space, std::string& out) {
  size_t i = 0;
  while (i < in.size()) {
    // Copy the run of literal characters in one append.
    size_t j = i;
    while (j < in.size() && in[j] != '%' && !(plus_as_space && in[j] == '+')) ++j;
    out.append(in.data() + i, j - i);
    if (j == in.size()) break;
    if (in[j] == '+') {
      out.push_back(' ');
      i = j + 1;
      continue;
    }
    if (j + 2 >= in.size()) return false;  // fewer than two hex digits follow
    const int hi = HexDigitValue(in[j + 1]);
    const int lo = HexDigitValue(in[j + 2]);
    if (hi < 0 || lo < 0) return false;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return false;
    out.push_back(c);
    i = j + 3;
  }
  return true;
}

Result<std::string> PercentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  if (!AppendPercentDecoded(in, plus_as_space, out)) {
    return BadRequest("malformed percent-encoding in '" + std::string(in) + "'");
  }
  return out;
}

Status ParseTarget(std::string_view target, std::string& path,
                   std::vector<std::pair<std::string, std::string>>& query) {
  std::string_view t = target;
  if (const size_t hash = t.find('#'); hash != std::string_view::npos) t = t.substr(0, hash);
  if (t.starts_with("http://") || t.starts_with("https://")) {
    // absolute-form (RFC 9112 3.2.2): drop scheme and authority.
    const size_t authority = t.find("//") + 2;
    const size_t slash = t.find_first_of("/?", authority);
    // "http://host?q" has an empty path, which means "/" (parsed below).
    t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
  } else if (t.starts_with('?')) {
    return BadRequest("request target must start with '/': '" + std::string(target) + "'");
  }
  if (t == "*") {
    path.assign("*");
    query.clear();
    return {};
  }
  if (t.empty() || (t[0] != '/' && t[0] != '?')) {
    return BadRequest("request target must start with '/': '" + std::string(target) + "'");
  }
  const size_t qmark = t.find('?');
  const std::string_view raw_path = t.substr(0, qmark);
  path.clear();
  if (raw_path.empty()) {
    path.push_back('/');
  } else if (!AppendPercentDecoded(raw_path, /*plus_as_space=*/false, path)) {
    return BadRequest("malformed percent-encoding in request path '" + std::string(raw_path) +
                      "'");
  }

  size_t n = 0;
  if (qmark != std::string_view::npos) {
    std::string_view rest = t.substr(qmark + 1);
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      const std::string_view item = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (item.empty()) continue;
      const size_t eq = item.find('=');
      const std::string_view key = item.substr(0, eq);
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
      if (n == query.size()) query.emplace_back();
      auto& [k, v] = query[n++];
      k.clear();
      v.clear();
      if (!AppendPercentDecoded(key, true, k) || !AppendPercentDecoded(value, true, v)) {
        query.resize(n - 1);
        return BadRequest("malformed percent-encoding in query parameter '" + std::string(item) +
                          "'");
      }
    }
  }
  query.resize(n);
  return {};
}

}  // namespace cairn::http
