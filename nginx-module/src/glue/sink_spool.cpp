// RedisSink's spool (hubstats_spool): events the queue cannot hold are framed as they
// come into their repo's open record (record/spool_spiller), buffered and written to
// this worker's file, batches a worker cannot deliver at exit too; files nobody holds
// are replayed through the outbox. The format and the files themselves are
// record/spool_format and record/spool_files.
#include <unistd.h>

#include <string>
#include <vector>

#include "glue/redis_sink.h"
#include "hubstats/contract/keys.h"
#include "record/spool_format.h"

namespace hubstats::module {

std::string RedisSink::new_spool_name() {
  return spool::file_name(static_cast<long>(ngx_pid), static_cast<std::int64_t>(ngx_time()),
                          static_cast<std::uint32_t>(random64()));
}

void RedisSink::spool_append(const RecordBatch& b, bool count) {
  const std::size_t n = b.events.size();
  if (!spool_writer_) {
    spool_writer_ = std::make_unique<spool::Writer>(settings_.spool_dir, new_spool_name());
  }
  std::string& buf = spool_writer_->buffer();
  const std::size_t before = buf.size();
  spool::append_record(buf, b.id, b.events);
  const std::size_t bytes = buf.size() - before;
  // Other workers' writes since the last scan are not seen: the bound is approximate.
  if (spool_usage_ + bytes > settings_.spool_max) {
    buf.resize(before);
    if (count) note_drop(n, "spool full");
    return;
  }
  spool_usage_ += bytes;
  if (count) {
    counters_.spooled += n;
    buffer_events_ += n;
  }
  if (buf.size() >= kSpoolBuffer) spool_write();
}

void RedisSink::spool_spill(const Event& e) {
  const ngx_msec_t now = ngx_current_msec;
  if (now - spool_scanned_ >= kSpoolScan || spool_scanned_ == 0) {
    spool_usage_ = spool::directory_usage(settings_.spool_dir) +
                   (spool_writer_ ? spool_writer_->buffer().size() : 0) + spiller_.bytes();
    spool_scanned_ = now;
  }
  // Other workers' writes since the last scan are not seen: the bound is approximate.
  if (spool_usage_ + spool::bytes_at_most(e) > settings_.spool_max) {
    note_drop(1, "spool full");
    return;
  }
  if (!spool_writer_) {
    spool_writer_ = std::make_unique<spool::Writer>(settings_.spool_dir, new_spool_name());
  }
  if (!spool_ids_) {
    spool_ids_ = std::make_unique<BatchNumbering>(random64, std::int64_t{1} << 40);
  }
  std::string& buf = spool_writer_->buffer();
  const auto added = spiller_.add(e, keys::session_bucket(e.time_ms, settings_.record.window_ms),
                                  *spool_ids_, static_cast<std::int64_t>(ngx_time()), buf);
  spool_usage_ += added.bytes;
  ++counters_.spooled;
  buffer_events_ += added.closed;
  if (buf.size() >= kSpoolBuffer) spool_write();
}

void RedisSink::spool_close_records() {
  if (spool_writer_) buffer_events_ += spiller_.close_all(spool_writer_->buffer());
}

void RedisSink::spool_write() {
  if (!spool_writer_ || spool_writer_->buffer().empty()) return;
  if (spool_writer_->flush()) {
    buffer_events_ = 0;
    spool_unsynced_ = true;
    return;
  }
  const int err = ngx_errno;
  if (disk_error_log_due()) {
    ngx_log_error(NGX_LOG_ERR, log_, err, "hubstats: cannot write the spool file \"%s\"",
                  (settings_.spool_dir + "/...").c_str());
  }
  // A full or failing disk: the buffered events are lost, nginx keeps serving.
  counters_.spooled -= buffer_events_;
  note_drop(buffer_events_, "spool write failed");
  buffer_events_ = 0;
  spool_writer_->buffer().clear();
}

void RedisSink::spool_replay() {
  // A quitting worker finishes what is in flight but reads no more: the file stays
  // and the next worker replays it (Redis skips the batches already applied).
  if (!spool_on() || !connected_ || shutting_down_ || ngx_exiting || ngx_quit || ngx_terminate) {
    return;
  }
  const ngx_msec_t now = ngx_current_msec;
  if (!replay_) {
    // Our own file first (sealed: new spills go to a new file, with a new stream),
    // then any file nobody holds: other workers' that exited, a previous nginx's.
    std::optional<spool::Writer::Handle> h;
    if (spool_writer_ && spool_writer_->has_file() && spiller_.events() == 0 && !queue_full()) {
      spool_write();
      h = spool_writer_->seal(new_spool_name());
      spool_ids_.reset();
    } else if (now - spool_claimed_ >= kSpoolScan || spool_claimed_ == 0) {
      spool_claimed_ = now;
      h = spool::claim_one(settings_.spool_dir, spool_writer_ ? spool_writer_->path() : "");
    }
    if (!h) return;
    ngx_log_error(NGX_LOG_NOTICE, log_, 0, "hubstats: replaying spool file \"%s\"",
                  h->path.c_str());
    replay_ = std::make_unique<spool::Reader>(std::move(*h));
  }
  while (outbox_.replay_events() < kReplayWindow && !replay_->eof()) {
    for (spool::SpooledBatch& sb : replay_->next(kReplayChunk)) {
      outbox_.add(std::make_shared<RecordBatch>(regroup(std::move(sb.id), std::move(sb.events),
                                                        key_cache_, settings_.record.window_ms)),
                  true);
    }
  }
  if (replay_->eof() && outbox_.replay_events() == 0) {
    if (replay_->status() != spool::ReadStatus::kOk) {
      ngx_log_error(NGX_LOG_WARN, log_, 0,
                    "hubstats: spool file \"%s\": %s record at byte %uL, skipped %uL bytes",
                    replay_->path().c_str(),
                    replay_->status() == spool::ReadStatus::kTorn ? "torn" : "corrupt",
                    replay_->offset(), replay_->skipped());
    }
    ngx_log_error(NGX_LOG_NOTICE, log_, 0, "hubstats: replayed spool file \"%s\"",
                  replay_->path().c_str());
    replay_->finish();
    replay_.reset();
    spool_claimed_ = 0;  // look for the next file at once
  }
}

void RedisSink::spool_tick() {
  spool_close_records();
  spool_write();
  const ngx_msec_t now = ngx_current_msec;
  if (spool_unsynced_ && spool_writer_ && spool_writer_->has_file() &&
      now - spool_synced_ >= kSpoolSync) {
    if (!syncer_) {
      syncer_ = std::make_unique<spool::Syncer>();
      if (syncer_->via() == spool::Syncer::Via::kThread) {
        ngx_log_error(NGX_LOG_NOTICE, log_, 0,
                      "hubstats: no Linux AIO context (fs.aio-max-nr?): the spool is synced "
                      "by a helper thread");
      }
    }
    if (syncer_->request(spool_writer_->fd())) {  // else the last sync still runs
      spool_unsynced_ = false;
      spool_synced_ = now;
    }
  }
  if (syncer_) {
    if (const int err = syncer_->take_error(); err != 0 && disk_error_log_due()) {
      ngx_log_error(NGX_LOG_ERR, log_, err, "hubstats: cannot sync the spool file \"%s\"",
                    (settings_.spool_dir + "/...").c_str());
    }
  }
  if (connected_ && (replay_ || now - spool_claimed_ >= kSpoolScan ||
                     (spool_writer_ && spool_writer_->has_file()))) {
    send_waiting();  // starts or continues a replay, and sends what it read
  }
}

void RedisSink::spool_close() {
  replay_.reset();  // not finished: the file stays for a later replay
  spool_close_records();
  spool_write();
  if (spool_writer_ && spool_writer_->has_file()) fdatasync(spool_writer_->fd());
  spool_writer_.reset();  // closing releases the lock: the file is free to claim
  syncer_.reset();
}

void RedisSink::spool_timer_handler(ngx_event_t* ev) noexcept {
  auto* self = static_cast<RedisSink*>(ev->data);
  try {
    self->spool_tick();
  } catch (...) {
  }
  if (!self->shutting_down_ && !ngx_exiting && !ngx_quit && !ngx_terminate) {
    ngx_add_timer(&self->spool_timer_, kSpoolTick);
  }
}

}  // namespace hubstats::module
