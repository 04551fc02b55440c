#include "log/logger.h"

#include <fcntl.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace hubstatsd::log {

namespace {

// Appends the UTC time as 2026-01-02T03:04:05.678Z. The text up to the seconds is
// formatted once per second per thread (one line per request makes this hot).
void append_timestamp(std::string& out) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto ms_total = duration_cast<milliseconds>(now.time_since_epoch()).count();
  const std::time_t t = static_cast<std::time_t>(ms_total / 1000);
  const int ms = static_cast<int>(ms_total % 1000);
  thread_local std::time_t cached_second = -1;
  thread_local char prefix[80];
  if (t != cached_second) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = t;
  }
  out += prefix;
  out.push_back(static_cast<char>('0' + ms / 100));
  out.push_back(static_cast<char>('0' + ms / 10 % 10));
  out.push_back(static_cast<char>('0' + ms % 10));
  out.push_back('Z');
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void append_logfmt_value(std::string& out, std::string_view s) {
  bool plain = !s.empty();
  for (unsigned char c : s) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out += s;
  } else {
    append_json_string(out, s);  // quoted with escapes: still one line
  }
}

// Creates the file (mode 0640) if needed, so the error names the file and the cause.
void create_log_file(const std::string& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    throw std::runtime_error("cannot open log file " + file + ": " + std::strerror(errno));
  }
  ::close(fd);
}

// A logger that writes each already formatted line as it is and flushes it at once.
std::shared_ptr<spdlog::logger> make_sink(const std::string& file) {
  spdlog::sink_ptr sink;
  if (file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    create_log_file(file);
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file);  // appends
  }
  auto logger = std::make_shared<spdlog::logger>("hubstatsd", std::move(sink));
  logger->set_pattern("%v", spdlog::pattern_time_type::utc);  // the line already has ts=
  logger->set_level(spdlog::level::trace);                    // Logger filters
  logger->flush_on(spdlog::level::trace);
  return logger;
}

}  // namespace

std::optional<Level> parse_level(std::string_view s) noexcept {
  if (s == "debug") return Level::kDebug;
  if (s == "info") return Level::kInfo;
  if (s == "warn" || s == "warning") return Level::kWarn;
  if (s == "error") return Level::kError;
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view s) noexcept {
  if (s == "logfmt") return Format::kLogfmt;
  if (s == "json") return Format::kJson;
  return std::nullopt;
}

std::string_view to_string(Level l) noexcept {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

Logger::Logger() : sink_(make_sink("")) {}

Logger::~Logger() = default;

Logger& Logger::global() {
  static Logger logger;
  return logger;
}

void Logger::configure(Level level, Format format, const std::string& file) {
  auto sink = make_sink(file);
  std::lock_guard lock(mu_);
  sink_ = std::move(sink);
  file_ = file;
  level_.store(level);
  format_.store(format);
}

bool Logger::reopen() {
  std::lock_guard lock(mu_);
  if (file_.empty()) return true;
  try {
    sink_ = make_sink(file_);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

std::string Logger::format_line(Level l, std::string_view msg,
                                std::initializer_list<Field> fields) const {
  std::string line;
  line.reserve(160);
  if (format_.load(std::memory_order_relaxed) == Format::kJson) {
    line += "{\"ts\":\"";
    append_timestamp(line);
    line += "\",\"level\":\"";
    line += to_string(l);
    line += "\",\"msg\":";
    append_json_string(line, msg);
    for (const auto& [k, v] : fields) {
      line.push_back(',');
      append_json_string(line, k);
      line.push_back(':');
      append_json_string(line, v);
    }
    line += "}\n";
  } else {
    line += "ts=";
    append_timestamp(line);
    line += " level=";
    line += to_string(l);
    line += " msg=";
    append_logfmt_value(line, msg);
    for (const auto& [k, v] : fields) {
      line.push_back(' ');
      line += k;
      line.push_back('=');
      append_logfmt_value(line, v);
    }
    line.push_back('\n');
  }
  return line;
}

void Logger::write(Level l, std::string_view msg, std::initializer_list<Field> fields) {
  std::string line = format_line(l, msg, fields);
  line.pop_back();  // the sink ends the line
  std::shared_ptr<spdlog::logger> sink;
  {
    std::lock_guard lock(mu_);
    sink = sink_;
  }
  try {
    sink->log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
  } catch (...) {
    // nowhere to report a failing log
  }
}

}  // namespace hubstatsd::log
