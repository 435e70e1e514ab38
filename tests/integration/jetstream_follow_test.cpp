// Role: the JetStream intake's job following and fleet-wide cost cap, end to end (real
// daemons, the emulator over TLS, a real three-node NATS cluster). Following: each followed
// message's job end reaches the outcome subject as its outcome record again with "final",
// once per message, also for jobs that ended while their daemon was SIGKILLed; and nothing is
// left behind. Cost cap: with a fleet bucket, submit.max_jobs_per_minute is the fleet's: the
// live daemons share it, so three daemons together start no more runs than the cap allows.
#include <thread>

#include "jetstream_fixture.hpp"
#include "ledger.hpp"

using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

class JetStreamFollow : public JetStreamFixture {
 protected:
  JetStreamFollow() : JetStreamFixture("js-follow") {}

  // Every sequence in [1, n] has exactly one final record, naming its job, in `state`.
  void expect_one_final_each(std::uint64_t n, std::string_view state) {
    read_outcomes();
    ASSERT_EQ(finals_.size(), n);
    for (std::uint64_t seq = 1; seq <= n; ++seq) {
      ASSERT_EQ(finals_[seq].size(), 1u) << "seq " << seq;
      simdjson::dom::element doc;
      ASSERT_EQ(parser_.parse(finals_[seq][0]).get(doc), simdjson::SUCCESS) << finals_[seq][0];
      EXPECT_EQ(std::string_view(doc["status"]), "submitted");
      EXPECT_EQ(std::string_view(doc["jobId"]), job_of(seq));
      EXPECT_EQ(std::string_view(doc["final"]["state"]), state) << finals_[seq][0];
      EXPECT_EQ(std::uint64_t(doc["seq"]), seq);
    }
  }
};

constexpr const char* kFollow = "\n[follow]\nenabled = true\npoll_interval_s = 1\n";

}  // namespace

TEST_F(JetStreamFollow, EachFollowedMessagesEndIsPublishedOnceEvenAcrossAKill) {
  make_streams(30s, 5);
  // Jobs run 4 s: the daemon is killed after every message was acked and before most ended.
  Emulator emulator(dir_ / "emulator", {"--job-duration-ms", "4000"});
  publish_requests(1, 60);
  DaemonUnderTest daemon(dir_ / "d", emulator, daemon_toml(30s, 5) + kFollow);
  daemon.start();
  ASSERT_TRUE(outcomes_reach(60, 60s)) << outcomes_.size() << " outcomes";
  EXPECT_TRUE(nothing_pending());  // acked at submission, not held while the jobs run
  daemon.kill_hard();
  read_outcomes();
  EXPECT_LT(finals_.size(), 60u) << "the jobs ended before the kill: the test proves nothing";
  daemon.start();  // its journal has the followed jobs: it follows them to their end
  ASSERT_TRUE(eventually(
      [&] {
        read_outcomes();
        return finals_.size() >= 60;
      },
      90s))
      << finals_.size() << " final records";
  expect_exactly_once(emulator, 60, 60);
  expect_one_final_each(60, "JOB_STATE_COMPLETE");
  // Nothing left: no job followed, no final record waiting for the stream.
  EXPECT_TRUE(eventually([&] { return daemon.metric("bytenite_submitd_jobs_followed") == 0; }, 10s));
  EXPECT_EQ(daemon.stop(), 0);
  // A restart publishes nothing again: the journal kept nothing of the messages.
  daemon.start();
  std::this_thread::sleep_for(3s);
  read_outcomes();
  EXPECT_EQ(finals_.size(), 60u);
  for (const auto& [seq, records] : finals_) EXPECT_EQ(records.size(), 1u) << "seq " << seq;
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(JetStreamFollow, TheFleetsDaemonsShareOneJobsPerMinuteCap) {
  make_streams(30s, 5);
  Emulator emulator(dir_ / "emulator");
  publish_requests(1, 400);  // more than the cap lets through in the test's time: all stay busy
  // 120 a minute for the fleet: 2 a second in all, 2/3 of one a second each.
  const std::string fleet = daemon_toml(30s, 5, "kv_bucket = \"requests\"\n") + "\n[submit]\nmax_jobs_per_minute = 120\n";
  std::vector<std::unique_ptr<DaemonUnderTest>> daemons;
  for (int i = 0; i < 3; ++i) {
    daemons.push_back(std::make_unique<DaemonUnderTest>(dir_ / ("d" + std::to_string(i)), emulator, fleet));
    daemons.back()->start();
  }
  const auto all_counted = [&] {
    for (auto& d : daemons) {
      if (d->metric("bytenite_submitd_jetstream_fleet_members") != 3) return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually(all_counted, 30s));
  // A second's grace for the shares to settle, then 12 s measured.
  std::this_thread::sleep_for(1s);
  const int64_t before = ledger_count(emulator, "totals.runs");
  const auto from = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(12s);
  const int64_t after = ledger_count(emulator, "totals.runs");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
  // At most the fleet's cap (2 a second) and a burst of one per daemon; each daemon alone
  // would have allowed 6 a second in all.
  EXPECT_LE(after - before, static_cast<int64_t>(2 * seconds) + 3) << after - before << " runs in " << seconds << " s";
  // And the cap is used, not starved (loose: a loaded machine is slower, never faster).
  EXPECT_GE(after - before, static_cast<int64_t>(seconds / 2)) << after - before << " runs in " << seconds << " s";
  // A member that stops gives its share to the others at once.
  EXPECT_EQ(daemons[2]->stop(), 0);
  EXPECT_TRUE(eventually([&] { return daemons[0]->metric("bytenite_submitd_jetstream_fleet_members") == 2; }, 10s));
  EXPECT_NE(read_file(daemons[0]->log_file()).find("2 live members share submit.max_jobs_per_minute = 120: 60.0 a minute"),
            std::string::npos);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(daemons[i]->stop(), 0);
}
