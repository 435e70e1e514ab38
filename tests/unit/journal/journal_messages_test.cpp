// Role: the journal's records of JetStream messages (claim: the stream, line: the sequence)
// on a real SQLite file: a message's rows go when its job is not followed, stay while it is,
// an ended followed message is found with its outcome and end, and forget_line drops both
// rows of one message and nothing else.
#include <gtest/gtest.h>

#include <functional>

#include "journal/journal_store.hpp"
#include "journal_file.hpp"

using namespace submitd::journal;

namespace {

class JournalMessages : public submitd::journal::testing::JournalFileTest {
 protected:
  // Message `seq` of stream REQ accepted and finished; followed (until `deadline`) when given.
  void finished(JournalStore& s, std::uint64_t seq, bool followed) {
    const std::string job = "job-" + std::to_string(seq);
    s.begin();
    s.accept(Accept{"REQ", seq, "REQ:" + std::to_string(seq), false, job, 1000});
    Finish f{"REQ", seq, "{\"line\":" + std::to_string(seq) + ",\"status\":\"submitted\"}\n", 0, std::nullopt, job};
    if (followed) f.follow_deadline_ms = 9000;
    s.finish(f);
    s.commit();
  }
  void in_one(JournalStore& s, const std::function<void()>& what) {
    s.begin();
    what();
    s.commit();
  }
};

TEST_F(JournalMessages, AMessageWhoseJobIsNotFollowedLeavesAndAFollowedOneStays) {
  JournalStore s(options_);
  finished(s, 1, false);
  finished(s, 2, true);
  finished(s, 3, false);
  in_one(s, [&] {
    s.forget_unfollowed("REQ", 1);
    s.forget_unfollowed("REQ", 2);  // followed: kept
  });
  EXPECT_FALSE(s.row("REQ", 1));
  ASSERT_TRUE(s.row("REQ", 2));
  ASSERT_TRUE(s.row("REQ", 3));  // another line: untouched
  // At a start, every line of the stream at once: only the followed one stays.
  in_one(s, [&] { s.forget_unfollowed("REQ", std::nullopt); });
  EXPECT_FALSE(s.row("REQ", 3));
  EXPECT_TRUE(s.row("REQ", 2));
  EXPECT_EQ(s.followed_of_claim("REQ").size(), 1u);
}

TEST_F(JournalMessages, EndedFollowedMessagesComeWithTheirOutcomeAndGoWhenForgotten) {
  JournalStore s(options_);
  for (std::uint64_t seq = 1; seq <= 4; ++seq) finished(s, seq, true);
  finished(s, 1, true);  // the same line again (a redelivery): still one followed job
  EXPECT_TRUE(s.ended_messages("REQ", 10).empty());  // none has ended
  in_one(s, [&] {
    s.set_final("job-2", R"({"state":"JOB_STATE_COMPLETE"})");
    s.set_final("job-3", R"({"state":"JOB_STATE_FAILED"})", true);  // results still downloading
    s.set_final("job-4", R"({"state":"JOB_STATE_ABORTED"})");
  });
  auto ended = s.ended_messages("REQ", 10);
  ASSERT_EQ(ended.size(), 2u);
  EXPECT_EQ(ended[0].line, 2u);
  EXPECT_EQ(ended[0].job_id, "job-2");
  EXPECT_EQ(ended[0].outcome_line, "{\"line\":2,\"status\":\"submitted\"}\n");
  EXPECT_EQ(ended[0].final_json, R"({"state":"JOB_STATE_COMPLETE"})");
  EXPECT_EQ(ended[1].line, 4u);
  EXPECT_EQ(s.ended_messages("REQ", 1).size(), 1u);  // at most the limit
  EXPECT_TRUE(s.ended_messages("OTHER", 10).empty());
  in_one(s, [&] { s.forget_line("REQ", 2); });
  EXPECT_FALSE(s.row("REQ", 2));
  ended = s.ended_messages("REQ", 10);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].line, 4u);
  EXPECT_EQ(s.followed_of_claim("REQ").size(), 3u);  // 1, 3 and 4
  // The downloads done: it comes too.
  in_one(s, [&] { s.finish_downloads("job-3", R"({"state":"JOB_STATE_FAILED","results":[]})"); });
  EXPECT_EQ(s.ended_messages("REQ", 10).size(), 2u);
}

TEST_F(JournalMessages, TheLineIndexIsMadeOnceAndASecondConnectionReadsBesideTheWriter) {
  {
    JournalStore writer(options_);
    finished(writer, 7, true);
    in_one(writer, [&] { writer.set_final("job-7", R"({"state":"JOB_STATE_COMPLETE"})"); });
    JournalStore reader(options_);  // as the lookup connection is opened, beside the writer
    ASSERT_EQ(reader.ended_messages("REQ", 10).size(), 1u);
  }
  JournalStore again(options_);  // the index made once is found again
  EXPECT_EQ(again.ended_messages("REQ", 10).size(), 1u);
}

}  // namespace
