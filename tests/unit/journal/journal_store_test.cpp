// Role: the journal's records on a real SQLite file in a temp dir: acceptance and its
// verdicts (fresh, resumed after a restart, finished with the stored outcome, duplicate
// requestId within retention), progress, release of a failed request's requestId,
// compaction of placed files, pruning of expired requestIds, and refusal of a newer format.
#include "journal/journal_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "journal/sqlite_handle.hpp"
#include "journal_file.hpp"

namespace fs = std::filesystem;
using namespace submitd::journal;
using Kind = AcceptVerdict::Kind;

namespace {

class JournalStoreTest : public submitd::journal::testing::JournalFileTest {
 protected:
  void SetUp() override {
    submitd::journal::testing::JournalFileTest::SetUp();
    options_.request_id_retention = std::chrono::hours(24);
  }
  Accept accept(std::string claim, std::uint64_t line, std::string request_id, std::string job,
                std::int64_t ms = 1'000'000, bool given = true) {
    return Accept{std::move(claim), line, std::move(request_id), given, std::move(job), ms};
  }
  AcceptVerdict commit_accept(JournalStore& s, const Accept& a) {
    s.begin();
    auto v = s.accept(a);
    s.commit();
    return v;
  }
};

TEST_F(JournalStoreTest, NewRequestIsFreshAndARestartSeesHowFarItGot) {
  {
    JournalStore s(options_);
    EXPECT_TRUE(s.created());
    EXPECT_EQ(commit_accept(s, accept("c1", 1, "r1", "job-1")).kind, Kind::fresh);
    s.begin();
    s.progress("c1", 1, Step::configured);
    s.progress("c1", 1, Step::created);  // never moves backwards
    s.commit();
  }
  JournalStore again(options_);
  EXPECT_FALSE(again.created());
  auto v = commit_accept(again, accept("c1", 1, "r1", "job-1"));
  EXPECT_EQ(v.kind, Kind::resumed);
  EXPECT_EQ(v.step, Step::configured);
}

// `uploaded` (stored as 4) lies between created and configured along a request's way.
TEST_F(JournalStoreTest, UploadedComesBetweenCreatedAndConfigured) {
  {
    JournalStore s(options_);
    commit_accept(s, accept("c1", 1, "r1", "job-1"));
    commit_accept(s, accept("c1", 2, "r2", "job-2"));
    s.begin();
    s.progress("c1", 1, Step::created);
    s.progress("c1", 1, Step::uploaded);  // moves on from created
    s.progress("c1", 2, Step::uploaded);
    s.progress("c1", 2, Step::configured);  // and on to configured
    s.progress("c1", 2, Step::uploaded);    // never back
    s.commit();
  }
  JournalStore again(options_);
  EXPECT_EQ(commit_accept(again, accept("c1", 1, "r1", "job-1")).step, Step::uploaded);
  EXPECT_EQ(commit_accept(again, accept("c1", 2, "r2", "job-2")).step, Step::configured);
  EXPECT_LT(step_rank(Step::created), step_rank(Step::uploaded));
  EXPECT_LT(step_rank(Step::uploaded), step_rank(Step::configured));
  EXPECT_LT(step_rank(Step::configured), step_rank(Step::finished));
}

TEST_F(JournalStoreTest, FinishedRequestGivesBackItsOutcome) {
  JournalStore s(options_);
  commit_accept(s, accept("c1", 7, "r7", "job-7"));
  s.begin();
  s.finish(Finish{"c1", 7, "{\"v\":1,\"line\":7}\n", 0, std::nullopt, "job-7"});
  s.commit();
  auto v = commit_accept(s, accept("c1", 7, "r7", "job-7"));
  EXPECT_EQ(v.kind, Kind::finished);
  EXPECT_EQ(v.outcome_line, "{\"v\":1,\"line\":7}\n");
  EXPECT_EQ(v.status, 0);
}

TEST_F(JournalStoreTest, SameRequestIdForAnotherJobWithinRetentionIsADuplicate) {
  JournalStore s(options_);
  EXPECT_EQ(commit_accept(s, accept("c1", 1, "billing-1", "job-a")).kind, Kind::fresh);
  auto dup = commit_accept(s, accept("c2", 1, "billing-1", "job-b", 1'000'000 + 3'600'000));
  EXPECT_EQ(dup.kind, Kind::duplicate);
  EXPECT_EQ(dup.earlier_job_id, "job-a");
  // Past the retention the requestId may be used again, for a new job.
  auto later = commit_accept(s, accept("c3", 1, "billing-1", "job-c", 1'000'000 + 25 * 3'600'000LL));
  EXPECT_EQ(later.kind, Kind::fresh);
  // ... and from then on it names the new job.
  auto after = commit_accept(s, accept("c4", 1, "billing-1", "job-d", 1'000'000 + 26 * 3'600'000LL));
  EXPECT_EQ(after.earlier_job_id, "job-c");
}

TEST_F(JournalStoreTest, TwoRequestsWithOneRequestIdInOneBatch) {
  JournalStore s(options_);
  s.begin();
  auto first = s.accept(accept("c1", 1, "same", "job-1"));
  auto second = s.accept(accept("c1", 2, "same", "job-2"));
  s.commit();
  EXPECT_EQ(first.kind, Kind::fresh);
  EXPECT_EQ(second.kind, Kind::duplicate);
  EXPECT_EQ(second.earlier_job_id, "job-1");
}

TEST_F(JournalStoreTest, GeneratedRequestIdsAreNotIdempotencyKeys) {
  JournalStore s(options_);
  commit_accept(s, accept("c1", 1, "c1:1", "job-1", 1'000'000, false));
  EXPECT_EQ(s.request_id_entries(), 0u);
}

TEST_F(JournalStoreTest, FailedRequestCanReleaseItsRequestId) {
  JournalStore s(options_);
  commit_accept(s, accept("c1", 1, "fix-me", "job-1"));
  s.begin();
  s.finish(Finish{"c1", 1, "{}\n", 1, std::string("fix-me"), "job-1"});
  s.commit();
  EXPECT_EQ(commit_accept(s, accept("c2", 1, "fix-me", "job-2")).kind, Kind::fresh);
  // A release names its job: an old failure cannot release a newer job's claim.
  s.begin();
  s.finish(Finish{"c1", 1, "{}\n", 1, std::string("fix-me"), "job-1"});
  s.commit();
  EXPECT_EQ(commit_accept(s, accept("c3", 1, "fix-me", "job-3")).kind, Kind::duplicate);
}

TEST_F(JournalStoreTest, PlacedFilesAreForgottenAndExpiredRequestIdsPruned) {
  JournalStore s(options_);
  s.begin();
  for (std::uint64_t l = 1; l <= 10; ++l) s.accept(accept("done-claim", l, "d" + std::to_string(l), "j" + std::to_string(l), 1000));
  for (std::uint64_t l = 1; l <= 5; ++l) s.accept(accept("live-claim", l, "l" + std::to_string(l), "k" + std::to_string(l), 5000));
  s.accept(accept("orphan", 1, "o1", "o1", 5000));
  s.commit();
  EXPECT_EQ(s.request_rows(), 16u);
  s.begin();
  s.forget_claim("done-claim");
  EXPECT_EQ(s.forget_claims_except({"live-claim"}), 1u);
  EXPECT_EQ(s.prune_request_ids(2000), 10u);
  s.commit();
  EXPECT_EQ(s.request_rows(), 5u);
  EXPECT_EQ(s.request_id_entries(), 6u);
  EXPECT_TRUE(s.row("live-claim", 3));
  EXPECT_FALSE(s.row("done-claim", 3));
}

TEST_F(JournalStoreTest, NewerFormatIsRefusedWithAClearMessage) {
  { JournalStore s(options_); }
  {
    Database db(options_.file.string(), SQLITE_OPEN_READWRITE);
    db.exec("PRAGMA user_version=" + std::to_string(kJournalFormatVersion + 1));
  }
  try {
    JournalStore s(options_);
    FAIL() << "a journal of a newer format was opened";
  } catch (const JournalError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("format version " + std::to_string(kJournalFormatVersion + 1)), std::string::npos) << what;
    EXPECT_NE(what.find("newer bytenite-submitd"), std::string::npos) << what;
  }
}

TEST_F(JournalStoreTest, NotAJournalIsRefused) {
  {
    std::FILE* f = std::fopen(options_.file.c_str(), "w");
    std::fputs("this is not a database, just some text that is long enough to be a header....", f);
    std::fclose(f);
  }
  EXPECT_THROW(JournalStore s(options_), JournalError);
}

}  // namespace

namespace {

// A journal of format 1, as the first release wrote it.
void write_format_1(const std::filesystem::path& file) {
  Database db(file.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  db.exec(R"sql(
CREATE TABLE requests(claim_id TEXT NOT NULL, line INTEGER NOT NULL, job_id TEXT NOT NULL,
  request_id TEXT NOT NULL, step INTEGER NOT NULL, status INTEGER, outcome TEXT,
  PRIMARY KEY(claim_id, line)) WITHOUT ROWID;
CREATE TABLE request_ids(request_id TEXT PRIMARY KEY, job_id TEXT NOT NULL,
  accepted_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX request_ids_by_age ON request_ids(accepted_ms);
INSERT INTO requests VALUES('old-claim', 1, 'job-old', 'billing-1', 2, NULL, NULL);
INSERT INTO request_ids VALUES('billing-1', 'job-old', 1000);
PRAGMA user_version=1;
)sql");
}

}  // namespace

TEST_F(JournalStoreTest, FormatOneIsUpgradedInPlaceAndKeepsItsRecords) {
  write_format_1(options_.file);
  JournalStore s(options_);
  // The interrupted request resumes where it was; its requestId is still claimed.
  auto resumed = commit_accept(s, accept("old-claim", 1, "billing-1", "job-old"));
  EXPECT_EQ(resumed.kind, Kind::resumed);
  EXPECT_EQ(resumed.step, Step::configured);
  EXPECT_EQ(commit_accept(s, accept("new-claim", 1, "billing-1", "job-new")).kind, Kind::duplicate);
  auto found = s.lookup("billing-1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->job_id, "job-old");
  EXPECT_FALSE(found->finished);
}

TEST_F(JournalStoreTest, LookupFollowsARequestFromWorkToItsKeptOutcome) {
  JournalStore s(options_);
  commit_accept(s, accept("c1", 1, "given-1", "job-1"));
  commit_accept(s, accept("c1", 2, "c1:2", "job-2", 1'000'000, false));
  EXPECT_FALSE(s.lookup("given-1")->finished);
  EXPECT_EQ(s.lookup("c1:2")->job_id, "job-2");
  s.begin();
  Finish f{"c1", 1, "{\"status\":\"submitted\"}\n", 0, std::nullopt, "job-1", std::string("given-1")};
  s.finish(f);
  s.forget_claim("c1");  // the file was placed
  s.commit();
  auto kept = s.lookup("given-1");
  ASSERT_TRUE(kept);
  EXPECT_TRUE(kept->finished);
  EXPECT_EQ(kept->outcome_line, "{\"status\":\"submitted\"}\n");
  EXPECT_FALSE(s.lookup("c1:2"));  // generated requestIds are known only while worked
  EXPECT_FALSE(s.lookup("never-seen"));
}

TEST_F(JournalStoreTest, FollowedJobsKeepTheirEndAndTheRequestIdIndexShowsIt) {
  {
    JournalStore s(options_);
    commit_accept(s, accept("c1", 1, "given-1", "job-1"));
    commit_accept(s, accept("c1", 2, "c1:2", "job-2", 1'000'000, false));
    s.begin();
    Finish f1{"c1", 1, "{\"status\":\"submitted\"}\n", 0, std::nullopt, "job-1", std::string("given-1"), 5000};
    Finish f2{"c1", 2, "{\"status\":\"submitted\"}\n", 0, std::nullopt, "job-2", std::nullopt, 6000};
    s.finish(f1);
    s.finish(f2);
    s.commit();
    EXPECT_EQ(s.unfinished_followed(10).size(), 2u);
    EXPECT_EQ(s.unfinished_followed(1).size(), 1u);
    s.begin();
    s.set_final("job-1", R"({"state":"JOB_STATE_COMPLETE"})");
    s.set_final("job-1", R"({"state":"overwritten?"})");  // the first end stands
    s.commit();
  }
  JournalStore again(options_);  // survives a restart
  auto rows = again.followed_of_claim("c1");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].job_id, "job-1");
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[0].deadline_ms, 5000);
  EXPECT_EQ(rows[0].final_json, R"({"state":"JOB_STATE_COMPLETE"})");
  EXPECT_TRUE(rows[1].final_json.empty());
  auto unfinished = again.unfinished_followed(100);
  ASSERT_EQ(unfinished.size(), 1u);
  EXPECT_EQ(unfinished[0].job_id, "job-2");
  EXPECT_EQ(again.lookup("given-1")->outcome_line,
            "{\"status\":\"submitted\",\"final\":{\"state\":\"JOB_STATE_COMPLETE\"}}\n");
  again.begin();
  again.forget_claim("c1");
  again.commit();
  EXPECT_TRUE(again.followed_of_claim("c1").empty());
  EXPECT_TRUE(again.lookup("given-1")->outcome_line.find("JOB_STATE_COMPLETE") != std::string::npos);
}

TEST_F(JournalStoreTest, AnEndWithDownloadsPendingWaitsAndIsMergedOnlyWhenTheyAreDone) {
  {
    JournalStore s(options_);
    commit_accept(s, accept("c1", 1, "given-1", "job-1"));
    commit_accept(s, accept("c1", 2, "c1:2", "job-2", 1'000'000, false));
    s.begin();
    s.finish(Finish{"c1", 1, "{\"status\":\"submitted\"}\n", 0, std::nullopt, "job-1", std::string("given-1"), 5000});
    s.finish(Finish{"c1", 2, "{\"status\":\"submitted\"}\n", 0, std::nullopt, "job-2", std::nullopt, 6000});
    s.set_final("job-1", R"({"results":[]})", true);
    s.set_final("job-2", R"({"results":[1]})", true);
    s.commit();
  }
  JournalStore again(options_);  // survives a restart
  auto rows = again.followed_of_claim("c1");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].downloads_pending);
  EXPECT_EQ(rows[0].request_id, "given-1");
  EXPECT_EQ(rows[1].request_id, "");  // none given: the follower names it by claim and line
  EXPECT_TRUE(again.unfinished_followed(10).empty());  // ended: not followed again
  EXPECT_EQ(again.pending_downloads(10).size(), 2u);
  EXPECT_EQ(again.pending_downloads(1).size(), 1u);
  EXPECT_EQ(again.lookup("given-1")->outcome_line, "{\"status\":\"submitted\"}\n");  // not merged yet
  again.begin();
  again.finish_downloads("job-1", R"({"results":[{"localPath":"/x"}]})");
  again.finish_downloads("job-1", R"({"again":1})");  // done once: the first stands
  again.commit();
  rows = again.followed_of_claim("c1");
  EXPECT_FALSE(rows[0].downloads_pending);
  EXPECT_EQ(rows[0].final_json, R"({"results":[{"localPath":"/x"}]})");
  EXPECT_EQ(again.pending_downloads(10).size(), 1u);
  EXPECT_EQ(again.lookup("given-1")->outcome_line,
            "{\"status\":\"submitted\",\"final\":{\"results\":[{\"localPath\":\"/x\"}]}}\n");
}

TEST_F(JournalStoreTest, TheJobsOfOneFileByStatusAndTheFileOfARequestInWork) {
  JournalStore s(options_);
  for (std::uint64_t line = 1; line <= 4; ++line) {
    commit_accept(s, accept("c1", line, "r" + std::to_string(line), "job-" + std::to_string(line)));
  }
  commit_accept(s, accept("c2", 1, "other", "job-other"));
  s.begin();
  s.finish(Finish{"c1", 1, "{}\n", 0, std::nullopt, "job-1"});
  s.finish(Finish{"c1", 2, "{}\n", 1, std::nullopt, "job-2"});
  s.finish(Finish{"c1", 4, "{}\n", 0, std::nullopt, "job-4"});
  s.finish(Finish{"c2", 1, "{}\n", 0, std::nullopt, "job-other"});
  s.commit();
  EXPECT_EQ(s.job_ids_of_claim("c1", 0), (std::vector<std::string>{"job-1", "job-4"}));  // not 3: unfinished
  EXPECT_EQ(s.job_ids_of_claim("c1", 1), (std::vector<std::string>{"job-2"}));
  EXPECT_TRUE(s.job_ids_of_claim("c3", 0).empty());
  auto working = s.lookup("r3");  // a given requestId, not finished: its file is named
  ASSERT_TRUE(working);
  EXPECT_FALSE(working->finished);
  EXPECT_EQ(working->claim_id, "c1");
  EXPECT_EQ(working->job_id, "job-3");
}
