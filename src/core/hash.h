#pragma once
// SHA-256 (content addresses) through OpenSSL EVP. Incremental: feed bytes
// as they stream, so large files are never held whole.

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace cairn {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  // Lowercase hex digest (64 chars). The hasher cannot be reused after.
  std::string HexDigest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Sha256Hex(std::string_view bytes);
// Hashes a file by streaming it; kNotFound / kInternal on I/O errors.
Result<std::string> Sha256File(const std::string& path);

}  // namespace cairn
