#include "record/spool_spiller.h"

#include <algorithm>
#include <functional>
#include <string_view>

#include "record/spool_format.h"

namespace hubstats::module::spool {

namespace {

// A slot keeps its buffer for its next record up to this size: a burst of one repo
// does not pin its largest record's memory for good.
constexpr std::size_t kKeptCapacity = 4096;

std::size_t repo_hash(const RepoRef& r) noexcept {
  const std::hash<std::string_view> h;
  return h(r.ns) * 31 + h(r.name) * 7 + static_cast<std::size_t>(r.type);
}

}  // namespace

Spiller::Spiller(std::size_t max_events, std::size_t max_open)
    : max_events_(std::max<std::size_t>(max_events, 1)),
      slots_(std::max<std::size_t>(max_open, 1)) {
  by_hash_.reserve(slots_.size());
}

std::size_t Spiller::close(Open& o, std::string& out) {
  if (!o.open) return 0;
  frame_record(out, o.payload, o.count_at, o.count);
  o.open = false;
  events_ -= o.count;
  bytes_ -= framed_bytes(o.payload.size());
  if (o.payload.capacity() > kKeptCapacity) std::string().swap(o.payload);
  return o.count;
}

Spiller::Added Spiller::add(const Event& e, std::int64_t bucket, BatchNumbering& ids,
                            std::int64_t now_s, std::string& out) {
  Added added;
  Open* slot = nullptr;
  if (slots_[last_].open && slots_[last_].repo == e.repo) {
    slot = &slots_[last_];
  } else {
    const std::size_t hash = repo_hash(e.repo);
    const auto it = by_hash_.find(hash);
    if (it != by_hash_.end()) {
      slot = &slots_[it->second];
      // Another repo with the same hash: its record closes and the slot changes hands.
      if (!(slot->repo == e.repo)) added.closed += close(*slot, out);
    } else {
      if (used_ == slots_.size()) {  // every slot taken: all records close at once
        added.closed += close_all(out);
      }
      slot = &slots_[used_];
      by_hash_.emplace(hash, static_cast<std::uint32_t>(used_++));
    }
  }
  if (slot->open && (slot->day != e.day || slot->bucket != bucket || slot->count >= max_events_)) {
    added.closed += close(*slot, out);  // the repo's next record comes after this one
  }
  if (!slot->open) {
    const BatchId id = ids.next(now_s);
    slot->repo = e.repo;
    slot->day = e.day;
    slot->bucket = bucket;
    slot->count = 0;
    slot->count_at = begin_payload(slot->payload, id, e.repo, e.day);
    slot->open = true;
    added.bytes += framed_bytes(slot->payload.size());
  }
  const std::size_t before = slot->payload.size();
  append_event(slot->payload, e);
  added.bytes += slot->payload.size() - before;
  ++slot->count;
  ++events_;
  bytes_ += added.bytes;
  last_ = static_cast<std::size_t>(slot - slots_.data());
  return added;
}

std::size_t Spiller::close_all(std::string& out) {
  std::size_t closed = 0;
  for (std::size_t i = 0; i < used_; ++i) closed += close(slots_[i], out);
  by_hash_.clear();
  used_ = 0;
  last_ = 0;
  return closed;
}

std::size_t Spiller::discard() noexcept {
  const std::size_t n = events_;
  for (Open& o : slots_) o.open = false;
  by_hash_.clear();
  used_ = 0;
  last_ = 0;
  events_ = 0;
  bytes_ = 0;
  return n;
}

}  // namespace hubstats::module::spool
