// Role: what the JetStream intake tests share (see jetstream_fixture.hpp).
#include "jetstream_fixture.hpp"

#include "ledger.hpp"
#include "util/uuid.hpp"

namespace submitd::testing {
using namespace std::chrono_literals;
namespace js = submitd::jetstream;

void JetStreamFixture::SetUp() {
  TempDirTest::SetUp();
  cluster_ = std::make_unique<NatsCluster>(dir_ / "nats");
  client_ = std::make_unique<js::Client>(js::ConnectSettings{cluster_->urls(), {}, {}, 5000ms});
}

void JetStreamFixture::TearDown() {
  reader_.reset();
  client_.reset();
  cluster_.reset();
  TempDirTest::TearDown();
}

void JetStreamFixture::make_streams(std::chrono::seconds ack_wait, int max_deliver) {
  client_->ensure_stream({"REQ", {"req.>"}, 3, true});
  client_->ensure_consumer({"REQ", "fleet", "req.>", ack_wait, max_deliver});
  client_->ensure_stream({"OUT", {"bytenite.outcomes"}, 3, false});
  client_->ensure_consumer({"OUT", "check", "", 5s, 1000});
  reader_ = std::make_unique<js::PullConsumer>(*client_, "OUT", "check", "");
}

std::string JetStreamFixture::daemon_toml(std::chrono::seconds ack_wait, int max_deliver, const std::string& more,
                                          int max_inflight) const {
  std::string servers;
  for (const auto& u : cluster_->urls()) servers += (servers.empty() ? "\"" : ", \"") + u + "\"";
  return "max_inflight = " + std::to_string(max_inflight) + "\n\n[intake.jetstream]\nservers = [" + servers +
         "]\nstream = \"REQ\"\nconsumer = \"fleet\"\nsubject = \"req.>\"\nbatch = 32\n" +
         "ack_wait_s = " + std::to_string(ack_wait.count()) + "\nmax_deliver = " + std::to_string(max_deliver) +
         "\nnamespace = \"" + kFleet + "\"\n" + more + "\n[metrics]\nlisten = \"127.0.0.1:0\"\n";
}

void JetStreamFixture::publish_requests(int first, int count) {
  std::vector<js::Client::Outgoing> batch;
  const auto send = [&] {
    const auto stored = client_->publish_all(batch);
    for (std::size_t i = 0; i < stored.size(); ++i) ASSERT_TRUE(stored[i]) << batch[i].msg_id;
    batch.clear();
  };
  for (int n = first; n < first + count; ++n) {
    batch.push_back({"req.jobs", request_line(n), "req-" + std::to_string(n)});
    if (batch.size() == 500) send();
  }
  if (!batch.empty()) send();
}

void JetStreamFixture::read_outcomes() {
  for (;;) {
    std::vector<js::Delivery> batch;
    try {
      batch = reader_->fetch(256, 300ms);
    } catch (const js::JetStreamError&) {
      return;
    }
    if (batch.empty()) return;
    for (const auto& d : batch) {
      simdjson::dom::element doc;
      ASSERT_EQ(parser_.parse(d.data).get(doc), simdjson::SUCCESS) << d.data;
      uint64_t seq = 0;
      ASSERT_EQ(doc["seq"].get(seq), simdjson::SUCCESS) << d.data;
      EXPECT_EQ(std::string_view(doc["stream"]), "REQ");
      // A message of OUT read again (the reader's ack was lost) is counted once.
      simdjson::dom::element final_state;
      auto& into = doc["final"].get(final_state) == simdjson::SUCCESS ? finals_ : outcomes_;
      if (seen_.insert(d.stream_sequence).second) into[seq].push_back(d.data);
      try {
        reader_->ack(d);  // not waited for: one read again is counted once (above)
      } catch (const js::JetStreamError&) {
        return;  // delivered to the reader again after its ack wait
      }
    }
  }
}

bool JetStreamFixture::outcomes_reach(std::size_t n, std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        read_outcomes();
        return outcomes_.size() >= n;
      },
      timeout);
}

bool JetStreamFixture::nothing_pending() {
  return eventually(
      [&] {
        try {
          const auto c = client_->consumer_counts("REQ", "fleet");
          return c.pending == 0 && c.ack_pending == 0;
        } catch (const js::JetStreamError&) {
          return false;
        }
      },
      30s);
}

std::string JetStreamFixture::job_of(std::uint64_t seq) {
  return submitd::uuid_v5(*submitd::Uuid::parse(kFleet), "REQ:" + std::to_string(seq)).str();
}

void JetStreamFixture::expect_exactly_once(Emulator& emulator, std::uint64_t n, std::uint64_t expected_jobs) {
  read_outcomes();
  ASSERT_EQ(outcomes_.size(), n);
  auto ledger = read_ledger(emulator);
  EXPECT_EQ(ledger.size(), expected_jobs);
  std::size_t not_once = 0;
  for (std::uint64_t seq = 1; seq <= n; ++seq) {
    ASSERT_EQ(outcomes_[seq].size(), 1u) << "seq " << seq << ": " << outcomes_[seq].front();
    simdjson::dom::element doc;
    ASSERT_EQ(parser_.parse(outcomes_[seq][0]).get(doc), simdjson::SUCCESS);
    if (std::string_view(doc["status"]) != "submitted") continue;
    EXPECT_EQ(std::string_view(doc["jobId"]), job_of(seq)) << outcomes_[seq][0];
    auto once = ran_once(ledger[job_of(seq)]);
    if (!once && ++not_once <= 10) ADD_FAILURE() << "seq " << seq << ": " << once.message();
  }
  EXPECT_EQ(not_once, 0u);
}

}  // namespace submitd::testing
