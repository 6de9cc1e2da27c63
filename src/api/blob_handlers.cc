// Placeholder: the /api/v1/blobs routes come this session.
#include "api/blob_handlers.h"

namespace cairn::api {

void MountDataBlobRoutes(http::Router& /*router*/, blob::BlobStore& /*store*/) {}

}  // namespace cairn::api
