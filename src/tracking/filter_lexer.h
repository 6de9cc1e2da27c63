#pragma once
// The character-level lexer shared by MLflow's two search syntaxes: the
// tracking filter (tracking/filter_parser.cc) and the model registry filter
// (registry/registry_filter.cc). It scans the pieces both grammars spell the
// same way: white space, words, keys after "prefix.", quoted text (SQL-style
// doubled quotes and a backslash before the quote both stand for the quote),
// and the comparison operators. Each parser builds its own tokens from these
// pieces and words its own errors (the two report errors differently), so the
// scanner itself never fails: it reports what it found and where.
//
// A FilterScanner views the text it is given (the caller keeps it alive);
// one instance is not thread-safe, the functions are pure.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cairn::tracking {

bool IsFilterDigit(char c);
bool IsFilterSpace(char c);  // ' ', '\t', '\n', '\r'
// ASCII letter or '_'; with allow_non_ascii also any byte >= 0x80.
bool IsFilterWordStart(char c, bool allow_non_ascii);
bool IsFilterWordChar(char c, bool allow_non_ascii);  // word start or digit
// Unquoted keys after "prefix." also hold - . / : and bytes >= 0x80
// (MLflow key characters).
bool IsFilterKeyChar(char c);

std::string AsciiUpper(std::string_view s);
std::string AsciiLower(std::string_view s);

class FilterScanner {
 public:
  explicit FilterScanner(std::string_view text) : s_(text) {}

  std::string_view text() const { return s_; }
  size_t pos() const { return i_; }
  void set_pos(size_t pos) { i_ = pos; }
  bool AtEnd() const { return i_ >= s_.size(); }
  // The character `ahead` places after pos(), '\0' past the end.
  char Peek(size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }
  // The source text from `from` up to pos().
  std::string_view Since(size_t from) const { return s_.substr(from, i_ - from); }

  void SkipSpace();
  // The run of word characters at pos() (possibly empty), consumed.
  std::string_view Word(bool allow_non_ascii);
  // The run of key characters at pos() (possibly empty), consumed.
  std::string_view Key();
  // Quoted text at pos(), which must be the opening quote character; the
  // unquoted value, with pos() past the closing quote. std::nullopt when the
  // text ends first (pos() is then at the end).
  std::optional<std::string> Quoted();
  // The comparison operator at pos() as written ("==", "!=", "<>", "<=",
  // ">=", "=", "<", ">", longest first), consumed; empty when there is none.
  std::string_view Operator();

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace cairn::tracking
