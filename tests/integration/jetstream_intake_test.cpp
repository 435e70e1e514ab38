// Role: the JetStream intake end to end: real daemons against the emulator over TLS and a real
// three-node NATS cluster (R3 work-queue stream, shared durable pull consumer). Each message
// becomes exactly one job with one run, named UUIDv5(fleet namespace, "<stream>:<seq>");
// exactly one outcome per stream sequence reaches the outcome subject (a stream on it keeps
// them), a bad message gets a failed outcome with the parser's words, a daemon killed mid-run
// loses nothing and runs nothing twice, a message delivered max_deliver times ends failed,
// and nothing is left pending.
#include <thread>

#include "jetstream_fixture.hpp"
#include "ledger.hpp"

using namespace std::chrono_literals;
using namespace submitd::testing;
namespace js = submitd::jetstream;

namespace {

class JetStreamIntake : public JetStreamFixture {
 protected:
  JetStreamIntake() : JetStreamFixture("js-intake") {}
};

}  // namespace

TEST_F(JetStreamIntake, EachMessageBecomesOneJobAndOneOutcomeAndLeavesTheStream) {
  make_streams(30s, 5);
  Emulator emulator(dir_ / "emulator");
  publish_requests(1, 150);
  client_->publish("req.jobs", R"({"templateId": 7})", "bad-1");  // seq 151: refused by the parser
  const auto socket = dir_ / "control.sock";
  DaemonUnderTest daemon(dir_ / "d", emulator,
                         daemon_toml(30s, 5, "\n[control]\nsocket = \"" + socket.string() + "\"\n"));
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
  const auto status = unix_http(socket, "GET", "/v1/status", "");
  EXPECT_NE(status.body.find(R"("jetstream":{"stream":"REQ","consumer":"fleet","connected":true,"heldMessages":0,"workingMessages":0)"),
            std::string::npos)
      << status.body;
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

TEST_F(JetStreamIntake, JetStreamInitMakesWhatTheFleetNeedsOnceAndTheDaemonRunsOnIt) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "d", emulator, daemon_toml(30s, 5, "kv_bucket = \"requests\"\n"));
  std::string out;
  ASSERT_EQ(run_cli({"jetstream", "init", "--config", daemon.config_file().string()}, dir_ / "init.log", out), 0) << out;
  for (const char* made : {"created stream REQ (work queue, subjects req.>, 3 replicas)",
                           "created consumer fleet of stream REQ (ack wait 30 s, max deliver 5)",
                           "created stream OUTCOMES (outcomes on bytenite.outcomes", "created key-value bucket requests"}) {
    EXPECT_NE(out.find(made), std::string::npos) << made << " in:\n" << out;
  }
  ASSERT_EQ(run_cli({"jetstream", "init", "--config", daemon.config_file().string()}, dir_ / "init2.log", out), 0);
  EXPECT_EQ(out.find("created"), std::string::npos) << out;
  EXPECT_NE(out.find("kept (exists) key-value bucket requests"), std::string::npos) << out;

  client_->ensure_consumer({"OUTCOMES", "check", "", 5s, 1000});
  reader_ = std::make_unique<js::PullConsumer>(*client_, "OUTCOMES", "check", "");
  daemon.start();
  publish_requests(1, 3);
  ASSERT_TRUE(outcomes_reach(3, 30s));
  EXPECT_TRUE(nothing_pending());
  js::KeyValue index(*client_, "requests", 3600s, 3);
  EXPECT_EQ(index.get("rid.it-2"), job_of(2));
  EXPECT_EQ(daemon.stop(), 0);

  // A config without the intake: told, not guessed at.
  DaemonUnderTest plain(dir_ / "plain", emulator);
  EXPECT_EQ(run_cli({"jetstream", "init", "--config", plain.config_file().string()}, dir_ / "init3.log", out), 2);
  EXPECT_NE(out.find("has no [intake.jetstream] servers"), std::string::npos) << out;
}

TEST_F(JetStreamIntake, AStreamMadeAnewUnderTheSameNamespaceIsRefusedNotAnsweredWithOldJobs) {
  make_streams(30s, 5);
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "d", emulator, daemon_toml(30s, 5));
  daemon.start();
  publish_requests(1, 1);
  ASSERT_TRUE(outcomes_reach(1, 30s));
  EXPECT_EQ(daemon.stop(), 0);
  // Deleted and made again: its first message is sequence 1 again, which would be job_of(1).
  client_->delete_stream("REQ");
  make_streams(30s, 5);
  publish_requests(2, 1);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return read_file(daemon.log_file()).find("was made anew") != std::string::npos; }, 30s))
      << read_file(daemon.log_file());
  read_outcomes();
  EXPECT_EQ(outcomes_[1].size(), 1u);  // only the first stream's
  EXPECT_EQ(client_->consumer_counts("REQ", "fleet").pending, 1u);  // left in the stream, not worked
  EXPECT_EQ(ledger_count(emulator, "totals.jobs"), 1);
  EXPECT_EQ(daemon.metric("bytenite_submitd_jetstream_connected"), 0);
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(JetStreamIntake, AConsumerThatGivesUpBeforeMaxDeliverIsRefusedAndInitSaysSo) {
  make_streams(30s, 3);  // the consumer stops delivering a message after 3 deliveries
  Emulator emulator(dir_ / "emulator");
  publish_requests(1, 1);
  DaemonUnderTest daemon(dir_ / "d", emulator, daemon_toml(30s, 5));  // the daemon would end it at 5
  std::string out;
  // Everything exists: only the consumer's limit makes it fail.
  EXPECT_EQ(run_cli({"jetstream", "init", "--config", daemon.config_file().string(), "--outcome-stream", "OUT"},
                    dir_ / "init.log", out),
            1)
      << out;
  EXPECT_NE(out.find("kept (exists) stream OUT"), std::string::npos) << out;
  EXPECT_NE(out.find("problem: consumer fleet delivers a message at most 3 times"), std::string::npos) << out;
  daemon.start();
  ASSERT_TRUE(eventually([&] { return read_file(daemon.log_file()).find("at most 3 times") != std::string::npos; }, 30s))
      << read_file(daemon.log_file());
  EXPECT_EQ(client_->consumer_counts("REQ", "fleet").pending, 1u);  // left in the stream, not worked
  EXPECT_EQ(ledger_count(emulator, "totals.jobs"), 0);
  EXPECT_EQ(daemon.metric("bytenite_submitd_jetstream_connected"), 0);
  EXPECT_EQ(daemon.stop(), 0);
}
