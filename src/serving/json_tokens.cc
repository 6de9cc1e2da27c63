#include "serving/json_tokens.h"

#include <array>
#include <cstring>
#include <utility>

namespace cairn::serving {

simdjson::padded_string_view PaddedJson(std::string_view json, simdjson::padded_string& large) {
  constexpr size_t kLargest = 1u << 20;
  if (json.size() > kLargest) {
    large = simdjson::padded_string(json);
    return simdjson::padded_string_view(large.data(), large.size(),
                                        large.size() + simdjson::SIMDJSON_PADDING);
  }
  thread_local std::string buffer;
  const size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
  if (buffer.size() < needed) buffer.resize(needed);
  if (!json.empty()) std::memcpy(buffer.data(), json.data(), json.size());
  std::memset(buffer.data() + json.size(), 0, simdjson::SIMDJSON_PADDING);
  return simdjson::padded_string_view(buffer.data(), json.size(), buffer.size());
}

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
