// Per-io-thread storage for work done on the HTTP io threads themselves (the
// non-blocking fast path): objects bound to the calling thread's event loop, such as a
// non-blocking backend connection. Each io thread runs its own io_context; an object
// made here is only ever used from that thread, and is destroyed on it when its loop
// ends (before the io_context goes away). serve/http fills the slot; the store's fast
// path uses it, so it lives in base/, below both.
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

namespace hubstatsd {

// The event loop of the calling io thread; nullptr on any other thread.
boost::asio::io_context* current_loop() noexcept;

// The object `owner` keeps on the calling io thread, made by make() on first use.
// nullptr off io threads.
template <class T>
T* loop_local(const void* owner,
              const std::function<std::unique_ptr<T>(boost::asio::io_context&)>& make);

namespace detail {
std::shared_ptr<void>* loop_slot(const void* owner);  // nullptr off io threads
// Called by the io thread around its loop.
void enter_loop(boost::asio::io_context& ioc);
void leave_loop() noexcept;  // destroys the thread's loop-local objects
}  // namespace detail

template <class T>
T* loop_local(const void* owner,
              const std::function<std::unique_ptr<T>(boost::asio::io_context&)>& make) {
  std::shared_ptr<void>* slot = detail::loop_slot(owner);
  if (!slot) return nullptr;
  if (!*slot) *slot = std::shared_ptr<T>(make(*current_loop()));
  return static_cast<T*>(slot->get());
}

}  // namespace hubstatsd
