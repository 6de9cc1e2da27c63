#pragma once
// Test-only helpers for the blob tests: a scratch folder removed at the end,
// small file I/O, and a snapshot of a folder tree to prove "nothing written".

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace cairn::blob::testing {

class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/cairn-blob-test-XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    if (made != nullptr) path_ = made;
  }
  ~ScratchDir() {
    std::error_code ec;
    // Objects are 0444; remove_all copes (unlink needs write on the folder only).
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Every entry below `root` (not following symlinks): relative path ->
// "d" for folders, "l" for symlinks, "f<size>" for files.
inline std::map<std::string, std::string> Snapshot(const std::string& root) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::string rel = std::filesystem::relative(it->path(), root).string();
    if (it->is_symlink()) {
      out[rel] = "l";
    } else if (it->is_directory()) {
      out[rel] = "d";
    } else {
      out[rel] = "f" + std::to_string(it->file_size());
    }
  }
  return out;
}

// Regular files directly or indirectly below `dir`.
inline int CountFiles(const std::string& dir) {
  int n = 0;
  for (const auto& [path, kind] : Snapshot(dir)) {
    if (kind[0] == 'f') ++n;
  }
  return n;
}

inline struct stat StatOf(const std::string& path) {
  struct stat st{};
  ::lstat(path.c_str(), &st);
  return st;
}

}  // namespace cairn::blob::testing
