#pragma once
// The data remote's server side (docs/pipelines.md, "Remotes"): a Cairn
// server is a `cairn data push/pull` remote through
//   POST /api/v1/blobs/missing   {"digests": ["<64 hex>", ...]} (at most 1,000)
//                                -> {"missing": [...]} in request order
//   PUT  /api/v1/blobs/<digest>  the object's bytes (spooled to a file); the
//                                digest is verified before the object is kept
//                                (a mismatch is 400 and nothing is stored)
//   GET  /api/v1/blobs/<digest>  the bytes (application/octet-stream), 404 when absent
//   HEAD /api/v1/blobs/<digest>  200 with Content-Length, or 404
// over the server's data-object store (a LocalBlobStore at
// <artifacts destination>/data-objects, opened by the App).
//
// Errors are MLflow-style JSON ({"error_code", "message"}): INVALID_PARAMETER_VALUE
// for a malformed digest, body or list, RESOURCE_DOES_NOT_EXIST for an absent
// object.
// Thread safety: handlers run on the server's threads; BlobStore is thread-safe.
#include "blob/blob_store.h"
#include "http/server.h"

namespace cairn::api {

void MountDataBlobRoutes(http::Router& router, blob::BlobStore& store);

}  // namespace cairn::api
