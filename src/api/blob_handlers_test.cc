// The data remote's server routes (blob_handlers.h) over real HTTP against a
// live App (SQLite, a local artifacts folder, port 0): /missing in request
// order and its limits, PUT verified before anything is kept, GET/HEAD of
// stored objects, and the 400/404 answers.

#include "api/blob_handlers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/hash.h"
#include "support/live_server.h"
#include "support/raw_http.h"
#include "support/temp_files.h"

namespace cairn::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::HttpResult;
using test::RawHttp;

class BlobRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = test::LiveServer::Start("cairn-blob-routes");
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = std::move(*server);
  }

  int port() const { return server_->port(); }
  fs::path ObjectsDir() const {
    return fs::path(server_->dir()) / "artifacts/data-objects/objects";
  }
  fs::path ObjectFile(const std::string& digest) const {
    return ObjectsDir() / digest.substr(0, 2) / digest.substr(2);
  }
  size_t CountObjects() const {
    size_t n = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(ObjectsDir(), ec);
         it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_regular_file()) ++n;
    }
    return n;
  }
  size_t CountSpoolFiles() const {
    size_t n = 0;
    std::error_code ec;
    for (const auto& e :
         fs::directory_iterator(fs::path(server_->dir()) / "artifacts/.spool", ec)) {
      (void)e;
      ++n;
    }
    return n;
  }
  HttpResult Put(const std::string& digest, const std::string& bytes) {
    return RawHttp(port(), "PUT", "/api/v1/blobs/" + digest, bytes,
                   {{"Content-Type", "application/octet-stream"}});
  }
  HttpResult MissingOf(const json& body) {
    return RawHttp(port(), "POST", "/api/v1/blobs/missing", body.dump(),
                   {{"Content-Type", "application/json"}});
  }
  static std::string ErrorCodeOf(const HttpResult& r) {
    try {
      return json::parse(r.body).at("error_code").get<std::string>();
    } catch (const std::exception&) {
      return "<not an error body: " + r.body + ">";
    }
  }
  static std::string MessageOf(const HttpResult& r) {
    try {
      return json::parse(r.body).at("message").get<std::string>();
    } catch (const std::exception&) {
      return "";
    }
  }

  std::unique_ptr<test::LiveServer> server_;
};

TEST_F(BlobRoutesTest, PutThenGetAndHeadReturnTheBytes) {
  std::string bytes = "hello, data remote\n";
  std::string digest = Sha256Hex(bytes);
  HttpResult put = Put(digest, bytes);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(test::ReadFile(ObjectFile(digest)), bytes);

  HttpResult get = RawHttp(port(), "GET", "/api/v1/blobs/" + digest);
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, bytes);
  EXPECT_EQ(get.Header("content-type"), "application/octet-stream");

  HttpResult head = RawHttp(port(), "HEAD", "/api/v1/blobs/" + digest);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), std::to_string(bytes.size()));
  EXPECT_EQ(head.body, "");

  // A second PUT of the same object succeeds and stores nothing new.
  EXPECT_EQ(Put(digest, bytes).status, 200);
  EXPECT_EQ(CountObjects(), 1u);
  EXPECT_EQ(CountSpoolFiles(), 0u);
}

TEST_F(BlobRoutesTest, EmptyAndMultiMegabyteObjects) {
  std::string empty_digest = Sha256Hex("");
  ASSERT_EQ(Put(empty_digest, "").status, 200);
  EXPECT_EQ(RawHttp(port(), "GET", "/api/v1/blobs/" + empty_digest).body, "");

  std::string big(5u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) >> 7);
  std::string digest = Sha256Hex(big);
  ASSERT_EQ(Put(digest, big).status, 200);
  HttpResult get = RawHttp(port(), "GET", "/api/v1/blobs/" + digest);
  EXPECT_EQ(get.status, 200);
  EXPECT_TRUE(get.body == big) << "GET returned " << get.body.size() << " bytes";
}

TEST_F(BlobRoutesTest, PutWithTheWrongDigestStoresNothing) {
  std::string bytes = "the real bytes";
  std::string claimed = Sha256Hex("other bytes");
  HttpResult put = Put(claimed, bytes);
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(ErrorCodeOf(put), "INVALID_PARAMETER_VALUE");
  // The message names both digests.
  EXPECT_NE(MessageOf(put).find(claimed), std::string::npos) << put.body;
  EXPECT_NE(MessageOf(put).find(Sha256Hex(bytes)), std::string::npos) << put.body;
  EXPECT_EQ(CountObjects(), 0u);
  EXPECT_EQ(CountSpoolFiles(), 0u);
  EXPECT_EQ(RawHttp(port(), "GET", "/api/v1/blobs/" + claimed).status, 404);
  EXPECT_EQ(RawHttp(port(), "GET", "/api/v1/blobs/" + Sha256Hex(bytes)).status, 404);
}

TEST_F(BlobRoutesTest, AbsentObjectIs404) {
  std::string digest = Sha256Hex("never stored");
  HttpResult get = RawHttp(port(), "GET", "/api/v1/blobs/" + digest);
  EXPECT_EQ(get.status, 404);
  EXPECT_EQ(ErrorCodeOf(get), "RESOURCE_DOES_NOT_EXIST");
  EXPECT_NE(MessageOf(get).find(digest), std::string::npos);
  EXPECT_EQ(RawHttp(port(), "HEAD", "/api/v1/blobs/" + digest).status, 404);
}

TEST_F(BlobRoutesTest, MalformedDigestsAre400) {
  std::string good = Sha256Hex("x");
  std::string upper = good;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& bad : {std::string("abc"), upper, good + "0", good.substr(1) + "g",
                                 std::string("..%2F..%2Fetc%2Fpasswd"), good + "/x"}) {
    HttpResult get = RawHttp(port(), "GET", "/api/v1/blobs/" + bad);
    EXPECT_EQ(get.status, 400) << bad << ": " << get.body;
    EXPECT_EQ(ErrorCodeOf(get), "INVALID_PARAMETER_VALUE") << bad;
    HttpResult put = Put(bad, "x");
    EXPECT_EQ(put.status, 400) << bad << ": " << put.body;
    EXPECT_EQ(ErrorCodeOf(put), "INVALID_PARAMETER_VALUE") << bad;
  }
  EXPECT_EQ(RawHttp(port(), "GET", "/api/v1/blobs").status, 400);
  EXPECT_EQ(CountObjects(), 0u);
  EXPECT_EQ(CountSpoolFiles(), 0u);
}

TEST_F(BlobRoutesTest, MissingAnswersInRequestOrder) {
  std::vector<std::string> stored = {Sha256Hex("a"), Sha256Hex("b")};
  for (const char* s : {"a", "b"}) ASSERT_EQ(Put(Sha256Hex(s), s).status, 200);
  std::vector<std::string> absent = {Sha256Hex("z"), Sha256Hex("y")};
  HttpResult r = MissingOf({{"digests", {absent[0], stored[0], absent[1], stored[1]}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json({{"missing", {absent[0], absent[1]}}}));

  HttpResult none = MissingOf({{"digests", json::array()}});
  ASSERT_EQ(none.status, 200);
  EXPECT_EQ(json::parse(none.body), json({{"missing", json::array()}}));
}

TEST_F(BlobRoutesTest, MissingTakesAThousandAndRefusesMore) {
  std::vector<std::string> digests;
  for (int i = 0; i < 1001; ++i) digests.push_back(Sha256Hex(std::to_string(i)));
  std::vector<std::string> thousand(digests.begin(), digests.begin() + 1000);
  HttpResult ok = MissingOf({{"digests", thousand}});
  ASSERT_EQ(ok.status, 200) << ok.body.substr(0, 300);
  EXPECT_EQ(json::parse(ok.body).at("missing").size(), 1000u);

  HttpResult too_many = MissingOf({{"digests", digests}});
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(ErrorCodeOf(too_many), "INVALID_PARAMETER_VALUE");
  EXPECT_NE(MessageOf(too_many).find("1001"), std::string::npos) << too_many.body;
  EXPECT_NE(MessageOf(too_many).find("1000"), std::string::npos) << too_many.body;
}

TEST_F(BlobRoutesTest, MalformedMissingBodiesAre400) {
  const std::string good = Sha256Hex("g");
  for (const std::string& body :
       {std::string("not json"), std::string("[]"), std::string("{}"),
        std::string(R"({"digests": "abc"})"), std::string(R"({"digests": [1]})"),
        R"({"digests": [")" + good + R"(", "nothex"]})"}) {
    HttpResult r = RawHttp(port(), "POST", "/api/v1/blobs/missing", body,
                           {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(ErrorCodeOf(r), "INVALID_PARAMETER_VALUE") << body;
  }
}

}  // namespace
}  // namespace cairn::api
