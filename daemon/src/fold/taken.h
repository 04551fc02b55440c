// What the fold's steps pass each other (private to fold/): a generation taken from a
// day hash with its counts, and one dirty shard's work in a pass.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fold/folder.h"
#include "hubstats/contract/keys.h"

namespace hubstatsd {

namespace fold_detail {

inline bool same_item(const FoldItem& a, const FoldItem& b) {
  return a.day == b.day && a.repo == b.repo;
}

inline bool item_less(const FoldItem& a, const FoldItem& b) {
  if (a.repo.type != b.repo.type) return a.repo.type < b.repo.type;
  if (a.repo.ns != b.repo.ns) return a.repo.ns < b.repo.ns;
  if (a.repo.name != b.repo.name) return a.repo.name < b.repo.name;
  return a.day < b.day;
}

struct ClientRow {
  std::string name;
  std::int64_t downloads = 0, files = 0;
};

}  // namespace fold_detail

struct Folder::Taken {
  FoldItem item;
  std::string gen;       // empty: nothing to fold
  bool resumed = false;  // gen was already in flight (not ours): the day hash was not taken
  std::int64_t downloads = 0, authenticated = 0, anonymous = 0, files = 0, bots = 0;
  std::vector<std::pair<std::string, std::int64_t>> paths;  // path -> files
  std::vector<fold_detail::ClientRow> clients;
};

namespace fold_detail {

// "d:<family>" / "f:<family>" fields of a clients hash into per-family rows.
inline void add_client_field(std::vector<ClientRow>& out, std::string_view field, std::int64_t n) {
  const auto f = hubstats::keys::parse_client_field(field);
  if (!f) return;
  auto it =
      std::find_if(out.begin(), out.end(), [&](const auto& c) { return c.name == f->family; });
  if (it == out.end()) it = out.insert(out.end(), {std::string(f->family), 0, 0});
  (f->sessions ? it->downloads : it->files) += n;
}

}  // namespace fold_detail

// One shard's work in a pass: the taken set folded (its token) and the generations
// taken from its repos' day hashes, in sorted batches.
struct Folder::ShardWork {
  int shard = 0;
  std::string token;     // of the taken set ("" when it had none)
  bool resumed = false;  // the taken set was left by an earlier fold
  std::int64_t items = 0;
  std::vector<std::vector<Taken>> batches;
};

}  // namespace hubstatsd
