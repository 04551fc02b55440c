#include "record/body_capture.h"

#include <gtest/gtest.h>

#include <string>

#include "hubstats/classify.h"

namespace hubstats::module {
namespace {

TEST(BodyNeed, OnlyGitUploadPackAndLfsBatchPostsNeedTheirBody) {
  EXPECT_EQ(body_need("POST", "/models/a/b.git/git-upload-pack"), BodyNeed::kGitCmd);
  EXPECT_EQ(body_need("POST", "/a/b.git/git-upload-pack"), BodyNeed::kGitCmd);
  EXPECT_EQ(body_need("POST", "/datasets/a/b.git/info/lfs/objects/batch"), BodyNeed::kLfsBatch);
  EXPECT_EQ(body_need("GET", "/models/a/b.git/git-upload-pack"), BodyNeed::kNone);
  EXPECT_EQ(body_need("POST", "/models/a/b.git/git-receive-pack"), BodyNeed::kNone);
  EXPECT_EQ(body_need("POST", "/api/models/a/b/like"), BodyNeed::kNone);
  EXPECT_EQ(body_need("PUT", "/models/a/b.git/info/lfs/objects/batch"), BodyNeed::kNone);
}

TEST(BodyNeed, CaptureSizeIsBoundedAndNoBiggerThanADeclaredBody) {
  EXPECT_EQ(body_capture_size(BodyNeed::kNone, -1), 0u);
  EXPECT_EQ(body_capture_size(BodyNeed::kGitCmd, -1), 64u);
  EXPECT_EQ(body_capture_size(BodyNeed::kGitCmd, 1 << 20), 64u);
  EXPECT_EQ(body_capture_size(BodyNeed::kGitCmd, 20), 20u);
  EXPECT_EQ(body_capture_size(BodyNeed::kLfsBatch, -1), 64u * 1024 + 1);
  EXPECT_EQ(body_capture_size(BodyNeed::kLfsBatch, 300), 300u);
  EXPECT_EQ(body_capture_size(BodyNeed::kLfsBatch, 0), 0u);
}

TEST(PrefixCapture, KeepsThePrefixAcrossBuffersOfAnySize) {
  const std::string body = "0014command=ls-refs\n0014agent=git/2.39.2";
  for (std::size_t step = 1; step <= body.size(); ++step) {
    char storage[16];
    PrefixCapture cap(storage, sizeof storage);
    for (std::size_t i = 0; i < body.size(); i += step)
      cap.append(body.data() + i, std::min(step, body.size() - i));
    EXPECT_EQ(cap.bytes(), body.substr(0, 16)) << step;
    EXPECT_TRUE(cap.full());
    EXPECT_EQ(cap.seen(), body.size());
  }
}

TEST(PrefixCapture, LateOneByteBuffersStillClassifyAsWhole) {
  // The case of issue 11: the body arrives after the headers, in pieces.
  const std::string body = "0014command=ls-refs\n0000";
  char storage[64];
  PrefixCapture cap(storage, sizeof storage);
  for (char c : body) cap.append(&c, 1);
  EXPECT_EQ(hubstats::git_upload_pack_command(cap.bytes()),
            hubstats::GitUploadPackCommand::kLsRefs);
  EXPECT_FALSE(cap.full());
}

TEST(PrefixCapture, ZeroCapacityOnlyCounts) {
  PrefixCapture cap(nullptr, 0);
  cap.append("abc", 3);
  EXPECT_EQ(cap.bytes(), "");
  EXPECT_EQ(cap.seen(), 3u);
}

}  // namespace
}  // namespace hubstats::module
