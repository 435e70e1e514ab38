// Role: queue control's plain parts: the file controls and their state file, the live
// request list, the reading of FILE|CLAIM arguments, what each action does to a file in each
// state, and the names requeue takes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "submit/file_controls.hpp"
#include "submit/live_requests.hpp"
#include "submit/queue_control.hpp"
#include "util/durable_fs.hpp"

namespace fs = std::filesystem;
using namespace submitd;
using namespace submitd::submit;
using spool::QueuedFile;
using spool::QueuedFileState;

namespace {

const std::string kA = "0123456789abcdef";
const std::string kB = "fedcba9876543210";

fs::path temp_file(const std::string& tag) {
  auto dir = fs::temp_directory_path() / ("queue-control-" + tag + "-" + random_hex(4));
  fs::create_directories(dir);
  return dir / "file-controls";
}

QueuedFile file(std::string claim, std::string name, QueuedFileState state = QueuedFileState::working) {
  QueuedFile f;
  f.claim_id = std::move(claim);
  f.name = std::move(name);
  f.state = state;
  return f;
}

}  // namespace

TEST(FileControls, HoldsAndCancelsSurviveAReload) {
  const auto path = temp_file("reload");
  {
    FileControls c(path);
    c.load();
    c.hold(kA);
    c.cancel(kB, true);
    EXPECT_TRUE(c.held(kA));
    EXPECT_FALSE(c.cancelled(kA));
    EXPECT_TRUE(c.cancelled(kB));
    EXPECT_TRUE(c.aborts_running(kB));
  }
  FileControls again(path);
  EXPECT_TRUE(again.load().empty());
  EXPECT_TRUE(again.held(kA));
  EXPECT_TRUE(again.aborts_running(kB));
  again.release(kA);
  again.release(kB);  // a cancel is not ended by a release
  FileControls third(path);
  third.load();
  EXPECT_FALSE(third.held(kA));
  EXPECT_TRUE(third.cancelled(kB));
  fs::remove_all(path.parent_path());
}

TEST(FileControls, ACancelReplacesAHoldAndPlacedFilesAreForgotten) {
  FileControls c;  // in memory
  c.hold(kA);
  c.cancel(kA, false);
  EXPECT_FALSE(c.held(kA));
  EXPECT_TRUE(c.cancelled(kA));
  EXPECT_FALSE(c.aborts_running(kA));
  c.hold(kB);
  c.forget(kA);
  EXPECT_FALSE(c.cancelled(kA));
  c.keep_only({kA});  // kB is no longer in active/
  EXPECT_FALSE(c.held(kB));
  EXPECT_FALSE(c.any());
}

TEST(FileControls, DamagedLinesAreSkippedAndReported) {
  const auto path = temp_file("damaged");
  std::ofstream(path) << "# comment\nhold " << kA << "\nhold not-a-claim\nexplode " << kB << "\n\ncancel " << kB << "\n";
  FileControls c(path);
  auto skipped = c.load();
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_EQ(skipped[0], "hold not-a-claim");
  EXPECT_TRUE(c.held(kA));
  EXPECT_TRUE(c.cancelled(kB));
  fs::remove_all(path.parent_path());
}

TEST(FileControls, AStateFileThatCannotBeWrittenChangesNothing) {
  FileControls c(fs::path("/proc/no-such-dir/file-controls"));
  c.load();
  EXPECT_THROW(c.hold(kA), std::system_error);
  EXPECT_FALSE(c.held(kA));
}

TEST(LiveRequests, CountsByFileAndTheSoonestRetry) {
  LiveRequests list;
  const std::string j1 = "job-1", j2 = "job-2", j3 = "job-3";
  auto r1 = std::make_unique<LiveRequest>(list, j1, kA);
  LiveRequest r2(list, j2, kA);
  LiveRequest r3(list, j3, kB);
  const WallTime t0{std::chrono::seconds(1000)};
  r1->defer("http_503", t0 + std::chrono::seconds(9));
  r2.defer("timeout", t0 + std::chrono::seconds(4));
  r3.set(LiveState::held);
  EXPECT_EQ(list.size(), 3u);
  auto by = list.by_claim();
  ASSERT_EQ(by.size(), 2u);
  EXPECT_EQ(by[kA].deferred, 2u);
  EXPECT_EQ(by[kA].next_reason, "timeout");
  EXPECT_EQ(by[kA].next_try, t0 + std::chrono::seconds(4));
  EXPECT_EQ(by[kB].held, 1u);
  ASSERT_NE(list.find("job-3"), nullptr);
  EXPECT_EQ(list.find("job-3")->state(), LiveState::held);
  EXPECT_EQ(live_state_name(LiveState::in_flight), "submitting");
  r1.reset();
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(list.find("job-1"), nullptr);
  EXPECT_EQ(list.by_claim()[kA].deferred, 1u);
  EXPECT_EQ(list.count(LiveState::deferred), 1u);
  EXPECT_EQ(list.count(LiveState::held), 1u);
}

TEST(LiveRequests, EntriesOutlivingTheirListAreUnlinkedSafely) {
  auto list = std::make_unique<LiveRequests>();
  const std::string job = "job";
  LiveRequest r(*list, job, kA);
  list.reset();  // e.g. coroutines destroyed unresumed after their scheduler
}

TEST(FileKey, AClaimIdANameOrAPathEndingInOne) {
  std::vector<QueuedFile> files{file(kA, "a.jsonl"), file(kB, "b.jsonl", QueuedFileState::held)};
  auto by_claim = resolve_file_key(kB, files);
  ASSERT_EQ(by_claim.kind, FileKey::Kind::known);
  EXPECT_EQ(by_claim.file->name, "b.jsonl");
  auto by_active_path = resolve_file_key("/var/spool/bytenite/active/" + kA + ".a.jsonl", files);
  ASSERT_EQ(by_active_path.kind, FileKey::Kind::known);
  EXPECT_EQ(by_active_path.file->claim_id, kA);
  auto by_name = resolve_file_key("incoming/a.jsonl", files);
  ASSERT_EQ(by_name.kind, FileKey::Kind::known);
  EXPECT_EQ(by_name.file->claim_id, kA);
  auto elsewhere = resolve_file_key("c.jsonl", files);
  EXPECT_EQ(elsewhere.kind, FileKey::Kind::maybe_incoming);
  EXPECT_EQ(elsewhere.name, "c.jsonl");
}

TEST(FileKey, TwoFilesOfOneNameNeedTheClaimIdAndJunkIsRefused) {
  std::vector<QueuedFile> files{file(kA, "same.jsonl"), file(kB, "same.jsonl")};
  auto both = resolve_file_key("same.jsonl", files);
  ASSERT_EQ(both.kind, FileKey::Kind::ambiguous);
  EXPECT_NE(both.message.find(kA), std::string::npos);
  EXPECT_NE(both.message.find(kB), std::string::npos);
  for (const char* junk : {"", "/", "..", "incoming/.hidden", "."}) {
    EXPECT_EQ(resolve_file_key(junk, files).kind, FileKey::Kind::bad) << junk;
  }
}

TEST(FilePlan, EachVerbInEachState) {
  using S = QueuedFileState;
  EXPECT_EQ(plan_file_action(FileVerb::hold, S::incoming, false).step, FileStep::claim_then_act);
  EXPECT_EQ(plan_file_action(FileVerb::cancel, S::incoming, false).step, FileStep::claim_then_act);
  EXPECT_EQ(plan_file_action(FileVerb::release, S::incoming, false).step, FileStep::refuse);
  EXPECT_EQ(plan_file_action(FileVerb::hold, S::working, false).step, FileStep::act);
  EXPECT_EQ(plan_file_action(FileVerb::release, S::working, false).step, FileStep::refuse);
  EXPECT_EQ(plan_file_action(FileVerb::hold, S::held, false).step, FileStep::nothing);
  EXPECT_EQ(plan_file_action(FileVerb::release, S::held, false).step, FileStep::act);
  EXPECT_EQ(plan_file_action(FileVerb::cancel, S::held, false).step, FileStep::act);
  EXPECT_EQ(plan_file_action(FileVerb::hold, S::cancelling, false).step, FileStep::refuse);
  EXPECT_EQ(plan_file_action(FileVerb::cancel, S::cancelling, true).step, FileStep::act);
  auto following = plan_file_action(FileVerb::cancel, S::following, false);
  EXPECT_EQ(following.step, FileStep::refuse);
  EXPECT_NE(following.message.find("--abort-running"), std::string::npos);
  EXPECT_EQ(plan_file_action(FileVerb::cancel, S::following, true).step, FileStep::act);
  EXPECT_EQ(plan_file_action(FileVerb::hold, S::following, false).step, FileStep::refuse);
}

TEST(Requeue, TakesRetryFilesFromFailedOnly) {
  std::string why;
  EXPECT_EQ(requeue_name("failed/batch.retry.jsonl", why).value_or(""), "batch.retry.jsonl");
  EXPECT_EQ(requeue_name("/var/spool/bytenite/failed/batch.retry.jsonl", why).value_or(""), "batch.retry.jsonl");
  EXPECT_EQ(requeue_name("batch.retry.jsonl", why).value_or(""), "batch.retry.jsonl");
  for (const char* refused : {"done/batch.retry.jsonl", "failed/batch.jsonl", "failed/.retry.jsonl",
                              "failed/../x.retry.jsonl/..", "failed/", "incoming/x.retry.jsonl", ""}) {
    why.clear();
    EXPECT_FALSE(requeue_name(refused, why)) << refused;
    EXPECT_FALSE(why.empty()) << refused;
  }
}
