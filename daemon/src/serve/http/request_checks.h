// Checks on a request's head that Beast's parser leaves to the server: message framing
// (RFC 9112 §6) and the request-target's form (RFC 9112 §3.2). Pure functions, so the
// rules are unit-tested without sockets; the session applies them after reading the
// header and before reading any body.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubstatsd::http {

// Why a request head is refused: the status (400, 501) and the {"detail"} text. The
// connection is closed after such an answer, because the end of the body is unknown.
struct HeadError {
  int status;
  std::string_view detail;
};

// The framing rules for a request, given every Transfer-Encoding field value in order,
// whether a Content-Length field was present, and the HTTP version (10, 11):
// - Transfer-Encoding in an HTTP/1.0 request: 400 (§6.1, the message is faulty);
// - Transfer-Encoding together with Content-Length: 400 (§6.1 allows refusing; it is
//   the classic smuggling shape);
// - a final coding other than chunked, or chunked applied twice: 400 (§6.3);
// - another coding before chunked (gzip, ...), which we cannot decode: 501 (§6.1).
// nullopt: the framing is one Beast handles correctly (Content-Length, or chunked alone).
std::optional<HeadError> check_framing(const std::vector<std::string_view>& transfer_encodings,
                                       bool has_content_length, unsigned version);

// The request-target in origin form ("/path?query"), or nullopt when it must be
// answered 400:
// - origin-form ("/..."): returned unchanged;
// - absolute-form ("http://host[:port]/path?query", §3.2.2): the path and query, "/"
//   when the path is empty; a userinfo part ("user@host") or an empty host is refused;
// - authority-form ("host:port", only for CONNECT), asterisk-form ("*", only for a
//   server-wide OPTIONS) and anything else: refused, the daemon serves neither;
// - a fragment ('#') is never part of a request-target.
std::optional<std::string> origin_form_target(std::string_view target);

// Host header rules (RFC 9112 §3.2): an HTTP/1.1 request needs exactly one Host field.
std::optional<HeadError> check_host(std::size_t host_fields, unsigned version);

}  // namespace hubstatsd::http
