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

namespace {

// UUID version 4 / RFC 4122 variant bits, then hex.
std::string FormatUuid4(std::array<unsigned char, 16>& raw) {
  raw[6] = (raw[6] & 0x0f) | 0x40;
  raw[8] = (raw[8] & 0x3f) | 0x80;
  return HexEncode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

// xoshiro256** (Blackman and Vigna), seeded from the CSPRNG.
class Xoshiro256 {
 public:
  Xoshiro256() {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(s_), sizeof s_) != 1) {
      std::random_device rd;
      for (auto& w : s_) w = (uint64_t{rd()} << 32) ^ rd();
    }
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // the one forbidden state
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace

std::string NewRequestId() {
  thread_local Xoshiro256 gen;
  std::array<unsigned char, 16> raw{};
  const uint64_t a = gen.Next(), b = gen.Next();
  for (int i = 0; i < 8; ++i) {
    raw[i] = static_cast<unsigned char>(a >> (8 * i));
    raw[8 + i] = static_cast<unsigned char>(b >> (8 * i));
  }
  return FormatUuid4(raw);
}

std::string NewRunId() {
  std::array<unsigned char, 16> raw{};
  if (RAND_bytes(raw.data(), raw.size()) != 1) {
    // OpenSSL's generator failing is near impossible; fall back to the
    // OS-seeded standard generator rather than abort a request.
    thread_local std::mt19937_64 gen{std::random_device{}()};
    for (auto& b : raw) b = static_cast<unsigned char>(gen());
  }
  return FormatUuid4(raw);
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
