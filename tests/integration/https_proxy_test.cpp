// Role: the API reached through an HTTP CONNECT proxy (tests/integration/connect_proxy.*), over
// real TLS to the emulator on 127.0.0.1. The pool: tunnels are reused as keep-alive
// connections, TLS is verified end to end and resumed through a new tunnel, every connection
// resolves its name again, a refused or silent proxy is a clear transport failure. The daemon:
// HTTPS_PROXY with credentials carries every job (the emulator's ledger has them all), NO_PROXY
// bypasses the proxy, a refusing proxy loses nothing (requests wait, the log names the
// refusal, they finish once the proxy lets them through), a socks proxy stops the start, and
// neither the API key nor the proxy password ever appears in a log.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "api/https_pool.hpp"
#include "api/proxy_settings.hpp"
#include "connect_proxy.hpp"
#include "harness.hpp"
#include "pool_call.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace submitd;
using namespace submitd::testing;

namespace {

constexpr const char* kProxyUser = "it-proxy-user";
constexpr const char* kProxyPassword = "proxy-pw-5be1c07a";

std::string basic_credentials() { return "Basic " + api::base64_encode(std::string(kProxyUser) + ":" + kProxyPassword); }

// http://user:password@127.0.0.1:PORT
std::string url_with_credentials(const ConnectProxy& proxy) {
  return fmt::format("http://{}:{}@127.0.0.1:{}", kProxyUser, kProxyPassword, proxy.port());
}

// Nothing secret in `text`: not the API key, not the proxy password, not the Basic value.
void expect_no_proxy_secrets(const std::string& text, const std::string& what) {
  EXPECT_EQ(text.find(DaemonUnderTest::kApiKey), std::string::npos) << what << " holds the API key";
  EXPECT_EQ(text.find(kProxyPassword), std::string::npos) << what << " holds the proxy password";
  EXPECT_EQ(text.find(api::base64_encode(std::string(kProxyUser) + ":" + kProxyPassword)), std::string::npos)
      << what << " holds the proxy credentials (base64)";
}

class PoolThroughProxy : public TempDirTest {
 protected:
  PoolThroughProxy() : TempDirTest("proxy-pool") {}
  api::PoolSettings settings_for(const Emulator& e, const std::string& proxy_url) {
    api::PoolSettings s;
    s.host = "localhost";
    s.port = e.port();
    s.ca_file = e.ca_file().string();
    s.connections = 1;
    s.connect_timeout = 2000ms;
    s.proxy = api::parse_proxy_url(proxy_url, "HTTPS_PROXY");
    return s;
  }
  api::HttpResult call(api::HttpsPool& pool) { return run_pool_call(io_, pool, api::Method::get, true); }
  asio::io_context io_;
};

TEST_F(PoolThroughProxy, TunnelsAreKeptAliveTlsIsResumedThroughANewTunnelAndNamesAreResolvedPerConnect) {
  Emulator emulator(dir_ / "emulator", {"--idle-timeout-s", "1"});
  ConnectProxy proxy(basic_credentials());
  api::HttpsPool pool(io_.get_executor(), settings_for(emulator, url_with_credentials(proxy)));
  for (int i = 0; i < 5; ++i) {
    auto r = call(pool);
    ASSERT_TRUE(r.has_response()) << r.failure_detail;
    EXPECT_EQ(r.status, 401);
  }
  EXPECT_EQ(proxy.tunnels(), 1u);  // five calls, one tunnel
  EXPECT_EQ(pool.stats().connects, 1u);
  EXPECT_EQ(pool.stats().lookups, 1u);

  // The emulator closes the idle connection, so the tunnel ends and the pool sees it close.
  ASSERT_TRUE(wait_for_idle_closes(emulator, 1));
  ASSERT_TRUE(run_until(io_, [&] { return pool.open_connections() == 0; }, 10s));
  auto again = call(pool);
  ASSERT_TRUE(again.has_response()) << again.failure_detail;
  EXPECT_EQ(proxy.tunnels(), 2u);
  EXPECT_EQ(pool.stats().connects, 2u);
  EXPECT_EQ(pool.stats().resumed, 1u);  // TLS resumed end to end, through the new tunnel
  // The proxy's name was looked up again for the new connection (nothing cached), and the
  // proxy was asked for the API host by name, so it resolved that again too.
  EXPECT_EQ(pool.stats().lookups, 2u);
  auto targets = proxy.targets();
  ASSERT_EQ(targets.size(), 2u);
  for (const auto& t : targets) EXPECT_EQ(t, "localhost:" + std::to_string(emulator.port()));
  EXPECT_EQ(proxy.refusals(), 0u);
}

TEST_F(PoolThroughProxy, DirectConnectionsResolveTheApiHostOnEveryConnectToo) {
  Emulator emulator(dir_ / "emulator", {"--idle-timeout-s", "1"});
  auto settings = settings_for(emulator, "http://127.0.0.1:1");
  settings.proxy.reset();
  api::HttpsPool pool(io_.get_executor(), settings);
  ASSERT_TRUE(call(pool).has_response());
  ASSERT_TRUE(wait_for_idle_closes(emulator, 1));
  ASSERT_TRUE(run_until(io_, [&] { return pool.open_connections() == 0; }, 10s));
  ASSERT_TRUE(call(pool).has_response());
  EXPECT_EQ(pool.stats().connects, 2u);
  EXPECT_EQ(pool.stats().lookups, 2u);
}

TEST_F(PoolThroughProxy, RefusedConnectIsAConnectFailureNamingTheAnswer) {
  Emulator emulator(dir_ / "emulator");
  ConnectProxy proxy(basic_credentials());
  {
    // No credentials: 407, and the reason says the proxy wants some.
    api::HttpsPool pool(io_.get_executor(), settings_for(emulator, proxy.url()));
    auto r = call(pool);
    EXPECT_EQ(r.failure, api::TransportFailure::connect);
    EXPECT_NE(r.failure_detail.find("proxy " + proxy.url() + " refused CONNECT: 407 Proxy Authentication Required"),
              std::string::npos)
        << r.failure_detail;
    EXPECT_NE(r.failure_detail.find("wants credentials"), std::string::npos) << r.failure_detail;
  }
  {
    // Wrong password: 407, "not accepted", and the password is not in the reason.
    std::string wrong = fmt::format("http://{}:wrong-{}@127.0.0.1:{}", kProxyUser, kProxyPassword, proxy.port());
    api::HttpsPool pool(io_.get_executor(), settings_for(emulator, wrong));
    auto r = call(pool);
    EXPECT_EQ(r.failure, api::TransportFailure::connect);
    EXPECT_NE(r.failure_detail.find("credentials in HTTPS_PROXY were not accepted"), std::string::npos)
        << r.failure_detail;
    expect_no_proxy_secrets(r.failure_detail, "the failure reason");
  }
  {
    proxy.set_mode(ConnectProxy::Mode::refuse_403);
    api::HttpsPool pool(io_.get_executor(), settings_for(emulator, url_with_credentials(proxy)));
    auto r = call(pool);
    EXPECT_EQ(r.failure, api::TransportFailure::connect);
    EXPECT_NE(r.failure_detail.find("refused CONNECT: 403 Forbidden"), std::string::npos) << r.failure_detail;
    proxy.set_mode(ConnectProxy::Mode::tunnel);
    auto later = call(pool);  // the same pool connects once the proxy lets it
    EXPECT_TRUE(later.has_response()) << later.failure_detail;
  }
  EXPECT_EQ(proxy.refusals(), 3u);
  EXPECT_EQ(proxy.tunnels(), 1u);
}

TEST_F(PoolThroughProxy, TlsIsVerifiedEndToEndThroughTheTunnel) {
  Emulator emulator(dir_ / "emulator");
  Emulator other(dir_ / "other");
  ConnectProxy proxy;
  auto settings = settings_for(emulator, proxy.url());
  settings.ca_file = other.ca_file().string();  // the tunnel works, the certificate is not trusted
  api::HttpsPool pool(io_.get_executor(), settings);
  auto r = call(pool);
  EXPECT_EQ(r.failure, api::TransportFailure::certificate) << r.failure_detail;
  EXPECT_NE(r.failure_detail.find("certificate not accepted"), std::string::npos) << r.failure_detail;
  EXPECT_EQ(proxy.tunnels(), 1u);
}

TEST_F(PoolThroughProxy, SilentProxyMeetsTheConnectDeadlineAndUnknownProxyHostFailsToResolve) {
  Emulator emulator(dir_ / "emulator");
  // Accepts TCP connections (the kernel does) but never answers CONNECT.
  asio::io_context silent_io;
  asio::ip::tcp::acceptor silent(silent_io, {asio::ip::make_address("127.0.0.1"), 0});
  auto settings = settings_for(emulator, "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()));
  settings.connect_timeout = 300ms;
  {
    api::HttpsPool pool(io_.get_executor(), settings);
    auto started = std::chrono::steady_clock::now();
    auto r = call(pool);
    EXPECT_EQ(r.failure, api::TransportFailure::timeout) << r.failure_detail;
    EXPECT_NE(r.failure_detail.find("did not answer CONNECT within 300 ms"), std::string::npos) << r.failure_detail;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  }
  {
    settings.proxy = api::parse_proxy_url("http://no-such-proxy.invalid:3128", "HTTPS_PROXY");
    settings.connect_timeout = 2000ms;
    api::HttpsPool pool(io_.get_executor(), settings);
    auto r = call(pool);
    EXPECT_FALSE(r.has_response());
    EXPECT_NE(r.failure_detail.find("proxy http://no-such-proxy.invalid:3128"), std::string::npos) << r.failure_detail;
    EXPECT_EQ(pool.stats().lookups, 1u);
  }
}

class DaemonThroughProxy : public TempDirTest {
 protected:
  DaemonThroughProxy() : TempDirTest("proxy-daemon") {}
};

TEST_F(DaemonThroughProxy, EveryJobGoesThroughTheProxyWithCredentialsThatAreNeverLogged) {
  Emulator emulator(dir_ / "emulator");
  ConnectProxy proxy(basic_credentials());
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "connections = 4\n");
  daemon.set_env("HTTPS_PROXY", url_with_credentials(proxy));
  daemon.set_env("NO_PROXY", "example.com,10.0.0.0/8");  // does not cover localhost
  std::string body = request_lines(0, 40);
  daemon.drop("forty.jsonl", body);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 60s))
      << read_file(daemon.log_file());
  auto ledger = read_ledger(emulator);
  ASSERT_EQ(ledger.size(), 40u);
  for (const auto& [id, job] : ledger) {
    EXPECT_EQ(job.creates, 1) << id;
    EXPECT_TRUE(ran_once(job)) << id;
  }
  EXPECT_GE(proxy.tunnels(), 1u);
  EXPECT_LE(proxy.tunnels(), 4u);  // keep-alive tunnels, at most one per pool connection here
  EXPECT_EQ(proxy.refusals(), 0u);
  EXPECT_GT(proxy.bytes_relayed(), 40u * 4u * 100u);  // the calls really went through it
  for (const auto& t : proxy.targets()) EXPECT_EQ(t, "localhost:" + std::to_string(emulator.port()));
  EXPECT_EQ(daemon.stop(), 0);
  std::string log = read_file(daemon.log_file());
  EXPECT_NE(log.find("API through proxy " + proxy.url() + " (from HTTPS_PROXY)"), std::string::npos) << log;
  expect_no_proxy_secrets(log, "the daemon's log");
  for (const auto& line : all_outcomes(daemon)) expect_no_proxy_secrets(line, "an outcome");
}

TEST_F(DaemonThroughProxy, NoProxyCoveringTheApiHostBypassesTheProxy) {
  Emulator emulator(dir_ / "emulator");
  ConnectProxy proxy;
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  daemon.set_env("https_proxy", proxy.url());
  daemon.set_env("no_proxy", "127.0.0.1,localhost");
  daemon.drop("three.jsonl", request_line(1) + "\n" + request_line(2) + "\n" + request_line(3) + "\n");
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 60s))
      << read_file(daemon.log_file());
  EXPECT_EQ(read_ledger(emulator).size(), 3u);
  EXPECT_EQ(proxy.connections(), 0u);
  EXPECT_EQ(daemon.stop(), 0);
  EXPECT_NE(read_file(daemon.log_file()).find("API direct: no_proxy exempts localhost from the proxy"),
            std::string::npos)
      << read_file(daemon.log_file());
}

TEST_F(DaemonThroughProxy, RefusingProxyLosesNothingAndTheLogNamesTheRefusal) {
  Emulator emulator(dir_ / "emulator");
  ConnectProxy proxy(basic_credentials());
  proxy.set_mode(ConnectProxy::Mode::refuse_407);
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "retry_base_ms = 50\nretry_cap_ms = 300\n");
  daemon.set_env("HTTPS_PROXY", url_with_credentials(proxy));
  std::string body = request_lines(0, 5);
  daemon.drop("five.jsonl", body);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return proxy.refusals() >= 3; }, 30s)) << read_file(daemon.log_file());
  ASSERT_TRUE(eventually(
      [&] {
        return read_file(daemon.log_file()).find("refused CONNECT: 407 Proxy Authentication Required") !=
               std::string::npos;
      },
      30s))
      << read_file(daemon.log_file());
  // Waiting, not failed: nothing placed, the file still being worked, no job at the API.
  EXPECT_EQ(daemon.count_files("failed", ""), 0u);
  EXPECT_EQ(daemon.count_files("done", ""), 0u);
  EXPECT_EQ(daemon.count_files("active", ".jsonl"), 1u);
  EXPECT_EQ(proxy.tunnels(), 0u);

  proxy.set_mode(ConnectProxy::Mode::tunnel);  // the proxy lets the daemon through again
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 60s))
      << read_file(daemon.log_file());
  EXPECT_EQ(daemon.count_files("failed", ""), 0u);
  auto ledger = read_ledger(emulator);
  EXPECT_EQ(ledger.size(), 5u);
  for (const auto& [id, job] : ledger) EXPECT_TRUE(ran_once(job)) << id;
  EXPECT_GE(proxy.tunnels(), 1u);
  EXPECT_EQ(daemon.stop(), 0);
  expect_no_proxy_secrets(read_file(daemon.log_file()), "the daemon's log");
}

TEST_F(DaemonThroughProxy, UnsupportedProxySchemeStopsTheStartWithoutShowingThePassword) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  for (bool check_only : {true, false}) {
    std::vector<std::string> argv{(bin_dir() / "bytenite-submitd").string(), "--config",
                                  daemon.config_file().string()};
    if (check_only) argv.push_back("--check-config");
    auto log = dir_ / (check_only ? "check.log" : "start.log");
    ChildProcess p(argv, log,
                   {{"HTTPS_PROXY", fmt::format("socks5://{}:{}@127.0.0.1:1080", kProxyUser, kProxyPassword)},
                    {"https_proxy", ""}});
    EXPECT_EQ(p.wait_exit(10s), 2);
    std::string out = read_file(log);
    EXPECT_NE(out.find("proxy setting refused: HTTPS_PROXY: proxy scheme \"socks5\" is not supported"),
              std::string::npos)
        << out;
    expect_no_proxy_secrets(out, "the daemon's output");
  }
}

}  // namespace
