#include "hubstats/repo.h"

namespace hubstats {

std::string_view to_string(RepoType t) noexcept {
  switch (t) {
    case RepoType::kModel:
      return "model";
    case RepoType::kDataset:
      return "dataset";
    case RepoType::kSpace:
      return "space";
  }
  return "model";
}

std::optional<RepoType> parse_repo_type(std::string_view s) noexcept {
  if (s == "model") return RepoType::kModel;
  if (s == "dataset") return RepoType::kDataset;
  if (s == "space") return RepoType::kSpace;
  return std::nullopt;
}

std::optional<RepoType> parse_repo_type_plural(std::string_view s) noexcept {
  if (s.size() < 2 || s.back() != 's') return std::nullopt;
  return parse_repo_type(s.substr(0, s.size() - 1));
}

bool valid_segment(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxSegment || s == "." || s == "..") return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace hubstats
