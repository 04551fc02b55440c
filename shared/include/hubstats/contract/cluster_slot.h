// The Redis Cluster slot of a key: CRC16 (XMODEM) of the key, or of its hash tag (the
// bytes between the first "{" and the next "}" when that is not empty), modulo 16384.
// Every key of one repository carries the tag "{type/ns/name}", so one script call
// touches one slot (docs/redis-keys.md, "Slots").
#pragma once

#include <cstdint>
#include <string_view>

namespace hubstats::contract {

inline constexpr int kClusterSlots = 16384;

// The part of a key that decides its slot.
constexpr std::string_view hash_tag(std::string_view key) noexcept {
  const auto open = key.find('{');
  if (open == std::string_view::npos) return key;
  const auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

constexpr std::uint16_t crc16_xmodem(std::string_view bytes) noexcept {
  std::uint16_t crc = 0;
  for (char ch : bytes) {
    crc ^= static_cast<std::uint16_t>(static_cast<unsigned char>(ch) << 8);
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<std::uint16_t>(crc << 1);
  }
  return crc;
}

constexpr int key_slot(std::string_view key) noexcept {
  return crc16_xmodem(hash_tag(key)) % kClusterSlots;
}

}  // namespace hubstats::contract
