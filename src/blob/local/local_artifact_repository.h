#pragma once
// LocalArtifactRepository: the ArtifactRepository on a local folder.
//
// Layout under `root`:
//   objects/ab/cdef...   the content-addressed store (LocalBlobStore): one
//                        read-only file per distinct content, named by SHA-256.
//   tree/<artifact path> the artifact tree. Each file is a hard link to its
//                        object, so identical content logged at many paths is
//                        stored once, listing is a directory listing and a
//                        download streams the file. Folders are real folders.
//   tmp/                 temporary files (blob writes, links about to be
//                        renamed into tree/) and CopyTree's folders being
//                        built; stray ones are removed at Open.
//   spool/               SpoolDir(): where the HTTP server spools uploads, on
//                        the same filesystem so Upload(kTake) is a link.
//
// An upload hashes the file, links it into objects/ if that content is new
// (or drops it), links the object to a temp name in tmp/ and renames that
// over tree/<path>: readers never see a partial file. Tree entries are never
// written in place, so objects stay immutable.
//
// CopyTree builds the copy in tmp/copy-<random>/: folders are new folders,
// files are new hard links to the same inodes as the source entries (so to
// the same objects: no bytes copied, link counts go up). The finished copy is
// renamed into place with RENAME_NOREPLACE, so it appears whole or not at
// all and never replaces what another writer put at `to` meanwhile. On any
// error the partial copy in tmp/ is removed; after a crash, Open removes
// copy folders older than a day. A copy of a folder deeper than 256 levels
// is kInvalidArgument.
//
// Symbolic links: the repository never creates any. Every operation walks
// tree/ one component at a time with openat(O_NOFOLLOW) and refuses
// (kInvalidArgument) a path whose chain includes a symlink, so a symlink
// planted in tree/ cannot redirect reads or writes outside the root. A
// listing skips symlinks. (Download returns a path the caller opens later; a
// symlink swapped in between those two steps by someone with write access to
// tree/ is outside this contract.)
//
// Objects are not removed when tree entries are deleted; CollectGarbage()
// removes objects no tree entry links to any more (link count 1).
//
// Thread safety: see artifact_repository.h; also safe with several processes
// on one root.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blob/artifact_repository.h"
#include "blob/local/local_blob_store.h"
#include "blob/local/posix_file.h"

namespace cairn::blob {

class LocalArtifactRepository final : public ArtifactRepository {
 public:
  // `root`: a local path (absolute, or relative to the current directory).
  // Creates the layout above. kInternal when it cannot.
  static Result<std::unique_ptr<LocalArtifactRepository>> Open(const std::string& root);

  Status Upload(std::string_view path, const std::string& source_file,
                UploadSource source = UploadSource::kTake) override;
  Status UploadBytes(std::string_view path, std::string_view bytes) override;
  Result<ArtifactFile> Download(std::string_view path) override;
  Result<std::vector<ArtifactEntry>> List(std::string_view dir) override;
  Status Delete(std::string_view path) override;
  Status CopyTree(std::string_view from, std::string_view to) override;
  std::string SpoolDir() const override { return spool_dir_; }

  struct GcStats {
    uint64_t objects_removed = 0;
    uint64_t bytes_freed = 0;
  };
  // Removes objects that no tree entry links to. Safe to run while uploads
  // and deletes are in flight: an object being linked concurrently is put
  // back. Only valid while this repository's tree is the only user of its
  // objects/ folder (do not point another BlobStore user at the same root).
  Result<GcStats> CollectGarbage();

  LocalBlobStore& blobs() { return *blobs_; }
  const std::string& root() const { return root_; }

 private:
  LocalArtifactRepository(std::string root, std::unique_ptr<LocalBlobStore> blobs,
                          local::UniqueFd tree_fd, std::string tree_dir, std::string spool_dir)
      : root_(std::move(root)),
        blobs_(std::move(blobs)),
        tree_fd_(std::move(tree_fd)),
        tree_dir_(std::move(tree_dir)),
        spool_dir_(std::move(spool_dir)) {}

  enum class Walk { kOpen, kCreate };
  // Opens the folder tree/<segments...>, one component at a time, never
  // following symlinks. kOpen: kNotFound when a component is missing or not a
  // folder. kCreate: creates missing folders; a file in the way is
  // kInvalidArgument. A symlink is kInvalidArgument in both modes.
  // `created`, when given, receives how many trailing segments this call
  // created (so a failed upload can remove them again).
  Result<local::UniqueFd> OpenFolder(std::span<const std::string> segments, Walk walk,
                                     std::string_view full_path, size_t* created = nullptr) const;
  // Best effort: removes the last `count` folders of tree/<segments...> if empty.
  void RemoveCreatedFolders(std::span<const std::string> segments, size_t count) const;
  // Puts `digest`'s object at tree/<parent>/<leaf> atomically.
  // kNotFound when the object vanished (concurrent GC) or the parent folder
  // was removed meanwhile; the caller retries.
  Status LinkIntoTree(std::string_view digest, int parent_fd, const std::string& leaf,
                      std::string_view full_path);
  // Shared by Upload and UploadBytes: `put` stores the content and returns
  // its digest; it is called again if a concurrent GC removes the object.
  template <typename PutFn>
  Status UploadWith(std::string_view path, PutFn&& put);

  std::string root_;
  std::unique_ptr<LocalBlobStore> blobs_;
  local::UniqueFd tree_fd_;
  std::string tree_dir_;
  std::string spool_dir_;
};

}  // namespace cairn::blob
