// A small thread-safe map whose entries expire after a fixed TTL. Used for repo,
// token/session and membership lookups so hot reads skip PostgreSQL.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace hubstatsd {

using CacheClock = std::function<std::chrono::steady_clock::time_point()>;

inline std::chrono::steady_clock::time_point steady_now() {
  return std::chrono::steady_clock::now();
}

template <class V>
class TtlCache {
 public:
  // ttl == 0 disables caching: get() always misses and put() stores nothing.
  TtlCache(std::chrono::milliseconds ttl, std::size_t max_entries, CacheClock clock = steady_now)
      : ttl_(ttl), max_entries_(max_entries == 0 ? 1 : max_entries), clock_(std::move(clock)) {}

  std::optional<V> get(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
      misses_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    if (clock_() >= it->second.expires) {
      map_.erase(it);
      misses_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
    return it->second.value;
  }

  // Like get() without counting a miss (whoever then loads the value counts it).
  std::optional<V> peek(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end() || clock_() >= it->second.expires) return std::nullopt;
    hits_.fetch_add(1, std::memory_order_relaxed);
    return it->second.value;
  }

  // Lookups get() answered from the cache, and those it could not (for /metrics).
  std::uint64_t hits() const noexcept { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const noexcept { return misses_.load(std::memory_order_relaxed); }

  // Returns the cached value, or calls load() (outside the lock) and caches its
  // result. A load that overlaps an erase()/clear() is returned but not cached, so an
  // invalidation is never undone by a slower reader holding the old value.
  template <class Load>
  V get_or_load(const std::string& key, Load&& load) {
    if (auto v = get(key)) return std::move(*v);
    const std::uint64_t epoch = current_epoch();
    V v = load();
    put_if_epoch(key, v, epoch);
    return v;
  }

  void put(const std::string& key, V value) {
    put_if_epoch(key, std::move(value), current_epoch());
  }

  void erase(const std::string& key) {
    std::lock_guard lock(mu_);
    ++epoch_;
    map_.erase(key);
  }

  void clear() {
    std::lock_guard lock(mu_);
    ++epoch_;
    map_.clear();
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return map_.size();
  }

 private:
  struct Entry {
    V value;
    std::chrono::steady_clock::time_point expires;
  };

  std::uint64_t current_epoch() const {
    std::lock_guard lock(mu_);
    return epoch_;
  }

  void put_if_epoch(const std::string& key, V value, std::uint64_t epoch) {
    if (ttl_.count() <= 0) return;
    std::lock_guard lock(mu_);
    if (epoch != epoch_) return;
    const auto now = clock_();
    if (map_.size() >= max_entries_ && !map_.contains(key)) {
      std::erase_if(map_, [&](const auto& kv) { return now >= kv.second.expires; });
      if (map_.size() >= max_entries_) map_.clear();  // bounded memory under garbage keys
    }
    map_.insert_or_assign(key, Entry{std::move(value), now + ttl_});
  }

  const std::chrono::milliseconds ttl_;
  const std::size_t max_entries_;
  const CacheClock clock_;
  mutable std::mutex mu_;
  std::uint64_t epoch_ = 0;
  std::unordered_map<std::string, Entry> map_;
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
};

}  // namespace hubstatsd
