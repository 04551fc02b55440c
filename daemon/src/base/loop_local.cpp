#include "base/loop_local.h"

#include <utility>
#include <vector>

namespace hubstatsd {

namespace {

struct LoopState {
  boost::asio::io_context* ioc = nullptr;
  // Few owners (one per component with a fast path): a vector beats a map.
  std::vector<std::pair<const void*, std::shared_ptr<void>>> objects;
};

thread_local LoopState t_loop;

}  // namespace

boost::asio::io_context* current_loop() noexcept {
  return t_loop.ioc;
}

namespace detail {

std::shared_ptr<void>* loop_slot(const void* owner) {
  if (!t_loop.ioc) return nullptr;
  for (auto& [o, p] : t_loop.objects)
    if (o == owner) return &p;
  t_loop.objects.emplace_back(owner, nullptr);
  return &t_loop.objects.back().second;
}

void enter_loop(boost::asio::io_context& ioc) {
  t_loop.ioc = &ioc;
}

void leave_loop() noexcept {
  // Newest first: a later object may use an earlier one.
  while (!t_loop.objects.empty()) t_loop.objects.pop_back();
  t_loop.ioc = nullptr;
}

}  // namespace detail

}  // namespace hubstatsd
