// Structured log lines (logfmt or JSON), one per event, to stderr or a file that SIGHUP
// reopens. The lines are formatted here; spdlog's sinks write them (thread-safe, one
// flushed line at a time, so lines never interleave).
// Never pass tokens, IP addresses or User-Agents as field values.
#pragma once

#include <atomic>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace spdlog {
class logger;
}  // namespace spdlog

namespace hubstatsd::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kLogfmt, kJson };

std::optional<Level> parse_level(std::string_view s) noexcept;    // debug|info|warn|error
std::optional<Format> parse_format(std::string_view s) noexcept;  // logfmt|json
std::string_view to_string(Level l) noexcept;

// Values are views: a temporary passed in a call (std::to_string(n)) lives until the
// call returns, which is all the logger needs.
using Field = std::pair<std::string_view, std::string_view>;

class Logger {
 public:
  Logger();
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // The process-wide logger every component uses.
  static Logger& global();

  // file empty means stderr. Throws std::runtime_error when the file cannot be opened.
  void configure(Level level, Format format, const std::string& file);
  void set_level(Level level) { level_.store(level, std::memory_order_relaxed); }
  // Reopens the log file (after rotation). Returns false (and keeps the old file) on failure.
  bool reopen();

  bool enabled(Level l) const { return l >= level_.load(std::memory_order_relaxed); }
  void write(Level l, std::string_view msg, std::initializer_list<Field> fields);

  // Formats one line without writing it (exposed for tests).
  std::string format_line(Level l, std::string_view msg, std::initializer_list<Field> fields) const;

 private:
  std::atomic<Level> level_{Level::kInfo};
  std::atomic<Format> format_{Format::kLogfmt};
  std::mutex mu_;  // guards file_ and sink_ (not the writes: the sink locks its own)
  std::string file_;
  std::shared_ptr<spdlog::logger> sink_;
};

inline void debug(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Logger::global().enabled(Level::kDebug)) Logger::global().write(Level::kDebug, msg, f);
}
inline void info(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Logger::global().enabled(Level::kInfo)) Logger::global().write(Level::kInfo, msg, f);
}
inline void warn(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Logger::global().enabled(Level::kWarn)) Logger::global().write(Level::kWarn, msg, f);
}
inline void error(std::string_view msg, std::initializer_list<Field> f = {}) {
  Logger::global().write(Level::kError, msg, f);
}

}  // namespace hubstatsd::log
