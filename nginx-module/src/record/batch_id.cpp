#include "record/batch_id.h"

namespace hubstats::module {

std::string stream_id(std::int64_t born_s, std::uint32_t random) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  const auto born = static_cast<std::uint32_t>(born_s);
  for (int i = 0; i < 8; ++i) {
    out[static_cast<std::size_t>(7 - i)] = kHex[(born >> (4 * i)) & 15];
    out[static_cast<std::size_t>(15 - i)] = kHex[(random >> (4 * i)) & 15];
  }
  return out;
}

BatchId BatchNumbering::next(std::int64_t now_s) {
  if (stream_.empty() || now_s - born_s_ >= rotate_s_ || now_s < born_s_) {
    born_s_ = now_s;
    stream_ = stream_id(now_s, static_cast<std::uint32_t>(random_()));
    seq_ = 0;
  }
  return BatchId{stream_, ++seq_};
}

}  // namespace hubstats::module
