// Role: the JetStream client (lib/jetstream) against a real three-node NATS cluster on
// 127.0.0.1 (tests/integration/nats_cluster.hpp): an R3 work-queue stream and its durable pull
// consumer, de-duplication by Nats-Msg-Id, each message's stream sequence and delivery count,
// AckSync, redelivery after the ack wait (and none while marked in progress), the end of
// deliveries at max_deliver, create-only keys, and a node stopped and started under it all.
#include <set>
#include <thread>

#include "harness.hpp"
#include "jetstream/jetstream_client.hpp"
#include "nats_cluster.hpp"

using namespace std::chrono_literals;
using namespace submitd::testing;
namespace js = submitd::jetstream;

namespace {

class JetStreamClient : public TempDirTest {
 protected:
  JetStreamClient() : TempDirTest("jetstream") {}
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
  // An R3 work-queue stream "REQ" on req.> and its durable consumer "fleet".
  void make_queue(std::chrono::seconds ack_wait, int max_deliver) {
    client_->ensure_stream({"REQ", {"req.>"}, 3, true});
    client_->ensure_consumer({"REQ", "fleet", "req.>", ack_wait, max_deliver});
  }
  std::unique_ptr<NatsCluster> cluster_;
  std::unique_ptr<js::Client> client_;
};

}  // namespace

TEST_F(JetStreamClient, AWorkQueueDeliversEachMessageOnceWithItsSequenceAndIsEmptyOnceAcked) {
  make_queue(30s, 5);
  make_queue(30s, 5);  // set-up again: what exists is kept
  EXPECT_EQ(client_->publish("req.a", R"({"templateId":"t1"})", "m-1").sequence, 1u);
  const auto again = client_->publish("req.a", R"({"templateId":"t1"})", "m-1");
  EXPECT_TRUE(again.duplicate);  // the same Nats-Msg-Id: kept once
  EXPECT_EQ(client_->publish("req.b", R"({"templateId":"t2"})", "m-2").sequence, 2u);

  js::PullConsumer consumer(*client_, "REQ", "fleet", "req.>");
  auto batch = consumer.fetch(10, 2000ms);
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].stream_sequence, 1u);
  EXPECT_EQ(batch[0].delivered, 1u);
  EXPECT_EQ(batch[0].subject, "req.a");
  EXPECT_EQ(batch[0].data, R"({"templateId":"t1"})");
  EXPECT_EQ(batch[1].stream_sequence, 2u);
  EXPECT_EQ(client_->consumer_counts("REQ", "fleet").ack_pending, 2u);
  for (const auto& d : batch) consumer.ack_sync(d);
  EXPECT_TRUE(consumer.fetch(10, 300ms).empty());
  const auto counts = client_->consumer_counts("REQ", "fleet");
  EXPECT_EQ(counts.pending, 0u);
  EXPECT_EQ(counts.ack_pending, 0u);
}

TEST_F(JetStreamClient, AnUnackedMessageComesBackUntilMaxDeliverButNotWhileInProgress) {
  make_queue(1s, 2);
  client_->publish("req.x", "poison", "p-1");
  js::PullConsumer consumer(*client_, "REQ", "fleet", "req.>");
  auto first = consumer.fetch(1, 2000ms);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].delivered, 1u);
  // Marked in progress twice a second for 2.5 s: its ack wait (1 s) starts again each time.
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(500ms);
    consumer.in_progress(first[0]);
  }
  EXPECT_TRUE(consumer.fetch(1, 200ms).empty()) << "redelivered while in progress";
  // Left alone: delivered again after the ack wait, with its count.
  auto second = consumer.fetch(1, 3000ms);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].stream_sequence, first[0].stream_sequence);
  EXPECT_EQ(second[0].delivered, 2u);
  // max_deliver = 2: never a third time.
  EXPECT_TRUE(consumer.fetch(1, 2500ms).empty());
}

TEST_F(JetStreamClient, KeysAreCreateOnlyTheFirstWriterWins) {
  js::KeyValue index(*client_, "ids", 3600s, 3);
  EXPECT_TRUE(index.create("billing-1", "job-a"));
  EXPECT_FALSE(index.create("billing-1", "job-b"));
  EXPECT_EQ(index.get("billing-1"), "job-a");
  EXPECT_FALSE(index.get("never"));
  js::KeyValue same(*client_, "ids", 3600s, 3);  // bound again, not made anew
  EXPECT_FALSE(same.create("billing-1", "job-c"));
}

TEST_F(JetStreamClient, ANodeStoppedAndStartedAgainLosesNothing) {
  make_queue(30s, 5);
  js::PullConsumer consumer(*client_, "REQ", "fleet", "req.>");
  for (int i = 0; i < 20; ++i) client_->publish("req.n", "m" + std::to_string(i), "n-" + std::to_string(i));
  cluster_->stop_node(0);
  // R3 keeps serving with two of three; the client moves to another node when it must.
  std::set<std::uint64_t> seen;
  for (int i = 20; i < 40; ++i) {
    ASSERT_TRUE(eventually(
        [&] {
          try {
            client_->publish("req.n", "m" + std::to_string(i), "n-" + std::to_string(i));
            return true;
          } catch (const js::JetStreamError&) {
            return false;
          }
        },
        20s));
  }
  cluster_->start_node(0);
  ASSERT_TRUE(eventually(
      [&] {
        try {
          for (const auto& d : consumer.fetch(16, 500ms)) {
            consumer.ack_sync(d);
            seen.insert(d.stream_sequence);
          }
        } catch (const js::JetStreamError&) {
        }
        return seen.size() == 40;
      },
      30s));
  EXPECT_EQ(*seen.begin(), 1u);
  EXPECT_EQ(*seen.rbegin(), 40u);
}
