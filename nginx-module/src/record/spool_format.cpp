#include "record/spool_format.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

namespace hubstats::module::spool {

namespace {

constexpr std::string_view kMagic = "HSB1";
constexpr std::size_t kHeader = 12;  // magic, length, crc
constexpr std::uint8_t kVersion = 2;
constexpr std::uint8_t kVersionBeforePaths = 1;
// An event's bytes besides its identity and path: time, flags, identity length,
// family, path length.
constexpr std::size_t kEventFixed = 13;

// Slicing-by-8 tables: t[0] is the classic byte table, t[k][i] the CRC of byte i
// followed by k zero bytes, so 8 input bytes take 8 lookups and no dependency chain
// per byte (about 4x the byte-at-a-time loop; every spooled event is framed).
using CrcTables = std::array<std::array<std::uint32_t, 256>, 8>;

CrcTables make_tables() {
  CrcTables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i)
    for (std::size_t k = 1; k < 8; ++k) t[k][i] = t[0][t[k - 1][i] & 0xFF] ^ (t[k - 1][i] >> 8);
  return t;
}

void put_u8(std::string& out, std::uint8_t v) {
  out += static_cast<char>(v);
}

template <typename T>
void put_le(std::string& out, T v) {
  auto u = static_cast<std::uint64_t>(v);
  for (std::size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((u >> (8 * i)) & 0xFF);
}

// Bounds-checked little-endian reader over one payload.
class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  template <typename T>
  std::optional<T> le() {
    if (d_.size() - pos_ < sizeof(T)) return std::nullopt;
    std::uint64_t u = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      u |= static_cast<std::uint64_t>(static_cast<unsigned char>(d_[pos_ + i])) << (8 * i);
    }
    pos_ += sizeof(T);
    return static_cast<T>(u);
  }
  std::optional<std::string> bytes(std::size_t n) {
    if (d_.size() - pos_ < n) return std::nullopt;
    std::string s(d_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  bool at_end() const { return pos_ == d_.size(); }

 private:
  std::string_view d_;
  std::size_t pos_ = 0;
};

std::optional<SpooledBatch> decode_payload(std::string_view payload) {
  Reader r(payload);
  const auto version = r.le<std::uint8_t>();
  if (!version || (*version != kVersion && *version != kVersionBeforePaths)) return std::nullopt;
  const bool v2 = *version == kVersion;
  const auto slen = r.le<std::uint8_t>();
  if (!slen) return std::nullopt;
  auto stream = r.bytes(*slen);
  const auto seq = r.le<std::uint64_t>();
  const auto type = r.le<std::uint8_t>();
  if (!stream || !seq || !type || *type > static_cast<std::uint8_t>(RepoType::kSpace)) {
    return std::nullopt;
  }
  const auto nslen = r.le<std::uint16_t>();
  if (!nslen) return std::nullopt;
  auto ns = r.bytes(*nslen);
  const auto namelen = r.le<std::uint16_t>();
  if (!ns || !namelen) return std::nullopt;
  auto name = r.bytes(*namelen);
  const auto day = r.le<std::int32_t>();
  const auto n = r.le<std::uint32_t>();
  if (!name || !day || !n || *n == 0) return std::nullopt;
  SpooledBatch b;
  b.id = BatchId{std::move(*stream), *seq};
  const RepoRef repo{static_cast<RepoType>(*type), std::move(*ns), std::move(*name)};
  for (std::uint32_t i = 0; i < *n; ++i) {
    const auto t = r.le<std::int64_t>();
    const auto auth = r.le<std::uint8_t>();
    const auto idlen = r.le<std::uint8_t>();
    if (!t || !auth || !idlen) return std::nullopt;
    auto id = r.bytes(*idlen);
    if (!id) return std::nullopt;
    Event e;
    if (v2) {
      const auto family = r.le<std::uint8_t>();
      const auto plen = r.le<std::uint16_t>();
      if (!family || !plen || *family < 'a' || *family > 'z') return std::nullopt;
      auto path = r.bytes(*plen);
      if (!path) return std::nullopt;
      e.family = static_cast<char>(*family);
      e.path = std::move(*path);
      e.bot = (*auth & 2) != 0;
    }
    e.repo = repo;
    if (!e.identity_hex.assign(*id)) return std::nullopt;  // never written by a module
    e.authenticated = (*auth & 1) != 0;
    e.day = *day;
    e.time_ms = *t;
    b.events.push_back(std::move(e));
  }
  if (!r.at_end()) return std::nullopt;
  return b;
}

}  // namespace

std::uint32_t crc32(std::string_view data) noexcept {
  static const CrcTables t = make_tables();
  std::uint32_t c = 0xFFFFFFFFu;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  for (; n >= 8; n -= 8, p += 8) {
    // Little-endian words, assembled bytewise (no alignment or endianness assumptions).
    const std::uint32_t lo = (std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 |
                              std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24) ^
                             c;
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
  }
  for (; n > 0; --n, ++p) c = t[0][(c ^ *p) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::size_t begin_payload(std::string& p, const BatchId& id, const RepoRef& repo, Day day) {
  p.clear();
  put_u8(p, kVersion);
  put_u8(p, static_cast<std::uint8_t>(std::min<std::size_t>(id.stream.size(), 255)));
  p.append(id.stream, 0, 255);
  put_le<std::uint64_t>(p, id.seq);
  put_u8(p, static_cast<std::uint8_t>(repo.type));
  put_le<std::uint16_t>(p, static_cast<std::uint16_t>(repo.ns.size()));
  p += repo.ns;
  put_le<std::uint16_t>(p, static_cast<std::uint16_t>(repo.name.size()));
  p += repo.name;
  put_le<std::int32_t>(p, static_cast<std::int32_t>(day));
  const std::size_t count_at = p.size();
  put_le<std::uint32_t>(p, 0);
  return count_at;
}

std::size_t framed_bytes(std::size_t payload_bytes) noexcept {
  return kHeader + payload_bytes;
}

std::size_t bytes_at_most(const Event& e) noexcept {
  constexpr std::size_t kHeaderFixed = 23;  // version, stream length, seq, type, ns and
                                            // name lengths, day, count
  constexpr std::size_t kStream = 16;       // BatchId::stream
  const std::size_t path = std::min<std::size_t>(e.path.size(), 0xFFFF);
  return kHeader + kHeaderFixed + kStream + e.repo.ns.size() + e.repo.name.size() + kEventFixed +
         e.identity_hex.size() + path;
}

void append_event(std::string& p, const Event& e) {
  // One resize and plain stores: this runs for every spilled event, and a byte-wise
  // append checks the capacity at every byte.
  const std::string_view id = e.identity_hex.view();
  const std::size_t plen = std::min<std::size_t>(e.path.size(), 0xFFFF);
  const std::size_t at = p.size();
  p.resize(at + kEventFixed + id.size() + plen);
  char* w = p.data() + at;
  auto store = [&w](std::uint64_t v, std::size_t bytes) {
    for (std::size_t i = 0; i < bytes; ++i) *w++ = static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  store(static_cast<std::uint64_t>(e.time_ms), 8);
  store((e.authenticated ? 1u : 0u) | (e.bot ? 2u : 0u), 1);
  store(id.size(), 1);
  std::memcpy(w, id.data(), id.size());
  w += id.size();
  store(static_cast<unsigned char>(e.family), 1);
  store(plen, 2);
  std::memcpy(w, e.path.data(), plen);
}

void frame_record(std::string& out, std::string& payload, std::size_t count_at,
                  std::uint32_t count) {
  for (std::size_t i = 0; i < 4; ++i) {
    payload[count_at + i] = static_cast<char>((count >> (8 * i)) & 0xFF);
  }
  out += kMagic;
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(payload.size()));
  put_le<std::uint32_t>(out, crc32(payload));
  out += payload;
}

void append_record(std::string& out, const BatchId& id, const std::vector<Event>& events) {
  const Event& first = events.front();
  std::string p;
  p.reserve(64 + first.repo.ns.size() + first.repo.name.size() + events.size() * 32);
  const std::size_t count_at = begin_payload(p, id, first.repo, first.day);
  for (const Event& e : events) append_event(p, e);
  frame_record(out, p, count_at, static_cast<std::uint32_t>(events.size()));
}

Decoded decode_records(std::string_view data) {
  Decoded d;
  while (d.consumed < data.size()) {
    const std::string_view rest = data.substr(d.consumed);
    if (rest.size() < kHeader) {
      // A header cut short: torn, unless what is there is already not a header.
      d.status = kMagic.substr(0, std::min(rest.size(), kMagic.size())) ==
                         rest.substr(0, std::min(rest.size(), kMagic.size()))
                     ? ReadStatus::kTorn
                     : ReadStatus::kCorrupt;
      return d;
    }
    if (rest.substr(0, 4) != kMagic) {
      d.status = ReadStatus::kCorrupt;
      return d;
    }
    Reader h(rest.substr(4, 8));
    const std::uint32_t len = *h.le<std::uint32_t>();
    const std::uint32_t crc = *h.le<std::uint32_t>();
    if (len == 0 || len > kMaxPayload) {
      d.status = ReadStatus::kCorrupt;
      return d;
    }
    if (rest.size() - kHeader < len) {
      d.status = ReadStatus::kTorn;
      return d;
    }
    const std::string_view payload = rest.substr(kHeader, len);
    if (crc32(payload) != crc) {
      d.status = ReadStatus::kCorrupt;
      return d;
    }
    auto b = decode_payload(payload);
    if (!b) {
      d.status = ReadStatus::kCorrupt;
      return d;
    }
    d.batches.push_back(std::move(*b));
    d.consumed += kHeader + len;
  }
  return d;
}

}  // namespace hubstats::module::spool
