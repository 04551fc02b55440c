// Repository identity shared by the module, the daemon and the CLI.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hubstats {

enum class RepoType { kModel, kDataset, kSpace };

// "model" | "dataset" | "space"
std::string_view to_string(RepoType t) noexcept;
// Accepts the singular form ("model"); nullopt otherwise.
std::optional<RepoType> parse_repo_type(std::string_view s) noexcept;
// Accepts the plural URL form ("models"); nullopt otherwise.
std::optional<RepoType> parse_repo_type_plural(std::string_view s) noexcept;

// Maximum length of a namespace or repo name segment (Hugging Face allows 96).
inline constexpr std::size_t kMaxSegment = 96;

// A namespace or name is 1..96 chars of [A-Za-z0-9._-], not "." or "..", and
// without characters that are meaningful in keys ('{', '}', ':', '/').
bool valid_segment(std::string_view s) noexcept;

struct RepoRef {
  RepoType type = RepoType::kModel;
  std::string ns;
  std::string name;

  std::string id() const { return ns + "/" + name; }  // "ns/name"
  bool operator==(const RepoRef&) const = default;
};

}  // namespace hubstats
