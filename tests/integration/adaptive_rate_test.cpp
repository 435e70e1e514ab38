// The adaptive account rate against the real emulator with an account limit (issue 17): the
// daemon finds the limit without being told it, its refusals stay a small share of its calls,
// every request still becomes exactly one job with one run, and /v1/status says what the rate
// is and why. (How close to the limit it holds, and how fast it follows a changed limit, are
// measured by bench/submit_bench.py adaptive, not asserted here: those are timings.)
#include <gtest/gtest.h>

#include <string>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

class AdaptiveRateApi : public TempDirTest {
 protected:
  AdaptiveRateApi() : TempDirTest("adaptive") {}
  fs::path socket() const { return dir_ / "control.sock"; }
};

TEST_F(AdaptiveRateApi, FindsAnAccountLimitItWasNotToldWithFewRefusals) {
  // 200 calls/s for the key, Retry-After on the 429s; the daemon has no rate configured.
  Emulator emulator(dir_ / "emulator", {"--rate-limit", "200"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator,
                         "adaptive = true\n[control]\nsocket = \"" + socket().string() + "\"\n");
  constexpr int kRequests = 1200;  // 4,800 calls: about 25 s at the limit
  daemon.drop("batch.jsonl", request_lines(0, kRequests));
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 240s))
      << read_file(daemon.log_file());

  auto status = unix_http(socket(), "GET", "/v1/status", "");
  EXPECT_NE(status.body.find("\"apiRate\":{\"adaptive\":true,\"limitPerSecond\":"), std::string::npos) << status.body;
  EXPECT_EQ(status.body.find("\"limitPerSecond\":null"), std::string::npos) << "a limit was found: " << status.body;
  EXPECT_EQ(daemon.stop(), 0);

  const int64_t refused = ledger_count(emulator, "throttled429");
  const int64_t calls = ledger_count(emulator, "requests");
  EXPECT_GT(refused, 0) << "the daemon met the limit";
  EXPECT_LT(static_cast<double>(refused), 0.05 * static_cast<double>(calls))
      << refused << " refusals among " << calls << " calls";
  EXPECT_EQ(ledger_count(emulator, "totals.jobs"), kRequests);
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), kRequests);
  for (const auto& [id, job] : read_ledger(emulator)) EXPECT_TRUE(ran_once(job)) << id;
}

TEST_F(AdaptiveRateApi, OffTheFixedRateAloneApplies) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator,
                         "adaptive = false\nrate_limit_per_second = 50\n[control]\nsocket = \"" +
                             socket().string() + "\"\n");
  daemon.drop("few.jsonl", request_lines(0, 20));
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 60s))
      << read_file(daemon.log_file());
  auto status = unix_http(socket(), "GET", "/v1/status", "");
  EXPECT_NE(status.body.find("\"apiRate\":{\"adaptive\":false,\"limitPerSecond\":50.0"), std::string::npos)
      << status.body;
  EXPECT_EQ(daemon.stop(), 0);
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 20);
}

}  // namespace
