#include "registry/names.h"

#include <charconv>

#include "tracking/filter_lexer.h"
#include "tracking/validation.h"

namespace cairn::registry {
namespace {

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return false;
  }
  return true;
}

}  // namespace

Status ValidateModelName(std::string_view name, std::string_view path) {
  if (IsBlank(name)) return std::unexpected(tracking::MissingRequired(path));
  if (name.find('/') != std::string_view::npos || name.find(':') != std::string_view::npos) {
    return InvalidArgument("Invalid model name '" + std::string(name) +
                           "'. Names cannot contain '/' or ':'.");
  }
  // Without '/', a name normalizes to itself; "." and "..x" still do not
  // name a plain file.
  if (name == "." || name.starts_with("..")) {
    return InvalidArgument(tracking::InvalidValueMessage(
        path, tracking::JsonQuote(name),
        "Names may be treated as files in certain cases, and must not resolve to other names "
        "when treated as such. This name would resolve to " +
            tracking::PythonStrRepr(name)));
  }
  return {};
}

Status ValidateAliasSyntax(std::string_view alias) {
  if (alias.empty()) return InvalidArgument("Registered model alias name cannot be empty.");
  for (char ch : alias) {
    auto c = static_cast<unsigned char>(ch);
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c >= 0x80;
    if (!ok) {
      return InvalidArgument("Invalid alias name: '" + std::string(alias) +
                             "'. Names may only contain alphanumerics, underscores (_), and "
                             "dashes (-).");
    }
  }
  return tracking::CheckLength("Registered model alias name", kMaxAliasLength, alias);
}

Status ValidateAliasForSet(std::string_view alias) {
  CAIRN_RETURN_IF_ERROR(ValidateAliasSyntax(alias));
  if (tracking::AsciiLower(alias) == "latest") {
    return InvalidArgument("'latest' alias name (case insensitive) is reserved.");
  }
  bool version_like = alias.size() >= 2 && (alias[0] == 'v' || alias[0] == 'V');
  for (size_t i = 1; version_like && i < alias.size(); ++i) {
    version_like = alias[i] >= '0' && alias[i] <= '9';
  }
  if (version_like) {
    return InvalidArgument("Version alias name '" + std::string(alias) + "' is reserved.");
  }
  return {};
}

const std::vector<std::string>& AllStages() {
  static const std::vector<std::string> kStages = {store::kStageNone, store::kStageStaging,
                                                   store::kStageProduction, store::kStageArchived};
  return kStages;
}

Result<std::string> CanonicalStage(std::string_view stage) {
  const std::string lower = tracking::AsciiLower(stage);
  for (const std::string& s : AllStages()) {
    if (tracking::AsciiLower(s) == lower) return s;
  }
  return InvalidArgument("Invalid Model Version stage: " + std::string(stage) +
                         ". Value must be one of None, Staging, Production, Archived.");
}

Status ValidateRegistryTag(const store::Tag& tag) {
  CAIRN_RETURN_IF_ERROR(tracking::ValidateKeyName(tag.key, "key"));
  CAIRN_RETURN_IF_ERROR(tracking::CheckLength("key", kMaxRegistryTagKeyLength, tag.key));
  return tracking::CheckLength("value", kMaxRegistryTagValueLength, tag.value);
}

Result<int64_t> ParseVersionNumber(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return InvalidArgument("Parameter 'version' must be an integer, got '" + std::string(text) +
                           "'.");
  }
  return v;
}

}  // namespace cairn::registry
