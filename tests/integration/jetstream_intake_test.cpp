// Role: the JetStream intake end to end: real daemons against the emulator over TLS and a real
// three-node NATS cluster (R3 work-queue stream, shared durable pull consumer). Each message
// becomes exactly one job with one run, named UUIDv5(fleet namespace, "<stream>:<seq>");
// exactly one outcome per stream sequence reaches the outcome subject (a stream on it keeps
// them), a bad message gets a failed outcome with the parser's words, a daemon killed mid-run
// loses nothing and runs nothing twice, a message delivered max_deliver times ends failed,
// and nothing is left pending.
#include <simdjson.h>

#include <map>
#include <thread>

#include "harness.hpp"
#include "jetstream/jetstream_client.hpp"
#include "ledger.hpp"
#include "nats_cluster.hpp"
#include "util/uuid.hpp"

using namespace std::chrono_literals;
using namespace submitd::testing;
namespace js = submitd::jetstream;

namespace {

constexpr const char* kFleet = "0f6d1a52-5c3e-4c1b-9a7e-2b8f3c4d5e6f";

class JetStreamIntake : public TempDirTest {
 protected:
  JetStreamIntake() : TempDirTest("js-intake") {}
  void SetUp() override {
    TempDirTest::SetUp();
    cluster_ = std::make_unique<NatsCluster>(dir_ / "nats");
    client_ = std::make_unique<js::Client>(js::ConnectSettings{cluster_->urls(), {}, {}, 5000ms});
  }
  void TearDown() override {
    client_.reset();
    cluster_.reset();
    TempDirTest::TearDown();
  }
  // The request stream and its shared consumer; the outcome stream and a reader of it.
  void make_streams(std::chrono::seconds ack_wait, int max_deliver) {
    client_->ensure_stream({"REQ", {"req.>"}, 3, true});
    client_->ensure_consumer({"REQ", "fleet", "req.>", ack_wait, max_deliver});
    client_->ensure_stream({"OUT", {"bytenite.outcomes"}, 3, false});
    client_->ensure_consumer({"OUT", "check", "", 60s, 1});
    reader_ = std::make_unique<js::PullConsumer>(*client_, "OUT", "check", "");
  }
  std::string daemon_toml(std::chrono::seconds ack_wait, int max_deliver, const std::string& more = "") const {
    std::string servers;
    for (const auto& u : cluster_->urls()) servers += (servers.empty() ? "\"" : ", \"") + u + "\"";
    return "max_inflight = 16\n\n[intake.jetstream]\nservers = [" + servers +
           "]\nstream = \"REQ\"\nconsumer = \"fleet\"\nsubject = \"req.>\"\nbatch = 32\n" +
           "ack_wait_s = " + std::to_string(ack_wait.count()) + "\nmax_deliver = " + std::to_string(max_deliver) +
           "\nnamespace = \"" + kFleet + "\"\n" + more + "\n[metrics]\nlisten = \"127.0.0.1:0\"\n";
  }
  void publish_requests(int first, int count) {
    for (int n = first; n < first + count; ++n) client_->publish("req.jobs", request_line(n), "req-" + std::to_string(n));
  }
  // Reads what reached the outcome subject since the last call: outcome JSON by sequence.
  void read_outcomes() {
    for (;;) {
      auto batch = reader_->fetch(256, 300ms);
      if (batch.empty()) return;
      for (const auto& d : batch) {
        simdjson::dom::element doc;
        ASSERT_EQ(parser_.parse(d.data).get(doc), simdjson::SUCCESS) << d.data;
        uint64_t seq = 0;
        ASSERT_EQ(doc["seq"].get(seq), simdjson::SUCCESS) << d.data;
        EXPECT_EQ(std::string_view(doc["stream"]), "REQ");
        outcomes_[seq].push_back(d.data);
        reader_->ack_sync(d);
      }
    }
  }
  bool outcomes_reach(std::size_t n, std::chrono::milliseconds timeout) {
    return eventually(
        [&] {
          read_outcomes();
          return outcomes_.size() >= n;
        },
        timeout);
  }
  bool nothing_pending() {
    return eventually(
        [&] {
          const auto c = client_->consumer_counts("REQ", "fleet");
          return c.pending == 0 && c.ack_pending == 0;
        },
        30s);
  }
  static std::string job_of(std::uint64_t seq) {
    return submitd::uuid_v5(*submitd::Uuid::parse(kFleet), "REQ:" + std::to_string(seq)).str();
  }
  // Every sequence in [1, n] has exactly one outcome; each submitted one names its job, which
  // ran exactly once; and the emulator holds no other job.
  void expect_exactly_once(Emulator& emulator, std::uint64_t n, std::uint64_t expected_jobs) {
    read_outcomes();
    ASSERT_EQ(outcomes_.size(), n);
    auto ledger = read_ledger(emulator);
    EXPECT_EQ(ledger.size(), expected_jobs);
    for (std::uint64_t seq = 1; seq <= n; ++seq) {
      ASSERT_EQ(outcomes_[seq].size(), 1u) << "seq " << seq;
      simdjson::dom::element doc;
      ASSERT_EQ(parser_.parse(outcomes_[seq][0]).get(doc), simdjson::SUCCESS);
      if (std::string_view(doc["status"]) != "submitted") continue;
      EXPECT_EQ(std::string_view(doc["jobId"]), job_of(seq)) << outcomes_[seq][0];
      EXPECT_TRUE(ran_once(ledger[job_of(seq)])) << "seq " << seq;
    }
  }

  std::unique_ptr<NatsCluster> cluster_;
  std::unique_ptr<js::Client> client_;
  std::unique_ptr<js::PullConsumer> reader_;
  std::map<std::uint64_t, std::vector<std::string>> outcomes_;
  simdjson::dom::parser parser_;
};

}  // namespace

TEST_F(JetStreamIntake, EachMessageBecomesOneJobAndOneOutcomeAndLeavesTheStream) {
  make_streams(30s, 5);
  Emulator emulator(dir_ / "emulator");
  publish_requests(1, 150);
  client_->publish("req.jobs", R"({"templateId": 7})", "bad-1");  // seq 151: refused by the parser
  DaemonUnderTest daemon(dir_ / "d", emulator, daemon_toml(30s, 5));
  daemon.start();
  ASSERT_TRUE(outcomes_reach(151, 60s)) << outcomes_.size() << " outcomes";
  expect_exactly_once(emulator, 151, 150);
  simdjson::dom::element bad;
  ASSERT_EQ(parser_.parse(outcomes_[151][0]).get(bad), simdjson::SUCCESS);
  EXPECT_EQ(std::string_view(bad["status"]), "failed");
  EXPECT_EQ(std::string_view(bad["error"]["stage"]), "validate");
  EXPECT_NE(std::string_view(bad["error"]["message"]).find("templateId"), std::string_view::npos) << outcomes_[151][0];
  EXPECT_EQ(std::string_view(bad["requestId"]), "REQ:151");  // named like a spool line without one
  simdjson::dom::element good;
  ASSERT_EQ(parser_.parse(outcomes_[3][0]).get(good), simdjson::SUCCESS);
  EXPECT_EQ(std::string_view(good["requestId"]), "it-3");
  EXPECT_TRUE(nothing_pending());
  EXPECT_TRUE(eventually([&] { return daemon.metric("bytenite_submitd_jetstream_messages_total{event=\"acked\"}") == 151; }, 10s));
  EXPECT_EQ(daemon.metric("bytenite_submitd_jetstream_connected"), 1);
  // Nothing went through the spool.
  EXPECT_EQ(daemon.count_files("done", ".outcome.jsonl"), 0u);
  EXPECT_EQ(daemon.stop(), 0);
  expect_no_secrets(read_file(daemon.log_file()), "daemon log");
}

TEST_F(JetStreamIntake, ADaemonKilledMidRunLosesNothingAndAnotherRunsNothingTwice) {
  make_streams(2s, 10);
  Emulator emulator(dir_ / "emulator", {"--latency-ms", "30"});
  publish_requests(1, 300);
  DaemonUnderTest first(dir_ / "first", emulator, daemon_toml(2s, 10));
  first.start();
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "totals.jobs") >= 60; }, 60s));
  first.kill_hard();  // its held messages come back after the ack wait, delivered again
  DaemonUnderTest second(dir_ / "second", emulator, daemon_toml(2s, 10));
  second.start();
  ASSERT_TRUE(outcomes_reach(300, 120s)) << outcomes_.size() << " outcomes";
  expect_exactly_once(emulator, 300, 300);
  EXPECT_TRUE(nothing_pending());
  EXPECT_GT(second.metric("bytenite_submitd_jetstream_messages_total{event=\"redelivered\"}"), 0);
  EXPECT_EQ(second.stop(), 0);
}

TEST_F(JetStreamIntake, AMessageDeliveredMaxDeliverTimesEndsFailedAndIsNotWorked) {
  make_streams(1s, 2);
  Emulator emulator(dir_ / "emulator");
  publish_requests(1, 1);
  {
    // A consumer that takes it and never answers, like a daemon that dies on it.
    js::PullConsumer taker(*client_, "REQ", "fleet", "req.>");
    ASSERT_EQ(taker.fetch(1, 2000ms).size(), 1u);
  }
  std::this_thread::sleep_for(1500ms);  // past its ack wait: the next delivery is its last
  DaemonUnderTest daemon(dir_ / "d", emulator, daemon_toml(1s, 2));
  daemon.start();
  ASSERT_TRUE(outcomes_reach(1, 30s));
  simdjson::dom::element doc;
  ASSERT_EQ(parser_.parse(outcomes_[1][0]).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(std::string_view(doc["status"]), "failed");
  EXPECT_EQ(std::string_view(doc["error"]["stage"]), "intake");
  EXPECT_NE(std::string_view(doc["error"]["message"]).find("max_deliver"), std::string_view::npos);
  EXPECT_EQ(ledger_count(emulator, "totals.jobs"), 0);  // not worked
  EXPECT_TRUE(nothing_pending());
  EXPECT_TRUE(eventually([&] { return daemon.metric("bytenite_submitd_jetstream_messages_total{event=\"terminated\"}") == 1; }, 10s));
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(JetStreamIntake, TheSameRequestIdAtTwoDaemonsIsOneJobAndOneDuplicate) {
  make_streams(30s, 5);
  Emulator emulator(dir_ / "emulator");
  const std::string fleet_index = "kv_bucket = \"requests\"\n";
  DaemonUnderTest first(dir_ / "first", emulator, daemon_toml(30s, 5, fleet_index));
  first.start();
  client_->publish("req.jobs", request_line(1), "a");
  ASSERT_TRUE(outcomes_reach(1, 30s));
  EXPECT_EQ(first.stop(), 0);
  // The second daemon has a journal of its own that never saw "it-1": only the fleet's index knows.
  DaemonUnderTest second(dir_ / "second", emulator, daemon_toml(30s, 5, fleet_index));
  second.start();
  client_->publish("req.jobs", request_line(1), "b");
  ASSERT_TRUE(outcomes_reach(2, 30s));
  simdjson::dom::element winner, loser;
  ASSERT_EQ(parser_.parse(outcomes_[1][0]).get(winner), simdjson::SUCCESS);
  EXPECT_EQ(std::string_view(winner["status"]), "submitted");
  simdjson::dom::parser other;
  ASSERT_EQ(other.parse(outcomes_[2][0]).get(loser), simdjson::SUCCESS);
  EXPECT_EQ(std::string_view(loser["status"]), "duplicate") << outcomes_[2][0];
  EXPECT_EQ(std::string_view(loser["jobId"]), job_of(1));  // the winner's job
  EXPECT_EQ(std::string_view(loser["requestId"]), "it-1");
  auto ledger = read_ledger(emulator);
  EXPECT_EQ(ledger.size(), 1u);
  EXPECT_TRUE(ran_once(ledger[job_of(1)]));
  EXPECT_TRUE(nothing_pending());
  js::KeyValue index(*client_, "requests", 3600s, 3);
  EXPECT_EQ(index.get("rid.it-1"), job_of(1));
  EXPECT_EQ(second.stop(), 0);
}
