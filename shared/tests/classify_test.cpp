#include "hubstats/classify.h"

#include <gtest/gtest.h>

#include <string>

namespace hubstats {
namespace {

RequestFacts get(std::string_view uri, int status = 200, std::string_view range = {}) {
  RequestFacts f;
  f.method = "GET";
  f.status = status;
  f.uri = uri;
  f.range = range;
  return f;
}

RequestFacts post(std::string_view uri, int status = 200,
                  LfsOperation op = LfsOperation::kUnknown) {
  RequestFacts f;
  f.method = "POST";
  f.status = status;
  f.uri = uri;
  f.lfs_operation = op;
  return f;
}

void expect_repo(const Route& r, EventKind kind, RepoType type, std::string_view ns,
                 std::string_view name) {
  EXPECT_EQ(r.kind, kind);
  EXPECT_EQ(r.repo.type, type);
  EXPECT_EQ(r.repo.ns, ns);
  EXPECT_EQ(r.repo.name, name);
}

TEST(Classify, ResolveForEveryTypeAndPrefix) {
  expect_repo(classify(get("/models/org/m/resolve/main/config.json")), EventKind::kFile,
              RepoType::kModel, "org", "m");
  expect_repo(classify(get("/datasets/org/d/resolve/main/data/train.csv")), EventKind::kFile,
              RepoType::kDataset, "org", "d");
  expect_repo(classify(get("/spaces/org/s/resolve/v1.0/app.py")), EventKind::kFile,
              RepoType::kSpace, "org", "s");
  expect_repo(classify(get("/api/models/org/m/resolve/main/a.bin")), EventKind::kFile,
              RepoType::kModel, "org", "m");
  expect_repo(classify(get("/org/m/resolve/main/a.bin")), EventKind::kFile, RepoType::kModel, "org",
              "m");
  expect_repo(classify(get("/api/org/m/resolve/main/a.bin")), EventKind::kFile, RepoType::kModel,
              "org", "m");
}

TEST(Classify, RedirectsToStorageCount) {
  for (int s : {301, 302, 303, 307, 308}) {
    EXPECT_EQ(classify(get("/models/o/m/resolve/main/f", s)).kind, EventKind::kFile) << s;
  }
}

TEST(Classify, FailuresHeadAndNotModifiedDoNotCount) {
  for (int s : {204, 304, 400, 401, 403, 404, 416, 500, 502, 503}) {
    EXPECT_EQ(classify(get("/models/o/m/resolve/main/f", s)).kind, EventKind::kNone) << s;
  }
  RequestFacts head = get("/models/o/m/resolve/main/f");
  head.method = "HEAD";
  EXPECT_EQ(classify(head).kind, EventKind::kNone);
  RequestFacts put = get("/models/o/m/resolve/main/f");
  put.method = "PUT";
  EXPECT_EQ(classify(put).kind, EventKind::kNone);
}

RequestFacts ranged(int status, std::string_view range, std::string_view content_range,
                    std::int64_t min_range = kDefaultMinRange) {
  RequestFacts f = get("/models/o/m/resolve/main/model.safetensors", status, range);
  f.content_range = content_range;
  f.min_range = min_range;
  return f;
}

bool counts(const RequestFacts& f) {
  return classify(f).kind == EventKind::kFile;
}

TEST(Classify, PartialContentCountsOnlyFromByteZero) {
  EXPECT_TRUE(counts(ranged(206, "bytes=0-", "bytes 0-10485759/10485760")));
  EXPECT_TRUE(counts(ranged(206, "Bytes=0-1048575", "bytes 0-1048575/10485760")));
  EXPECT_FALSE(counts(ranged(206, "bytes=1024-", "bytes 1024-10485759/10485760")));
  EXPECT_FALSE(counts(ranged(206, "bytes=-500", "bytes 10485260-10485759/10485760")));
  EXPECT_FALSE(counts(ranged(206, "", "")));
  EXPECT_FALSE(counts(ranged(206, "items=0-1", "")));
  // A server that ignored the Range header, or an If-Range that no longer matched,
  // sent the whole file.
  EXPECT_TRUE(counts(ranged(200, "bytes=1024-", "")));
  EXPECT_TRUE(counts(ranged(200, "bytes=0-0", "")));
}

TEST(Classify, ProbesAreNotFiles) {
  // Hugging Face's JS client and `curl -r 0-0`: one byte of a big file.
  EXPECT_FALSE(counts(ranged(206, "bytes=0-0", "bytes 0-0/10485760")));
  EXPECT_FALSE(counts(ranged(206, "bytes=0-1023", "bytes 0-1023/10485760")));
  // Just below and at the threshold.
  EXPECT_FALSE(counts(ranged(206, "bytes=0-1048574", "bytes 0-1048574/10485760")));
  EXPECT_TRUE(counts(ranged(206, "bytes=0-1048575", "bytes 0-1048575/10485760")));
  // The threshold is the directive's.
  EXPECT_TRUE(counts(ranged(206, "bytes=0-1023", "bytes 0-1023/10485760", 1024)));
  EXPECT_TRUE(counts(ranged(206, "bytes=0-0", "bytes 0-0/10485760", 0)));
  // A range reaching the end of a small file is the whole file.
  EXPECT_TRUE(counts(ranged(206, "bytes=0-1023", "bytes 0-1023/1024")));
  EXPECT_TRUE(counts(ranged(206, "bytes=0-99999", "bytes 0-1023/1024")));
  EXPECT_TRUE(counts(ranged(206, "bytes=0-0", "bytes 0-0/1")));
  // The complete length unknown ("*"): only the size decides.
  EXPECT_FALSE(counts(ranged(206, "bytes=0-", "bytes 0-1023/*")));
  EXPECT_TRUE(counts(ranged(206, "bytes=0-", "bytes 0-1048575/*")));
  // A suffix range covering the whole file starts at 0.
  EXPECT_TRUE(counts(ranged(206, "bytes=-5000", "bytes 0-1023/1024")));
  EXPECT_FALSE(counts(ranged(206, "bytes=-500", "bytes 524-1023/1024")));
  // Multi-range (multipart/byteranges answers carry no Content-Range): the request's
  // spec that starts at 0 decides.
  EXPECT_FALSE(counts(ranged(206, "bytes=0-0,100-200", "")));
  EXPECT_FALSE(counts(ranged(206, "bytes=100-200, 0-0", "")));
  EXPECT_TRUE(counts(ranged(206, "bytes=0-, 100-200", "")));
  EXPECT_TRUE(counts(ranged(206, "bytes=100-200,0-2000000", "")));
  EXPECT_FALSE(counts(ranged(206, "bytes=100-200,500-", "")));
  EXPECT_FALSE(counts(ranged(206, "bytes=0-x", "")));
  // Malformed Content-Range: not a download.
  EXPECT_FALSE(counts(ranged(206, "bytes=0-", "bytes 0-10/5")));
  EXPECT_FALSE(counts(ranged(206, "bytes=0-", "bytes */1024")));
  EXPECT_FALSE(counts(ranged(206, "bytes=0-", "garbage")));
}

TEST(Classify, RedirectsWithARangeAreJudgedByTheRequest) {
  EXPECT_TRUE(counts(ranged(302, "", "")));
  EXPECT_FALSE(counts(ranged(302, "bytes=0-0", "")));       // HF JS probe through the hub
  EXPECT_FALSE(counts(ranged(307, "bytes=5000-", "")));     // a resume
  EXPECT_TRUE(counts(ranged(302, "bytes=0-", "")));         // open: to the end
  EXPECT_TRUE(counts(ranged(302, "bytes=0-1048575", "")));  // at least min_range
  EXPECT_TRUE(counts(ranged(302, "items=0-1", "")));        // no byte range: the whole file
}

TEST(Classify, PathFieldsAsTheHubResolvesThem) {
  auto field = [](std::string_view uri) { return std::string(path_field(classify(get(uri)))); };
  EXPECT_EQ(field("/models/o/m/resolve/main/model.safetensors"), "model.safetensors");
  EXPECT_EQ(field("/api/datasets/o/d/resolve/v1.0/sub/dir/file.bin"), "sub/dir/file.bin");
  EXPECT_EQ(field("/o/m/resolve/0123abcd/config.json"), "config.json");
  EXPECT_EQ(field("/models/o/m/resolve/refs/pr/1/config.json"), "config.json");
  EXPECT_EQ(field("/datasets/o/d/resolve/refs/convert/parquet/default/train/0.parquet"),
            "default/train/0.parquet");
  EXPECT_EQ(field("/models/o/m/resolve/refs/x.bin"), "x.bin");  // a branch named "refs"
  EXPECT_EQ(field("/models/o/m/resolve/refs/pr/1"), "pr/1");    // too short for refs/pr/N/...
  EXPECT_EQ(field("/models/o/m/resolve/main/" + std::string(1100, 'a')), "(other)");
  EXPECT_EQ(std::string(path_field(classify(post("/models/o/m.git/git-upload-pack")))), "(git)");
  EXPECT_EQ(std::string(path_field(classify(
                post("/models/o/m.git/info/lfs/objects/batch", 200, LfsOperation::kDownload)))),
            "(lfs)");
  EXPECT_EQ(field("/models/o/m.git/info/lfs/objects/" + std::string(64, 'a')), "(lfs)");
}

TEST(Classify, ContentRangeParser) {
  auto c = parse_content_range("bytes 0-99/1000");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first, 0);
  EXPECT_EQ(c->last, 99);
  EXPECT_EQ(c->complete, 1000);
  c = parse_content_range("Bytes 5-9/*");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->complete, -1);
  EXPECT_FALSE(parse_content_range(""));
  EXPECT_FALSE(parse_content_range("bytes 9-5/10"));
  EXPECT_FALSE(parse_content_range("bytes 0-9/9"));
  EXPECT_FALSE(parse_content_range("bytes 0-9999999999999999999/*"));
  EXPECT_FALSE(parse_content_range("items 0-9/10"));
}

TEST(Classify, GitUploadPackCountsReceivePackNever) {
  expect_repo(classify(post("/models/o/m.git/git-upload-pack")), EventKind::kGitFetch,
              RepoType::kModel, "o", "m");
  expect_repo(classify(post("/datasets/o/d.git/git-upload-pack")), EventKind::kGitFetch,
              RepoType::kDataset, "o", "d");
  expect_repo(classify(post("/o/m.git/git-upload-pack")), EventKind::kGitFetch, RepoType::kModel,
              "o", "m");
  EXPECT_EQ(classify(post("/models/o/m.git/git-receive-pack")).kind, EventKind::kNone);
  EXPECT_EQ(classify(post("/models/o/m.git/git-upload-pack", 500)).kind, EventKind::kNone);
  EXPECT_EQ(classify(get("/models/o/m.git/info/refs")).kind, EventKind::kNone);
  EXPECT_EQ(classify(get("/models/o/m.git/git-upload-pack")).kind, EventKind::kNone);
}

TEST(Classify, GitUploadPackCommandParser) {
  using C = GitUploadPackCommand;
  // What git 2.39 sends for a protocol v2 clone: ls-refs, then fetch.
  EXPECT_EQ(git_upload_pack_command("0014command=ls-refs\n0014agent=git/2.39.5\n0001"
                                    "0009peel\n000csymrefs\n0000"),
            C::kLsRefs);
  EXPECT_EQ(
      git_upload_pack_command("0012command=fetch\n0014agent=git/2.39.5\n0001"
                              "000ethin-pack\n0032want 0123456789abcdef0123456789abcdef01234567\n"
                              "0009done\n0000"),
      C::kFetch);
  // v0/v1: the body starts with the first want line (with capabilities).
  EXPECT_EQ(git_upload_pack_command("0032want 0123456789abcdef0123456789abcdef01234567\n"),
            C::kFetch);
  EXPECT_EQ(git_upload_pack_command("005dwant 0123456789abcdef0123456789abcdef01234567 "
                                    "multi_ack_detailed side-band-64k ofs-delta\n"),
            C::kFetch);
  EXPECT_EQ(git_upload_pack_command("0014COMMAND=LS-REFS\n"), C::kUnknown);  // case matters
  EXPECT_EQ(git_upload_pack_command("0013command=ls-refs"), C::kLsRefs);     // no newline
  // Unknown, truncated, malformed or compressed bodies.
  EXPECT_EQ(git_upload_pack_command(""), C::kUnknown);
  EXPECT_EQ(git_upload_pack_command("001"), C::kUnknown);
  EXPECT_EQ(git_upload_pack_command("0014command=ls-r"), C::kUnknown);  // cut inside the pkt
  EXPECT_EQ(git_upload_pack_command("0000"), C::kUnknown);
  EXPECT_EQ(git_upload_pack_command("0001command=ls-refs\n"), C::kUnknown);
  EXPECT_EQ(git_upload_pack_command("zz14command=ls-refs\n"), C::kUnknown);
  EXPECT_EQ(git_upload_pack_command("0015command=ls-refsX\n"), C::kUnknown);
  EXPECT_EQ(git_upload_pack_command("0012command=other\n"), C::kUnknown);
  EXPECT_EQ(git_upload_pack_command("000bwanted\n"), C::kUnknown);
  EXPECT_EQ(git_upload_pack_command("\x1f\x8b\x08\x00"), C::kUnknown);   // gzip
  EXPECT_EQ(git_upload_pack_command("command=ls-refs\n"), C::kUnknown);  // no length
}

TEST(Classify, GitLsRefsIsNotADownload) {
  const char* uri = "/models/o/m.git/git-upload-pack";
  RequestFacts f = post(uri);
  f.git_command = GitUploadPackCommand::kLsRefs;
  EXPECT_EQ(classify(f).kind, EventKind::kNone);
  f.git_command = GitUploadPackCommand::kFetch;
  expect_repo(classify(f), EventKind::kGitFetch, RepoType::kModel, "o", "m");
  f.git_command = GitUploadPackCommand::kUnknown;  // body not read: counts as a fetch
  expect_repo(classify(f), EventKind::kGitFetch, RepoType::kModel, "o", "m");
  f.status = 401;
  EXPECT_EQ(classify(f).kind, EventKind::kNone);
}

TEST(Classify, LfsBatchDownloadVersusUpload) {
  const char* uri = "/models/o/m.git/info/lfs/objects/batch";
  expect_repo(classify(post(uri, 200, LfsOperation::kDownload)), EventKind::kLfsBatch,
              RepoType::kModel, "o", "m");
  EXPECT_EQ(classify(post(uri, 200, LfsOperation::kUpload)).kind, EventKind::kNone);
  EXPECT_EQ(classify(post(uri, 200, LfsOperation::kUnknown)).kind, EventKind::kNone);
  EXPECT_EQ(classify(post(uri, 401, LfsOperation::kDownload)).kind, EventKind::kNone);
  expect_repo(classify(post("/o/m.git/info/lfs/objects/batch", 200, LfsOperation::kDownload)),
              EventKind::kLfsBatch, RepoType::kModel, "o", "m");
}

TEST(Classify, LfsObjectGet) {
  const std::string oid(64, 'a');
  expect_repo(classify(get("/datasets/o/d.git/info/lfs/objects/" + oid)), EventKind::kLfsObject,
              RepoType::kDataset, "o", "d");
  EXPECT_EQ(classify(get("/datasets/o/d.git/info/lfs/objects/" + std::string(63, 'a'))).kind,
            EventKind::kNone);
  EXPECT_EQ(classify(get("/datasets/o/d.git/info/lfs/objects/" + std::string(64, 'A'))).kind,
            EventKind::kNone);
  EXPECT_EQ(classify(get("/datasets/o/d.git/info/lfs/objects/" + oid, 404)).kind, EventKind::kNone);
}

TEST(Classify, LfsOperationScan) {
  EXPECT_EQ(lfs_operation_of(R"({"operation": "download", "objects": []})"),
            LfsOperation::kDownload);
  EXPECT_EQ(lfs_operation_of(R"({"objects":[],"operation":"upload"})"), LfsOperation::kUpload);
  EXPECT_EQ(lfs_operation_of("{\n \"operation\" :\n\t\"download\"}"), LfsOperation::kDownload);
  EXPECT_EQ(lfs_operation_of(R"({"operation": "verify"})"), LfsOperation::kUnknown);
  EXPECT_EQ(lfs_operation_of(R"({"operation": "downl)"), LfsOperation::kUnknown);
  EXPECT_EQ(lfs_operation_of(""), LfsOperation::kUnknown);
  EXPECT_EQ(lfs_operation_of(R"({"operation": 5})"), LfsOperation::kUnknown);
}

TEST(Classify, BrowsingAndOtherUrlsNeverCount) {
  for (const char* uri :
       {"/", "/models", "/models/o/m", "/models/o/m/tree/main", "/api/models/o/m/tree/main/",
        "/api/models/o/m/tree/main/sub", "/api/models/o/m", "/api/models/o/m/revision/main",
        "/models/o/m/blob/main/config.json", "/models/o/m/resolve/main", "/models/o/m/resolve",
        "/api/trending", "/models/o/m/stats", "/static/app.js", "/api/whoami-v2",
        "/models/o/m/raw/main/f", "/o/m", "/o/m/tree/main"}) {
    EXPECT_EQ(classify(get(uri)).kind, EventKind::kNone) << uri;
  }
}

TEST(Classify, HostileUris) {
  for (std::string uri : {std::string("/models/../m/resolve/main/f"),
                          std::string("/models/o/../resolve/main/f"),
                          std::string("/models/o/m/resolve/main/../../../etc/passwd"),
                          std::string("/models/o/m/resolve/main/./f"),
                          std::string("/models//m/resolve/main/f"),
                          std::string("/models/o/m/resolve/main/f/"),
                          std::string("models/o/m/resolve/main/f"),
                          std::string("/models/o%2Fx/m/resolve/main/f"),
                          std::string("/models/o/m%00/resolve/main/f"),
                          std::string("/models/o/m\n/resolve/x/f"),
                          std::string("/models/o/m/resolve/main/f\x01"),
                          std::string("/models/{o}/m/resolve/x/f"),
                          std::string("/models/o:x/m/resolve/main/f"),
                          std::string("/models/o/m.git/resolve/x/f"),
                          std::string("/api/api/o/m/resolve/main/f"),
                          std::string("/models/api/m/resolve/x/f"),
                          std::string("/models/o/") + std::string(97, 'n') + "/resolve/main/f",
                          std::string("/models/o/m/resolve/main/") + std::string(5000, 'x'),
                          std::string(""),
                          std::string("/models/o/.git/git-upload-pack")}) {
    EXPECT_EQ(classify(get(uri)).kind, EventKind::kNone) << uri;
    EXPECT_EQ(classify(post(uri)).kind, EventKind::kNone) << uri;
  }
  std::string many = "/models/o/m/resolve/main";
  for (int i = 0; i < 100; ++i) many += "/d";
  EXPECT_EQ(classify(get(many)).kind, EventKind::kNone);
  // The longest valid segment is accepted.
  const std::string n96(96, 'n');
  EXPECT_EQ(classify(get("/models/o/" + n96 + "/resolve/main/f")).repo.name, n96);
}

TEST(Classify, TypePrefixWinsOverModelForm) {
  // "/models/x/resolve/main/f" has no name after the namespace: as a model form it would
  // mean namespace "models", which is reserved, so it is not a download.
  EXPECT_EQ(classify(get("/models/x/resolve/main/f")).kind, EventKind::kNone);
  expect_repo(classify(get("/datasets/x/y/resolve/main/f")), EventKind::kFile, RepoType::kDataset,
              "x", "y");
}

TEST(Classify, CustomLayoutCountsOnlyGet) {
  EXPECT_TRUE(custom_layout_countable("GET", 200, {}));
  EXPECT_TRUE(custom_layout_countable("GET", 302, {}));
  EXPECT_TRUE(custom_layout_countable("GET", 206, {"bytes=0-9", "bytes 0-9/10"}));
  EXPECT_FALSE(custom_layout_countable("GET", 206, {"bytes=5-", "bytes 5-9/10"}));
  EXPECT_FALSE(custom_layout_countable("GET", 404, {}));
  for (const char* m : {"HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "get", ""}) {
    EXPECT_FALSE(custom_layout_countable(m, 200, {})) << m;
  }
}

TEST(Classify, CustomLayoutCondition) {
  EXPECT_FALSE(custom_layout_condition(""));
  EXPECT_FALSE(custom_layout_condition("0"));
  EXPECT_TRUE(custom_layout_condition("1"));
  EXPECT_TRUE(custom_layout_condition("00"));
  EXPECT_TRUE(custom_layout_condition("yes"));
}

TEST(Classify, CustomLayoutRepo) {
  const auto m = custom_layout_repo("model", "org", "name");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, RepoType::kModel);
  EXPECT_EQ(m->ns, "org");
  EXPECT_EQ(m->name, "name");
  const auto d = custom_layout_repo("datasets", "o", "n");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, RepoType::kDataset);
  EXPECT_FALSE(custom_layout_repo("widget", "o", "n"));
  EXPECT_FALSE(custom_layout_repo("model", "", "n"));
  EXPECT_FALSE(custom_layout_repo("model", "o", ""));
  EXPECT_FALSE(custom_layout_repo("model", "o", "a/b"));
  EXPECT_FALSE(custom_layout_repo("model", "..", "n"));
}

TEST(Classify, CustomRouteStatusRule) {
  EXPECT_TRUE(countable_download_status(200, {}));
  EXPECT_TRUE(countable_download_status(302, {}));
  EXPECT_TRUE(countable_download_status(206, {"bytes=0-1", "bytes 0-1/2"}));
  EXPECT_FALSE(countable_download_status(206, {"bytes=5-", ""}));
  EXPECT_FALSE(countable_download_status(304, {}));
  EXPECT_FALSE(countable_download_status(404, {}));
  EXPECT_FALSE(countable_download_status(0, {}));
}

}  // namespace
}  // namespace hubstats
