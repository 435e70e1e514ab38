// Role: the bytes of one API exchange, without sockets: the request as it goes on the wire
// (head and body in one reusable buffer), a response reader that keeps only what the
// daemon uses (status, body, Retry-After, keep-alive), and the feeding of received bytes to
// it (the pool's read loop only adds the reads; Beast's composed read is not used): no
// per-field allocations, since this runs for every call. Plain code, unit tested byte by byte.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/http_call.hpp"

namespace submitd::api {

// Replaces `out` with the HTTP/1.1 request for `call` (keep-alive; a body and its
// Content-Length for POST/PATCH; for a PUT the head alone, its Content-Length the file
// body's size: the pool streams the file after it). Returns false, leaving `out` empty, when the target or the
// token holds a byte that cannot be in a request line or header value (a control character):
// such a request is never sent, so a broken token cannot add headers of its own.
bool write_request(std::string& out, const HttpCall& call, std::string_view host_header,
                   std::string_view user_agent);

// A 1xx answer other than 101 is interim (RFC 9110 15.2: a client must read past any number
// of them to the final answer, even unasked; a proxy or load balancer may send 103 Early
// Hints). The pool reads on after one, up to kMaxInterimAnswers per call.
bool is_interim(int status);
inline constexpr int kMaxInterimAnswers = 8;

// One response, read with Beast's parser (limits, chunked bodies, Content-Length and
// Connection handling are its own); header fields other than Retry-After are not stored.
// With a sink, a 2xx body goes to it, of any length (the sink decides what it keeps); any
// other answer's body is kept here, within `max_body`.
class ResponseReader final : public boost::beast::http::basic_parser<false> {
 public:
  explicit ResponseReader(std::uint64_t max_body, BodySink* sink = nullptr);

  int status() const { return status_; }
  std::string& body() { return body_; }
  const std::string& retry_after() const { return retry_after_; }

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;
  using field = boost::beast::http::field;
  using verb = boost::beast::http::verb;

  void on_request_impl(verb, string_view, string_view, int, error_code& ec) override;
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(field name, string_view name_string, string_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  bool keep(string_view bytes, error_code& ec);

  int status_ = 0;
  std::uint64_t max_body_;
  BodySink* sink_;
  bool sinking_ = false;  // this answer's body goes to sink_
  std::string body_;
  std::string retry_after_;
};

// Reading one answer is a loop of: feed what has arrived, and read more while it says so.
// The pool does the reads; this is the rest, shared with the tests and the fuzz target.
enum class Fed {
  done,    // a whole answer is read; bytes after it stay in the buffer (the next answer's)
  more,    // every byte was taken in and more are needed
  failed,  // not a valid answer (or over a limit): `ec` says why
};

// Gives the reader what `received` holds, dropping every byte it used (Beast's parser may
// use bytes even when it asks for more).
Fed feed(ResponseReader& reader, boost::beast::flat_buffer& received, boost::system::error_code& ec);

// The server closed the connection (a clean end of stream) before the answer was complete: an
// answer whose body ends with the close is now done; anything else failed (`end_of_stream`
// when nothing of it had come, `partial_message` when cut short).
Fed feed_close(ResponseReader& reader, boost::system::error_code& ec);

}  // namespace submitd::api
