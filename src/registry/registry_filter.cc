#include "registry/registry_filter.h"

#include <charconv>
#include <string>
#include <utility>

#include "tracking/filter_lexer.h"
#include "tracking/page_token.h"

namespace cairn::registry {
namespace {

using store::RegistryComparison;
using store::RegistryOrderBy;
using Field = RegistryComparison::Field;
using Op = RegistryComparison::Op;

// ---------------------------------------------------------------- tokens --

enum class Tok { kIdent, kString, kNumber, kOp, kKeyword, kList, kOther };

struct Token {
  Tok kind = Tok::kOther;
  std::string raw;     // source text
  std::string text;    // string value; keyword / operator upper-cased
  std::string prefix;  // kIdent: entity prefix ("" for a bare name)
  std::string key;     // kIdent: unquoted key
  bool prefixed = false;
  bool is_integer = false;   // kNumber
  std::vector<Token> items;  // kList: the tokens between the parentheses
};

bool IsSpace(char c) { return tracking::IsFilterSpace(c); }

std::unexpected<Error> InvalidClauses(std::string_view what) {
  return InvalidArgument("Invalid clause(s) in filter string: " + std::string(what));
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : sc_(s) {}

  // Tokens up to the end, or up to the ')' closing a list when `in_list`.
  Result<std::vector<Token>> Tokens(bool in_list) {
    std::vector<Token> out;
    while (true) {
      sc_.SkipSpace();
      if (sc_.AtEnd()) {
        if (in_list) {
          return InvalidClauses(std::string(sc_.text().substr(list_start_)) + " (missing ')')");
        }
        return out;
      }
      if (sc_.Peek() == ')') {
        if (!in_list) return InvalidClauses(std::string(sc_.text().substr(sc_.pos())));
        Advance();
        return out;
      }
      CAIRN_ASSIGN_OR_RETURN(Token t, Next());
      out.push_back(std::move(t));
    }
  }

 private:
  void Advance() { sc_.set_pos(sc_.pos() + 1); }

  Result<std::string> Quoted() {
    size_t start = sc_.pos();
    std::optional<std::string> text = sc_.Quoted();
    if (!text) {
      return InvalidClauses(std::string(sc_.text().substr(start)) + " (unterminated quoted text)");
    }
    return std::move(*text);
  }

  Result<Token> Next() {
    Token t;
    const size_t start = sc_.pos();
    const char c = sc_.Peek();
    auto finish = [&](Token tok) {
      tok.raw = std::string(sc_.Since(start));
      return tok;
    };
    if (c == '\'' || c == '"') {
      CAIRN_ASSIGN_OR_RETURN(t.text, Quoted());
      t.kind = Tok::kString;
      return finish(std::move(t));
    }
    if (c == '`') {
      CAIRN_ASSIGN_OR_RETURN(t.key, Quoted());
      t.kind = Tok::kIdent;
      return finish(std::move(t));
    }
    if (tracking::IsFilterWordStart(c, /*allow_non_ascii=*/true)) {
      std::string word(sc_.Word(/*allow_non_ascii=*/true));
      if (sc_.Peek() == '.') {
        Advance();
        t.kind = Tok::kIdent;
        t.prefix = word;
        t.prefixed = true;
        if (sc_.Peek() == '`' || sc_.Peek() == '"') {
          CAIRN_ASSIGN_OR_RETURN(t.key, Quoted());
        } else {
          t.key = std::string(sc_.Key());
          if (t.key.empty()) return InvalidClauses(std::string(sc_.text().substr(start)));
        }
        return finish(std::move(t));
      }
      std::string up = tracking::AsciiUpper(word);
      if (up == "AND" || up == "OR" || up == "NOT" || up == "IN" || up == "LIKE" || up == "ILIKE" ||
          up == "IS" || up == "NULL") {
        t.kind = Tok::kKeyword;
        t.text = up;
      } else {
        t.kind = Tok::kIdent;
        t.key = word;
      }
      return finish(std::move(t));
    }
    const char next = sc_.Peek(1);
    if (tracking::IsFilterDigit(c) ||
        ((c == '-' || c == '+' || c == '.') && (tracking::IsFilterDigit(next) || next == '.'))) {
      if (c == '-' || c == '+') Advance();
      bool integer = true;
      for (char prev = '\0';; Advance()) {
        char ch = sc_.Peek();
        bool exponent_sign = (ch == '-' || ch == '+') && (prev == 'e' || prev == 'E');
        if (!(tracking::IsFilterDigit(ch) || ch == '.' || ch == 'e' || ch == 'E' ||
              exponent_sign)) {
          break;
        }
        if (!tracking::IsFilterDigit(ch)) integer = false;
        prev = ch;
      }
      t.kind = Tok::kNumber;
      t.is_integer = integer;
      t = finish(std::move(t));
      t.text = t.raw;
      return t;
    }
    if (std::string_view op = sc_.Operator(); !op.empty()) {
      t.kind = Tok::kOp;
      t.text = std::string(op);
      return finish(std::move(t));
    }
    Advance();
    if (c == '(') {
      size_t saved = list_start_;
      list_start_ = start;
      CAIRN_ASSIGN_OR_RETURN(t.items, Tokens(/*in_list=*/true));
      list_start_ = saved;
      t.kind = Tok::kList;
      return finish(std::move(t));
    }
    t.kind = Tok::kOther;
    return finish(std::move(t));
  }

  tracking::FilterScanner sc_;
  size_t list_start_ = 0;
};

// ---------------------------------------------------------------- filter --

// What one search endpoint accepts.
struct Dialect {
  bool versions = false;
  std::string valid_keys;  // as MLflow prints the set
  std::string list_keys;   // "['name']" / "['name', 'run_id']"
};

const Dialect kModelDialect{false, "{'name'}", "['name']"};
const Dialect kVersionDialect{true, "{'name', 'run_id', 'source_path', 'version_number'}",
                              "['name', 'run_id']"};
constexpr std::string_view kNumericAttributes =
    "{'creation_timestamp', 'last_updated_timestamp', 'version_number'}";

std::string JoinRaw(const std::vector<Token>& tokens, size_t b, size_t e) {
  std::string out;
  for (size_t i = b; i < e; ++i) {
    if (!out.empty()) out += ", ";
    out += tokens[i].raw;
  }
  return out;
}

std::optional<Op> OpFromText(std::string_view text) {
  if (text == "=") return Op::kEq;
  if (text == "!=") return Op::kNe;
  if (text == "<") return Op::kLt;
  if (text == "<=") return Op::kLe;
  if (text == ">") return Op::kGt;
  if (text == ">=") return Op::kGe;
  if (text == "LIKE") return Op::kLike;
  if (text == "ILIKE") return Op::kILike;
  if (text == "IN") return Op::kIn;
  if (text == "NOT IN") return Op::kNotIn;
  return std::nullopt;  // "==", "<>": MLflow's registry rejects them
}

Result<int64_t> ParseInt64(std::string_view s) {
  // Python's int() accepts surrounding whitespace and a sign.
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return InvalidArgument("not an integer");
  }
  return v;
}

// One clause: tokens [b, e) must be ident op value.
Result<RegistryComparison> ParseClause(const Dialect& d, const std::vector<Token>& tokens, size_t b,
                                       size_t e) {
  // ident, op (1 or 2 tokens: NOT IN), value
  size_t n = e - b;
  bool shape = n >= 3 && tokens[b].kind == Tok::kIdent;
  std::string op_text;
  size_t value_index = 0;
  if (shape) {
    const Token& o = tokens[b + 1];
    if (o.kind == Tok::kOp ||
        (o.kind == Tok::kKeyword && (o.text == "LIKE" || o.text == "ILIKE" || o.text == "IN"))) {
      op_text = o.text;
      value_index = b + 2;
    } else if (o.kind == Tok::kKeyword && o.text == "NOT" && n >= 4 &&
               tokens[b + 2].kind == Tok::kKeyword && tokens[b + 2].text == "IN") {
      op_text = "NOT IN";
      value_index = b + 3;
    } else {
      shape = false;
    }
  }
  if (shape && value_index + 1 != e) shape = false;
  if (shape) {
    Tok vk = tokens[value_index].kind;
    shape = vk == Tok::kString || vk == Tok::kNumber || vk == Tok::kList ||
            (vk == Tok::kIdent && !tokens[value_index].prefixed);
    // IN / NOT IN take a list, the others do not.
    bool list_op = op_text == "IN" || op_text == "NOT IN";
    if (shape && list_op && vk != Tok::kList) shape = false;
    if (shape && !list_op && vk == Tok::kList && op_text != "=" && op_text != "!=") shape = false;
  }
  if (!shape) return InvalidClauses(JoinRaw(tokens, b, e));

  const Token& ident = tokens[b];
  const Token& value = tokens[value_index];
  RegistryComparison c;
  bool is_tag = false;
  if (ident.prefixed) {
    if (ident.prefix == "tag" || ident.prefix == "tags") {
      is_tag = true;
    } else if (ident.prefix != "attribute") {
      return InvalidArgument("Invalid entity type '" + ident.prefix +
                             "'. Valid entity types are ('attribute', 'tag', 'tags')");
    }
  }
  if (is_tag) {
    c.field = Field::kTag;
    c.key = ident.key;
  } else {
    const std::string& k = ident.key;
    if (k == "name") {
      c.field = Field::kName;
    } else if (d.versions && k == "run_id") {
      c.field = Field::kRunId;
    } else if (d.versions && k == "source_path") {
      c.field = Field::kSource;
    } else if (d.versions && k == "version_number") {
      c.field = Field::kVersion;
    } else {
      return InvalidArgument("Invalid attribute key '" + k + "' specified. Valid keys are '" +
                             d.valid_keys + "'");
    }
  }

  // The value, checked as MLflow does before the comparator.
  if (value.kind == Tok::kIdent) {
    return InvalidArgument(
        "Parameter value is either not quoted or unidentified quote types used for string "
        "value " +
        value.raw + ". Use either single or double quotes.");
  }
  if (is_tag) {
    if (value.kind != Tok::kString) {
      return InvalidArgument(
          "Expected a quoted string value for tag (e.g. 'my-value'). Got value " + value.raw);
    }
  } else if (value.kind == Tok::kList) {
    bool listable = c.field == Field::kName || c.field == Field::kRunId;
    if (!listable) {
      return InvalidArgument("Only " + d.list_keys +
                             " attributes support comparison with a list of quoted string "
                             "values.");
    }
  } else if (value.kind == Tok::kNumber) {
    if (c.field != Field::kVersion) {
      if (!d.versions) {
        return InvalidArgument(
            "Expected a quoted string value or a list of quoted string values for attributes. "
            "Got value " +
            value.raw);
      }
      return InvalidArgument("Only the '" + std::string(kNumericAttributes) +
                             "' attributes support comparison with numeric values.");
    }
  }

  std::optional<Op> op = OpFromText(op_text);
  if (is_tag) {
    if (!op || (*op != Op::kEq && *op != Op::kNe && *op != Op::kLike && *op != Op::kILike)) {
      return InvalidArgument("Invalid comparator for tag: " + op_text);
    }
  } else if (c.field == Field::kVersion) {
    if (!op || *op == Op::kLike || *op == Op::kILike || *op == Op::kIn || *op == Op::kNotIn) {
      return InvalidArgument("Invalid comparator for attribute version_number: " + op_text);
    }
  } else {
    bool ok = op && (*op == Op::kEq || *op == Op::kNe || *op == Op::kLike || *op == Op::kILike ||
                     *op == Op::kIn || *op == Op::kNotIn);
    if (ok && c.field == Field::kSource && (*op == Op::kIn || *op == Op::kNotIn)) ok = false;
    if (!ok) return InvalidArgument("Invalid comparator for attribute: " + op_text);
  }
  c.op = *op;

  if (value.kind == Tok::kList) {
    if (c.op != Op::kIn && c.op != Op::kNotIn) return InvalidClauses(JoinRaw(tokens, b, e));
    // ( 'a' , 'b' ): strings separated by commas, a trailing comma allowed
    // (Python's tuple syntax, which MLflow evaluates).
    const auto& items = value.items;
    if (items.empty()) {
      return InvalidArgument(
          "While parsing a list in the query, expected a non-empty list of string values, but "
          "got empty list");
    }
    for (size_t i = 0; i < items.size(); ++i) {
      bool want_string = i % 2 == 0;
      bool ok = want_string ? items[i].kind == Tok::kString
                            : items[i].kind == Tok::kOther && items[i].raw == ",";
      if (!ok) {
        if (want_string && items[i].kind == Tok::kNumber) {
          return InvalidArgument(
              "While parsing a list in the query, expected string value, punctuation, or "
              "whitespace, but got different type in list: " +
              value.raw);
        }
        return InvalidArgument(
            "While parsing a list in the query, expected a non-empty list of string values, "
            "but got ill-formed list.");
      }
      if (want_string) c.values.push_back(items[i].text);
    }
    return c;
  }

  if (c.field == Field::kVersion) {
    if (value.kind == Tok::kNumber && !value.is_integer) {
      return InvalidArgument("Invalid value for numeric attribute 'version_number': " + value.raw);
    }
    auto v = ParseInt64(value.kind == Tok::kNumber ? value.raw : value.text);
    if (!v) {
      std::string shown = value.kind == Tok::kString ? "'" + value.text + "'" : value.raw;
      return InvalidArgument("Invalid value for numeric attribute 'version_number': " + shown);
    }
    c.values.push_back(std::to_string(*v));
    return c;
  }
  c.values.push_back(value.text);
  return c;
}

Result<std::vector<RegistryComparison>> ParseFilter(const Dialect& d, std::string_view filter) {
  std::vector<RegistryComparison> out;
  bool blank = true;
  for (char ch : filter) blank = blank && IsSpace(ch);
  if (blank) return out;
  Lexer lexer(filter);
  CAIRN_ASSIGN_OR_RETURN(std::vector<Token> tokens, lexer.Tokens(/*in_list=*/false));
  // Anything that is neither part of a comparison nor AND is reported first,
  // as MLflow does ("Invalid clause(s) in filter string: OR").
  for (const Token& t : tokens) {
    if (t.kind == Tok::kKeyword && (t.text == "OR" || t.text == "IS" || t.text == "NULL")) {
      return InvalidClauses(t.raw);
    }
    if (t.kind == Tok::kOther) return InvalidClauses(t.raw);
  }
  size_t b = 0;
  while (b <= tokens.size()) {
    size_t e = b;
    while (e < tokens.size() && !(tokens[e].kind == Tok::kKeyword && tokens[e].text == "AND")) {
      ++e;
    }
    if (e == b) {
      // An empty clause: "AND" at the start or end, or "AND AND".
      return InvalidClauses(e < tokens.size() ? tokens[e].raw : std::string("AND"));
    }
    CAIRN_ASSIGN_OR_RETURN(RegistryComparison c, ParseClause(d, tokens, b, e));
    out.push_back(std::move(c));
    if (e == tokens.size()) break;
    b = e + 1;
  }
  return out;
}

// -------------------------------------------------------------- order_by --

// Splits "<key> [ASC|DESC]"; the key may be `back ticked` or "quoted".
struct OrderClause {
  std::string key;
  bool ascending = true;
};

Result<OrderClause> SplitOrderClause(std::string_view clause) {
  auto unparsable = [&] {
    return InvalidArgument("Invalid order_by clause '" + std::string(clause) +
                           "'. Could not be parsed.");
  };
  std::vector<std::string> words;
  size_t i = 0;
  while (i < clause.size()) {
    while (i < clause.size() && IsSpace(clause[i])) ++i;
    if (i >= clause.size()) break;
    std::string word;
    while (i < clause.size() && !IsSpace(clause[i])) {
      char c = clause[i];
      if (c == '`' || c == '"') {
        size_t close = clause.find(c, i + 1);
        if (close == std::string_view::npos) return unparsable();
        word.append(clause.substr(i + 1, close - i - 1));
        i = close + 1;
      } else {
        word.push_back(c);
        ++i;
      }
    }
    words.push_back(std::move(word));
  }
  if (words.empty() || words.size() > 2) return unparsable();
  OrderClause out;
  out.key = words[0];
  if (words.size() == 2) {
    std::string dir = tracking::AsciiUpper(words[1]);
    if (dir != "ASC" && dir != "DESC") {
      return InvalidArgument("Invalid ordering key in order_by clause '" + std::string(clause) +
                             "'.");
    }
    out.ascending = dir == "ASC";
  }
  return out;
}

// "['a', 'b DESC']", as Python prints the list.
std::string PythonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += "'" + items[i] + "'";
  }
  return out + "]";
}

Result<std::vector<RegistryOrderBy>> ParseOrderBy(bool versions,
                                                  const std::vector<std::string>& clauses) {
  using OField = RegistryOrderBy::Field;
  std::vector<RegistryOrderBy> out;
  for (const std::string& clause : clauses) {
    CAIRN_ASSIGN_OR_RETURN(OrderClause oc, SplitOrderClause(clause));
    std::string key = oc.key;
    std::optional<OField> field;
    if (versions) {
      if (size_t dot = key.find('.'); dot != std::string::npos) {
        std::string prefix = key.substr(0, dot);
        if (prefix == "attribute" || prefix == "attributes" || prefix == "attr" ||
            prefix == "run") {
          key = key.substr(dot + 1);
        }
      }
      if (key == "name") field = OField::kName;
      if (key == "version_number") field = OField::kVersion;
      if (key == "creation_timestamp") field = OField::kCreationTime;
      if (key == "last_updated_timestamp" || key == "timestamp") field = OField::kLastUpdatedTime;
      if (!field) {
        return InvalidArgument(
            "Invalid attribute key '" + key +
            "' specified. Valid keys are '{'creation_timestamp', 'last_updated_timestamp', "
            "'name', 'version_number'}'");
      }
    } else {
      if (key == "name") field = OField::kName;
      if (key == "creation_timestamp") field = OField::kCreationTime;
      if (key == "last_updated_timestamp" || key == "timestamp") field = OField::kLastUpdatedTime;
      if (!field) {
        return InvalidArgument("Invalid order by key '" + key +
                               "' specified. Valid keys are '{'name', 'timestamp'}'");
      }
    }
    for (const RegistryOrderBy& seen : out) {
      if (seen.field == *field) {
        return InvalidArgument("`order_by` contains duplicate fields: " + PythonList(clauses));
      }
    }
    out.push_back(RegistryOrderBy{*field, oc.ascending});
  }
  auto has = [&](OField f) {
    for (const RegistryOrderBy& o : out) {
      if (o.field == f) return true;
    }
    return false;
  };
  if (versions && clauses.empty()) out.push_back({OField::kLastUpdatedTime, false});
  if (!has(OField::kName)) out.push_back({OField::kName, true});
  if (versions && !has(OField::kVersion)) out.push_back({OField::kVersion, false});
  return out;
}

Result<int64_t> CheckMaxResults(std::optional<int64_t> max_results, int64_t def,
                                int64_t threshold) {
  int64_t v = max_results.value_or(def);
  if (v < 1) {
    return InvalidArgument(
        "Invalid value for max_results. It must be a positive integer, but got " +
        std::to_string(v));
  }
  if (v > threshold) {
    return InvalidArgument("Invalid value for request parameter max_results. It must be at most " +
                           std::to_string(threshold) + ", but got value " + std::to_string(v));
  }
  return v;
}

}  // namespace

Result<std::vector<RegistryComparison>> ParseRegisteredModelFilter(std::string_view filter) {
  return ParseFilter(kModelDialect, filter);
}

Result<std::vector<RegistryComparison>> ParseModelVersionFilter(std::string_view filter) {
  return ParseFilter(kVersionDialect, filter);
}

Result<std::vector<RegistryOrderBy>> ParseRegisteredModelOrderBy(
    const std::vector<std::string>& clauses) {
  return ParseOrderBy(false, clauses);
}

Result<std::vector<RegistryOrderBy>> ParseModelVersionOrderBy(
    const std::vector<std::string>& clauses) {
  return ParseOrderBy(true, clauses);
}

Result<store::RegistryQuery> BuildRegisteredModelQuery(std::string_view filter,
                                                       const std::vector<std::string>& order_by,
                                                       std::optional<int64_t> max_results,
                                                       std::string_view page_token) {
  store::RegistryQuery q;
  CAIRN_ASSIGN_OR_RETURN(q.max_results,
                         CheckMaxResults(max_results, kRegisteredModelsMaxResultsDefault,
                                         kRegisteredModelsMaxResultsThreshold));
  CAIRN_ASSIGN_OR_RETURN(q.filter, ParseRegisteredModelFilter(filter));
  CAIRN_ASSIGN_OR_RETURN(q.order_by, ParseRegisteredModelOrderBy(order_by));
  CAIRN_ASSIGN_OR_RETURN(q.offset, tracking::DecodePageToken(page_token));
  return q;
}

Result<store::RegistryQuery> BuildModelVersionQuery(std::string_view filter,
                                                    const std::vector<std::string>& order_by,
                                                    std::optional<int64_t> max_results,
                                                    std::string_view page_token) {
  store::RegistryQuery q;
  CAIRN_ASSIGN_OR_RETURN(q.max_results,
                         CheckMaxResults(max_results, kModelVersionsMaxResultsDefault,
                                         kModelVersionsMaxResultsThreshold));
  CAIRN_ASSIGN_OR_RETURN(q.filter, ParseModelVersionFilter(filter));
  CAIRN_ASSIGN_OR_RETURN(q.order_by, ParseModelVersionOrderBy(order_by));
  CAIRN_ASSIGN_OR_RETURN(q.offset, tracking::DecodePageToken(page_token));
  return q;
}

std::string NextPageToken(int64_t next_offset) {
  return next_offset < 0 ? std::string() : tracking::EncodePageToken(next_offset);
}

}  // namespace cairn::registry
