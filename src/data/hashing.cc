#include "data/hashing.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <utility>

#include "core/ids.h"
#include "core/parallel.h"

namespace cairn::data {
namespace {

namespace fs = std::filesystem;

constexpr size_t kReadBuffer = 1 << 20;
constexpr int kMaxAttempts = 3;

std::unexpected<Error> ErrnoError(int err, std::string_view what, std::string_view path) {
  std::string msg = std::string(what) + " '" + std::string(path) + "': " + std::strerror(err);
  if (err == ENOENT) return NotFound(std::move(msg));
  return Internal(std::move(msg));
}

int64_t NowRealtimeNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

FileStat FromStat(const struct stat& st) {
  FileStat s;
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.inode = static_cast<uint64_t>(st.st_ino);
  s.exec = (st.st_mode & S_IXUSR) != 0;
  s.dev = static_cast<uint64_t>(st.st_dev);
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return s;
}

std::string_view KindOf(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a named pipe";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Streams the open file `fd` through SHA-256: up to `expected` bytes when
// given (a caller that checks the size afterwards saves the read that would
// only see the end of the file), else to the end.
Result<std::string> HashFd(int fd, const std::string& path,
                           std::optional<uint64_t> expected = std::nullopt) {
  thread_local std::vector<char> buffer(kReadBuffer);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return Internal("OpenSSL: cannot start SHA-256 for '" + path + "'");
  }
  uint64_t total = 0;
  while (!expected || total < *expected) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Opened O_NONBLOCK (OpenRegular) and not a file that ignores it: a
      // regular file on a file system that honours it reads on blocking;
      // anything else (a FIFO swapped in after the lstat) is refused.
      struct stat st;
      if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        EVP_MD_CTX_free(ctx);
        return InvalidArgument("'" + path + "' is not a regular file");
      }
      ::fcntl(fd, F_SETFL, 0);
      continue;
    }
    if (n < 0) {
      int err = errno;
      EVP_MD_CTX_free(ctx);
      return ErrnoError(err, "cannot read", path);
    }
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    EVP_DigestUpdate(ctx, buffer.data(), static_cast<size_t>(n));
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out, &len);
  EVP_MD_CTX_free(ctx);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(out), len));
}

Result<int> OpenRegular(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) return InvalidArgument("'" + path + "' is a symbolic link, not a file");
    return ErrnoError(err, "cannot open", path);
  }
  return fd;
}

struct HashOutcome {
  std::string digest;
  FileStat stat;
  int64_t read_start_ns = 0;
  int attempts = 1;
};

// Small files are read in one go; the readahead hint only helps large ones.
constexpr uint64_t kSequentialHintBytes = 256 << 10;

// Hashes `path`, again when it changed while being read. `known` is the
// path's lstat from just before (HashFiles' first pass): it stands for the
// "before" stat of the first attempt, saving an fstat per file.
Result<HashOutcome> HashStable(const std::string& path, const HashOptions& options,
                               const FileStat* known = nullptr) {
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    CAIRN_ASSIGN_OR_RETURN(int raw_fd, OpenRegular(path));
    Fd fd(raw_fd);
    FileStat b;
    if (attempt == 1 && known != nullptr) {
      b = *known;
    } else {
      struct stat before;
      if (::fstat(fd.get(), &before) != 0) return ErrnoError(errno, "cannot stat", path);
      if (!S_ISREG(before.st_mode)) {
        return InvalidArgument("'" + path + "' is " + std::string(KindOf(before.st_mode)));
      }
      b = FromStat(before);
    }
    // The O_NONBLOCK that kept open() off FIFOs stays: reads of regular
    // files ignore it (HashFd handles a file system that does not).
    if (b.size >= kSequentialHintBytes) ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    HashOutcome out;
    out.read_start_ns = NowRealtimeNs();
    CAIRN_ASSIGN_OR_RETURN(out.digest, HashFd(fd.get(), path, b.size));
    if (options.after_read) options.after_read(path, attempt);
    struct stat after;
    if (::fstat(fd.get(), &after) != 0) return ErrnoError(errno, "cannot stat", path);
    if (!S_ISREG(after.st_mode)) {
      // The path was replaced by something else between the lstat and open.
      return InvalidArgument("'" + path + "' is " + std::string(KindOf(after.st_mode)));
    }
    FileStat a = FromStat(after);
    if (a.SameContentKey(b)) {
      out.stat = a;
      out.attempts = attempt;
      if (options.on_hashed)
        CAIRN_RETURN_IF_ERROR(options.on_hashed(path, fd.get(), out.digest, a));
      return out;
    }
  }
  return FailedPrecondition("'" + path + "' kept changing while it was hashed (" +
                            std::to_string(kMaxAttempts) +
                            " attempts): stop writing to it and retry");
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

Status ListInto(const std::string& dir_abs, const std::string& prefix,
                std::vector<std::string>& out) {
  DIR* d = ::opendir(dir_abs.c_str());
  if (d == nullptr) return ErrnoError(errno, "cannot open folder", dir_abs);
  std::vector<std::pair<std::string, bool>> children;  // name, is_dir
  Status status;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    std::string rel = prefix.empty() ? std::string(name) : prefix + "/" + std::string(name);
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      std::string abs = dir_abs + "/" + std::string(name);
      if (::lstat(abs.c_str(), &st) != 0) {
        status = ErrnoError(errno, "cannot stat", abs);
        break;
      }
      type = S_ISREG(st.st_mode)   ? DT_REG
             : S_ISDIR(st.st_mode) ? DT_DIR
             : S_ISLNK(st.st_mode) ? DT_LNK
                                   : DT_FIFO;
    }
    if (!IsValidUtf8(rel)) {
      status =
          InvalidArgument("'" + rel + "' is not a valid UTF-8 name: rename it to track the folder");
      break;
    }
    if (type == DT_LNK) {
      status = InvalidArgument("'" + rel +
                               "' is a symbolic link: symlinks inside a tracked folder are not "
                               "supported (replace it with the file or remove it)");
      break;
    }
    if (type != DT_REG && type != DT_DIR) {
      status = InvalidArgument("'" + rel +
                               "' is a special file (pipe, socket or device): only regular files "
                               "can be tracked");
      break;
    }
    children.emplace_back(std::move(rel), type == DT_DIR);
    errno = 0;
  }
  if (status && errno != 0) status = ErrnoError(errno, "cannot read folder", dir_abs);
  ::closedir(d);
  if (!status) return status;
  for (auto& [rel, is_dir] : children) {
    if (is_dir) {
      std::string name = rel.substr(prefix.empty() ? 0 : prefix.size() + 1);
      CAIRN_RETURN_IF_ERROR(ListInto(dir_abs + "/" + name, rel, out));
    } else {
      out.push_back(std::move(rel));
    }
  }
  return {};
}

}  // namespace

int64_t RacyWindowNs(const FileStat& stat, const HashOptions& options) {
  if (options.racy_window_ns <= 0) return 0;
  if (stat.mtime_ns % 1'000'000'000 == 0) {
    // Whole seconds: maybe a file system with 1 s or 2 s (FAT) granularity.
    return std::max<int64_t>(options.racy_window_ns, 2'000'000'000);
  }
  static const int64_t fine = [] {
    struct timespec res;
    int64_t tick = 10'000'000;  // the largest common tick (HZ=100) when unknown
    if (::clock_getres(CLOCK_REALTIME_COARSE, &res) == 0) {
      tick = static_cast<int64_t>(res.tv_sec) * 1'000'000'000 + res.tv_nsec;
    }
    return std::max<int64_t>(2 * tick, 10'000'000);
  }();
  return std::min(fine, options.racy_window_ns);
}

Result<FileStat> StatFile(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return ErrnoError(errno, "cannot stat", path);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument("'" + path + "' is " + std::string(KindOf(st.st_mode)) +
                           ", not a regular file");
  }
  return FromStat(st);
}

Result<std::string> Sha256OfFile(const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(int raw_fd, OpenRegular(path));
  Fd fd(raw_fd);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError(errno, "cannot stat", path);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument("'" + path + "' is " + std::string(KindOf(st.st_mode)));
  }
  ::fcntl(fd.get(), F_SETFL, 0);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return HashFd(fd.get(), path);
}

// ---- StatCache ----

namespace {

std::unexpected<Error> SqliteError(sqlite3* db, std::string_view what) {
  return Internal("stat cache: " + std::string(what) + ": " +
                  (db ? sqlite3_errmsg(db) : "out of memory"));
}

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS stat_cache ("
    "  path TEXT PRIMARY KEY NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  mtime_ns INTEGER NOT NULL,"
    "  inode INTEGER NOT NULL,"
    "  digest TEXT NOT NULL"
    ") WITHOUT ROWID";

// Opens and prepares the database; `corrupt` is set when SQLite says the file
// is not a database or is damaged (the caller deletes and retries).
Result<sqlite3*> OpenDb(const std::string& db_path, bool& corrupt) {
  corrupt = false;
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(db_path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Internal("stat cache: cannot open '" + db_path + "': " + msg);
  }
  sqlite3_busy_timeout(db, 10'000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", kSchema}) {
    char* err = nullptr;
    rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    // Two processes creating the database at once: switching to WAL and the
    // first schema write can answer SQLITE_BUSY without calling the busy
    // handler (SQLite gives up at once where waiting could deadlock), so
    // retry for up to 10 s like the busy timeout would.
    for (int attempt = 0; (rc & 0xFF) == SQLITE_BUSY && attempt < 1000; ++attempt) {
      sqlite3_free(err);
      err = nullptr;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    }
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      int primary = rc & 0xFF;
      corrupt = primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT;
      sqlite3_close(db);
      return Internal("stat cache: cannot initialise '" + db_path + "': " + msg);
    }
  }
  return db;
}

}  // namespace

Result<std::unique_ptr<StatCache>> StatCache::Open(const std::string& db_path) {
  bool corrupt = false;
  auto db = OpenDb(db_path, corrupt);
  if (!db && corrupt) {
    // A damaged cache only costs a re-hash: start over.
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((db_path + suffix).c_str());
    db = OpenDb(db_path, corrupt);
  }
  if (!db) return std::unexpected(db.error());
  std::unique_ptr<StatCache> cache(new StatCache(*db));
  if (sqlite3_prepare_v3(cache->db_,
                         "SELECT size, mtime_ns, inode, digest FROM stat_cache WHERE path = ?1", -1,
                         SQLITE_PREPARE_PERSISTENT, &cache->select_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v3(cache->db_,
                         "INSERT INTO stat_cache (path, size, mtime_ns, inode, digest) "
                         "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(path) DO UPDATE SET "
                         "size = excluded.size, mtime_ns = excluded.mtime_ns, "
                         "inode = excluded.inode, digest = excluded.digest",
                         -1, SQLITE_PREPARE_PERSISTENT, &cache->upsert_, nullptr) != SQLITE_OK) {
    return SqliteError(cache->db_, "cannot prepare statements");
  }
  return cache;
}

StatCache::~StatCache() {
  sqlite3_finalize(select_);
  sqlite3_finalize(upsert_);
  sqlite3_close(db_);
}

Status StatCache::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db_, sql);
  }
  return {};
}

Result<std::optional<std::string>> StatCache::LookupLocked(const std::string& path,
                                                           const FileStat& stat) {
  sqlite3_reset(select_);
  sqlite3_bind_text(select_, 1, path.data(), static_cast<int>(path.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(select_);
  std::optional<std::string> hit;
  if (rc == SQLITE_ROW) {
    FileStat stored;
    stored.size = static_cast<uint64_t>(sqlite3_column_int64(select_, 0));
    stored.mtime_ns = sqlite3_column_int64(select_, 1);
    stored.inode = static_cast<uint64_t>(sqlite3_column_int64(select_, 2));
    if (stored.SameContentKey(stat)) {
      const unsigned char* text = sqlite3_column_text(select_, 3);
      hit = std::string(reinterpret_cast<const char*>(text),
                        static_cast<size_t>(sqlite3_column_bytes(select_, 3)));
    }
  } else if (rc != SQLITE_DONE) {
    auto err = SqliteError(db_, "lookup of '" + path + "'");
    sqlite3_reset(select_);
    return err;
  }
  sqlite3_reset(select_);
  return hit;
}

Result<std::optional<std::string>> StatCache::Lookup(const std::string& path,
                                                     const FileStat& stat) {
  std::lock_guard lock(mu_);
  return LookupLocked(path, stat);
}

Result<std::vector<std::optional<std::string>>> StatCache::LookupMany(
    const std::vector<std::string>& paths, const std::vector<FileStat>& stats) {
  if (paths.size() != stats.size())
    return InvalidArgument("LookupMany: paths and stats differ in size");
  std::lock_guard lock(mu_);
  std::vector<std::optional<std::string>> out;
  out.reserve(paths.size());
  CAIRN_RETURN_IF_ERROR(Exec("BEGIN"));
  for (size_t i = 0; i < paths.size(); ++i) {
    auto hit = LookupLocked(paths[i], stats[i]);
    if (!hit) {
      (void)Exec("ROLLBACK");
      return std::unexpected(hit.error());
    }
    out.push_back(std::move(*hit));
  }
  CAIRN_RETURN_IF_ERROR(Exec("COMMIT"));
  return out;
}

Status StatCache::PutBatch(const std::vector<Entry>& entries) {
  if (entries.empty()) return {};
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  for (const Entry& e : entries) {
    sqlite3_reset(upsert_);
    sqlite3_bind_text(upsert_, 1, e.path.data(), static_cast<int>(e.path.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(upsert_, 2, static_cast<sqlite3_int64>(e.stat.size));
    sqlite3_bind_int64(upsert_, 3, e.stat.mtime_ns);
    sqlite3_bind_int64(upsert_, 4, static_cast<sqlite3_int64>(e.stat.inode));
    sqlite3_bind_text(upsert_, 5, e.digest.data(), static_cast<int>(e.digest.size()),
                      SQLITE_TRANSIENT);
    if (sqlite3_step(upsert_) != SQLITE_DONE) {
      auto err = SqliteError(db_, "cannot store '" + e.path + "'");
      sqlite3_reset(upsert_);
      (void)Exec("ROLLBACK");
      return err;
    }
  }
  sqlite3_reset(upsert_);
  if (auto s = Exec("COMMIT"); !s) {
    (void)Exec("ROLLBACK");
    return s;
  }
  return {};
}

Result<int64_t> StatCache::Count() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM stat_cache", -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "count");
  }
  int64_t n = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  if (n < 0) return SqliteError(db_, "count");
  return n;
}

// ---- HashFiles / HashTree ----

Result<std::vector<HashedFile>> HashFiles(const std::vector<std::string>& paths,
                                          const HashOptions& options, HashStats* stats_out) {
  const size_t n = paths.size();
  std::vector<HashedFile> out(n);
  std::vector<FileStat> pre(n);
  for (size_t i = 0; i < n; ++i) out[i].path = paths[i];

  // 1. stat everything (cheap, and the cache key).
  CAIRN_RETURN_IF_ERROR(ParallelFor(n, options.jobs, [&](size_t i) -> Status {
    CAIRN_ASSIGN_OR_RETURN(pre[i], StatFile(paths[i]));
    return {};
  }));

  if (options.progress != nullptr) {
    uint64_t total_bytes = 0;
    for (const FileStat& st : pre) total_bytes += st.size;
    options.progress->AddTotal(n, total_bytes);
  }

  // 2. ask the cache.
  std::vector<size_t> misses;
  HashStats stats;
  stats.files = n;
  if (options.cache != nullptr) {
    CAIRN_ASSIGN_OR_RETURN(auto hits, options.cache->LookupMany(paths, pre));
    for (size_t i = 0; i < n; ++i) {
      if (hits[i]) {
        out[i].digest = std::move(*hits[i]);
        out[i].stat = pre[i];
        ++stats.from_cache;
        if (options.progress != nullptr) options.progress->Done(1, pre[i].size);
      } else {
        misses.push_back(i);
      }
    }
  } else {
    misses.resize(n);
    for (size_t i = 0; i < n; ++i) misses[i] = i;
  }

  // 3. hash the misses.
  if (options.before_hashing && !misses.empty()) options.before_hashing(misses.size());
  std::vector<char> cacheable(n, 0);
  std::atomic<uint64_t> rehashed{0}, bytes{0};
  CAIRN_RETURN_IF_ERROR(ParallelFor(misses.size(), options.jobs, [&](size_t k) -> Status {
    size_t i = misses[k];
    CAIRN_ASSIGN_OR_RETURN(HashOutcome h, HashStable(paths[i], options, &pre[i]));
    out[i].digest = std::move(h.digest);
    out[i].stat = h.stat;
    rehashed.fetch_add(static_cast<uint64_t>(h.attempts - 1), std::memory_order_relaxed);
    bytes.fetch_add(h.stat.size, std::memory_order_relaxed);
    if (options.progress != nullptr) options.progress->Done(1, h.stat.size);
    cacheable[i] = h.stat.mtime_ns + RacyWindowNs(h.stat, options) <= h.read_start_ns;
    return {};
  }));
  stats.hashed = misses.size();
  stats.rehashed = rehashed.load();
  stats.bytes_hashed = bytes.load();

  // 4. remember what was hashed, in one transaction.
  if (options.cache != nullptr && !misses.empty()) {
    std::vector<StatCache::Entry> entries;
    entries.reserve(misses.size());
    for (size_t i : misses) {
      if (!cacheable[i]) {
        ++stats.not_cached;
        continue;
      }
      entries.push_back({paths[i], out[i].stat, out[i].digest});
    }
    CAIRN_RETURN_IF_ERROR(options.cache->PutBatch(entries));
  }
  if (stats_out != nullptr) *stats_out = stats;
  return out;
}

Result<std::vector<std::string>> ListTree(const fs::path& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return ErrnoError(errno, "cannot stat", dir.string());
  if (!S_ISDIR(st.st_mode)) {
    return InvalidArgument("'" + dir.string() + "' is " + std::string(KindOf(st.st_mode)) +
                           ", not a folder");
  }
  std::vector<std::string> files;
  std::string root = dir.string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  CAIRN_RETURN_IF_ERROR(ListInto(root, "", files));
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::vector<HashedFile>> HashTree(const fs::path& dir, const HashOptions& options,
                                         HashStats* stats) {
  std::error_code ec;
  fs::path abs = fs::absolute(dir, ec);
  if (ec) return Internal("cannot resolve '" + dir.string() + "': " + ec.message());
  abs = abs.lexically_normal();
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> rel, ListTree(abs));
  std::string base = abs.string();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::vector<std::string> full;
  full.reserve(rel.size());
  for (const auto& r : rel) full.push_back(base + "/" + r);
  CAIRN_ASSIGN_OR_RETURN(std::vector<HashedFile> hashed, HashFiles(full, options, stats));
  for (size_t i = 0; i < hashed.size(); ++i) hashed[i].path = std::move(rel[i]);
  return hashed;
}

// ---------------------------------------------------------------- HashingWriter

namespace {

// The inline buffer a finished writer leaves to the next one on its thread
// (a fresh 1 MiB buffer per small object would cost an allocation and page
// faults each: pulls of 10,000 small objects are dominated by such costs).
thread_local HashingWriter::AlignedBuffer t_spare_buffer;

// "cannot write 'path': <errno text>"; ENOSPC and friends are
// kResourceExhausted (the caller tells the user to free space).
Error WriteError(int err, std::string_view path, std::string_view what = "cannot write") {
  std::string msg = std::string(what) + " '" + std::string(path) + "': " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
    return Error(ErrorCode::kResourceExhausted, std::move(msg));
  }
  return Error(ErrorCode::kInternal, std::move(msg));
}

}  // namespace

struct HashingWriter::Ring {
  // A full ring is refilled from half empty on: the writer (faster than
  // SHA-256) sleeps once per kRingBuffers / 2 buffers, not once per buffer.
  static constexpr uint64_t kRefillAt = kRingBuffers / 2;

  AlignedBuffer memory;  // kRingBuffers buffers of kBufferBytes
  size_t length[kRingBuffers] = {};
  std::mutex mu;
  std::condition_variable published_cv;  // the hashing thread waits here
  std::condition_variable hashed_cv;     // the writing thread waits here
  // Guarded by mu:
  uint64_t published = 0;  // buffers handed to the hasher
  uint64_t hashed = 0;     // buffers it finished
  bool closing = false;
  bool writer_waits = false;  // for published - hashed <= kRefillAt
  bool hasher_waits = false;  // for published > hashed, or closing
  std::thread thread;

  char* Buffer(uint64_t k) { return memory.get() + (k % kRingBuffers) * kBufferBytes; }

  // The hashing thread: buffers in order until closed and drained.
  void HashLoop(Sha256& hasher) {
    for (uint64_t k = 0;; ++k) {
      size_t n;
      {
        std::unique_lock<std::mutex> lock(mu);
        if (published == k && !closing) {
          hasher_waits = true;
          published_cv.wait(lock, [&] { return published > k || closing; });
          hasher_waits = false;
        }
        if (published == k) return;
        n = length[k % kRingBuffers];
      }
      hasher.Update(std::string_view(Buffer(k), n));
      bool wake;
      {
        std::lock_guard<std::mutex> lock(mu);
        hashed = k + 1;
        wake = writer_waits && published - hashed <= kRefillAt;
      }
      if (wake) hashed_cv.notify_one();
    }
  }
};

void HashingWriter::FreeAligned::operator()(char* p) const { std::free(p); }

HashingWriter::AlignedBuffer HashingWriter::AllocateAligned(size_t bytes) {
  constexpr size_t kPage = 4096;
  void* p = std::aligned_alloc(kPage, (bytes + kPage - 1) / kPage * kPage);
  if (p == nullptr) throw std::bad_alloc();
  return AlignedBuffer(static_cast<char*>(p));
}

HashingWriter::HashingWriter(int fd, std::string name) : HashingWriter(fd, std::move(name), {}) {}

HashingWriter::HashingWriter(int fd, std::string name, Options options)
    : fd_(fd), name_(std::move(name)), options_(options) {}

HashingWriter::~HashingWriter() {
  StopHashThread();
  if (scratch_ != nullptr && t_spare_buffer == nullptr) t_spare_buffer = std::move(scratch_);
}

Status HashingWriter::StartHashThread() {
  if (ring_ != nullptr || no_thread_) return {};
  try {
    auto ring = std::make_unique<Ring>();
    ring->memory = AllocateAligned(kRingBuffers * kBufferBytes);
    ring->thread = std::thread([r = ring.get(), h = &hasher_] { r->HashLoop(*h); });
    ring_ = std::move(ring);
  } catch (const std::exception&) {
    // No memory or no thread: hashing inline is slower, never wrong.
    no_thread_ = true;
  }
  return {};
}

void HashingWriter::StopHashThread() {
  if (ring_ == nullptr || !ring_->thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(ring_->mu);
    ring_->closing = true;
  }
  ring_->published_cv.notify_one();  // it checks `closing` before it waits
  ring_->thread.join();
}

char* HashingWriter::NextBuffer() {
  if (current_ != nullptr) return current_;
  if (ring_ == nullptr && written_ >= options_.hash_on_thread_from) (void)StartHashThread();
  if (ring_ != nullptr) {
    Ring& r = *ring_;
    std::unique_lock<std::mutex> lock(r.mu);
    // Buffer `published` is free once the one kRingBuffers before it was
    // hashed (it was written before this thread asked for the next one).
    if (r.published - r.hashed >= kRingBuffers) {
      r.writer_waits = true;
      r.hashed_cv.wait(lock, [&] { return r.published - r.hashed <= Ring::kRefillAt; });
      r.writer_waits = false;
    }
    current_ = r.Buffer(r.published);
  } else {
    if (scratch_ == nullptr) {
      scratch_ =
          t_spare_buffer != nullptr ? std::move(t_spare_buffer) : AllocateAligned(kBufferBytes);
    }
    current_ = scratch_.get();
  }
  filled_ = 0;
  return current_;
}

Status HashingWriter::Commit(size_t n) {
  const char* data = current_;
  if (ring_ != nullptr) {
    // Hashed on the thread while this one writes the same (unchanging) bytes.
    bool wake;
    {
      std::lock_guard<std::mutex> lock(ring_->mu);
      ring_->length[ring_->published % kRingBuffers] = n;
      ++ring_->published;
      wake = ring_->hasher_waits;
    }
    if (wake) ring_->published_cv.notify_one();
  } else {
    hasher_.Update(std::string_view(data, n));
  }
  current_ = nullptr;
  filled_ = 0;
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(fd_, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      failed_ = true;
      return std::unexpected(WriteError(errno, name_));
    }
    done += static_cast<size_t>(w);
  }
  written_ += n;
  if (written_ - writeback_from_ >= kWritebackBytes) {
    // Advisory: errors surface at the caller's flush.
    ::sync_file_range(fd_, static_cast<off_t>(writeback_from_),
                      static_cast<off_t>(written_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
    writeback_from_ = written_;
  }
  return {};
}

Status HashingWriter::Append(std::string_view data) {
  if (failed_ || finished_) return FailedPrecondition("write to '" + name_ + "' already ended");
  while (!data.empty()) {
    char* buffer = NextBuffer();
    size_t take = std::min(data.size(), kBufferBytes - filled_);
    std::memcpy(buffer + filled_, data.data(), take);
    filled_ += take;
    data.remove_prefix(take);
    if (filled_ == kBufferBytes) CAIRN_RETURN_IF_ERROR(Commit(filled_));
  }
  return {};
}

Status HashingWriter::CopyFrom(int src_fd, std::string_view src_name, uint64_t max_bytes) {
  if (failed_ || finished_) return FailedPrecondition("write to '" + name_ + "' already ended");
  if (max_bytes >= options_.hash_on_thread_from) CAIRN_RETURN_IF_ERROR(StartHashThread());
  uint64_t left = max_bytes;
  while (left > 0) {
    char* buffer = NextBuffer();
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, kBufferBytes - filled_));
    ssize_t n = ::read(src_fd, buffer + filled_, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      failed_ = true;
      return ErrnoError(errno, "cannot read", src_name);
    }
    if (n == 0) break;  // shorter than expected: the digest tells
    filled_ += static_cast<size_t>(n);
    left -= static_cast<uint64_t>(n);
    if (filled_ == kBufferBytes) CAIRN_RETURN_IF_ERROR(Commit(filled_));
  }
  return {};
}

Result<std::string> HashingWriter::Finish() {
  if (failed_ || finished_) return FailedPrecondition("write to '" + name_ + "' already ended");
  if (current_ != nullptr && filled_ > 0) {
    Status st = Commit(filled_);
    if (!st) {
      StopHashThread();
      return std::unexpected(st.error());
    }
  }
  finished_ = true;
  StopHashThread();
  return hasher_.HexDigest();
}

namespace {

// The copying thread of CopyFileAndHash: [0, size) of src to dst, publishing
// the bytes done in `progress` (kDone set at the end). Returns 0 or errno.
constexpr uint64_t kDone = 1ull << 63;

int CopyChunks(int src_fd, int dst_fd, uint64_t size, std::atomic<uint64_t>& progress) {
  off_t in = 0, out = 0;
  uint64_t writeback_from = 0;
  auto publish = [&](uint64_t done) {
    if (done - writeback_from >= HashingWriter::kWritebackBytes) {
      // Advisory: errors surface at the caller's flush.
      ::sync_file_range(dst_fd, static_cast<off_t>(writeback_from),
                        static_cast<off_t>(done - writeback_from), SYNC_FILE_RANGE_WRITE);
      writeback_from = done;
    }
    progress.store(done, std::memory_order_release);
    progress.notify_one();
  };
  bool kernel_copy = true;
  HashingWriter::AlignedBuffer buffer;
  while (static_cast<uint64_t>(in) < size) {
    const uint64_t want = std::min<uint64_t>(size - static_cast<uint64_t>(in), kCopyChunkBytes);
    if (kernel_copy) {
      ssize_t n = ::copy_file_range(src_fd, &in, dst_fd, &out, want, 0);
      if (n > 0) {
        publish(static_cast<uint64_t>(out));
        continue;
      }
      if (n == 0) return 0;  // the source is shorter: the digest tells
      if (errno == EINTR) continue;
      if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return errno;
      kernel_copy = false;
      buffer = HashingWriter::AllocateAligned(HashingWriter::kBufferBytes);
    }
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(want, HashingWriter::kBufferBytes));
    ssize_t n = ::pread(src_fd, buffer.get(), chunk, in);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return 0;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::pwrite(dst_fd, buffer.get() + done, static_cast<size_t>(n - done), out);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return errno;
      done += w;
      out += w;
    }
    in += n;
    publish(static_cast<uint64_t>(out));
  }
  return 0;
}

}  // namespace

Result<std::string> CopyFileAndHash(int src_fd, std::string_view src_name, int dst_fd,
                                    std::string_view dst_name, uint64_t size,
                                    uint64_t hash_on_thread_from) {
  if (size < hash_on_thread_from) {
    HashingWriter::Options options;
    options.hash_on_thread_from = UINT64_MAX;
    HashingWriter writer(dst_fd, std::string(dst_name), options);
    CAIRN_RETURN_IF_ERROR(writer.CopyFrom(src_fd, src_name, size));
    return writer.Finish();
  }
  std::atomic<uint64_t> progress{0};
  int copy_err = 0;
  std::thread copier;
  try {
    copier = std::thread([&] {
      copy_err = CopyChunks(src_fd, dst_fd, size, progress);
      progress.store(progress.load(std::memory_order_relaxed) | kDone, std::memory_order_release);
      progress.notify_one();
    });
  } catch (const std::exception&) {
    // No thread: copy first, then hash what was written.
    copy_err = CopyChunks(src_fd, dst_fd, size, progress);
    progress.store(progress.load() | kDone);
  }
  // Hash [0, copied) of the destination as the copier extends it.
  Sha256 hasher;
  thread_local HashingWriter::AlignedBuffer buffer;
  if (buffer == nullptr) buffer = HashingWriter::AllocateAligned(HashingWriter::kBufferBytes);
  uint64_t hashed = 0;
  int read_err = 0;
  for (;;) {
    const uint64_t seen = progress.load(std::memory_order_acquire);
    const uint64_t copied = seen & ~kDone;
    while (hashed < copied && read_err == 0) {
      size_t want =
          static_cast<size_t>(std::min<uint64_t>(copied - hashed, HashingWriter::kBufferBytes));
      ssize_t n = ::pread(dst_fd, buffer.get(), want, static_cast<off_t>(hashed));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        read_err = n < 0 ? errno : EIO;
        break;
      }
      hasher.Update(std::string_view(buffer.get(), static_cast<size_t>(n)));
      hashed += static_cast<uint64_t>(n);
    }
    if ((seen & kDone) != 0 || read_err != 0) break;
    progress.wait(seen, std::memory_order_acquire);
  }
  if (copier.joinable()) copier.join();
  if (copy_err != 0) {
    return std::unexpected(WriteError(
        copy_err, std::string(src_name) + "' to '" + std::string(dst_name), "cannot copy"));
  }
  if (read_err != 0) return ErrnoError(read_err, "cannot read back", dst_name);
  return hasher.HexDigest();
}

}  // namespace cairn::data
