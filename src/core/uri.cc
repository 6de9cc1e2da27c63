#include "core/uri.h"

#include "core/ids.h"

#include <cctype>
#include <charconv>
#include <filesystem>

namespace cairn {
Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      int hi = i + 1 < s.size() ? HexDigitValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexDigitValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return InvalidArgument("bad percent-encoding in '" + std::string(s) + "'");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string PercentEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' ||
                      (keep_slash && c == '/');
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<Uri> Uri::Parse(std::string_view text) {
  Uri u;
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgument("'" + std::string(text) + "' is not a URI (expected scheme:...)");
  }
  for (char c : text.substr(0, colon)) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
    if (!ok) return InvalidArgument("'" + std::string(text) + "' has an invalid scheme");
    u.scheme.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  std::string_view rest = text.substr(colon + 1);
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      authority = authority.substr(at + 1);
      auto c2 = userinfo.find(':');
      CAIRN_ASSIGN_OR_RETURN(u.user, PercentDecode(userinfo.substr(0, c2)));
      if (c2 != std::string_view::npos) {
        CAIRN_ASSIGN_OR_RETURN(u.password, PercentDecode(userinfo.substr(c2 + 1)));
      }
    }
    std::string_view host = authority;
    if (host.starts_with('[')) {  // IPv6 literal
      auto close = host.find(']');
      if (close == std::string_view::npos) {
        return InvalidArgument("'" + std::string(text) + "' has an unterminated IPv6 host");
      }
      u.host = std::string(host.substr(1, close - 1));
      host = host.substr(close + 1);
      if (host.starts_with(':')) {
        host.remove_prefix(1);
      } else {
        host = {};
      }
    } else if (auto pc = host.rfind(':'); pc != std::string_view::npos) {
      u.host = std::string(host.substr(0, pc));
      host = host.substr(pc + 1);
    } else {
      u.host = std::string(host);
      host = {};
    }
    if (!host.empty()) {
      int port = 0;
      auto [p, ec] = std::from_chars(host.data(), host.data() + host.size(), port);
      if (ec != std::errc() || p != host.data() + host.size() || port <= 0 || port > 65535) {
        return InvalidArgument("'" + std::string(text) + "' has an invalid port '" +
                               std::string(host) + "'");
      }
      u.port = port;
    }
  }
  CAIRN_ASSIGN_OR_RETURN(u.path, PercentDecode(rest));
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (kv.empty()) continue;
    auto eq = kv.find('=');
    CAIRN_ASSIGN_OR_RETURN(std::string k, PercentDecode(kv.substr(0, eq)));
    std::string v;
    if (eq != std::string_view::npos) {
      CAIRN_ASSIGN_OR_RETURN(v, PercentDecode(kv.substr(eq + 1)));
    }
    u.query[k] = v;
  }
  return u;
}

Result<std::string> LocalPathFromUri(std::string_view uri_or_path) {
  std::string path;
  if (uri_or_path.starts_with("file:")) {
    CAIRN_ASSIGN_OR_RETURN(Uri u, Uri::Parse(uri_or_path));
    if (!u.host.empty() && u.host != "localhost") {
      return InvalidArgument("file URI '" + std::string(uri_or_path) +
                             "' names a remote host; use file:///absolute/path");
    }
    path = u.path;
  } else if (uri_or_path.find("://") != std::string_view::npos) {
    return InvalidArgument("'" + std::string(uri_or_path) + "' is not a local path or file:// URI");
  } else {
    path = std::string(uri_or_path);
  }
  if (path.empty()) return InvalidArgument("empty path");
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  if (ec) return InvalidArgument("cannot resolve path '" + path + "': " + ec.message());
  return abs.lexically_normal().string();
}

Result<RunsUri> ParseRunsUri(std::string_view text) {
  if (!text.starts_with("runs:/")) {
    return InvalidArgument("'" + std::string(text) + "' is not a runs:/<run_id>/<path> URI");
  }
  std::string_view rest = text.substr(6);
  while (rest.starts_with('/')) rest.remove_prefix(1);
  auto slash = rest.find('/');
  RunsUri r;
  r.run_id = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) r.path = std::string(rest.substr(slash + 1));
  if (r.run_id.empty()) {
    return InvalidArgument("'" + std::string(text) + "' has no run id (runs:/<run_id>/<path>)");
  }
  return r;
}

}  // namespace cairn
