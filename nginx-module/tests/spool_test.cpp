#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "record/spool_files.h"
#include "record/spool_format.h"

using namespace hubstats;
using namespace hubstats::module;
using namespace hubstats::module::spool;

namespace {

Event ev(std::string name, std::string id, std::int64_t t, bool auth = false) {
  Event e;
  e.repo = RepoRef{RepoType::kDataset, "org", std::move(name)};
  e.identity_hex.assign(id);
  e.authenticated = auth;
  e.day = days_from_civil(2026, 12, 3);
  e.time_ms = t;
  return e;
}

std::string sample_records(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    append_record(out, BatchId{"6787a38c0000002a", static_cast<std::uint64_t>(i + 1)},
                  {ev("d" + std::to_string(i), "00112233445566" + std::to_string(10 + i),
                      1796300000000 + i, i % 2 == 0),
                   ev("d" + std::to_string(i), "ffeeddccbbaa9988", -5)});
  }
  return out;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/hubstats-spool-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST(SpoolFormat, Crc32KnownVector) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

// The 8-bytes-at-a-time loop must give the bit-by-bit CRC for every length and
// alignment, else spool files written by an older build would read as corrupt.
TEST(SpoolFormat, Crc32MatchesBitwiseReferenceAtEveryLength) {
  auto reference = [](std::string_view d) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (const unsigned char ch : d) {
      c ^= ch;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
  };
  std::string data;
  std::uint32_t x = 2463534242u;
  for (int i = 0; i < 300; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    data.push_back(static_cast<char>(x & 0xFF));
  }
  for (std::size_t off = 0; off < 8; ++off)
    for (std::size_t len = 0; off + len <= data.size(); len += 1 + len / 16)
      ASSERT_EQ(crc32(std::string_view(data).substr(off, len)),
                reference(std::string_view(data).substr(off, len)))
          << "offset " << off << " length " << len;
}

TEST(SpoolFormat, RoundTripsBatchesWithTheirIds) {
  const std::string data = sample_records(3);
  const Decoded d = decode_records(data);
  EXPECT_EQ(d.status, ReadStatus::kOk);
  EXPECT_EQ(d.consumed, data.size());
  ASSERT_EQ(d.batches.size(), 3u);
  const SpooledBatch& b = d.batches[2];
  EXPECT_EQ(b.id.stream, "6787a38c0000002a");
  EXPECT_EQ(b.id.seq, 3u);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].repo, (RepoRef{RepoType::kDataset, "org", "d2"}));
  EXPECT_EQ(b.events[0].identity_hex, "0011223344556612");
  EXPECT_TRUE(b.events[0].authenticated);
  EXPECT_EQ(b.events[0].time_ms, 1796300000002);
  EXPECT_EQ(b.events[0].day, days_from_civil(2026, 12, 3));
  EXPECT_FALSE(b.events[1].authenticated);
  EXPECT_EQ(b.events[1].time_ms, -5);
}

TEST(SpoolFormat, KeepsPathsFamiliesAndBots) {
  Event a = ev("d", "aa", 1796300000000, true);
  a.path = "sub/dir/model.safetensors";
  a.family = 'b';
  Event b = ev("d", "bb", 1796300000001);
  b.path = "(git)";
  b.family = 'm';
  b.bot = true;
  std::string data;
  append_record(data, BatchId{"6787a38c0000002a", 9}, {a, b});
  const Decoded d = decode_records(data);
  ASSERT_EQ(d.status, ReadStatus::kOk);
  ASSERT_EQ(d.batches.size(), 1u);
  const auto& e = d.batches[0].events;
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].path, "sub/dir/model.safetensors");
  EXPECT_EQ(e[0].family, 'b');
  EXPECT_TRUE(e[0].authenticated);
  EXPECT_FALSE(e[0].bot);
  EXPECT_EQ(e[1].path, "(git)");
  EXPECT_EQ(e[1].family, 'm');
  EXPECT_TRUE(e[1].bot);
  EXPECT_FALSE(e[1].authenticated);
}

// A record as the module before per-file counts wrote it (version 1).
std::string v1_record() {
  std::string p;
  auto le = [&p](std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) p += static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  le(1, 1);  // version
  le(16, 1);
  p += "6787a38c0000002a";  // stream
  le(5, 8);                 // seq
  le(static_cast<std::uint8_t>(RepoType::kModel), 1);
  le(4, 2);
  p += "demo";
  le(4, 2);
  p += "tiny";
  le(static_cast<std::uint64_t>(days_from_civil(2026, 12, 3)), 4);
  le(1, 4);  // one event
  le(1796300000000, 8);
  le(1, 1);  // authenticated
  le(4, 1);
  p += "abcd";
  std::string out = "HSB1";
  auto put32 = [&out](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  put32(static_cast<std::uint32_t>(p.size()));
  put32(crc32(p));
  return out + p;
}

TEST(SpoolFormat, ReadsVersionOneRecords) {
  const std::string data = v1_record();
  const Decoded d = decode_records(data);
  ASSERT_EQ(d.status, ReadStatus::kOk);
  ASSERT_EQ(d.batches.size(), 1u);
  EXPECT_EQ(d.batches[0].id.seq, 5u);
  const Event& e = d.batches[0].events.at(0);
  EXPECT_EQ(e.repo, (RepoRef{RepoType::kModel, "demo", "tiny"}));
  EXPECT_EQ(e.identity_hex, "abcd");
  EXPECT_TRUE(e.authenticated);
  EXPECT_EQ(e.path, "(other)");
  EXPECT_EQ(e.family, 'n');
  EXPECT_FALSE(e.bot);
}

TEST(SpoolFormat, EveryTruncationIsTornAndNeverMisread) {
  const std::string data = sample_records(2);
  const std::size_t first = decode_records(sample_records(1)).consumed;
  for (std::size_t cut = 0; cut < data.size(); ++cut) {
    const Decoded d = decode_records(std::string_view(data).substr(0, cut));
    const std::size_t whole = cut >= first ? 1 : 0;
    ASSERT_EQ(d.batches.size(), whole) << cut;
    EXPECT_EQ(d.consumed, whole ? first : 0) << cut;
    EXPECT_EQ(d.status, cut == 0 || cut == first ? ReadStatus::kOk : ReadStatus::kTorn) << cut;
  }
}

TEST(SpoolFormat, EveryFlippedByteIsDetected) {
  const std::string good = sample_records(1);
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    const Decoded d = decode_records(bad);
    EXPECT_TRUE(d.batches.empty()) << i;
    EXPECT_NE(d.status, ReadStatus::kOk) << i;
  }
  // Zeros where a record should be (a file extended but never written) are corrupt.
  const Decoded z = decode_records(good + std::string(40, '\0'));
  EXPECT_EQ(z.batches.size(), 1u);
  EXPECT_EQ(z.status, ReadStatus::kCorrupt);
}

TEST(SpoolFiles, WriteClaimReplayAndFinish) {
  TempDir dir;
  {
    Writer w(dir.path.string(), "100-a.spool");
    w.buffer() = sample_records(2);
    ASSERT_TRUE(w.flush());
    EXPECT_EQ(w.written(), sample_records(2).size());
    EXPECT_EQ(directory_usage(dir.path.string()), w.written());
    // Held by its writer: nobody can claim it.
    EXPECT_FALSE(claim_one(dir.path.string(), ""));
  }
  // The writer is gone (its lock with it): the file is free to claim, once.
  auto h = claim_one(dir.path.string(), "");
  ASSERT_TRUE(h);
  EXPECT_FALSE(claim_one(dir.path.string(), ""));
  Reader r(*h);
  std::vector<SpooledBatch> got;
  while (!r.eof()) {
    for (auto& b : r.next(7)) got.push_back(std::move(b));  // tiny chunks
  }
  EXPECT_EQ(r.status(), ReadStatus::kOk);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].id.seq, 2u);
  r.finish();
  EXPECT_EQ(directory_usage(dir.path.string()), 0u);
  EXPECT_FALSE(claim_one(dir.path.string(), ""));
}

TEST(SpoolFiles, TornLastRecordIsSkippedTheRestReplayed) {
  TempDir dir;
  const std::string data = sample_records(3);
  {
    std::ofstream f(dir.path / "7-x.spool", std::ios::binary);
    f << data.substr(0, data.size() - 9);  // a crash mid-write of the last record
  }
  auto h = claim_one(dir.path.string(), "");
  ASSERT_TRUE(h);
  Reader r(*h);
  std::vector<SpooledBatch> got;
  while (!r.eof()) {
    for (auto& b : r.next(1 << 16)) got.push_back(std::move(b));
  }
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(r.status(), ReadStatus::kTorn);
  EXPECT_GT(r.skipped(), 0u);
}

TEST(SpoolFiles, SealHandsTheLockedFileToItsOwnReplay) {
  TempDir dir;
  Writer w(dir.path.string(), "1-a.spool");
  w.buffer() = sample_records(1);
  ASSERT_TRUE(w.flush());
  auto h = w.seal("1-b.spool");
  ASSERT_TRUE(h);
  EXPECT_FALSE(claim_one(dir.path.string(), ""));  // still ours
  w.buffer() = sample_records(2);
  ASSERT_TRUE(w.flush());
  EXPECT_EQ(w.path(), (dir.path / "1-b.spool").string());
  Reader r(*h);
  EXPECT_EQ(r.next(1 << 16).size(), 1u);
  r.next(1 << 16);
  EXPECT_TRUE(r.eof());
  r.finish();
  EXPECT_EQ(directory_usage(dir.path.string()), sample_records(2).size());
}

TEST(SpoolFiles, FileNameIsPidAndStream) {
  EXPECT_EQ(file_name(123, 0x5f000001, 0xabcdef01u), "123-5f000001abcdef01.spool");
  EXPECT_NE(file_name(7, 1, 1), file_name(7, 1, 2));
}
