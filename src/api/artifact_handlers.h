#pragma once
// MLflow's artifact proxy ("mlflow-artifacts"), served over an
// ArtifactRepository. The stock client (MlflowArtifactsRepository /
// HttpArtifactRepository, mlflow 2.x and 3.x) talks to these routes when an
// experiment's artifact location is mlflow-artifacts:/...:
//
//   PUT    <base>/<path>      upload; body spooled to disk by the server
//                             (BodyMode::kSpoolToFile) and moved into the
//                             repository; answers {}
//   GET    <base>/<path>      download, streamed from disk (Response::file_path)
//                             as an attachment; 404 RESOURCE_DOES_NOT_EXIST
//   GET    <base>?path=<dir>  list the direct children of <dir>:
//                             {"files":[{"path":"<name>","is_dir":false,"file_size":N},
//                                       {"path":"<name>","is_dir":true}]}
//                             names relative to <dir>; {} when empty or missing
//   DELETE <base>/<path>      delete a file or folder; {} (also when absent)
//
// with <base> = /api/2.0/mlflow-artifacts/artifacts and the same under
// /ajax-api/2.0/mlflow-artifacts/artifacts. One trailing '/' on a DELETE or
// list path is ignored (the client sends one when deleting a run's root).
// Paths are validated by the repository (blob/artifact_path.h): traversal
// attempts are 400 INVALID_PARAMETER_VALUE and nothing is written.
//
// Not served: the multipart-upload routes (/mlflow-artifacts/mpu/...) and
// presigned downloads; clients use them only when the server advertises them
// (/api/3.0/mlflow/server-info) or MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD is set.
//
// For uploads to be a link rather than a copy, ServerOptions::spool_dir
// should be repo.SpoolDir() (same filesystem).
//
// Thread safety: the handlers hold no state beyond `repo`, which must outlive
// the server and is itself thread-safe.

#include <string>
#include <string_view>

#include "blob/artifact_repository.h"
#include "http/server.h"

namespace cairn::api {

void MountArtifactRoutes(http::Router& router, blob::ArtifactRepository& repo);

// Content type for a downloaded artifact, from its file name, as MLflow
// guesses it: text-like files (txt, log, json, yaml, py, csv, md, MLmodel,
// ...) are text/plain, well-known binary types get their type, anything else
// application/octet-stream.
std::string ArtifactContentType(std::string_view file_name);

// The Content-Disposition value for an attachment named `file_name`:
// attachment; filename="..." with an ASCII fallback, plus filename*=UTF-8''
// (RFC 5987) when the name is not plain ASCII.
std::string ContentDispositionAttachment(std::string_view file_name);

}  // namespace cairn::api
