// Role: unit tests of the request bytes and the lean response reader (api/http_wire), and of
// the token grant's header-safety check. No sockets: bytes in, bytes out.
#include "api/http_wire.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>

#include "api/responses.hpp"

namespace submitd::api {
namespace {

HttpCall call_of(Method m, std::string target, std::string body = "", std::string token = "") {
  HttpCall c;
  c.method = m;
  c.target = std::move(target);
  c.body = std::move(body);
  c.authorization = std::move(token);
  return c;
}

TEST(RequestBytes, GetHasNoBodyOrLength) {
  std::string out;
  ASSERT_TRUE(write_request(out, call_of(Method::get, "/v1/customer/jobs/abc", "", "tok.en"), "api.example:8443",
                            "bytenite-submitd/1"));
  EXPECT_EQ(out,
            "GET /v1/customer/jobs/abc HTTP/1.1\r\nHost: api.example:8443\r\nUser-Agent: bytenite-submitd/1\r\n"
            "Accept: application/json\r\nAuthorization: tok.en\r\n\r\n");
}

TEST(RequestBytes, PatchCarriesTypeLengthAndBodyAndTheBufferIsReused) {
  std::string out = std::string(500, 'x');  // left over from an earlier call
  const auto capacity = out.capacity();
  ASSERT_TRUE(write_request(out, call_of(Method::patch, "/v1/j/1/params", R"({"a":1})", "t"), "h", "ua"));
  EXPECT_EQ(out,
            "PATCH /v1/j/1/params HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\nAccept: application/json\r\n"
            "Authorization: t\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
  EXPECT_EQ(out.capacity(), capacity);
}

TEST(RequestBytes, PostWithoutTokenOrBodySaysLengthZero) {
  std::string out;
  ASSERT_TRUE(write_request(out, call_of(Method::post, "/v1/auth/access_token"), "h", "ua"));
  EXPECT_EQ(out,
            "POST /v1/auth/access_token HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\nAccept: application/json\r\n"
            "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n");
}

TEST(RequestBytes, ControlCharactersInTokenOrTargetAreNeverSent) {
  std::string out = "old";
  EXPECT_FALSE(write_request(out, call_of(Method::get, "/v1/x", "", "tok\r\nX-Evil: 1"), "h", "ua"));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(write_request(out, call_of(Method::get, "/v1/x\nHost: other"), "h", "ua"));
  EXPECT_FALSE(write_request(out, call_of(Method::get, "/v1/x y"), "h", "ua"));
  EXPECT_FALSE(write_request(out, call_of(Method::get, ""), "h", "ua"));
  EXPECT_FALSE(write_request(out, call_of(Method::get, "/v1/x", "", std::string("a\0b", 3)), "h", "ua"));
}

// `wire` arriving in pieces of `piece` bytes, as reads from a socket would bring it, each
// given to the reader with api::feed (the pool's own feeding) until it is done or fails.
struct Arrival {
  bool done = false;
  boost::system::error_code ec;
  std::string left;  // bytes after the answer, still in the buffer
};
Arrival arrive(ResponseReader& r, std::string_view wire, std::size_t piece, bool then_close = false) {
  Arrival a;
  boost::beast::flat_buffer received;
  std::size_t at = 0;
  Fed fed = Fed::more;
  while (fed == Fed::more && at < wire.size()) {
    const std::size_t n = std::min(piece, wire.size() - at);
    received.commit(boost::asio::buffer_copy(received.prepare(n), boost::asio::buffer(wire.substr(at, n))));
    at += n;
    fed = feed(r, received, a.ec);
  }
  if (fed == Fed::more && then_close) fed = feed_close(r, a.ec);
  a.done = fed == Fed::done;
  EXPECT_EQ(fed == Fed::failed, static_cast<bool>(a.ec)) << a.ec.message();
  a.left = boost::beast::buffers_to_string(received.data());
  return a;
}

TEST(ResponseBytes, StatusBodyRetryAfterAndKeepAlive) {
  const std::string wire =
      "HTTP/1.1 503 Service Unavailable\r\nServer: x\r\nRetry-After: 7\r\nContent-Type: application/json\r\n"
      "Content-Length: 13\r\n\r\n{\"error\":\"x\"}";
  for (std::size_t piece : {std::size_t{1}, std::size_t{5}, wire.size()}) {
    ResponseReader r(1024);
    Arrival f = arrive(r, wire, piece);
    ASSERT_FALSE(f.ec) << f.ec.message();
    ASSERT_TRUE(f.done) << "piece " << piece;
    EXPECT_EQ(r.status(), 503);
    EXPECT_EQ(r.body(), "{\"error\":\"x\"}");
    EXPECT_EQ(r.retry_after(), "7");
    EXPECT_TRUE(r.keep_alive());
  }
}

TEST(ResponseBytes, ChunkedBodyAndConnectionClose) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "4\r\n{\"ok\r\n5\r\n\":tru\r\n2\r\ne}\r\n0\r\n\r\n";
  ResponseReader r(1024);
  Arrival f = arrive(r, wire, 3);
  ASSERT_FALSE(f.ec) << f.ec.message();
  ASSERT_TRUE(f.done);
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.body(), "{\"ok\":true}");
  EXPECT_TRUE(r.retry_after().empty());
  EXPECT_FALSE(r.keep_alive());
}

TEST(ResponseBytes, BodiesOverTheLimitAreRefusedLengthOrChunked) {
  ResponseReader by_length(10);
  Arrival f = arrive(by_length, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890", 64);
  EXPECT_EQ(f.ec, boost::beast::http::error::body_limit);
  ResponseReader by_chunks(10);
  f = arrive(by_chunks, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n", 64);
  EXPECT_EQ(f.ec, boost::beast::http::error::body_limit);
}

// A download's sink: what it was given, refusing past `limit` bytes.
struct MemorySink final : BodySink {
  explicit MemorySink(std::size_t limit = 1 << 20) : limit(limit) {}
  void begin(std::optional<std::uint64_t> length) override {
    ++begun;
    content_length = length;
    bytes.clear();
  }
  bool take(std::string_view more) override {
    if (bytes.size() + more.size() > limit) {
      why = "too large";
      return false;
    }
    bytes.append(more);
    return true;
  }
  std::chrono::nanoseconds pause_before_read(std::size_t) override { return std::chrono::nanoseconds(0); }
  const std::string& trouble() const override { return why; }
  std::size_t limit;
  int begun = 0;
  std::optional<std::uint64_t> content_length;
  std::string bytes;
  std::string why;
};

TEST(ResponseSink, ASuccessfulBodyGoesToTheSinkWhateverTheMemoryLimit) {
  MemorySink sink;
  ResponseReader r(4, &sink);  // the in-memory limit does not bind a sunk body
  Arrival f = arrive(r, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", 3);
  ASSERT_FALSE(f.ec) << f.ec.message();
  EXPECT_TRUE(f.done);
  EXPECT_EQ(sink.bytes, "hello world");
  EXPECT_EQ(sink.content_length, 11u);
  EXPECT_EQ(sink.begun, 1);
  EXPECT_TRUE(r.body().empty());
  MemorySink chunked;
  ResponseReader c(4, &chunked);
  f = arrive(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n2\r\n67\r\n0\r\n\r\n", 5);
  ASSERT_TRUE(f.done);
  EXPECT_EQ(chunked.bytes, "01234567");
  EXPECT_FALSE(chunked.content_length);
}

TEST(ResponseSink, AnErrorAnswerStaysInMemoryWithinItsLimit) {
  MemorySink sink;
  ResponseReader r(16, &sink);
  Arrival f = arrive(r, "HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\nexpired", 64);
  ASSERT_TRUE(f.done);
  EXPECT_EQ(r.status(), 403);
  EXPECT_EQ(r.body(), "expired");
  EXPECT_EQ(sink.begun, 0);
  ResponseReader big(4, &sink);
  f = arrive(big, "HTTP/1.1 500 Oops\r\nContent-Length: 7\r\n\r\nexpired", 64);
  EXPECT_EQ(f.ec, boost::beast::http::error::body_limit);
}

TEST(ResponseSink, TheSinksRefusalStopsTheAnswer) {
  MemorySink sink(4);
  ResponseReader r(1024, &sink);
  Arrival f = arrive(r, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", 64);
  EXPECT_EQ(f.ec, boost::beast::http::error::body_limit);
  EXPECT_EQ(sink.trouble(), "too large");
}

TEST(ResponseBytes, AnInterimAnswerEndsAtItsHeadAndTheFinalOneFollows) {
  EXPECT_TRUE(is_interim(100));
  EXPECT_TRUE(is_interim(103));
  EXPECT_TRUE(is_interim(199));
  EXPECT_FALSE(is_interim(101));  // switching protocols is final
  EXPECT_FALSE(is_interim(200));
  EXPECT_FALSE(is_interim(99));
  const std::string wire =
      "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
  ResponseReader interim(1024);
  Arrival first = arrive(interim, wire, wire.size());
  ASSERT_FALSE(first.ec) << first.ec.message();
  ASSERT_TRUE(first.done);
  EXPECT_EQ(interim.status(), 103);
  EXPECT_TRUE(interim.body().empty());
  // The final answer's bytes stay in the buffer, unused, for the next reader.
  EXPECT_EQ(first.left, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
  ResponseReader final_answer(1024);
  Arrival f = arrive(final_answer, first.left, 4);
  ASSERT_FALSE(f.ec) << f.ec.message();
  ASSERT_TRUE(f.done);
  EXPECT_EQ(final_answer.status(), 200);
  EXPECT_EQ(final_answer.body(), "{}");
  EXPECT_TRUE(f.left.empty());
}

TEST(ResponseBytes, ABodyEndedByTheCloseIsCompleteOtherwiseACloseCutsItShort) {
  ResponseReader until_close(1024);
  Arrival a = arrive(until_close, "HTTP/1.1 200 OK\r\n\r\n{\"a\":1}", 5, true);
  ASSERT_TRUE(a.done) << a.ec.message();
  EXPECT_EQ(until_close.body(), "{\"a\":1}");
  EXPECT_FALSE(until_close.keep_alive());
  ResponseReader cut(1024);
  a = arrive(cut, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"a\"", 5, true);
  EXPECT_FALSE(a.done);
  EXPECT_EQ(a.ec, boost::beast::http::error::partial_message);
  ResponseReader nothing(1024);
  a = arrive(nothing, "", 5, true);
  EXPECT_FALSE(a.done);
  EXPECT_EQ(a.ec, boost::beast::http::error::end_of_stream);
}

TEST(ResponseBytes, AStatusUnder100IsRefused) {
  ResponseReader r(1024);
  Arrival f = arrive(r, "HTTP/1.1 000 OK\r\nContent-Length: 2\r\n\r\n{}", 64);
  EXPECT_EQ(f.ec, boost::beast::http::error::bad_status);
  EXPECT_FALSE(f.done);
}

TEST(ResponseBytes, ARequestIsNotAResponse) {
  ResponseReader r(1024);
  Arrival f = arrive(r, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 64);
  EXPECT_TRUE(f.ec);
  EXPECT_FALSE(f.done);
}

TEST(TokenGrant, ATokenThatCouldBreakAHeaderIsUnreadable) {
  EXPECT_TRUE(parse_token_response(R"({"token":"abc.DEF-_~+/=","expiresIn":"3600"})"));
  EXPECT_FALSE(parse_token_response(R"({"token":"abc\r\nX-Evil: 1","expiresIn":"3600"})"));
  EXPECT_FALSE(parse_token_response(R"({"token":"abc def","expiresIn":"3600"})"));
  EXPECT_FALSE(parse_token_response(R"({"token":"abc\u0000","expiresIn":"3600"})"));
  EXPECT_FALSE(parse_token_response(R"({"token":"abc\u007f","expiresIn":"3600"})"));
}

}  // namespace
}  // namespace submitd::api
