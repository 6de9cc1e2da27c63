#include "tracking/filter_parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>

#include "tracking/filter_lexer.h"

namespace cairn::tracking {
namespace {

using store::Comparator;
using store::Comparison;
using store::Entity;

// ---------------------------------------------------------------- tokens --

enum class Tok {
  kIdent,   // [prefix '.'] key
  kString,  // quoted value
  kNumber,  // numeric literal
  kOp,      // = != < <= > >=
  kLParen,
  kRParen,
  kComma,
  kKeyword,  // AND OR NOT IN IS NULL LIKE ILIKE ASC DESC (upper-cased in `text`)
  kEnd,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;
  std::string raw;     // the source text of the token
  std::string text;    // string value, keyword (upper case), operator
  std::string prefix;  // kIdent: entity prefix, empty for a bare name
  std::string key;     // kIdent: the key, unquoted
  double number = 0;
  bool is_integer = false;  // no '.', no exponent, fits int64: `integer` holds it
  int64_t integer = 0;
};

constexpr std::array<std::string_view, 10> kKeywords = {"AND",  "OR",   "NOT",   "IN",  "IS",
                                                        "NULL", "LIKE", "ILIKE", "ASC", "DESC"};

// Builds "Invalid filter '<f>': <what> at position <n>" style errors.
class ErrorSink {
 public:
  ErrorSink(std::string_view head, std::string_view text) : head_(head), text_(text) {}
  std::unexpected<Error> At(std::string_view what, size_t pos) const {
    return InvalidArgument(std::string(head_) + " '" + std::string(text_) +
                           "': " + std::string(what) + " at position " + std::to_string(pos));
  }
  std::unexpected<Error> Plain(std::string_view what) const {
    return InvalidArgument(std::string(head_) + " '" + std::string(text_) +
                           "': " + std::string(what));
  }

 private:
  std::string_view head_;
  std::string_view text_;
};

class Lexer {
 public:
  Lexer(std::string_view s, const ErrorSink& err) : sc_(s), err_(err) {}

  Result<std::vector<Token>> All() {
    std::vector<Token> out;
    while (true) {
      CAIRN_ASSIGN_OR_RETURN(Token t, Next());
      bool end = t.kind == Tok::kEnd;
      out.push_back(std::move(t));
      if (end) return out;
    }
  }

 private:
  Result<std::string> Quoted() {
    size_t start = sc_.pos();
    char q = sc_.Peek();
    std::optional<std::string> text = sc_.Quoted();
    if (!text) return err_.At(std::string("unterminated quoted text starting with ") + q, start);
    return std::move(*text);
  }

  Result<Token> Next() {
    sc_.SkipSpace();
    Token t;
    t.pos = sc_.pos();
    if (sc_.AtEnd()) {
      t.kind = Tok::kEnd;
      return t;
    }
    char c = sc_.Peek();
    if (IsFilterWordStart(c, /*allow_non_ascii=*/false) || c == '`') {
      return Identifier();
    }
    if (c == '\'' || c == '"') {
      CAIRN_ASSIGN_OR_RETURN(t.text, Quoted());
      t.kind = Tok::kString;
      t.raw = std::string(sc_.Since(t.pos));
      return t;
    }
    char next = sc_.Peek(1);
    if (IsFilterDigit(c) || c == '.' ||
        ((c == '-' || c == '+') && (IsFilterDigit(next) || next == '.'))) {
      return Number();
    }
    if (std::string_view op = sc_.Operator(); !op.empty()) {
      t.kind = Tok::kOp;
      t.raw = std::string(op);
      t.text = op == "==" ? "=" : op == "<>" ? "!=" : std::string(op);
      return t;
    }
    if (c == '(' || c == ')' || c == ',') {
      t.kind = c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : Tok::kComma;
      t.raw = std::string(1, c);
      sc_.set_pos(t.pos + 1);
      return t;
    }
    return err_.At("unexpected character '" + std::string(1, c) + "'", t.pos);
  }

  Result<Token> Identifier() {
    Token t;
    t.pos = sc_.pos();
    std::string first;
    bool first_quoted = false;
    if (sc_.Peek() == '`') {
      CAIRN_ASSIGN_OR_RETURN(first, Quoted());
      first_quoted = true;
    } else {
      first = std::string(sc_.Word(/*allow_non_ascii=*/false));
    }
    bool dotted = sc_.Peek() == '.';
    if (!dotted) {
      std::string up = AsciiUpper(first);
      if (!first_quoted && std::find(kKeywords.begin(), kKeywords.end(), up) != kKeywords.end()) {
        t.kind = Tok::kKeyword;
        t.text = up;
        t.raw = first;
        return t;
      }
      t.kind = Tok::kIdent;
      t.key = first;
      t.raw = std::string(sc_.Since(t.pos));
      return t;
    }
    sc_.set_pos(sc_.pos() + 1);  // the dot
    t.kind = Tok::kIdent;
    t.prefix = first;
    if (char q = sc_.Peek(); q == '`' || q == '"' || q == '\'') {
      CAIRN_ASSIGN_OR_RETURN(t.key, Quoted());
    } else {
      t.key = std::string(sc_.Key());
    }
    t.raw = std::string(sc_.Since(t.pos));
    if (t.key.empty()) return err_.At("expected a key after '" + t.raw + "'", t.pos);
    return t;
  }

  // Advances over a run of digits.
  void Digits() {
    while (IsFilterDigit(sc_.Peek())) sc_.set_pos(sc_.pos() + 1);
  }

  Result<Token> Number() {
    Token t;
    const size_t b = sc_.pos();
    t.pos = b;
    auto advance = [&] { sc_.set_pos(sc_.pos() + 1); };
    if (sc_.Peek() == '+' || sc_.Peek() == '-') advance();
    bool integer = true;
    Digits();
    if (sc_.Peek() == '.') {
      integer = false;
      advance();
      Digits();
    }
    if (sc_.Peek() == 'e' || sc_.Peek() == 'E') {
      size_t save = sc_.pos();
      advance();
      if (sc_.Peek() == '+' || sc_.Peek() == '-') advance();
      if (IsFilterDigit(sc_.Peek())) {
        integer = false;
        Digits();
      } else {
        sc_.set_pos(save);
      }
    }
    // A number runs into letters ("1abc"): not a number at all.
    auto word_or_dot = [](char ch) { return IsFilterWordChar(ch, false) || ch == '.'; };
    if (word_or_dot(sc_.Peek())) {
      while (word_or_dot(sc_.Peek())) advance();
      return err_.At("invalid number '" + std::string(sc_.Since(b)) + "'", b);
    }
    t.raw = std::string(sc_.Since(b));
    std::string_view digits = t.raw;
    if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.number);
    if (ec != std::errc() || p != digits.data() + digits.size() || t.raw == "." || t.raw == "-." ||
        t.raw == "+.") {
      return err_.At("invalid number '" + t.raw + "'", b);
    }
    t.kind = Tok::kNumber;
    if (integer) {
      auto [ip, iec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.integer);
      t.is_integer = iec == std::errc() && ip == digits.data() + digits.size();
    }
    return t;
  }

  FilterScanner sc_;
  const ErrorSink& err_;
};

std::string Describe(const Token& t) {
  if (t.kind == Tok::kEnd) return "end of input";
  return "'" + t.raw + "'";
}

// ------------------------------------------------------------- entities --

enum class Target { kRuns, kExperiments };
enum class ValueKind { kNumber, kInteger, kString };

struct Field {
  Entity entity;
  std::string key;
  ValueKind kind;
  std::string label;  // for messages: "metric 'loss'", "attribute 'start_time'"
};

constexpr std::array<std::string_view, 7> kRunAttributes = {
    "run_id", "run_name", "status", "user_id", "start_time", "end_time", "artifact_uri"};
constexpr std::array<std::string_view, 4> kExperimentAttributes = {
    "name", "experiment_id", "creation_time", "last_update_time"};

std::string JoinNames(auto const& names) {
  std::string out;
  for (auto n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

Result<Field> ResolveField(Target target, const Token& t, const ErrorSink& err) {
  std::string prefix = AsciiLower(t.prefix);
  Field f;
  if (target == Target::kRuns) {
    if (prefix == "metric" || prefix == "metrics") {
      f = {Entity::kMetric, t.key, ValueKind::kNumber, "metric '" + t.key + "'"};
      return f;
    }
    if (prefix == "param" || prefix == "params" || prefix == "parameter" ||
        prefix == "parameters") {
      f = {Entity::kParam, t.key, ValueKind::kString, "param '" + t.key + "'"};
      return f;
    }
    if (prefix == "tag" || prefix == "tags") {
      f = {Entity::kTag, t.key, ValueKind::kString, "tag '" + t.key + "'"};
      return f;
    }
    if (prefix == "dataset" || prefix == "datasets") {
      if (t.key != "name" && t.key != "digest" && t.key != "context") {
        return err.At("unknown dataset field '" + t.key + "' (valid: name, digest, context)",
                      t.pos);
      }
      f = {Entity::kDataset, t.key, ValueKind::kString, "dataset " + t.key};
      return f;
    }
    if (!prefix.empty() && prefix != "attribute" && prefix != "attributes" && prefix != "attr" &&
        prefix != "run") {
      return err.At(
          "unknown entity '" + t.prefix + "' (valid: metrics, params, tags, attributes, datasets)",
          t.pos);
    }
    std::string key = t.key;
    if (key == "created" || key == "Created") key = "start_time";
    if (key == "run name" || key == "Run name" || key == "Run Name") key = "run_name";
    if (std::find(kRunAttributes.begin(), kRunAttributes.end(), key) == kRunAttributes.end()) {
      return err.At("unknown attribute '" + t.key + "' (valid: " + JoinNames(kRunAttributes) + ")",
                    t.pos);
    }
    bool time = key == "start_time" || key == "end_time";
    f = {Entity::kAttribute, key, time ? ValueKind::kInteger : ValueKind::kString,
         "attribute '" + key + "'"};
    return f;
  }
  // Experiments.
  if (prefix == "tag" || prefix == "tags") {
    f = {Entity::kTag, t.key, ValueKind::kString, "tag '" + t.key + "'"};
    return f;
  }
  if (!prefix.empty() && prefix != "attribute" && prefix != "attributes" && prefix != "attr") {
    return err.At("unknown entity '" + t.prefix + "' (valid for experiments: attributes, tags)",
                  t.pos);
  }
  if (std::find(kExperimentAttributes.begin(), kExperimentAttributes.end(), t.key) ==
      kExperimentAttributes.end()) {
    return err.At(
        "unknown attribute '" + t.key + "' (valid: " + JoinNames(kExperimentAttributes) + ")",
        t.pos);
  }
  bool time = t.key == "creation_time" || t.key == "last_update_time";
  f = {Entity::kAttribute, t.key, time ? ValueKind::kInteger : ValueKind::kString,
       "attribute '" + t.key + "'"};
  return f;
}

// Which comparators each kind of field accepts, as MLflow.
std::vector<Comparator> AllowedComparators(const Field& f) {
  using C = Comparator;
  if (f.kind != ValueKind::kString) return {C::kEq, C::kNe, C::kLt, C::kLe, C::kGt, C::kGe};
  if (f.entity == Entity::kParam || f.entity == Entity::kTag) {
    return {C::kEq, C::kNe, C::kLike, C::kILike, C::kIsNull, C::kIsNotNull};
  }
  return {C::kEq, C::kNe, C::kLike, C::kILike, C::kIn, C::kNotIn};
}

// ---------------------------------------------------------------- parser --

class Parser {
 public:
  Parser(Target target, std::vector<Token> toks, const ErrorSink& err)
      : target_(target), toks_(std::move(toks)), err_(err) {}

  Result<std::vector<Comparison>> Filter() {
    std::vector<Comparison> out;
    if (Peek().kind == Tok::kEnd) return out;
    while (true) {
      CAIRN_ASSIGN_OR_RETURN(Comparison c, OneComparison());
      out.push_back(std::move(c));
      const Token& t = Peek();
      if (t.kind == Tok::kEnd) return out;
      if (IsKeyword(t, "AND")) {
        Take();
        if (Peek().kind == Tok::kEnd) return err_.At("expected a condition after 'AND'", t.pos);
        continue;
      }
      if (IsKeyword(t, "OR")) {
        return err_.At("'OR' is not supported (combine conditions with AND)", t.pos);
      }
      return err_.At("expected AND between conditions but found " + Describe(t), t.pos);
    }
  }

 private:
  static bool IsKeyword(const Token& t, std::string_view k) {
    return t.kind == Tok::kKeyword && t.text == k;
  }
  const Token& Peek() const { return toks_[i_]; }
  const Token& Take() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }

  Result<Comparison> OneComparison() {
    const Token& id = Take();
    if (id.kind != Tok::kIdent) {
      if (IsKeyword(id, "OR")) {
        return err_.At("'OR' is not supported (combine conditions with AND)", id.pos);
      }
      if (id.kind == Tok::kLParen) {
        return err_.At("parenthesized conditions are not supported", id.pos);
      }
      return err_.At(
          "expected an identifier such as metrics.<key>, params.<key>, tags.<key> or "
          "attributes.<name> but found " +
              Describe(id),
          id.pos);
    }
    CAIRN_ASSIGN_OR_RETURN(Field field, ResolveField(target_, id, err_));

    // The comparator.
    const Token& op = Take();
    Comparator cmp;
    if (op.kind == Tok::kOp) {
      if (op.text == "=")
        cmp = Comparator::kEq;
      else if (op.text == "!=")
        cmp = Comparator::kNe;
      else if (op.text == "<")
        cmp = Comparator::kLt;
      else if (op.text == "<=")
        cmp = Comparator::kLe;
      else if (op.text == ">")
        cmp = Comparator::kGt;
      else
        cmp = Comparator::kGe;
    } else if (IsKeyword(op, "LIKE")) {
      cmp = Comparator::kLike;
    } else if (IsKeyword(op, "ILIKE")) {
      cmp = Comparator::kILike;
    } else if (IsKeyword(op, "IN")) {
      cmp = Comparator::kIn;
    } else if (IsKeyword(op, "NOT")) {
      const Token& in = Take();
      if (!IsKeyword(in, "IN")) {
        return err_.At("expected IN after NOT but found " + Describe(in), in.pos);
      }
      cmp = Comparator::kNotIn;
    } else if (IsKeyword(op, "IS")) {
      const Token& n = Take();
      if (IsKeyword(n, "NULL")) {
        cmp = Comparator::kIsNull;
      } else if (IsKeyword(n, "NOT")) {
        const Token& n2 = Take();
        if (!IsKeyword(n2, "NULL")) {
          return err_.At("expected NULL after IS NOT but found " + Describe(n2), n2.pos);
        }
        cmp = Comparator::kIsNotNull;
      } else {
        return err_.At("expected NULL or NOT NULL after IS but found " + Describe(n), n.pos);
      }
    } else if (op.kind == Tok::kEnd) {
      return err_.At("expected a comparison operator after '" + id.raw + "'", id.pos);
    } else {
      return err_.At(
          "expected a comparison operator after '" + id.raw + "' but found " + Describe(op),
          op.pos);
    }
    std::vector<Comparator> allowed = AllowedComparators(field);
    if (std::find(allowed.begin(), allowed.end(), cmp) == allowed.end()) {
      std::string names;
      for (Comparator a : allowed) {
        if (!names.empty()) names += ", ";
        names += store::ComparatorName(a);
      }
      return err_.At("comparator '" + std::string(store::ComparatorName(cmp)) +
                         "' is not supported for " + field.label + " (use one of " + names + ")",
                     op.pos);
    }

    Comparison c{field.entity, field.key, cmp, std::monostate{}};
    if (cmp == Comparator::kIsNull || cmp == Comparator::kIsNotNull) return c;
    if (cmp == Comparator::kIn || cmp == Comparator::kNotIn) {
      CAIRN_ASSIGN_OR_RETURN(c.value, List(op));
      return c;
    }
    const Token& v = Take();
    if (v.kind == Tok::kEnd) {
      return err_.At("expected a value after '" + op.raw + "'", op.pos);
    }
    switch (field.kind) {
      case ValueKind::kNumber:
        if (v.kind != Tok::kNumber) {
          return err_.At(field.label + " must be compared with a number, found " + Describe(v),
                         v.pos);
        }
        c.value = v.number;
        return c;
      case ValueKind::kInteger: {
        if (v.kind != Tok::kNumber) {
          return err_.At(field.label + " must be compared with an integer (milliseconds), found " +
                             Describe(v),
                         v.pos);
        }
        if (v.is_integer) {
          c.value = v.integer;
          return c;
        }
        double d = v.number;
        if (std::trunc(d) != d || std::fabs(d) > 9.2e18) {
          return err_.At(field.label + " must be compared with an integer (milliseconds), found " +
                             Describe(v),
                         v.pos);
        }
        c.value = static_cast<int64_t>(d);
        return c;
      }
      case ValueKind::kString:
        if (v.kind != Tok::kString) {
          return err_.At(field.label + " must be compared with a quoted string (e.g. 'value'), " +
                             "found " + Describe(v),
                         v.pos);
        }
        c.value = v.text;
        return c;
    }
    return c;
  }

  Result<std::vector<std::string>> List(const Token& op) {
    const Token& open = Take();
    if (open.kind != Tok::kLParen) {
      if (open.kind == Tok::kEnd) return err_.At("expected '(' after '" + op.raw + "'", op.pos);
      return err_.At(
          "expected a parenthesized list after '" + op.raw + "' but found " + Describe(open),
          open.pos);
    }
    std::vector<std::string> values;
    while (true) {
      const Token& v = Take();
      if (v.kind == Tok::kRParen && values.empty()) {
        return err_.At("the list after '" + op.raw + "' is empty", v.pos);
      }
      if (v.kind != Tok::kString) {
        return err_.At("expected a quoted string in the list but found " + Describe(v), v.pos);
      }
      values.push_back(v.text);
      const Token& sep = Take();
      if (sep.kind == Tok::kRParen) return values;
      if (sep.kind != Tok::kComma) {
        return err_.At("expected ',' or ')' in the list but found " + Describe(sep), sep.pos);
      }
    }
  }

  Target target_;
  std::vector<Token> toks_;
  const ErrorSink& err_;
  size_t i_ = 0;
};

Result<std::vector<Comparison>> ParseFilter(Target target, std::string_view filter) {
  ErrorSink err("Invalid filter", filter);
  Lexer lexer(filter, err);
  CAIRN_ASSIGN_OR_RETURN(std::vector<Token> toks, lexer.All());
  Parser parser(target, std::move(toks), err);
  return parser.Filter();
}

Result<store::OrderBy> ParseOrderBy(Target target, std::string_view clause) {
  ErrorSink err("Invalid order_by clause", clause);
  Lexer lexer(clause, err);
  CAIRN_ASSIGN_OR_RETURN(std::vector<Token> toks, lexer.All());
  const Token& id = toks[0];
  if (id.kind != Tok::kIdent) {
    if (id.kind == Tok::kEnd) return err.Plain("it is empty");
    return err.At("expected a column such as metrics.<key> or attributes.start_time but found " +
                      Describe(id),
                  id.pos);
  }
  CAIRN_ASSIGN_OR_RETURN(Field field, ResolveField(target, id, err));
  if (field.entity == Entity::kDataset) {
    return err.At("ordering by datasets is not supported", id.pos);
  }
  store::OrderBy ob{field.entity, field.key, true};
  size_t i = 1;
  if (toks[i].kind == Tok::kKeyword && (toks[i].text == "ASC" || toks[i].text == "DESC")) {
    ob.ascending = toks[i].text == "ASC";
    ++i;
  }
  if (toks[i].kind != Tok::kEnd) {
    return err.At("expected ASC, DESC or the end but found " + Describe(toks[i]), toks[i].pos);
  }
  return ob;
}

}  // namespace

Result<std::vector<store::Comparison>> ParseRunFilter(std::string_view filter) {
  return ParseFilter(Target::kRuns, filter);
}
Result<std::vector<store::Comparison>> ParseExperimentFilter(std::string_view filter) {
  return ParseFilter(Target::kExperiments, filter);
}
Result<store::OrderBy> ParseRunOrderBy(std::string_view clause) {
  return ParseOrderBy(Target::kRuns, clause);
}
Result<store::OrderBy> ParseExperimentOrderBy(std::string_view clause) {
  return ParseOrderBy(Target::kExperiments, clause);
}

}  // namespace cairn::tracking
