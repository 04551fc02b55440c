// The few leading bytes of a request body that classification needs, captured as the
// body passes through nginx's request-body filter chain (every buffer, whatever the
// buffering mode, after chunked decoding, HTTP/1.1 and HTTP/2 alike). Nothing here
// depends on nginx: the glue owns the storage (request pool) and feeds the buffers.
#pragma once

#include <cstddef>
#include <string_view>

namespace hubstats::module {

// Which body a request needs read, from its method and URI (nginx's r->uri).
enum class BodyNeed {
  kNone,     // no body classification: the filter passes buffers on untouched
  kGitCmd,   // git-upload-pack POST: the first pkt-line names the command
  kLfsBatch  // LFS batch POST: the JSON's "operation"
};
BodyNeed body_need(std::string_view method, std::string_view uri) noexcept;

// How many leading bytes to keep for a need. content_length: the declared body length,
// or -1 when unknown (chunked, HTTP/2 without content-length): a short declared body
// needs no bigger buffer than itself.
std::size_t body_capture_size(BodyNeed need, long long content_length) noexcept;

// Keeps the first `capacity` bytes appended; the rest is only counted.
class PrefixCapture {
 public:
  PrefixCapture(char* storage, std::size_t capacity) noexcept : buf_(storage), cap_(capacity) {}
  void append(const char* data, std::size_t size) noexcept;
  std::string_view bytes() const noexcept { return {buf_, len_}; }
  bool full() const noexcept { return len_ == cap_; }
  std::size_t seen() const noexcept { return seen_; }  // every body byte, kept or not

 private:
  char* buf_;
  std::size_t cap_;
  std::size_t len_ = 0;
  std::size_t seen_ = 0;
};

}  // namespace hubstats::module
