#pragma once
// A small streaming JSON writer for hot responses (no DOM). Not thread-safe.
// Commas are inserted automatically; the caller keeps objects balanced.
//   JsonWriter w; w.BeginObject(); w.Key("a"); w.Int(1); w.EndObject(); w.str();

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cairn {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view k);
  JsonWriter& String(std::string_view v);
  // As String, for text that may not be UTF-8 (tensor BYTES, client ids):
  // each invalid byte becomes U+FFFD, so the document stays valid JSON.
  JsonWriter& StringLossy(std::string_view v);
  JsonWriter& Int(int64_t v);
  // NaN and +-Infinity are written as the strings "NaN", "Infinity", "-Infinity",
  // as protobuf's JSON mapping (and so MLflow's server) does.
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // Inserts already-serialized JSON as one value.
  JsonWriter& Raw(std::string_view json);

  // Convenience: Key(k) then value.
  JsonWriter& Field(std::string_view k, std::string_view v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, const char* v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, int64_t v) { return Key(k).Int(v); }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

// `s` with each byte that is not part of a valid UTF-8 sequence (overlongs,
// surrogates and code points above U+10FFFF are invalid) replaced by U+FFFD;
// `s` itself when it is already valid, else a view of `scratch`.
std::string_view ValidUtf8(std::string_view s, std::string& scratch);

// Appends `s` JSON-escaped (without quotes) to `out`.
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace cairn
