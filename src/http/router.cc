// Router: the route table and its longest-match lookup (no Beast here).

#include <algorithm>

#include "http/server.h"

namespace cairn::http {
namespace {

bool MethodMatches(Method route_method, Method request_method) {
  return route_method == request_method ||
         (request_method == Method::kHead && route_method == Method::kGet);
}

bool PrefixMatches(std::string_view prefix, std::string_view path) {
  if (!path.starts_with(prefix)) return false;
  if (path.size() == prefix.size()) return true;
  return prefix.ends_with('/') || path[prefix.size()] == '/';
}

}  // namespace

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kDelete: return "DELETE";
    case Method::kPatch: return "PATCH";
    case Method::kOptions: return "OPTIONS";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

void Router::Add(Route route) {
  const size_t index = routes_.size();
  routes_.push_back(std::move(route));
  const Route& r = routes_.back();
  if (!r.prefix) {
    exact_[r.path].push_back(index);
    return;
  }
  // Keep prefixes longest first (stable among equal lengths: first added wins).
  auto pos = std::find_if(prefixes_.begin(), prefixes_.end(), [&](size_t i) {
    return routes_[i].path.size() < r.path.size();
  });
  prefixes_.insert(pos, index);
}

Router::Match Router::Find(Method m, std::string_view path) const {
  Match match;
  if (auto it = exact_.find(path); it != exact_.end()) {
    const Route* get_fallback = nullptr;
    for (size_t i : it->second) {
      const Route& r = routes_[i];
      if (r.method == m) return Match{&r, false};
      if (MethodMatches(r.method, m) && get_fallback == nullptr) get_fallback = &r;
    }
    if (get_fallback != nullptr) return Match{get_fallback, false};
    match.method_mismatch = true;
  }
  // Prefix routes are sorted longest first, so the first one that matches
  // both path and method is the longest match. A HEAD request prefers a HEAD
  // route over a GET route of the same prefix.
  const Route* get_fallback = nullptr;
  for (size_t i : prefixes_) {
    const Route& r = routes_[i];
    if (get_fallback != nullptr && r.path.size() < get_fallback->path.size()) break;
    if (!PrefixMatches(r.path, path)) continue;
    if (r.method == m) return Match{&r, false};
    if (MethodMatches(r.method, m)) {
      if (get_fallback == nullptr) get_fallback = &r;
    } else {
      match.method_mismatch = true;
    }
  }
  if (get_fallback != nullptr) return Match{get_fallback, false};
  return match;
}

std::string Router::AllowedMethods(std::string_view path) const {
  bool seen[8] = {};
  auto note = [&](const Route& r) {
    seen[static_cast<int>(r.method)] = true;
    if (r.method == Method::kGet) seen[static_cast<int>(Method::kHead)] = true;
  };
  if (auto it = exact_.find(path); it != exact_.end()) {
    for (size_t i : it->second) note(routes_[i]);
  }
  for (size_t i : prefixes_) {
    if (PrefixMatches(routes_[i].path, path)) note(routes_[i]);
  }
  std::string out;
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kDelete,
                   Method::kPatch, Method::kOptions}) {
    if (!seen[static_cast<int>(m)]) continue;
    if (!out.empty()) out += ", ";
    out += MethodName(m);
  }
  return out;
}

std::string_view Router::RouteSuffix(const Route& route, std::string_view path) {
  if (!route.prefix || path.size() <= route.path.size()) return {};
  std::string_view rest = path.substr(route.path.size());
  if (!route.path.ends_with('/') && rest.starts_with('/')) rest.remove_prefix(1);
  return rest;
}

}  // namespace cairn::http
