// A batch's id and the numbering that hands them out. Pure: no nginx types.
#pragma once

#include <cstdint>
#include <string>

namespace hubstats::module {

// A batch's id: its writer's stream and its number there (kRecordBatch applies each
// id at most once). Kept by a batch through resends and the spool.
struct BatchId {
  std::string stream;  // 16 hex chars: 8 of the creation time (Unix s), 8 random
  std::uint64_t seq = 0;
};

// "%08x%08x" of a stream's creation time and random bits.
std::string stream_id(std::int64_t born_s, std::uint32_t random);

// Numbers a writer's batches: 1, 2, ... in a stream, and a new stream once the
// current one is older than rotate_s (half the retention: the record script prunes
// streams older than the retention).
class BatchNumbering {
 public:
  BatchNumbering(std::uint64_t (*random)(), std::int64_t rotate_s)
      : random_(random), rotate_s_(rotate_s) {}
  BatchId next(std::int64_t now_s);

 private:
  std::uint64_t (*random_)();
  std::int64_t rotate_s_;
  std::string stream_;
  std::int64_t born_s_ = 0;
  std::uint64_t seq_ = 0;
};

}  // namespace hubstats::module
