#include "core/ids.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <random>

namespace cairn {

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 15];
  }
  return out;
}

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string NewRunId() {
  std::array<unsigned char, 16> raw{};
  if (RAND_bytes(raw.data(), raw.size()) != 1) {
    // OpenSSL's generator failing is near impossible; fall back to the
    // OS-seeded standard generator rather than abort a request.
    thread_local std::mt19937_64 gen{std::random_device{}()};
    for (auto& b : raw) b = static_cast<unsigned char>(gen());
  }
  raw[6] = (raw[6] & 0x0f) | 0x40;  // UUID version 4
  raw[8] = (raw[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return HexEncode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 256) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace cairn
