#include "glue/hiredis_link.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sys/ioctl.h>

namespace hubstats::module {

HiredisLink::Open HiredisLink::open(redisAsyncContext* ac, ngx_log_t* log) {
  ngx_connection_t* c = ngx_get_connection(ac->c.fd, log);
  if (!c) {
    redisAsyncFree(ac);
    return Open::kNoConnection;
  }
  c->data = this;
  c->read->handler = read_handler;
  c->write->handler = write_handler;
  c->read->log = log;
  c->write->log = log;
  ac_ = ac;
  conn_ = c;
  ac->ev.data = this;
  ac->ev.addRead = hook_noop;  // reads stay registered (edge-triggered) for the connection's life
  ac->ev.delRead = hook_noop;
  ac->ev.addWrite = hook_add_write;
  ac->ev.delWrite = hook_noop;
  ac->ev.cleanup = hook_cleanup;

  // The connect's completion is reported as a write event.
  if (ngx_handle_read_event(c->read, 0) != NGX_OK ||
      ngx_handle_write_event(c->write, 0) != NGX_OK) {
    redisAsyncFree(ac);  // runs hook_cleanup
    return Open::kGone;
  }
  return Open::kOpen;
}

void HiredisLink::post_write() {
  if (conn_->write->ready && !conn_->write->posted) {
    ngx_post_event(conn_->write, &ngx_posted_events);
  }
}

void HiredisLink::read() {
  // worker_shutdown_timeout expired: nginx asks every connection to close.
  if (ac_ && conn_ && conn_->close) {
    redisAsyncFree(ac_);  // replies still due count as failed
    return;
  }
  while (ac_) {
    redisAsyncHandleRead(ac_);
    if (!ac_) return;  // freed inside (EOF, protocol error)
    // Edge-triggered epoll reports new data once: drain the socket.
    int pending = 0;
    if (ioctl(ac_->c.fd, FIONREAD, &pending) != 0 || pending <= 0) {
      if (conn_ && conn_->read->pending_eof) {
        redisAsyncHandleRead(ac_);  // reads the EOF and disconnects
      }
      return;
    }
  }
}

void HiredisLink::write() {
  if (!ac_) return;
  in_write_ = true;
  owner_.link_writing();
  if (!ac_) {
    in_write_ = false;
    return;
  }
  redisAsyncHandleWrite(ac_);
  in_write_ = false;
  // Output left over means the socket is full: wait for epoll to say writable.
  if (ac_ && conn_ && ac_->c.obuf && ac_->c.obuf[0] != '\0') conn_->write->ready = 0;
}

void HiredisLink::detach() {
  if (conn_) {
    ngx_connection_t* c = conn_;
    // ngx_delete_posted_event is a multi-statement macro: keep the braces.
    if (c->read->posted) {
      ngx_delete_posted_event(c->read);
    }
    if (c->write->posted) {
      ngx_delete_posted_event(c->write);
    }
    // hiredis closes the fd itself right after this hook.
    if (c->read->active) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    if (c->write->active) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    c->read->closed = 1;
    c->write->closed = 1;
    ngx_free_connection(c);
    c->fd = (ngx_socket_t)-1;
    conn_ = nullptr;
  }
  ac_ = nullptr;
}

void HiredisLink::read_handler(ngx_event_t* ev) noexcept {
  auto* c = static_cast<ngx_connection_t*>(ev->data);
  static_cast<HiredisLink*>(c->data)->read();
}

void HiredisLink::write_handler(ngx_event_t* ev) noexcept {
  auto* c = static_cast<ngx_connection_t*>(ev->data);
  static_cast<HiredisLink*>(c->data)->write();
}

void HiredisLink::hook_add_write(void* data) noexcept {
  auto* self = static_cast<HiredisLink*>(data);
  if (self->in_write_ || !self->ac_ || !self->conn_) return;
  if (!(self->ac_->c.flags & REDIS_CONNECTED)) return;  // connect completion is a write event
  if (!self->conn_->write->ready) return;               // epoll reports when there is room
  if (self->conn_->write->posted) return;
  self->owner_.link_output();
}

void HiredisLink::hook_noop(void*) noexcept {}

void HiredisLink::hook_cleanup(void* data) noexcept {
  auto* self = static_cast<HiredisLink*>(data);
  self->detach();
  self->owner_.link_gone();
}

}  // namespace hubstats::module
