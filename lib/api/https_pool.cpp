// Role: the HTTPS transport: a fixed number of connection slots to one API host, each a TLS
// keep-alive connection opened on demand (https_connect.cpp) and reused. It decides nothing
// about retries beyond replaying a replay-safe call once when a reused keep-alive connection
// turns out to have been closed by the server; everything else is reported upwards as a
// TransportFailure. Idle connections are watched, so one the server closes is closed and
// counted at once (the connections gauge follows the count).
// Deadlines (connect, CONNECT, handshake, each call) are kept by one watchdog per pool, a
// timer ticking while any is running, not by a timer per read and write: Beast's timed
// stream did that and cost about a tenth of the CPU per job.
// Runs on a single-threaded executor: slots and waiters need no locks.
// Beast's I/O and Asio's SSL are compiled in the pool's two translation units only, this one
// and https_connect.cpp, which share https_pool_impl.hpp.
#include "api/https_pool.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <optional>
#include <tuple>

#include "api/http_wire.hpp"
#include "api/https_pool_impl.hpp"

namespace submitd::api {
using namespace pool_detail;

namespace {
// Responses are small JSON documents; refuse anything absurd instead of buffering it.
constexpr std::uint64_t kMaxResponseBody = 8 * 1024 * 1024;
// Reads ask for up to one TLS record's worth of bytes.
constexpr std::size_t kReadSize = 16 * 1024;
}  // namespace

void HttpsPool::Impl::drop(std::size_t slot, bool after_failure) {
  Connection& c = *connections[slot];
  if (c.stream) {
    error_code ignored;
    c.stream->next_layer().close(ignored);
    c.stream.reset();
    c.buffer.clear();
  }
  c.watched = nullptr;
  slots.closed(slot, after_failure);
  report_open();
}

void HttpsPool::Impl::report_open() {
  if (slots.open_count() == reported_open) return;
  reported_open = slots.open_count();
  if (open_observer) open_observer(reported_open);
}

// While a connection sits idle, a wait for its socket to become readable notices the server
// closing it: an HTTP/1.1 server has nothing to say to a client that asked nothing but its
// goodbye (close_notify, FIN, RST, or a 408 before closing). The connection is then closed
// here at once, so the open count is true between calls, instead of the next call meeting a
// dead connection (which a call that is not safe to repeat would fail on).
void HttpsPool::Impl::watch_idle(std::size_t slot) {
  Connection& c = *connections[slot];
  if (!c.stream || stopping) return;
  const std::uint64_t watch = ++c.idle_watch;
  c.stream->next_layer().async_wait(
      tcp::socket::wait_read, [weak = weak_from_this(), slot, watch](const error_code& ec) {
        auto self = weak.lock();
        if (!self || ec) return;  // cancelled: taken for a call, closed, or the pool is gone
        const Connection& watched = *self->connections[slot];
        if (watched.idle_watch != watch || !watched.stream || self->slots.health(slot).busy) return;
        self->drop(slot, false);
      });
}

// Before a call uses the connection: its idle watch must neither fire nor linger.
void HttpsPool::Impl::unwatch_idle(std::size_t slot) {
  Connection& c = *connections[slot];
  ++c.idle_watch;
  if (!c.stream) return;
  error_code ignored;
  c.stream->next_layer().cancel(ignored);
}

asio::awaitable<std::optional<PoolSlots::Lease>> HttpsPool::Impl::acquire() {
  for (;;) {
    if (stopping) co_return std::nullopt;
    if (auto lease = slots.acquire(clock.now())) co_return lease;
    co_await waiting.wait();  // woken by a release (or shutdown): try again
  }
}

void HttpsPool::Impl::release(std::size_t slot) {
  slots.release(slot, clock.now());
  watch_idle(slot);
  waiting.wake_one(true);
}

// One request/response on an open connection. `stale` is set when the failure looks like
// the server had closed a reused connection before seeing the request.
asio::awaitable<void> HttpsPool::Impl::exchange(std::size_t slot, const HttpCall& call, HttpResult& out,
                                                bool& stale) {
  Connection& c = *connections[slot];
  if (!write_request(c.request, call, host_header, "bytenite-submitd/" SUBMITD_VERSION)) {
    out.failure = TransportFailure::connect;
    out.failure_detail = "refused to send a request whose path or token holds a control character";
    co_return;  // nothing was sent: the connection stays as it was
  }
  const Watched watched = watch(c, c.stream->next_layer(), settings.request_timeout);
  auto [wec, wn] = co_await asio::async_write(*c.stream, asio::buffer(c.request), kTuple);
  wec = timed(c, wec);
  if (wec) {
    out.failure = io_failure(wec);
    out.failure_detail = "sending the request failed: " + wec.message();
    stale = wec != beast::error::timeout;
    drop(slot, true);
    co_return;
  }
  if (call.file_body.fd >= 0 && !co_await write_file_body(c, call.file_body, out)) {
    drop(slot, true);  // the request is cut short: the connection cannot carry another
    co_return;
  }
  // Interim answers (1xx, e.g. 103 Early Hints) are read past to the final one: taking one
  // as the answer would also leave the real answer to be read as the next call's.
  std::optional<ResponseReader> parser;
  error_code rec;
  std::size_t received = 0;  // bytes of this call's answers, interim ones included
  for (int interim = 0;; ++interim) {
    parser.emplace(kMaxResponseBody, call.sink);
    rec = co_await read_answer(c, *parser, received, call.sink);
    if (rec || !is_interim(parser->status())) break;
    if (interim == kMaxInterimAnswers) {
      out.failure = TransportFailure::reset;
      out.failure_detail = "the server sent more than " + std::to_string(kMaxInterimAnswers) +
                           " interim (1xx) answers and no final one";
      drop(slot, true);
      co_return;
    }
  }
  if (rec) {
    out.failure = io_failure(rec);
    out.failure_detail = rec == beast::error::timeout
                             ? "no response within the deadline"
                             : "connection lost before the response: " + rec.message();
    if (call.sink != nullptr && !call.sink->trouble().empty()) {
      out.failure_detail = "the body could not be kept: " + call.sink->trouble();
    }
    // Nothing at all came back and the server closed: the classic stale keep-alive case
    // (stream_truncated is a TLS peer that closed without close_notify, which servers do).
    stale = received == 0 && (rec == http::error::end_of_stream || rec == asio::error::eof ||
                        rec == asio::error::connection_reset ||
                        rec == ssl::error::stream_truncated);
    drop(slot, true);
    co_return;
  }
  out.status = parser->status();
  out.body = std::move(parser->body());
  out.retry_after = parser->retry_after();
  remember_session(c);
  slots.call_done(slot);
  if (!parser->keep_alive()) drop(slot, false);
}

// Streams a PUT's file after its head, a chunk at a time from disk (memory stays one chunk
// per connection whatever the size). Each chunk gets the request deadline afresh: a whole
// upload's time grows with its size, a stall does not.
asio::awaitable<bool> HttpsPool::Impl::write_file_body(Connection& c, const FileBody& body, HttpResult& out) {
  if (c.chunk.empty()) c.chunk.resize(kFileChunk);
  for (std::uint64_t offset = 0; offset < body.size;) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(c.chunk.size(), body.size - offset));
    const ssize_t n = ::pread(body.fd, c.chunk.data(), want, static_cast<off_t>(offset));
    if (n <= 0) {
      out.failure = TransportFailure::reset;
      out.failure_detail = n == 0 ? fmt::format("the input file ended after {} of its {} bytes", offset, body.size)
                                  : fmt::format("reading the input file failed: {}", std::strerror(errno));
      co_return false;
    }
    restart_deadline(c, settings.request_timeout);
    auto [wec, wn] = co_await asio::async_write(*c.stream, asio::buffer(c.chunk.data(), static_cast<std::size_t>(n)), kTuple);
    wec = timed(c, wec);
    if (wec) {
      out.failure = io_failure(wec);
      out.failure_detail = fmt::format("sending the body failed after {} of {} bytes: {}", offset, body.size,
                                       wec == beast::error::timeout ? std::string("no progress within the deadline")
                                                                    : wec.message());
      co_return false;
    }
    offset += static_cast<std::uint64_t>(n);
  }
  co_return true;
}

// Reads one answer on `c` into `reader`: what c.buffer already holds first, then reads of
// up to one TLS record at a time. Bytes after the answer stay in c.buffer. A download (a
// sink) waits as its bandwidth limit says before each read (TCP then slows the sender), and
// each read gets the deadline afresh: a stall times out, a long body does not.
asio::awaitable<error_code> HttpsPool::Impl::read_answer(Connection& c, ResponseReader& reader,
                                                         std::size_t& received, BodySink* sink) {
  error_code ec;
  Fed fed = feed(reader, c.buffer, ec);
  while (fed == Fed::more) {
    if (sink != nullptr) {
      if (const auto pause = sink->pause_before_read(kReadSize); pause.count() > 0) {
        restart_deadline(c, settings.request_timeout + std::chrono::ceil<std::chrono::milliseconds>(pause));
        asio::steady_timer timer(executor, pause);
        co_await timer.async_wait(kTuple);
      }
      restart_deadline(c, settings.request_timeout);
    }
    auto [rec, n] = co_await c.stream->async_read_some(c.buffer.prepare(kReadSize), kTuple);
    c.buffer.commit(n);
    received += n;
    if (n > 0) {
      fed = feed(reader, c.buffer, ec);  // an error, if any, comes again with the next read
    } else if (rec == asio::error::eof) {
      fed = feed_close(reader, ec);
    } else {
      co_return timed(c, rec ? rec : error_code(asio::error::connection_reset));
    }
  }
  co_return fed == Fed::done ? error_code{} : ec;
}

// Puts `socket` (of `c`) under the watchdog with `limit` from now, starting the watchdog if
// it is not running.
HttpsPool::Impl::Watched HttpsPool::Impl::watch(Connection& c, tcp::socket& socket,
                                                std::chrono::milliseconds limit) {
  c.watched = &socket;
  restart_deadline(c, limit);
  if (!watchdog_running) {
    watchdog_running = true;
    asio::co_spawn(executor, watchdog(shared_from_this()), asio::detached);
  }
  return Watched{c};
}

// Ticks while anything is watched (a tenth of the shorter timeout, 5-100 ms: a deadline is
// met that much late at most) and closes the socket of whatever is past its deadline (closed,
// not cancelled: connecting would go on to the next address); ends when nothing is watched,
// and at shutdown.
asio::awaitable<void> HttpsPool::Impl::watchdog(std::shared_ptr<Impl> /*keeps the pool alive while it ticks*/) {
  const auto tick = std::clamp<std::chrono::milliseconds>(
      std::min(settings.request_timeout, settings.connect_timeout) / 10, std::chrono::milliseconds(5),
      std::chrono::milliseconds(100));
  for (bool watching = true; watching && !stopping;) {
    watchdog_timer.expires_after(tick);
    co_await watchdog_timer.async_wait(kTuple);
    const auto now = std::chrono::steady_clock::now();
    watching = false;
    for (auto& c : connections) {
      if (c->watched == nullptr) continue;
      watching = true;
      if (now < c->deadline || c->timed_out) continue;
      c->timed_out = true;
      error_code ignored;
      c->watched->close(ignored);
    }
  }
  watchdog_running = false;
}

asio::awaitable<HttpResult> HttpsPool::Impl::send(const HttpCall& call) {
  auto self = shared_from_this();  // keep the pool alive while this call runs
  auto started = std::chrono::steady_clock::now();
  HttpResult out;
  auto lease = co_await acquire();
  if (!lease) {
    out.failure = TransportFailure::connect;
    out.failure_detail = "shutting down";
    co_return out;
  }
  unwatch_idle(lease->slot);
  if (lease->close_first) drop(lease->slot, false);
  for (int attempt = 0; attempt < 2; ++attempt) {
    out = HttpResult{};
    bool reused = static_cast<bool>(connections[lease->slot]->stream);
    if (!reused && !co_await connect(lease->slot, out)) break;
    bool stale = false;
    co_await exchange(lease->slot, call, out, stale);
    if (out.has_response() || !PoolSlots::should_replay(reused, stale, call.replay_safe, attempt)) break;
    // A reused connection died under a replay-safe call: try once more on a fresh one.
  }
  release(lease->slot);
  if (observer) observer(call, out, std::chrono::steady_clock::now() - started);
  co_return out;
}

void HttpsPool::Impl::shutdown() {
  stopping = true;
  watchdog_timer.cancel();
  waiting.wake_all(false);
  for (std::size_t i = 0; i < connections.size(); ++i) {
    if (!slots.health(i).busy) drop(i, false);
  }
}

namespace {
const SystemClock kSystemClock;
}  // namespace

HttpsPool::HttpsPool(asio::any_io_executor executor, PoolSettings settings)
    : HttpsPool(std::move(executor), std::move(settings), kSystemClock) {}

HttpsPool::HttpsPool(asio::any_io_executor executor, PoolSettings settings, const Clock& clock)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(settings), clock)) {}

HttpsPool::~HttpsPool() { shutdown(); }

asio::awaitable<HttpResult> HttpsPool::send(const HttpCall& call) { return impl_->send(call); }

void HttpsPool::set_observer(CallObserver observer) { impl_->observer = std::move(observer); }

void HttpsPool::set_open_connections_observer(OpenConnectionsObserver observer) {
  impl_->open_observer = std::move(observer);
}

void HttpsPool::set_certificate_hold(std::chrono::milliseconds hold) { impl_->settings.certificate_hold = hold; }

std::size_t HttpsPool::open_connections() const { return impl_->slots.open_count(); }

PoolStats HttpsPool::stats() const {
  const PoolSlots& s = impl_->slots;
  return PoolStats{s.open_count(), s.busy_count(), s.connects(), s.resumed_connects(), impl_->lookups};
}

void HttpsPool::shutdown() { impl_->shutdown(); }

}  // namespace submitd::api
