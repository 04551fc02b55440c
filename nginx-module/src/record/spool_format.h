// The spool's on-disk record: one batch of events (one repo, day and session bucket)
// under its batch id, framed so that a torn or damaged record is detected and never
// misread. Pure: no nginx types, no I/O.
//
// Record = magic "HSB1" (4 bytes) | payload length (u32 LE) | CRC-32 of the payload
// (u32 LE, IEEE) | payload. Payload (little-endian):
//   u8 version (2) | u8 stream length | stream | u64 seq | u8 repo type |
//   u16 ns length | ns | u16 name length | name | i32 day | u32 n |
//   n × (i64 time_ms | u8 flags (bit 0 authenticated, bit 1 bot) | u8 identity length |
//        identity | u8 family ('a'..) | u16 path length | path)
// Version 1 (before per-file and per-client counts) is still read: its events had
// u8 authenticated and no family or path; they replay as family other, path (other).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "record/batch_id.h"
#include "record/event.h"

namespace hubstats::module::spool {

inline constexpr std::uint32_t kMaxPayload = 16u << 20;  // far above any real batch

// CRC-32 (IEEE 802.3, as zlib's crc32).
std::uint32_t crc32(std::string_view data) noexcept;

// A batch as the spool holds it: its id and its events (all of one repo, day and
// session bucket).
struct SpooledBatch {
  BatchId id;
  std::vector<Event> events;
};

// Appends one framed record. `events` must be non-empty and of one repo and day.
void append_record(std::string& out, const BatchId& id, const std::vector<Event>& events);

// The same record built an event at a time (spool::Spiller): begin_payload() starts
// `payload` with the header of a batch of `repo` and `day` and returns where its event
// count is; append_event() adds an event of that repo and day; frame_record() writes
// the count, then appends the framed record to `out`.
std::size_t begin_payload(std::string& payload, const BatchId& id, const RepoRef& repo, Day day);
// The framed size of a record whose payload has `payload_bytes`.
std::size_t framed_bytes(std::size_t payload_bytes) noexcept;
// The most bytes e adds to the spool: its event, and a new record's frame and header
// (for a stream id of BatchId's 16 characters).
std::size_t bytes_at_most(const Event& e) noexcept;
void append_event(std::string& payload, const Event& e);
void frame_record(std::string& out, std::string& payload, std::size_t count_at,
                  std::uint32_t count);

enum class ReadStatus {
  kOk,       // every byte was a complete, valid record
  kTorn,     // the data ends inside a record (a crash mid-write, or still being written)
  kCorrupt,  // bad magic, length or checksum: nothing after it can be trusted
};

struct Decoded {
  std::vector<SpooledBatch> batches;
  std::size_t consumed = 0;  // bytes of the complete, valid records decoded
  ReadStatus status = ReadStatus::kOk;
};

// Decodes the complete records at the start of `data`, stopping at the first torn
// or corrupt one (its offset is `consumed`).
Decoded decode_records(std::string_view data);

}  // namespace hubstats::module::spool
