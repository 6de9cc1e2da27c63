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
#include <cstring>
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

}  // namespace cairn::data
