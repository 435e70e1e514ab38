// Role: unit tests of what a JetStream message means (submit/message_rules.hpp) and how much
// the loop pulls (jetstream/message_loop.hpp's pull_size).
#include <gtest/gtest.h>
#include <simdjson.h>

#include "jetstream/fleet_members.hpp"
#include "jetstream/message_loop.hpp"
#include "jetstream/request_index.hpp"
#include "spool/outcome.hpp"
#include "spool/request_identity.hpp"
#include "submit/message_rules.hpp"

using namespace submitd;
using namespace submitd::submit;

namespace {
const Uuid kFleet = *Uuid::parse("6ba7b811-9dad-11d1-80b4-00c04fd430c8");
}

TEST(MessageRules, EveryDaemonOfTheFleetNamesAMessageAlike) {
  const auto id = message_identity(kFleet, "REQ", 42);
  EXPECT_EQ(id.claim_id, "REQ");
  EXPECT_EQ(id.line, 42u);
  EXPECT_EQ(id.request_key, "REQ:42");
  // UUIDv5(namespace, "<stream>:<stream sequence>"), as the issue defines it.
  EXPECT_EQ(id.job_id, uuid_v5(kFleet, "REQ:42").str());
  EXPECT_EQ(message_identity(kFleet, "REQ", 42).job_id, id.job_id);
  EXPECT_NE(message_identity(kFleet, "REQ", 43).job_id, id.job_id);
  EXPECT_NE(message_identity(kFleet, "OTHER", 42).job_id, id.job_id);
  const Uuid other_fleet = *Uuid::parse("6ba7b812-9dad-11d1-80b4-00c04fd430c8");
  EXPECT_NE(message_identity(other_fleet, "REQ", 42).job_id, id.job_id);
}

TEST(MessageRules, ALaterDeliveryReadsTheJobAndTheLastAllowedOneEndsTheMessage) {
  EXPECT_EQ(delivery_action(1, 5), DeliveryAction::work);
  EXPECT_EQ(delivery_action(2, 5), DeliveryAction::read_job_first);
  EXPECT_EQ(delivery_action(4, 5), DeliveryAction::read_job_first);
  EXPECT_EQ(delivery_action(5, 5), DeliveryAction::give_up);
  EXPECT_EQ(delivery_action(9, 5), DeliveryAction::give_up);  // a consumer set up with more
  EXPECT_EQ(delivery_action(1, 1), DeliveryAction::work);     // the only delivery is worked
  EXPECT_EQ(delivery_action(0, 5), DeliveryAction::work);
  const auto why = give_up_message(5, "job-1");
  EXPECT_NE(why.find("delivered 5 times"), std::string::npos) << why;
  EXPECT_NE(why.find("max_deliver"), std::string::npos) << why;
  EXPECT_NE(why.find("job-1"), std::string::npos) << why;
  EXPECT_NE(too_large_message(2000, 1000).find("spool.max_request_bytes"), std::string::npos);
}

TEST(MessageRules, AnOutcomeMessageIsTheOutcomeRecordWithItsStreamAndSequence) {
  spool::OutcomeRecord r;
  r.line = 7;
  r.request_id = "r-\"7\"";
  r.job_id = "j";
  r.status = spool::SubmitStatus::submitted;
  const std::string line = spool::outcome_json_line(r);
  const std::string message = message_outcome(line, "RE\"Q", 7);
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_EQ(message.substr(0, line.size() - 2), line.substr(0, line.size() - 2));  // the record as is
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(message).get(doc), simdjson::SUCCESS) << message;
  EXPECT_EQ(std::string_view(doc["stream"]), "RE\"Q");
  EXPECT_EQ(uint64_t(doc["seq"]), 7u);
  EXPECT_EQ(std::string_view(doc["requestId"]), "r-\"7\"");
  EXPECT_EQ(std::string_view(doc["status"]), "submitted");
  // Whatever it is given, the result is one JSON object.
  for (std::string_view odd : {"", "{}", "{}\n", "not json"}) {
    const std::string m = message_outcome(odd, "S", 1);
    EXPECT_EQ(parser.parse(m).error(), simdjson::SUCCESS) << m;
  }
}

TEST(MessageRules, PullsAreSizedByTheRoomLeft) {
  EXPECT_EQ(jetstream::pull_size(64, 512, 0), 64u);
  EXPECT_EQ(jetstream::pull_size(64, 512, 500), 12u);
  EXPECT_EQ(jetstream::pull_size(64, 512, 512), 0u);
  EXPECT_EQ(jetstream::pull_size(64, 512, 600), 0u);  // more held than room (capacity lowered)
}

TEST(MessageRules, ARequestIdBecomesAKeyTheBucketTakesAndStaysDistinct) {
  EXPECT_EQ(jetstream::index_key("billing-2024_07"), "rid.billing-2024_07");
  EXPECT_EQ(jetstream::index_key("a.b c/=\xC3\xA9"), "rid.a=2Eb=20c=2F=3D=C3=A9");
  EXPECT_NE(jetstream::index_key("a.b"), jetstream::index_key("a=2Eb"));  // '=' is escaped too
  for (char c : jetstream::index_key("x*>?\t\"'{}")) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                         c == '_' || c == '=' || c == '.';
    EXPECT_TRUE(allowed) << c;
  }
}

TEST(MessageRules, AStreamMadeAnewUnderTheSameNamespaceIsNotWorked) {
  const std::string ns = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";
  const std::string record = jetstream::stream_record_text(ns, "REQ", 1000);
  EXPECT_FALSE(jetstream::stream_record_problem("", ns, "REQ", 1000));      // nothing recorded yet
  EXPECT_FALSE(jetstream::stream_record_problem(record, ns, "REQ", 1000));  // the same stream
  const auto problem = jetstream::stream_record_problem(record, ns, "REQ", 2000);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("made anew"), std::string::npos) << *problem;
  EXPECT_NE(problem->find("intake.jetstream.namespace"), std::string::npos) << *problem;
  // A new namespace, or another stream: a fresh start, recorded anew.
  EXPECT_FALSE(jetstream::stream_record_problem(record, "0f6d1a52-5c3e-4c1b-9a7e-2b8f3c4d5e6f", "REQ", 2000));
  EXPECT_FALSE(jetstream::stream_record_problem(record, ns, "OTHER", 2000));
  EXPECT_FALSE(jetstream::stream_record_problem("garbage", ns, "REQ", 2000));
}

TEST(MessageRules, AFollowedMessagesFinalRecordIsItsOutcomeWithFinalUnderAnIdOfItsOwn) {
  const std::string line = "{\"v\":1,\"line\":9,\"requestId\":\"r\",\"status\":\"submitted\"}\n";
  const std::string record = final_record(line, R"({"state":"JOB_STATE_COMPLETE","results":[]})", "REQ", 9);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(record).get(doc), simdjson::SUCCESS) << record;
  EXPECT_EQ(std::string_view(doc["status"]), "submitted");
  EXPECT_EQ(std::string_view(doc["final"]["state"]), "JOB_STATE_COMPLETE");
  EXPECT_EQ(std::string_view(doc["stream"]), "REQ");
  EXPECT_EQ(uint64_t(doc["seq"]), 9u);
  EXPECT_EQ(record.rfind(line.substr(0, line.size() - 2), 0), 0u);  // the record as it was, then final
  // Its id differs from the first record's (the outcome stream keeps one of each).
  EXPECT_EQ(final_message_id("REQ", 9), "REQ:9:final");
  EXPECT_NE(final_message_id("REQ", 9), spool::request_key("REQ", 9));
}

TEST(MessageRules, TheFleetsCapIsSharedAmongTheMembersWhoseLastWriteIsRecent) {
  using namespace std::chrono_literals;
  const std::int64_t now = 100'000'000'000;  // the server's time of this member's own last write
  std::map<std::string, std::int64_t> written{{"member.a", now}, {"member.b", now - 5'000'000'000},
                                              {"member.c", now - 7'000'000'000}};
  EXPECT_EQ(jetstream::live_members(written, now, 6s), 2u);  // c's last write is too old: gone
  EXPECT_EQ(jetstream::live_members(written, now, 8s), 3u);
  written.clear();
  EXPECT_EQ(jetstream::live_members(written, now, 6s), 1u);  // itself, at least
  EXPECT_DOUBLE_EQ(jetstream::member_share(600, 3), 200);
  EXPECT_DOUBLE_EQ(jetstream::member_share(600, 0), 600);
  EXPECT_EQ(jetstream::bucket_key("member.", "host-1:/var/lib/x"), "member.host-1=3A=2Fvar=2Flib=2Fx");
}

TEST(MessageRules, AConsumerThatDeliversFewerTimesThanMaxDeliverIsNotWorked) {
  EXPECT_FALSE(jetstream::consumer_problem("fleet", 5, 5));
  EXPECT_FALSE(jetstream::consumer_problem("fleet", 8, 5));   // the daemon ends it at 5
  EXPECT_FALSE(jetstream::consumer_problem("fleet", -1, 5));  // unlimited
  EXPECT_FALSE(jetstream::consumer_problem("fleet", 0, 5));
  const auto problem = jetstream::consumer_problem("fleet", 3, 5);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("at most 3 times"), std::string::npos) << *problem;
  EXPECT_NE(problem->find("intake.jetstream.max_deliver = 3"), std::string::npos) << *problem;
}
