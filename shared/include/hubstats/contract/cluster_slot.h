// Redis Cluster's key -> slot function (the cluster specification): CRC16-XMODEM of
// the key, or of its hash tag, modulo 16384. Every writer and reader of hubstats keys
// on a cluster routes with it. Pure.
#pragma once

#include <cstdint>
#include <string_view>

namespace hubstats::contract {

inline constexpr int kClusterSlots = 16384;

// CRC16 with polynomial 0x1021, initial value 0, no reflection (XMODEM), as Redis.
std::uint16_t crc16_xmodem(std::string_view data) noexcept;

// The hash tag rule: if the key holds a '{' and, after it, a '}' with at least one
// character between them, only that substring (the first such pair) is hashed;
// otherwise the whole key ("{}" and "{" alone hash the whole key).
std::string_view hash_tag(std::string_view key) noexcept;

// The slot (0..16383) of a key.
int key_slot(std::string_view key) noexcept;

}  // namespace hubstats::contract
