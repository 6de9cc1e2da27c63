#include "pipeline/lock.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "data/data_test_util.h"

namespace cairn::pipeline {
namespace {

using data::testing::ReadFile;
using data::testing::TempDir;
using data::testing::WriteFile;

const std::string kD1(64, 'a');
const std::string kD2(64, 'b');
const std::string kD3(64, 'c');

LockFile Sample() {
  LockFile lock;
  LockedStep train;
  train.fingerprint = kD1;
  train.cmd = "python train.py --out model";
  train.params = {
      {"train.lr", "0.1"},    {"train.depth", "6"}, {"other.yaml:a.b", "{\"x\":[1,\"y\"]}"},
      {"name", "\"resnet\""}, {"flag", "true"},     {"none", "null"}};
  train.deps = {{"data/prepared", data::PointerKind::kDir, kD2, 123, 4},
                {"train.py", data::PointerKind::kFile, kD3, 99, std::nullopt}};
  train.outs = {{"model", data::PointerKind::kDir, kD3, 456, 3}};
  train.metrics = {{"metrics.json", data::PointerKind::kFile, kD1, 40, std::nullopt}};
  lock.steps["train"] = train;
  LockedStep eval;
  eval.fingerprint = kD2;
  eval.cmd = "echo \"a: b\" # not a comment";
  eval.outs = {{"eval/small.json", data::PointerKind::kFile, kD1, 7, std::nullopt}};
  lock.steps["evaluate@small"] = eval;
  return lock;
}

TEST(LockFileTest, FormatIsCanonical) {
  std::string text = FormatLockFile(Sample());
  std::string expected =
      "# Written by cairn repro. Commit it with cairn.yaml.\n"
      "version: 1\n"
      "steps:\n"
      "  evaluate@small:\n"
      "    fingerprint: sha256:" +
      kD2 +
      "\n"
      "    cmd: \"echo \\\"a: b\\\" # not a comment\"\n"
      "    outs:\n"
      "    - {path: eval/small.json, kind: file, digest: sha256:" +
      kD1 +
      ", size: 7}\n"
      "  train:\n"
      "    fingerprint: sha256:" +
      kD1 +
      "\n"
      "    cmd: python train.py --out model\n"
      "    params: {flag: true, name: \"resnet\", none: null, \"other.yaml:a.b\": "
      "{\"x\":[1,\"y\"]}, "
      "train.depth: 6, train.lr: 0.1}\n"
      "    deps:\n"
      "    - {path: data/prepared, kind: dir, digest: sha256:" +
      kD2 +
      ", size: 123, files: 4}\n"
      "    - {path: train.py, kind: file, digest: sha256:" +
      kD3 +
      ", size: 99}\n"
      "    outs:\n"
      "    - {path: model, kind: dir, digest: sha256:" +
      kD3 +
      ", size: 456, files: 3}\n"
      "    metrics:\n"
      "    - {path: metrics.json, kind: file, digest: sha256:" +
      kD1 + ", size: 40}\n";
  EXPECT_EQ(text, expected);
}

TEST(LockFileTest, RoundTripIsExact) {
  LockFile lock = Sample();
  std::string text = FormatLockFile(lock);
  auto parsed = ParseLockFile(text, "cairn.lock");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  EXPECT_EQ(*parsed, lock);
  EXPECT_EQ(FormatLockFile(*parsed), text);
}

TEST(LockFileTest, AwkwardStringsRoundTrip) {
  LockFile lock;
  for (std::string cmd : {"yes", "123", "-x", "a:", " lead", "tab\there", "x: y", "é ü", "1e5",
                          "{a}", "[b]", "echo $HOME", "'q'"}) {
    LockedStep s;
    s.fingerprint = kD1;
    s.cmd = cmd;
    s.params = {{"p", "\"line\\nbreak \\u0001 \\\"q\\\"\""}};
    s.deps = {{"dir with space/x:y.csv", data::PointerKind::kFile, kD2, 1, std::nullopt}};
    lock.steps["s" + std::to_string(lock.steps.size())] = s;
  }
  std::string text = FormatLockFile(lock);
  auto parsed = ParseLockFile(text, "cairn.lock");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message() << "\n" << text;
  EXPECT_EQ(*parsed, lock) << text;
}

TEST(LockFileTest, ParsesParamsAsCanonicalJson) {
  std::string text =
      "version: 1\n"
      "steps:\n"
      "  a:\n"
      "    fingerprint: sha256:" +
      kD1 +
      "\n"
      "    cmd: run\n"
      "    params:\n"
      "      lr: 0.10\n"
      "      m: {b: 1, a: [x, 'y']}\n"
      "      s: 'text'\n";
  auto parsed = ParseLockFile(text, "cairn.lock");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  const LockedStep& a = parsed->steps.at("a");
  EXPECT_EQ(a.params.at("lr"), "0.10");
  EXPECT_EQ(a.params.at("m"), "{\"a\":[\"x\",\"y\"],\"b\":1}");
  EXPECT_EQ(a.params.at("s"), "\"text\"");
  EXPECT_TRUE(a.deps.empty());
}

void ExpectError(const std::string& text, const std::string& message) {
  auto parsed = ParseLockFile(text, "cairn.lock");
  ASSERT_FALSE(parsed.has_value()) << text;
  EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().message(), message);
}

TEST(LockFileTest, StrictErrorsNameFileAndLine) {
  const std::string head = "version: 1\nsteps:\n  a:\n    fingerprint: sha256:" + kD1 + "\n";
  ExpectError("version: 2\nsteps: {}\n",
              "cairn.lock:1: unsupported version '2' (this cairn reads version 1)");
  ExpectError("steps: {}\n", "cairn.lock:1: missing key 'version'");
  ExpectError("version: 1\nstages: {}\n",
              "cairn.lock:2: unknown key 'stages' (cairn.lock has version, steps)");
  ExpectError(head + "    cmd: x\n    outz: []\n",
              "cairn.lock:6: step 'a': unknown key 'outz' (a step has fingerprint, cmd, params, "
              "deps, outs, metrics)");
  ExpectError("version: 1\nsteps:\n  a:\n    fingerprint: sha256:abc\n    cmd: x\n",
              "cairn.lock:4: step 'a': fingerprint must be 'sha256:' followed by 64 lowercase hex "
              "characters, not 'sha256:abc'");
  ExpectError(head + "    cmd: x\n    outs:\n    - {path: m, kind: folder, digest: sha256:" + kD1 +
                  ", size: 1}\n",
              "cairn.lock:7: step 'a': outs: kind must be 'file' or 'dir', not 'folder'");
  ExpectError(head + "    cmd: x\n    outs:\n    - {path: m, kind: dir, digest: sha256:" + kD1 +
                  ", size: 1}\n",
              "cairn.lock:7: step 'a': outs: missing key 'files' (required for kind: dir, m)");
  ExpectError(head + "    cmd: x\n    outs:\n    - {path: m, kind: file, digest: sha256:" + kD1 +
                  ", size: -1}\n",
              "cairn.lock:7: step 'a': outs: size must be a non-negative integer, not '-1'");
  ExpectError(head + "    cmd: x\n    outs:\n    - {path: ../m, kind: file, digest: sha256:" + kD1 +
                  ", size: 1}\n",
              "cairn.lock:7: step 'a': outs: repository path '../m' has an empty, '.' or '..' "
              "component");
  ExpectError(head + "    cmd: x\n    cmd: y\n", "cairn.lock:6: key 'cmd' is repeated");
  ExpectError(head, "cairn.lock:3: step 'a': missing key 'cmd'");
  ExpectError("version: 1\nsteps: [a]\n",
              "cairn.lock:2: steps must be a mapping of step names, not a list");
  ExpectError("version: 1\nsteps:\n  a: {cmd: [x\n",
              "cairn.lock:4: invalid YAML: end of sequence flow not found");
}

TEST(LockFileTest, EmptyAndMissingFilesAreEmptyLocks) {
  TempDir dir;
  auto missing = LoadLockFile((dir.path() / "cairn.lock").string());
  ASSERT_TRUE(missing.has_value());
  EXPECT_TRUE(missing->steps.empty());
  auto empty = ParseLockFile("", "cairn.lock");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->steps.empty());
  EXPECT_EQ(FormatLockFile(LockFile{}),
            "# Written by cairn repro. Commit it with cairn.yaml.\nversion: 1\nsteps: {}\n");
  auto reparsed = ParseLockFile(FormatLockFile(LockFile{}), "cairn.lock");
  ASSERT_TRUE(reparsed.has_value());
  EXPECT_TRUE(reparsed->steps.empty());
}

TEST(LockFileTest, WriteIsAtomicAndLoadReadsItBack) {
  TempDir dir;
  std::string path = (dir.path() / "cairn.lock").string();
  WriteFile(path, "old contents\n");
  ASSERT_TRUE(WriteLockFile(path, Sample()).has_value());
  EXPECT_EQ(ReadFile(path), FormatLockFile(Sample()));
  auto loaded = LoadLockFile(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
  EXPECT_EQ(*loaded, Sample());
  // No temporary file is left next to it.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  // A bad lock names the path it was loaded from.
  WriteFile(path, "version: 1\nsteps:\n  a: 3\n");
  auto bad = LoadLockFile(path);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), path + ":3: step 'a' must be a mapping, not '3'");
}

TEST(LockFileTest, PointerConversion) {
  LockedPath out{"data/prepared/train", data::PointerKind::kDir, kD1, 10, 2};
  data::Pointer p = ToPointer(out);
  EXPECT_EQ(p.path, "train");
  EXPECT_EQ(p.kind, data::PointerKind::kDir);
  EXPECT_EQ(p.digest, kD1);
  EXPECT_EQ(p.size, 10u);
  EXPECT_EQ(p.files, std::optional<uint64_t>(2));
  EXPECT_EQ(ToPointer({"model.bin", data::PointerKind::kFile, kD2, 3, std::nullopt}).path,
            "model.bin");
  EXPECT_EQ(FromPointer("data/prepared/train", p), out);
}

}  // namespace
}  // namespace cairn::pipeline
