#include "tracking/filter_lexer.h"

namespace cairn::tracking {

bool IsFilterDigit(char c) { return c >= '0' && c <= '9'; }
bool IsFilterSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsFilterWordStart(char c, bool allow_non_ascii) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (allow_non_ascii && static_cast<unsigned char>(c) >= 0x80);
}
bool IsFilterWordChar(char c, bool allow_non_ascii) {
  return IsFilterWordStart(c, allow_non_ascii) || IsFilterDigit(c);
}
bool IsFilterKeyChar(char c) {
  return IsFilterWordChar(c, /*allow_non_ascii=*/true) || c == '-' || c == '.' || c == '/' ||
         c == ':';
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void FilterScanner::SkipSpace() {
  while (i_ < s_.size() && IsFilterSpace(s_[i_])) ++i_;
}

std::string_view FilterScanner::Word(bool allow_non_ascii) {
  size_t b = i_;
  while (i_ < s_.size() && IsFilterWordChar(s_[i_], allow_non_ascii)) ++i_;
  return Since(b);
}

std::string_view FilterScanner::Key() {
  size_t b = i_;
  while (i_ < s_.size() && IsFilterKeyChar(s_[i_])) ++i_;
  return Since(b);
}

std::optional<std::string> FilterScanner::Quoted() {
  char q = s_[i_++];
  std::string out;
  while (i_ < s_.size()) {
    char c = s_[i_];
    bool escaped = c == '\\' || c == q;  // \q or qq
    if (escaped && i_ + 1 < s_.size() && s_[i_ + 1] == q) {
      out.push_back(q);
      i_ += 2;
      continue;
    }
    ++i_;
    if (c == q) return out;
    out.push_back(c);
  }
  return std::nullopt;
}

std::string_view FilterScanner::Operator() {
  std::string_view rest = s_.substr(i_);
  for (std::string_view op : {"==", "!=", "<>", "<=", ">=", "=", "<", ">"}) {
    if (rest.starts_with(op)) {
      i_ += op.size();
      return op;
    }
  }
  return {};
}

}  // namespace cairn::tracking
