// Files compiled into the binary (see ui_bundle.h).

#include "ui_bundle/ui_bundle.h"

namespace cairn::ui_bundle {

const File* Bundle::Find(std::string_view path) const {
  // A handful of files: a linear scan beats any index here.
  for (const File& f : files_) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

size_t Bundle::total_bytes() const {
  size_t n = 0;
  for (const File& f : files_) n += f.bytes.size();
  return n;
}

}  // namespace cairn::ui_bundle
