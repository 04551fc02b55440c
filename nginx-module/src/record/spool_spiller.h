// Events the queue cannot hold, framed for the spool as they come, as an access log
// formats each line into its buffer: no event is kept as an object, and no spill
// stops the worker to group thousands at once. Pure: no nginx types, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "record/batch_id.h"
#include "record/event.h"

namespace hubstats::module::spool {

// Open records, one per repo, each of one day and session bucket (a record is one
// batch). A repo's record is closed, into the caller's buffer, when it holds
// max_events or when the repo's next event has another day or bucket (so a repo's
// records stay in its events' order). When a new repo finds all max_open slots
// taken, every open record is closed; close_all() does the same on the caller's tick.
class Spiller {
 public:
  Spiller(std::size_t max_events, std::size_t max_open);

  struct Added {
    std::size_t bytes = 0;   // spool bytes this event adds (with its record's frame
                             // when it opened one)
    std::size_t closed = 0;  // events of the records this closed into `out`
  };
  // Adds e (of session bucket `bucket`) to its repo's open record, opening one under
  // ids.next(now_s) when needed; records it closes are appended to `out`.
  Added add(const Event& e, std::int64_t bucket, BatchNumbering& ids, std::int64_t now_s,
            std::string& out);

  // Closes every open record into `out`; returns their events.
  std::size_t close_all(std::string& out);
  // Forgets the open records; returns their events.
  std::size_t discard() noexcept;

  std::size_t events() const noexcept { return events_; }
  std::size_t bytes() const noexcept { return bytes_; }  // framed size of the open records

 private:
  struct Open {
    RepoRef repo;
    Day day = 0;
    std::int64_t bucket = 0;
    std::string payload;
    std::size_t count_at = 0;
    std::uint32_t count = 0;
    bool open = false;
  };
  std::size_t close(Open& o, std::string& out);

  std::size_t max_events_;
  std::vector<Open> slots_;
  std::unordered_map<std::size_t, std::uint32_t> by_hash_;  // repo hash -> its slot
  std::size_t used_ = 0;  // slots given to a repo since the last close_all
  std::size_t last_ = 0;  // slot of the previous event: runs of one repo are the rule
  std::size_t events_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace hubstats::module::spool
