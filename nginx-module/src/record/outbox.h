// The worker's outbox: its batches from the moment they are grouped (or read back
// from a spool file) until Redis confirmed both their record and their dirty mark.
// Exactly once rests on it: a batch keeps its id and its place through every resend,
// and its events are counted (sent, replayed or failed) once. Pure: no nginx types,
// no I/O; the sink (glue/redis_sink) sends and feeds it the replies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "record/counters.h"
#include "record/final_flush.h"
#include "record/group_batches.h"

namespace hubstats::module {

// One batch in the outbox.
struct Outgoing {
  enum class State { kQueued, kSent, kRecorded, kDone };
  std::shared_ptr<RecordBatch> batch;
  State state = State::kQueued;  // kQueued: to be sent on the current connection
  bool counted = false;          // its events are in sent/failed already
  bool replay = false;           // read from a spool file (counts as replayed)
  // Redis Cluster only (glue/cluster_router): the record is on a replica too (or its
  // master has none), and a dirty mark naming it is in flight.
  bool replicated = false;
  bool marking = false;
  bool sent_once = false;  // its id has gone out: its events are its for good
};

class Outbox {
 public:
  // Appends a batch, unsent, behind the others.
  std::shared_ptr<Outgoing> add(std::shared_ptr<RecordBatch> batch, bool replay);
  // The connection is gone: every unfinished batch is to be sent again, in order (the
  // record script skips an id it already applied).
  void requeue();
  // The record script's reply to o's record: an integer from -1 (applied under this id
  // before, its reply lost) to the batch's size (sessions opened) is applied, anything
  // else (an error, nothing) rejects the batch, which is then done. Counts o's events
  // once, into c. Returns whether it was applied.
  bool record_reply(Outgoing& o, std::optional<long long> integer, Counters& c);
  // The dirty mark naming these batches was answered: the recorded ones are done.
  void marked(const std::vector<std::shared_ptr<Outgoing>>& batches);
  // Redis Cluster sends a repo's batches one at a time: before `into` (queued, own, never
  // sent) goes out, the own never-sent batches of the same repo, day and session bucket
  // that follow it (within `window` entries, up to max_events in all) move their events
  // into it and are done; it stops at the repo's first batch it cannot take, so the
  // repo's events keep their order. The absorbed batches' ids are never sent (a gap in
  // the stream is harmless: the script keeps the highest id). Returns the events moved.
  std::size_t absorb(const std::shared_ptr<Outgoing>& into, std::size_t max_events,
                     std::size_t window = 512);
  // o is done (confirmed, rejected, or handed over at exit); done batches leave the
  // front of the outbox.
  void finish(Outgoing& o);
  // The unfinished batches of this worker's own (not replayed), in order: what the
  // exit's final flush delivers.
  std::vector<std::shared_ptr<Outgoing>> unfinished_own() const;
  // The exit's final flush of `sent` (in order, outcomes in fr): applied and rejected
  // batches are counted (once) and done; returns those whose outcome is unknown, still
  // unfinished, for the spool (or, without one, for the dropped count).
  std::vector<std::shared_ptr<Outgoing>> final_flushed(
      const std::vector<std::shared_ptr<Outgoing>>& sent, const FlushResult& fr, Counters& c);

  const std::deque<std::shared_ptr<Outgoing>>& batches() const { return batches_; }
  std::size_t events() const { return events_; }                // own, unfinished
  std::size_t replay_events() const { return replay_events_; }  // replayed, unfinished

 private:
  std::deque<std::shared_ptr<Outgoing>> batches_;  // in send order
  std::size_t events_ = 0;
  std::size_t replay_events_ = 0;
};

}  // namespace hubstats::module
