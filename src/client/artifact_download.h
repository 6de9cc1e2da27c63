#pragma once
// Listing and downloading a folder of artifacts at an ArtifactLocation: the
// one implementation behind TrackingClient (a run's artifacts) and
// RegistryClient (a model version's files).
//
// A kProxy location is read through the server's artifact proxy with the
// caller's HttpTransport (GET <endpoint>?path=<root>/<rel> to list, GET
// <endpoint>/<root>/<rel> to fetch, streamed to disk); a kLocal location is
// read from the filesystem directly.
//
// Safety: a listed entry whose path would escape the listed folder (absolute,
// or with a ".." segment) is refused as kInternal "unexpected response from
// the server: ...", so a hostile server cannot make the client write outside
// the destination. Trees deeper than 64 levels are kFailedPrecondition.
//
// Errors: the transport's (kUnavailable, kNotFound for a missing proxy file,
// ...); kNotFound for a missing local file; kInternal for local I/O failures,
// naming the path. Thread safety: as the transport's; the functions keep no
// state.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "client/artifact_location.h"
#include "client/http_transport.h"
#include "client/mlflow_json.h"
#include "core/error.h"

namespace cairn::client {

// The direct children of the folder `rel` (normalized, relative to the
// location's root; "" = the root), sorted by path. Paths are relative to the
// root ("<rel>/<name>"); file_size is -1 for folders and when unknown. A
// missing folder, or a file, lists as empty.
Result<std::vector<FileInfo>> ListArtifactFolder(HttpTransport& transport,
                                                 const ArtifactLocation& loc,
                                                 const std::string& rel);

// Downloads `rel` (normalized; a file or a folder, "" = the root) to
// "<dst>/<rel>", creating folders as needed; a folder recursively. Files land
// as "<path>.part" while in flight (proxy) and are renamed when complete.
// When `files` is not null, adds the number of files fetched to *files.
Status DownloadArtifactTree(HttpTransport& transport, const ArtifactLocation& loc,
                            const std::string& rel, const std::filesystem::path& dst,
                            int64_t* files = nullptr);

}  // namespace cairn::client
