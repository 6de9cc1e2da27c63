#include "serving/json_tokens.h"

#include <array>
#include <utility>

namespace cairn::serving {

std::optional<std::string> ReplaceNonFiniteTokens(std::string_view json,
                                                  const NonFiniteReplacements& with) {
  if (json.find("NaN") == std::string_view::npos &&
      json.find("Infinity") == std::string_view::npos) {
    return std::nullopt;
  }
  // Longest first: "-Infinity" before "Infinity" cannot clash (different
  // first character), but keep the order explicit.
  const std::array<std::pair<std::string_view, std::optional<std::string_view>>, 3> tokens = {{
      {"-Infinity", with.negative_infinity},
      {"Infinity", with.infinity},
      {"NaN", with.nan},
  }};
  std::string out;
  out.reserve(json.size() + 16);
  bool in_string = false;
  bool changed = false;
  char last_structural = 0;  // the last non-space character outside strings
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < json.size()) {
        out += json[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      last_structural = c;
      continue;
    }
    bool replaced = false;
    if (last_structural == '[' || last_structural == ',' || last_structural == ':') {
      for (const auto& [token, replacement] : tokens) {
        if (replacement && json.substr(i, token.size()) == token) {
          out += *replacement;
          i += token.size() - 1;
          changed = true;
          replaced = true;
          last_structural = 'v';
          break;
        }
      }
    }
    if (replaced) continue;
    out += c;
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') last_structural = c;
  }
  if (!changed) return std::nullopt;
  return out;
}

}  // namespace cairn::serving
