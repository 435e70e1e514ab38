// Role: the JetStream fleet under trouble (issue 20's acceptance run): 20,000 messages, three
// daemons on one three-node cluster, the emulator 10 ms away, failing 3% of calls and
// resetting 1% of connections after answering. Mid-run one daemon is SIGKILLed (and started again later with
// its own state) and one NATS node is stopped (and started again). Every message must be
// exactly one job with one run, exactly one outcome per stream sequence must reach the
// outcome subject, and nothing may be left pending. Label "fleet": the release suite runs
// it; the sanitizer builds skip it (minutes there, and their integration tests already
// cover the same code).
#include <algorithm>
#include <array>

#include "jetstream_fixture.hpp"
#include "ledger.hpp"

using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

class JetStreamFleet : public JetStreamFixture {
 protected:
  JetStreamFleet() : JetStreamFixture("js-fleet") {}
};

constexpr int kMessages = 20'000;

}  // namespace

TEST_F(JetStreamFleet, TwentyThousandMessagesThreeDaemonsAKilledDaemonAndAStoppedNode) {
  make_streams(5s, 20);
  Emulator emulator(dir_ / "emulator", {"--fail-503", "0.03", "--reset-after", "0.01", "--retry-after-s", "0",
                                                  "--latency-ms", "10"});
  publish_requests(1, kMessages);
  std::array<std::unique_ptr<DaemonUnderTest>, 3> daemons;
  for (int i = 0; i < 3; ++i) {
    daemons[i] = std::make_unique<DaemonUnderTest>(dir_ / ("d" + std::to_string(i)), emulator,
                                                   daemon_toml(5s, 20, "", 32));
    daemons[i]->start();
  }
  // The moments of trouble go by the jobs the emulator holds (the outcomes are read behind).
  const auto jobs_reach = [&](int n) {
    return eventually([&] { return ledger_count(emulator, "totals.jobs") >= n; }, 300s);
  };
  ASSERT_TRUE(jobs_reach(3'000));
  daemons[0]->kill_hard();  // what it held comes back to the others after the ack wait
  ASSERT_TRUE(jobs_reach(6'000));
  cluster_->stop_node(1);
  ASSERT_TRUE(jobs_reach(9'000));
  cluster_->start_node(1);
  ASSERT_TRUE(jobs_reach(14'000));
  daemons[0]->start();  // the same state directory: its journal knows what it accepted
  ASSERT_TRUE(outcomes_reach(kMessages, 600s)) << outcomes_.size();
  EXPECT_TRUE(nothing_pending());
  expect_exactly_once(emulator, kMessages, kMessages);
  // The kill was felt: what the killed daemon held was delivered again (to the others, or to
  // itself once restarted, whichever pulled first after the ack wait; a restarted daemon's
  // metrics are its new process's).
  const std::string redelivered = "bytenite_submitd_jetstream_messages_total{event=\"redelivered\"}";
  double again = 0;
  for (auto& d : daemons) again += std::max(0.0, d->metric(redelivered));
  EXPECT_GT(again, 0);
  for (auto& d : daemons) EXPECT_EQ(d->stop(), 0);
}
