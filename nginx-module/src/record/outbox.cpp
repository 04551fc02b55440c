#include "record/outbox.h"

#include <algorithm>

namespace hubstats::module {

std::shared_ptr<Outgoing> Outbox::add(std::shared_ptr<RecordBatch> batch, bool replay) {
  auto o = std::make_shared<Outgoing>();
  o->replay = replay;
  (replay ? replay_events_ : events_) += batch->events.size();
  o->batch = std::move(batch);
  batches_.push_back(o);
  return o;
}

void Outbox::requeue() {
  for (auto& o : batches_) {
    if (o->state != Outgoing::State::kDone) o->state = Outgoing::State::kQueued;
  }
}

bool Outbox::record_reply(Outgoing& o, std::optional<long long> integer, Counters& c) {
  const std::size_t events = o.batch->events.size();
  if (integer && *integer >= -1 && *integer <= static_cast<long long>(events)) {
    if (!o.counted) {
      o.counted = true;
      (o.replay ? c.replayed : c.sent) += events;
      // -1: applied under this id before (its reply was lost), sessions unknown.
      if (*integer > 0) c.new_sessions += static_cast<std::uint64_t>(*integer);
    }
    if (o.state == Outgoing::State::kSent) o.state = Outgoing::State::kRecorded;
    return true;
  }
  if (!o.counted) {
    o.counted = true;
    c.failed += events;
  }
  finish(o);
  return false;
}

void Outbox::marked(const std::vector<std::shared_ptr<Outgoing>>& batches) {
  for (const auto& o : batches) {
    if (o->state == Outgoing::State::kRecorded) finish(*o);
  }
}

std::size_t Outbox::absorb(const std::shared_ptr<Outgoing>& into, std::size_t max_events,
                           std::size_t window) {
  auto fresh = [](const Outgoing& o) {
    return o.state == Outgoing::State::kQueued && !o.replay && !o.sent_once;
  };
  if (!fresh(*into)) return 0;
  RecordBatch& b = *into->batch;
  std::size_t moved = 0;
  auto it = std::find(batches_.begin(), batches_.end(), into);
  if (it == batches_.end()) return 0;
  for (++it; it != batches_.end() && window > 0; ++it, --window) {
    Outgoing& o = **it;
    if (o.state == Outgoing::State::kDone) continue;
    RecordBatch& ob = *o.batch;
    if (ob.keys->tag != b.keys->tag) continue;
    if (!fresh(o) || ob.keys->day != b.keys->day || ob.bucket != b.bucket ||
        b.events.size() + ob.events.size() > max_events) {
      break;
    }
    for (Event& e : ob.events) b.events.push_back(std::move(e));
    moved += ob.events.size();
    ob.events.clear();
    o.state = Outgoing::State::kDone;  // its events are into's now: the totals stand
  }
  return moved;
}

void Outbox::finish(Outgoing& o) {
  if (o.state == Outgoing::State::kDone) return;
  o.state = Outgoing::State::kDone;
  (o.replay ? replay_events_ : events_) -= o.batch->events.size();
  while (!batches_.empty() && batches_.front()->state == Outgoing::State::kDone) {
    batches_.pop_front();
  }
}

std::vector<std::shared_ptr<Outgoing>> Outbox::unfinished_own() const {
  std::vector<std::shared_ptr<Outgoing>> out;
  for (const auto& o : batches_) {
    if (o->state != Outgoing::State::kDone && !o->replay) out.push_back(o);
  }
  return out;
}

std::vector<std::shared_ptr<Outgoing>> Outbox::final_flushed(
    const std::vector<std::shared_ptr<Outgoing>>& sent, const FlushResult& fr, Counters& c) {
  std::vector<std::shared_ptr<Outgoing>> unknown;
  c.new_sessions += fr.new_sessions;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    Outgoing& o = *sent[i];
    if (fr.outcomes[i] == Delivery::kUnknown) {
      unknown.push_back(sent[i]);
      continue;
    }
    if (!o.counted)
      (fr.outcomes[i] == Delivery::kApplied ? c.sent : c.failed) += o.batch->events.size();
    o.counted = true;
    finish(o);
  }
  return unknown;
}

}  // namespace hubstats::module
