#include "blob/blob_store.h"

namespace cairn::blob {

bool IsValidDigest(std::string_view digest) {
  if (digest.size() != 64) return false;
  for (char c : digest) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) return false;
  }
  return true;
}

Status ValidateDigest(std::string_view digest) {
  if (IsValidDigest(digest)) return {};
  std::string shown(digest.substr(0, 80));
  return InvalidArgument("invalid blob digest '" + shown +
                         "': expected 64 lowercase hex characters (SHA-256)");
}

std::string ObjectPathUnder(std::string_view objects_dir, std::string_view digest) {
  std::string p(objects_dir);
  p += '/';
  p += digest.substr(0, 2);
  p += '/';
  p += digest.substr(2);
  return p;
}

Result<std::string> BlobStore::ReadAll(std::string_view digest) const {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, Open(digest));
  std::string out;
  out.resize(static_cast<size_t>(reader->size()));
  size_t filled = 0;
  for (;;) {
    if (filled == out.size()) out.resize(out.size() + 4096);
    CAIRN_ASSIGN_OR_RETURN(size_t n, reader->Read(out.data() + filled, out.size() - filled));
    if (n == 0) break;
    filled += n;
  }
  out.resize(filled);
  return out;
}

}  // namespace cairn::blob
