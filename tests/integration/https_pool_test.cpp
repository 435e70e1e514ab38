// Role: the HTTPS connection pool over real TLS against the emulator on 127.0.0.1: keep-alive
// reuse, a connection the server closes while idle is noticed at once (the open count drops),
// TLS sessions are resumed on reconnect, a call on a reused connection that dies under it is
// replayed only when it is safe to repeat, a slow server meets the request deadline, a closed
// port fails fast, and a refused certificate is held (for the reloaded hold, when changed)
// instead of retried per call. (The emulator's idle timeout is real time, 1 s: tests wait for
// its ledger to count the close, never sleep past it.)
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <vector>

#include "api/https_pool.hpp"
#include "harness.hpp"
#include "ledger.hpp"
#include "pool_call.hpp"

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace submitd;
using namespace submitd::testing;

namespace {

class PoolOverTls : public TempDirTest {
 protected:
  PoolOverTls() : TempDirTest("pool") {}
  api::PoolSettings settings_for(const Emulator& e) {
    api::PoolSettings s;
    s.host = "localhost";
    s.port = e.port();
    s.ca_file = e.ca_file().string();
    s.connections = 1;
    return s;
  }
  api::HttpResult call(api::HttpsPool& pool, api::Method method, bool replay_safe) {
    return run_pool_call(io_, pool, method, replay_safe);
  }
  asio::io_context io_;
};

// The emulator closes a connection idle for 1 s. Waited for on its ledger, never slept past.
TEST_F(PoolOverTls, ReusesConnectionsAndNoticesTheServerClosingAnIdleOneThenResumesTls) {
  Emulator emulator(dir_ / "emulator", {"--idle-timeout-s", "1"});
  std::vector<std::size_t> reported;  // outlives the pool, which reports at shutdown too
  api::HttpsPool pool(io_.get_executor(), settings_for(emulator));
  pool.set_open_connections_observer([&](std::size_t open) { reported.push_back(open); });
  for (int i = 0; i < 5; ++i) {
    auto r = call(pool, api::Method::get, true);
    ASSERT_TRUE(r.has_response()) << r.failure_detail;
    EXPECT_EQ(r.status, 401);
  }
  EXPECT_EQ(pool.stats().connects, 1u);  // five calls, one keep-alive connection
  EXPECT_EQ(pool.open_connections(), 1u);

  ASSERT_TRUE(wait_for_idle_closes(emulator, 1));
  // Between calls the pool sees the close: its count (and the gauge fed from it) drops to 0.
  // It used to stay 1 until a call met the dead connection.
  ASSERT_TRUE(run_until(io_, [&] { return pool.open_connections() == 0; }, 10s));
  EXPECT_EQ(reported, (std::vector<std::size_t>{1, 0}));

  auto next = call(pool, api::Method::post, false);  // even a call not safe to repeat works
  ASSERT_TRUE(next.has_response()) << next.failure_detail;
  EXPECT_EQ(pool.stats().connects, 2u);
  EXPECT_EQ(pool.stats().resumed, 1u);  // the new connection resumed the TLS session
  EXPECT_EQ(reported, (std::vector<std::size_t>{1, 0, 1}));
}

// A reused connection that dies under a call without an answer (what meeting a connection
// the server has just closed looks like; the emulator resets it, so it happens every time):
// a call safe to repeat is replayed once on a fresh connection, any other is reported.
TEST_F(PoolOverTls, ReplaysOnlyReplaySafeCallsWhenAReusedConnectionDiesUnderThem) {
  Emulator emulator(dir_ / "emulator");
  api::HttpsPool pool(io_.get_executor(), settings_for(emulator));
  ASSERT_TRUE(call(pool, api::Method::get, true).has_response());
  ASSERT_EQ(emulator.post("/_emulator/fail-next", R"({"action":"reset-before","method":"GET"})").status, 200);
  auto replayed = call(pool, api::Method::get, true);
  ASSERT_TRUE(replayed.has_response()) << replayed.failure_detail;
  EXPECT_EQ(pool.stats().connects, 2u);
  EXPECT_EQ(pool.stats().resumed, 1u);

  // Not safe to repeat (like run): the failure is reported, not replayed.
  ASSERT_EQ(emulator.post("/_emulator/fail-next", R"({"action":"reset-before","method":"POST"})").status, 200);
  auto unsafe = call(pool, api::Method::post, false);
  EXPECT_EQ(unsafe.failure, api::TransportFailure::reset) << unsafe.failure_detail;
  EXPECT_EQ(pool.stats().connects, 2u);
  EXPECT_EQ(pool.stats().open, 0u);
  EXPECT_EQ(ledger_count(emulator, "faults.resetsBefore"), 2);
  auto next = call(pool, api::Method::post, false);  // a fresh connection works
  EXPECT_TRUE(next.has_response()) << next.failure_detail;
}

// A 103 Early Hints before every answer (as a proxy or load balancer may send): each call
// gets its own final answer. Taking the 103 as the answer would also leave the real one to be
// read as the next call's, so two calls on one connection show it.
TEST_F(PoolOverTls, InterimAnswersAreReadPastToTheFinalOne) {
  Emulator emulator(dir_ / "emulator", {"--interim-103", "1"});
  api::HttpsPool pool(io_.get_executor(), settings_for(emulator));
  for (int i = 0; i < 3; ++i) {
    auto r = call(pool, i == 1 ? api::Method::post : api::Method::get, true);
    ASSERT_TRUE(r.has_response()) << r.failure_detail;
    EXPECT_EQ(r.status, 401) << r.body;  // no token: the emulator's own answer
    EXPECT_NE(r.body.find("token"), std::string::npos) << r.body;
  }
  EXPECT_EQ(pool.stats().connects, 1u);
  EXPECT_EQ(ledger_count(emulator, "faults.interim103"), 3);
}

TEST_F(PoolOverTls, SlowServerMeetsTheRequestDeadline) {
  Emulator emulator(dir_ / "emulator", {"--latency-ms", "5000"});
  auto settings = settings_for(emulator);
  settings.request_timeout = 300ms;
  api::HttpsPool pool(io_.get_executor(), settings);
  auto started = std::chrono::steady_clock::now();
  auto r = call(pool, api::Method::get, true);  // every answer is delayed 5 s
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.failure, api::TransportFailure::timeout) << r.failure_detail;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 4s);
  // The deadline is kept by the pool's watchdog, which stops when no call is in flight (no
  // ticking while idle) and starts again with the next call.
  ASSERT_EQ(emulator.post("/_emulator/config", R"({"latencyMs":0})").status, 200);
  auto again = call(pool, api::Method::get, true);
  EXPECT_TRUE(again.has_response()) << again.failure_detail;
  ASSERT_EQ(emulator.post("/_emulator/config", R"({"latencyMs":5000})").status, 200);
  auto late = call(pool, api::Method::get, true);
  EXPECT_EQ(late.failure, api::TransportFailure::timeout) << late.failure_detail;
}

TEST_F(PoolOverTls, SilentServerMeetsTheConnectDeadlineInTheHandshake) {
  Emulator emulator(dir_ / "emulator");  // for its CA file only
  auto settings = settings_for(emulator);
  // Takes TCP connections (the kernel does, from the backlog) and never says a word of TLS.
  asio::ip::tcp::acceptor silent(io_, {asio::ip::make_address("127.0.0.1"), 0});
  settings.port = silent.local_endpoint().port();
  settings.connect_timeout = 300ms;
  api::HttpsPool pool(io_.get_executor(), settings);
  auto started = std::chrono::steady_clock::now();
  auto r = call(pool, api::Method::get, true);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.failure, api::TransportFailure::timeout) << r.failure_detail;
  EXPECT_NE(r.failure_detail.find("handshake"), std::string::npos) << r.failure_detail;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 4s);
  EXPECT_EQ(pool.open_connections(), 0u);
}

TEST_F(PoolOverTls, ClosedPortFailsAsConnectFailure) {
  Emulator emulator(dir_ / "emulator");
  auto settings = settings_for(emulator);
  {
    // A port that was just free: nothing listens there.
    asio::ip::tcp::acceptor probe(io_, {asio::ip::make_address("127.0.0.1"), 0});
    settings.port = probe.local_endpoint().port();
  }
  api::HttpsPool pool(io_.get_executor(), settings);
  auto r = call(pool, api::Method::get, true);
  EXPECT_EQ(r.failure, api::TransportFailure::connect) << r.failure_detail;
}

TEST_F(PoolOverTls, RefusedCertificateIsHeldNotRetriedPerCall) {
  Emulator emulator(dir_ / "emulator");
  Emulator other(dir_ / "other");
  auto settings = settings_for(emulator);
  settings.ca_file = other.ca_file().string();
  api::HttpsPool pool(io_.get_executor(), settings);
  auto first = call(pool, api::Method::get, true);
  EXPECT_EQ(first.failure, api::TransportFailure::certificate);
  EXPECT_NE(first.failure_detail.find("certificate not accepted"), std::string::npos) << first.failure_detail;
  auto second = call(pool, api::Method::get, true);
  EXPECT_EQ(second.failure, api::TransportFailure::certificate);
  EXPECT_NE(second.failure_detail.find("not trying again"), std::string::npos) << second.failure_detail;
  EXPECT_EQ(pool.stats().connects, 0u);
}

// A SIGHUP's api.blocked_retry reaches a running pool (HttpsPool::set_certificate_hold): the
// next refusal holds connecting for the new time, not the one the pool was built with.
TEST_F(PoolOverTls, ReloadedCertificateHoldIsUsedFromTheNextRefusal) {
  Emulator emulator(dir_ / "emulator");
  Emulator other(dir_ / "other");
  auto settings = settings_for(emulator);
  settings.ca_file = other.ca_file().string();
  settings.certificate_hold = 60s;
  ManualClock clock;  // the hold is measured on the pool's clock
  api::HttpsPool pool(io_.get_executor(), settings, clock);
  pool.set_certificate_hold(5s);
  EXPECT_EQ(call(pool, api::Method::get, true).failure, api::TransportFailure::certificate);
  EXPECT_EQ(pool.stats().lookups, 1u);  // one connection tried
  clock.advance(4s);
  auto held = call(pool, api::Method::get, true);
  EXPECT_NE(held.failure_detail.find("not trying again before 5 s"), std::string::npos) << held.failure_detail;
  EXPECT_EQ(pool.stats().lookups, 1u);
  clock.advance(1s);
  auto again = call(pool, api::Method::get, true);
  EXPECT_EQ(again.failure, api::TransportFailure::certificate);
  EXPECT_NE(again.failure_detail.find("certificate not accepted"), std::string::npos) << again.failure_detail;
  EXPECT_EQ(pool.stats().lookups, 2u);  // tried again after 5 s
}

}  // namespace
