// One hiredis async context driven by nginx's event loop (like nchan's hiredis
// adapter): the context's fd on an ngx_connection_t, hiredis's event hooks mapped
// onto nginx's read/write events, and the connection detached when hiredis frees the
// context. Only the mapping lives here; what is sent, timers and reconnects are the
// owner's (RedisSink's single connection, ClusterRouter's one per node).
#pragma once

#include "glue/ngx_includes.h"

struct redisAsyncContext;

namespace hubstats::module {

class HiredisLink {
 public:
  // Told by the link what hiredis and nginx ask for.
  class Owner {
   public:
    // hiredis has new output and nothing will write it by itself (connected, socket
    // writable, no write posted, not inside write()): arrange a write().
    virtual void link_output() noexcept = 0;
    // Inside write(), before hiredis writes: commands added now go out with it.
    virtual void link_writing() noexcept {}
    // hiredis is freeing the context (its cleanup hook); the link is detached already.
    virtual void link_gone() noexcept = 0;

   protected:
    ~Owner() = default;
  };

  enum class Open {
    kOpen,          // attached and registered: the connect completes as a write event
    kNoConnection,  // no free nginx connection: ac was freed, nothing else happened
    kGone,          // nginx could not register it: ac was freed, the owner heard link_gone()
  };

  explicit HiredisLink(Owner& owner) : owner_(owner) {}
  HiredisLink(const HiredisLink&) = delete;
  HiredisLink& operator=(const HiredisLink&) = delete;

  // Takes over a fresh context (set ac->data and the connect callback first).
  Open open(redisAsyncContext* ac, ngx_log_t* log);
  redisAsyncContext* context() const { return ac_; }
  bool attached() const { return conn_ != nullptr; }
  bool write_ready() const { return conn_ && conn_->write->ready; }
  // Writes after this event cycle, when the socket is writable and no write is posted.
  void post_write();
  // Lets the owner add commands (link_writing), then has hiredis write its output.
  void write();

 private:
  void read();
  void detach();

  static void read_handler(ngx_event_t* ev) noexcept;
  static void write_handler(ngx_event_t* ev) noexcept;
  static void hook_add_write(void* data) noexcept;
  static void hook_noop(void* data) noexcept;
  static void hook_cleanup(void* data) noexcept;

  Owner& owner_;
  redisAsyncContext* ac_ = nullptr;
  ngx_connection_t* conn_ = nullptr;
  bool in_write_ = false;
};

}  // namespace hubstats::module
