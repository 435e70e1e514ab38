// Role: claiming from incoming/, classification without following links, recovery of
// interrupted claims, and placing finished files without overwriting (temp dirs, no sleeping).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "spool/claim.hpp"
#include "spool/retention.hpp"
#include "spool/finished_file.hpp"
#include "spool/input_reader.hpp"
#include "spool/spool_paths.hpp"

namespace fs = std::filesystem;
using namespace submitd::spool;

namespace {

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/submitd-spool-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    paths_ = make_spool_paths(root_, {});
    ensure_spool_layout(paths_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void drop(const std::string& name, const std::string& content) {
    std::ofstream(paths_.incoming / name) << content;
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  fs::path root_;
  SpoolPaths paths_;
};

}  // namespace

TEST_F(SpoolTest, LayoutHasContractModes) {
  struct stat st {};
  ASSERT_EQ(::stat(paths_.incoming.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02770u);
  for (const auto& d : {paths_.tmp, paths_.active, paths_.done, paths_.failed, paths_.state}) {
    EXPECT_TRUE(fs::is_directory(d)) << d;
  }
}

TEST_F(SpoolTest, ScanCountsEveryFileKeepsTheOldestAndSkipsHiddenNames) {
  const char* names[] = {"e.json", "a.json", "d.jsonl", "b.json", "c.json"};
  int age = 0;
  for (const char* n : names) {
    drop(n, "{}");
    // Distinct ages, unrelated to name or directory order: e oldest ... c youngest.
    auto t = fs::file_time_type::clock::now() - std::chrono::hours(10 - age++);
    fs::last_write_time(paths_.incoming / n, t);
  }
  drop(".partial.json", "{}");
  auto scan = scan_incoming(paths_, 3);
  EXPECT_EQ(scan.files, 5u);
  EXPECT_EQ(scan.oldest, (std::vector<std::string>{"e.json", "a.json", "d.jsonl"}));
  // The waiting is counted from arrival, not from the mtime a producer gave its files.
  ASSERT_TRUE(scan.earliest_arrival);
  EXPECT_LT(std::chrono::system_clock::now() - *scan.earliest_arrival, std::chrono::hours(1));
  EXPECT_TRUE(scan_incoming(paths_, 0).oldest.empty());
  EXPECT_EQ(scan_incoming(paths_, 0).files, 5u);
}

// A producer's mtime is not trusted: a fresh drop dated 30 days back is neither reported as
// 30 days old nor pruned from done/ at the next prune; retention counts from the claim.
TEST_F(SpoolTest, ClaimTimeReplacesTheProducersMtime) {
  drop("dated.json", "{}");
  const auto month_ago = fs::file_time_type::clock::now() - std::chrono::hours(24 * 30);
  fs::last_write_time(paths_.incoming / "dated.json", month_ago);
  auto file = claim_file(paths_, "dated.json");
  ASSERT_TRUE(file);
  EXPECT_LT(std::chrono::system_clock::now() - file->arrived, std::chrono::hours(1));
  EXPECT_GT(fs::last_write_time(file->active_path), month_ago + std::chrono::hours(24 * 29));
  fs::rename(file->active_path, paths_.done / "dated.json");  // placed, keeping its times
  EXPECT_EQ(prune_done(paths_, std::chrono::system_clock::now() - std::chrono::hours(24 * 7)), 0u);
  EXPECT_TRUE(fs::exists(paths_.done / "dated.json"));
  auto recovered = recover_claims(paths_);
  EXPECT_TRUE(recovered.empty());
}

TEST_F(SpoolTest, ClaimMovesIntoActiveUnderAClaimId) {
  drop("batch.jsonl", "{}\n");
  auto c = claim_file(paths_, "batch.jsonl");
  ASSERT_TRUE(c);
  EXPECT_TRUE(is_claim_id(c->claim_id));
  EXPECT_EQ(c->kind, InputKind::jsonl);
  EXPECT_TRUE(fs::exists(c->active_path));
  EXPECT_FALSE(fs::exists(paths_.incoming / "batch.jsonl"));
  EXPECT_FALSE(claim_file(paths_, "batch.jsonl"));  // already gone: another claimer won
}

TEST_F(SpoolTest, AClaimIsKnownByItsDroppedNameShortenedOrNot) {
  const std::string long_name = std::string(kLongestClaimableName + 5, 'x') + ".jsonl";
  for (const std::string& name : {std::string("batch.jsonl"), long_name}) {
    drop(name, "{}\n");
    auto c = claim_file(paths_, name);
    ASSERT_TRUE(c);
    const std::string entry = c->active_path.filename().string();
    EXPECT_TRUE(is_claim_of(entry, name)) << entry;
    EXPECT_FALSE(is_claim_of(entry, "other.jsonl"));
  }
  EXPECT_FALSE(is_claim_of("batch.jsonl", "batch.jsonl")) << "no claim id in front";
  EXPECT_FALSE(is_claim_of("0123456789abcdef.xbatch.jsonl", "batch.jsonl"));
  EXPECT_FALSE(is_claim_of("0123456789abcdef.a.batch.jsonl", "batch.jsonl")) << "a claim of a.batch.jsonl";
}

TEST_F(SpoolTest, SymlinksDirectoriesAndOtherExtensionsAreUnreadable) {
  std::ofstream(root_ / "secret.json") << "{}";
  fs::create_symlink(root_ / "secret.json", paths_.incoming / "link.json");
  fs::create_directory(paths_.incoming / "dir.json");
  drop("notes.txt", "hi");
  for (const char* name : {"link.json", "dir.json", "notes.txt"}) {
    auto c = claim_file(paths_, name);
    ASSERT_TRUE(c) << name;
    EXPECT_EQ(c->kind, InputKind::unreadable) << name;
    EXPECT_FALSE(c->reject_reason.empty()) << name;
  }
}

TEST_F(SpoolTest, RecoveryFindsInterruptedClaimsAndDropsTemporaries) {
  drop("one.json", "{}");
  auto c = claim_file(paths_, "one.json");
  ASSERT_TRUE(c);
  std::ofstream(paths_.active / ("." + c->claim_id + ".outcome.tmp")) << "partial";
  auto found = recover_claims(paths_);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].claim_id, c->claim_id);
  EXPECT_EQ(found[0].original_name, "one.json");
  EXPECT_TRUE(found[0].recovered);
  EXPECT_FALSE(fs::exists(paths_.active / ("." + c->claim_id + ".outcome.tmp")));
}

TEST_F(SpoolTest, FinishedFilesNeverOverwrite) {
  for (int round = 0; round < 2; ++round) {
    drop("same.jsonl", "{\"templateId\":\"t\"}\n");
    auto c = claim_file(paths_, "same.jsonl");
    ASSERT_TRUE(c);
    FinishedFileWriter w(paths_, *c);
    w.add_outcome("{\"line\":1}\n");
    w.add_failed_request("{\"templateId\":\n\"t\"}");
    auto placed = w.finish();
    if (round == 0) {
      EXPECT_EQ(placed.input, paths_.failed / "same.jsonl");
      EXPECT_EQ(placed.outcome, paths_.failed / "same.jsonl.outcome.jsonl");
      EXPECT_EQ(placed.retry, paths_.failed / "same.retry.jsonl");
      EXPECT_EQ(read(placed.retry), "{\"templateId\": \"t\"}\n");
    } else {
      EXPECT_EQ(placed.input, paths_.failed / ("same." + c->claim_id + ".jsonl"));
      EXPECT_EQ(read(paths_.failed / "same.jsonl.outcome.jsonl"), "{\"line\":1}\n");
    }
    EXPECT_EQ(read(placed.outcome), "{\"line\":1}\n");
    struct stat st {};
    ASSERT_EQ(::stat(placed.outcome.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
  }
  EXPECT_TRUE(fs::is_empty(paths_.active));
}

// Outcome lines are written in batches: every line reaches the placed (or held) file, in
// order, on both sides of a batch boundary.
TEST_F(SpoolTest, OutcomeLinesAreAllWrittenInOrderAcrossBatches) {
  std::string expected;
  for (int held = 0; held < 2; ++held) {
    drop(held ? "h.jsonl" : "p.jsonl", "{}\n");
    auto c = claim_file(paths_, held ? "h.jsonl" : "p.jsonl");
    ASSERT_TRUE(c);
    FinishedFileWriter w(paths_, *c);
    expected.clear();
    for (int line = 1; line <= 1000; ++line) {  // about 30 KiB: several batches and a rest
      std::string l = "{\"line\":" + std::to_string(line) + ",\"status\":\"submitted\"}\n";
      expected += l;
      w.add_outcome(l);
    }
    if (held) {
      w.hold();
      EXPECT_EQ(read(FinishedFileWriter::held_outcome_path(paths_, c->claim_id)), expected);
    } else {
      EXPECT_EQ(read(w.finish().outcome), expected);
    }
  }
}

TEST_F(SpoolTest, PruningDeletesOnlyOldFilesInDone) {
  auto put = [&](const fs::path& dir, const std::string& name, std::chrono::hours age) {
    std::ofstream(dir / name) << "x";
    fs::last_write_time(dir / name, fs::file_time_type::clock::now() - age);
  };
  put(paths_.done, "old.jsonl", std::chrono::hours(24 * 8));
  put(paths_.done, "old.jsonl.outcome.jsonl", std::chrono::hours(24 * 8));
  put(paths_.done, "new.json", std::chrono::hours(1));
  put(paths_.failed, "old-failure.json", std::chrono::hours(24 * 30));
  auto cutoff = std::chrono::system_clock::now() - std::chrono::hours(24 * 7);
  EXPECT_EQ(prune_done(paths_, cutoff), 2u);
  EXPECT_FALSE(fs::exists(paths_.done / "old.jsonl"));
  EXPECT_FALSE(fs::exists(paths_.done / "old.jsonl.outcome.jsonl"));
  EXPECT_TRUE(fs::exists(paths_.done / "new.json"));
  EXPECT_TRUE(fs::exists(paths_.failed / "old-failure.json"));  // failed/ waits for a person
  EXPECT_EQ(prune_done(paths_, cutoff), 0u);
}

// Job following: a file held while its jobs run survives a restart as held, and its held
// retry file is never lost, even when a placement fails.
TEST_F(SpoolTest, HeldFilesAreRecoveredAsHeldAndTheirRetryFileSurvivesAFailedPlacement) {
  drop("batch.jsonl", "{}\n{}\n");
  auto claimed = claim_file(paths_, "batch.jsonl");
  ASSERT_TRUE(claimed);
  {
    FinishedFileWriter w(paths_, *claimed);
    w.add_outcome("{\"line\":1,\"status\":\"submitted\"}\n");
    w.add_outcome("{\"line\":2,\"status\":\"failed\"}\n");
    w.add_failed_request("{\"line two\":true}");
    w.hold();
  }
  const fs::path held_outcome = FinishedFileWriter::held_outcome_path(paths_, claimed->claim_id);
  const fs::path held_retry = FinishedFileWriter::held_retry_path(paths_, claimed->claim_id);
  ASSERT_TRUE(fs::exists(held_outcome));
  ASSERT_TRUE(fs::exists(held_retry));
  auto recovered = recover_claims(paths_);  // a restart keeps held files and says so
  ASSERT_EQ(recovered.size(), 1u);
  EXPECT_TRUE(recovered[0].awaiting_jobs);
  EXPECT_TRUE(fs::exists(held_outcome));

  // A placement that fails (failed/ is gone) gives the retry file back to be held.
  fs::rename(paths_.failed, root_ / "failed-away");
  {
    FinishedFileWriter w(paths_, recovered[0]);
    w.adopt_held_retry();
    w.add_outcome("{\"line\":1,\"status\":\"submitted\",\"final\":{}}\n");
    w.note_failure();
    EXPECT_THROW(w.finish(), std::exception);
  }
  EXPECT_TRUE(fs::exists(held_retry));
  fs::rename(root_ / "failed-away", paths_.failed);
  {
    FinishedFileWriter w(paths_, recovered[0]);
    w.adopt_held_retry();
    w.add_outcome("{\"line\":1,\"status\":\"submitted\",\"final\":{}}\n");
    auto placed = w.finish();
    EXPECT_EQ(placed.input.parent_path(), paths_.failed);
    EXPECT_EQ(read(placed.retry), "{\"line two\":true}\n");
  }
  EXPECT_FALSE(fs::exists(held_retry));
}

TEST_F(SpoolTest, LeftoverHeldFilesWithoutTheirInputAreRemovedAtRecovery) {
  // An outcome held for an input already placed (a crash after the placement), and a retry
  // file held for a file that is not held (a crash inside hold): both go.
  std::ofstream(paths_.active / ".0123456789abcdef.outcome.held") << "x\n";
  drop("a.jsonl", "{}\n");
  auto claimed = claim_file(paths_, "a.jsonl");
  ASSERT_TRUE(claimed);
  std::ofstream(FinishedFileWriter::held_retry_path(paths_, claimed->claim_id)) << "y\n";
  auto recovered = recover_claims(paths_);
  ASSERT_EQ(recovered.size(), 1u);
  EXPECT_FALSE(recovered[0].awaiting_jobs);
  EXPECT_FALSE(fs::exists(paths_.active / ".0123456789abcdef.outcome.held"));
  EXPECT_FALSE(fs::exists(FinishedFileWriter::held_retry_path(paths_, claimed->claim_id)));
}

// A name the claim id cannot be put in front of (NAME_MAX is 255) is still claimed, under
// its first bytes and a marker that survives a restart, and fails with a reason.
TEST_F(SpoolTest, ANameTooLongToClaimIsClaimedShortenedAndFails) {
  const std::string longest_ok = std::string(kLongestClaimableName - 5, 'k') + ".json";
  drop(longest_ok, "{}");
  auto ok = claim_file(paths_, longest_ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->kind, InputKind::json);
  EXPECT_EQ(ok->original_name, longest_ok);

  // 239 bytes, the first one too long; made of two-byte characters, cut between two of them.
  std::string too_long;
  while (too_long.size() < kLongestClaimableName - 5) too_long += "\xC3\xA9";
  too_long += ".json";
  ASSERT_GT(too_long.size(), kLongestClaimableName);
  drop(too_long, "{}");
  auto c = claim_file(paths_, too_long);
  ASSERT_TRUE(c);
  EXPECT_FALSE(fs::exists(paths_.incoming / too_long));
  EXPECT_TRUE(c->name_shortened);
  EXPECT_EQ(c->kind, InputKind::unreadable);
  EXPECT_NE(c->reject_reason.find("shorter name"), std::string::npos) << c->reject_reason;
  EXPECT_EQ(c->original_name, too_long.substr(0, kShortenedNameBytes) + std::string(kShortenedNameSuffix));
  EXPECT_EQ(c->active_path.filename().string(), c->claim_id + "~" + c->original_name);

  // A restart knows it for what it is.
  auto found = recover_claims(paths_);
  ASSERT_EQ(found.size(), 2u);
  const ClaimedFile& again = found[0].claim_id == c->claim_id ? found[0] : found[1];
  EXPECT_TRUE(again.name_shortened);
  EXPECT_EQ(again.kind, InputKind::unreadable);
  EXPECT_EQ(again.original_name, c->original_name);

  FinishedFileWriter w(paths_, *c);
  w.add_outcome("{\"line\":0}\n");
  w.note_failure();
  auto placed = w.finish();
  EXPECT_EQ(placed.input, paths_.failed / c->original_name);
  EXPECT_TRUE(fs::exists(placed.outcome));
}

// A same-name drop gets the claim id in its placed names; a long name gives up bytes of its
// stem for it rather than fail the placement (which left the file in active/ for good).
TEST_F(SpoolTest, SameNameDropsOfLongNamesArePlacedUnderNamesThatFit) {
  for (std::size_t size : {kLongestClaimableName, std::size_t{225}}) {
    const std::string name = std::string(size - 6, 'n') + ".jsonl";
    for (int round = 0; round < 2; ++round) {
      drop(name, "{}\n");
      auto c = claim_file(paths_, name);
      ASSERT_TRUE(c) << size;
      FinishedFileWriter w(paths_, *c);
      w.add_outcome("{\"line\":1}\n");
      w.add_failed_request("{}");
      auto placed = w.finish();
      for (const fs::path& p : {placed.input, placed.outcome, placed.retry}) {
        EXPECT_LE(p.filename().string().size(), kNameMax) << p;
        EXPECT_TRUE(fs::exists(p)) << p;
      }
      if (round == 1) {
        EXPECT_NE(placed.outcome.filename().string().find(c->claim_id), std::string::npos) << placed.outcome;
        EXPECT_TRUE(placed.input.filename().string().ends_with(c->claim_id + ".jsonl")) << placed.input;
      }
    }
  }
  EXPECT_TRUE(fs::is_empty(paths_.active));
}

// Files the caller passes by (their claim failed) are counted but take none of the kept places.
TEST_F(SpoolTest, ScanKeepsNoPlaceForNamesPassedBy) {
  int age = 0;
  for (const char* n : {"stuck-1.json", "stuck-2.json", "next.json", "last.json"}) {
    drop(n, "{}");
    fs::last_write_time(paths_.incoming / n, fs::file_time_type::clock::now() - std::chrono::hours(10 - age++));
  }
  auto scan = scan_incoming(paths_, 2, [](std::string_view name) { return name.starts_with("stuck"); });
  EXPECT_EQ(scan.files, 4u);
  EXPECT_EQ(scan.oldest, (std::vector<std::string>{"next.json", "last.json"}));
}

// A producer appending to a file after it was dropped: the size read no longer matches.
TEST_F(SpoolTest, AFileChangedAfterItsReadIsNoticed) {
  drop("grows.jsonl", "{}\n");
  int fd = ::open((paths_.incoming / "grows.jsonl").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(changed_since_read(fd, 3));
  std::ofstream(paths_.incoming / "grows.jsonl", std::ios::app) << "{}\n";
  auto why = changed_since_read(fd, 3);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("3 bytes were read, it now has 6"), std::string::npos) << *why;
  ::close(fd);
}

// A crash between placing a file's outcome and moving its input: the rework finds the outcome
// it placed (by the claim attribute) and moves the input beside it, placing no second outcome.
TEST_F(SpoolTest, AReworkedFileKeepsTheOutcomeItsCrashedRunPlaced) {
  drop("twice.jsonl", "{}\n");
  auto c = claim_file(paths_, "twice.jsonl");
  ASSERT_TRUE(c);
  {
    FinishedFileWriter crashed(paths_, *c);
    crashed.add_outcome("{\"line\":1,\"run\":1}\n");
    crashed.place_outcome();  // ... and the power went before place_input
  }
  auto found = recover_claims(paths_);
  ASSERT_EQ(found.size(), 1u);
  FinishedFileWriter again(paths_, found[0]);
  again.add_outcome("{\"line\":1,\"run\":2}\n");
  auto placed = again.finish();
  EXPECT_EQ(placed.input, paths_.done / "twice.jsonl");
  EXPECT_EQ(read(placed.outcome), "{\"line\":1,\"run\":1}\n");
  std::size_t outcomes = 0;
  for (const auto& e : fs::directory_iterator(paths_.done)) outcomes += e.path().string().ends_with(".outcome.jsonl");
  EXPECT_EQ(outcomes, 1u);
  EXPECT_TRUE(fs::is_empty(paths_.active));
  // Another file of the same name is no such rework: it gets its own outcome, beside.
  drop("twice.jsonl", "{}\n");
  auto other = claim_file(paths_, "twice.jsonl");
  ASSERT_TRUE(other);
  other->recovered = true;
  FinishedFileWriter third(paths_, *other);
  third.add_outcome("{\"line\":1,\"run\":3}\n");
  EXPECT_NE(third.finish().outcome, placed.outcome);
}
