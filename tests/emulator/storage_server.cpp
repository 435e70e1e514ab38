// The storage endpoint over HTTPS: PUT bodies are read a chunk at a time into a fixed buffer
// and hashed (SHA-256) as they arrive, never held whole, so a 2 GiB upload costs the
// emulator no more memory than a small one and benchmarks measure the client, not us.
// Results (GET) are generated a chunk at a time the same way (result_bytes.hpp).
// Emulator::begin_storage decides from the head (refuse, fault, or read); a whole body is
// handed to Emulator::end_upload. "Expect: 100-continue" is answered, as storage services
// do, so a client that waits for it (curl -T) is not slowed by its own timeout.
#include "storage_server.hpp"

#include "result_bytes.hpp"
#include "sha256_hex.hpp"
#include "tcp_reset.hpp"

#include <openssl/evp.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

namespace emulator {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

constexpr std::size_t kChunk = 256 * 1024;
constexpr auto kHandshakeTimeout = std::chrono::seconds{30};
constexpr auto kBodyTimeout = std::chrono::seconds{60};

class StorageSession : public std::enable_shared_from_this<StorageSession> {
 public:
  StorageSession(tcp::socket&& socket, ssl::context& tls, Emulator& emulator, std::chrono::seconds idle_timeout)
      : stream_(std::move(socket), tls), delay_(stream_.get_executor()), emulator_(emulator),
        idle_timeout_(idle_timeout), chunk_(kChunk), sha_(EVP_MD_CTX_new()) {}
  ~StorageSession() { EVP_MD_CTX_free(sha_); }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::get_lowest_layer(self->stream_).expires_after(kHandshakeTimeout);
      self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
        if (!ec) self->read_head();
      });
    });
  }

 private:
  void read_head() {
    parser_.emplace();
    parser_->body_limit(boost::none);  // sizes are the client's business; memory stays one chunk
    beast::get_lowest_layer(stream_).expires_after(idle_timeout_);
    http::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&StorageSession::on_head, shared_from_this()));
  }

  void on_head(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return shutdown();
    if (ec) return;
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    start_ = emulator_.begin_storage(req.method_string(), req.target());
    if (start_.reset_before) return reset();
    if (start_.answer) {
      keep_alive_ = false;  // the body, if any, is left unread on the wire
      return respond(std::move(*start_.answer));
    }
    if (start_.download_bytes) return send_download();
    const std::uint64_t length = parser_->content_length().value_or(0);
    reset_at_ = start_.reset_mid_body ? length / 2 : UINT64_MAX;
    received_ = 0;
    EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr);
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](beast::error_code wec, std::size_t) {
                         if (!wec) self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return finish();
    auto& body = parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    body.more = true;
    beast::get_lowest_layer(stream_).expires_after(kBodyTimeout);
    http::async_read_some(stream_, buffer_, *parser_, beast::bind_front_handler(&StorageSession::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return;  // the client went away (or the deadline passed): nothing was stored
    const std::size_t got = chunk_.size() - parser_->get().body().size;
    EVP_DigestUpdate(sha_, chunk_.data(), got);
    received_ += got;
    if (received_ >= reset_at_ && !parser_->is_done()) {
      emulator_.storage_reset_mid_body();
      return reset();
    }
    if (parser_->is_done()) return finish();
    if (start_.slow_body.count() > 0) {
      delay_.expires_after(start_.slow_body);
      delay_.async_wait([self = shared_from_this()](beast::error_code wec) {
        if (!wec) self->read_body();
      });
      return;
    }
    read_body();
  }

  void send_download() {
    total_ = *start_.download_bytes;
    sent_ = 0;
    reset_at_ = start_.reset_mid_body ? total_ / 2 : UINT64_MAX;
    head_ = "HTTP/1.1 200 OK\r\nServer: bytenite-emulator-storage\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: " + std::to_string(total_) + "\r\n" + (keep_alive_ ? "" : "Connection: close\r\n") + "\r\n";
    beast::get_lowest_layer(stream_).expires_after(kBodyTimeout);
    net::async_write(stream_, net::buffer(head_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->write_chunk();
    });
  }

  void write_chunk() {
    if (sent_ >= total_) {
      emulator_.download_served(total_);
      if (!keep_alive_) return shutdown();
      return read_head();
    }
    if (sent_ >= reset_at_) {
      emulator_.storage_reset_mid_body();
      return reset();
    }
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>({chunk_.size(), total_ - sent_, reset_at_ - sent_}));
    result_bytes(start_.download_seed, sent_, chunk_.data(), n);
    beast::get_lowest_layer(stream_).expires_after(kBodyTimeout);
    net::async_write(stream_, net::buffer(chunk_.data(), n), [self = shared_from_this(), n](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->sent_ += n;
      if (self->start_.slow_body.count() == 0) return self->write_chunk();
      self->delay_.expires_after(self->start_.slow_body);
      self->delay_.async_wait([self](beast::error_code wec) {
        if (!wec) self->write_chunk();
      });
    });
  }

  void finish() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned size = 0;
    EVP_DigestFinal_ex(sha_, digest, &size);
    ApiResponse answer = emulator_.end_upload(start_.job_id, received_, hex_of(digest, size));
    if (start_.reset_after) return reset();
    respond(std::move(answer));
  }

  void respond(ApiResponse answer) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(answer.status));
    response_.set(http::field::server, "bytenite-emulator-storage");
    response_.set(http::field::content_type, "application/json");
    response_.keep_alive(keep_alive_);
    response_.body() = std::move(answer.body);
    response_.prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(kBodyTimeout);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (!self->keep_alive_) return self->shutdown();
      self->read_head();
    });
  }

  void shutdown() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds{5});
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
  }

  // What a dropped upload or download looks like: a TCP RST, no close_notify, no answer.
  void reset() { reset_connection(beast::get_lowest_layer(stream_)); }

  beast::ssl_stream<beast::tcp_stream> stream_;
  net::steady_timer delay_;
  Emulator& emulator_;
  const std::chrono::seconds idle_timeout_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  http::response<http::string_body> response_;
  std::vector<char> chunk_;
  EVP_MD_CTX* sha_;
  Emulator::StorageStart start_;
  std::uint64_t received_ = 0;
  std::uint64_t reset_at_ = UINT64_MAX;
  std::uint64_t total_ = 0;  // a download's size, and how much of it went out
  std::uint64_t sent_ = 0;
  std::string head_;
  bool keep_alive_ = true;
};

}  // namespace

void start_storage_session(tcp::socket&& socket, ssl::context& tls, Emulator& emulator,
                           std::chrono::seconds idle_timeout) {
  std::make_shared<StorageSession>(std::move(socket), tls, emulator, idle_timeout)->start();
}

}  // namespace emulator
