// Likes (builtin catalog): who liked which repo, with race-free counts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace hubstatsd {

enum class LikeOutcome { kDone, kAlreadyLiked, kNotLiked };

struct LikeResult {
  LikeOutcome outcome = LikeOutcome::kDone;
  std::int64_t likes_count = 0;  // the repo's count after the change (when kDone)
};

struct Liker {
  std::string username;
  std::string fullname;
};

struct UserLike {
  std::string
      created_at;  // ISO 8601 with microseconds and offset, e.g. "...T10:00:00.123456+00:00"
  RepoInfo repo;
};

class Likes {
 public:
  virtual ~Likes() = default;
  // Adds username's like; kAlreadyLiked when it exists.
  virtual LikeResult like(const RepoInfo& repo, const std::string& username) = 0;
  // Removes it; kNotLiked when there is none.
  virtual LikeResult unlike(const RepoInfo& repo, const std::string& username) = 0;
  virtual bool liked(const RepoInfo& repo, const std::string& username) = 0;
  // Newest first.
  virtual std::vector<Liker> likers(const RepoInfo& repo, std::size_t limit) = 0;
  // The user's likes, newest first, for which keep(repo) is true, at most limit;
  // nullopt when the user does not exist.
  virtual std::optional<std::vector<UserLike>> user_likes(
      const std::string& username, std::size_t limit,
      const std::function<bool(const RepoInfo&)>& keep) = 0;
};

}  // namespace hubstatsd
