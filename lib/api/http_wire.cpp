// Role: request bytes and the lean response reader (see http_wire.hpp).
#include "api/http_wire.hpp"

#include <algorithm>

#include "util/header_text.hpp"

namespace submitd::api {
namespace {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::get: return "GET";
    case Method::post: return "POST";
    case Method::patch: return "PATCH";
    case Method::put: return "PUT";
  }
  return "GET";
}

}  // namespace

bool write_request(std::string& out, const HttpCall& call, std::string_view host_header,
                   std::string_view user_agent) {
  out.clear();  // keeps the capacity: the buffer is reused call after call
  if (call.target.empty() || !is_single_token(call.target) || !fits_in_header(call.authorization) ||
      !fits_in_header(host_header)) {
    return false;
  }
  const bool has_body = call.method != Method::get;
  out.append(method_name(call.method)).append(" ").append(call.target).append(" HTTP/1.1\r\nHost: ");
  out.append(host_header).append("\r\nUser-Agent: ").append(user_agent);
  out.append("\r\nAccept: application/json\r\n");
  if (!call.authorization.empty()) out.append("Authorization: ").append(call.authorization).append("\r\n");
  if (call.method == Method::put) {
    // The bytes follow from the file (the pool streams them); only the head is built here.
    out.append("Content-Type: application/octet-stream\r\nContent-Disposition: attachment\r\nContent-Length: ");
    out.append(std::to_string(call.file_body.size)).append("\r\n\r\n");
  } else if (has_body) {
    out.append("Content-Type: application/json\r\nContent-Length: ");
    out.append(std::to_string(call.body.size())).append("\r\n\r\n").append(call.body);
  } else {
    out.append("\r\n");
  }
  return true;
}

bool is_interim(int status) { return status >= 100 && status < 200 && status != 101; }

ResponseReader::ResponseReader(std::uint64_t max_body, BodySink* sink) : max_body_(max_body), sink_(sink) {
  // With a sink the parser takes a body of any length; keep() bounds what is held in memory.
  if (sink_ == nullptr) body_limit(max_body);
  else body_limit(boost::none);
}

void ResponseReader::on_request_impl(verb, string_view, string_view, int, error_code& ec) {
  ec = boost::beast::http::error::bad_method;  // never called for a response parser
}

void ResponseReader::on_response_impl(int code, string_view, int, error_code& ec) {
  // Beast takes any three digits; a status under 100 is no HTTP answer at all (and would read
  // as "no status" further up), so it is refused like any other malformed response.
  if (code < 100) ec = boost::beast::http::error::bad_status;
  status_ = code;
}

void ResponseReader::on_field_impl(field name, string_view, string_view value, error_code&) {
  if (name == field::retry_after) retry_after_.assign(value.data(), value.size());
}

void ResponseReader::on_header_impl(error_code&) {
  sinking_ = sink_ != nullptr && status_ >= 200 && status_ < 300;
  if (!sinking_) return;
  const auto length = content_length();
  sink_->begin(length ? std::optional<std::uint64_t>(*length) : std::nullopt);
}

void ResponseReader::on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code&) {
  // The parser has already refused a Content-Length over the body limit (without a sink).
  if (content_length && !sinking_) body_.reserve(static_cast<std::size_t>(std::min(*content_length, max_body_)));
}

bool ResponseReader::keep(string_view bytes, error_code& ec) {
  if (sinking_) {
    if (sink_->take(std::string_view(bytes.data(), bytes.size()))) return true;
  } else if (body_.size() + bytes.size() <= max_body_) {
    body_.append(bytes.data(), bytes.size());
    return true;
  }
  ec = boost::beast::http::error::body_limit;
  return false;
}

std::size_t ResponseReader::on_body_impl(string_view body, error_code& ec) {
  return keep(body, ec) ? body.size() : 0;
}

void ResponseReader::on_chunk_header_impl(std::uint64_t, string_view, error_code&) {}

std::size_t ResponseReader::on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) {
  return keep(body, ec) ? body.size() : 0;
}

void ResponseReader::on_finish_impl(error_code&) {}

Fed feed(ResponseReader& reader, boost::beast::flat_buffer& received, boost::system::error_code& ec) {
  ec = {};
  while (!reader.is_done()) {
    if (received.size() == 0) return Fed::more;
    const std::size_t used = reader.put(received.data(), ec);
    received.consume(used);
    if (ec == boost::beast::http::error::need_more) {
      ec = {};
      return Fed::more;
    }
    if (ec) return Fed::failed;
  }
  return Fed::done;
}

Fed feed_close(ResponseReader& reader, boost::system::error_code& ec) {
  ec = {};
  if (reader.is_done()) return Fed::done;
  if (!reader.got_some()) {
    ec = boost::beast::http::error::end_of_stream;
    return Fed::failed;
  }
  reader.put_eof(ec);  // done when the body ends with the close; partial_message otherwise
  return ec ? Fed::failed : Fed::done;
}

}  // namespace submitd::api
