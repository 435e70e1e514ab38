// JobStore directly: atomic state checks under concurrency (exactly one run wins).
#include "job_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace emulator {
namespace {

TimePoint t0() { return TimePoint{std::chrono::seconds{1'700'000'000}}; }

CreateSpec spec(const std::string& id) {
  CreateSpec s;
  s.id = id;
  s.template_id = "t";
  return s;
}

TEST(JobStore, ConcurrentRunsHaveExactlyOneWinner) {
  JobStore store;
  ASSERT_EQ(store.create_or_update(spec("a"), t0()).outcome, StoreOutcome::created);
  ASSERT_EQ(store
                .set_data_source("a", boost::json::object{{"dataSourceDescriptor", "bypass"}},
                                 boost::json::object{{"dataSourceDescriptor", "bypass"}}, t0())
                .outcome,
            StoreOutcome::ok);
  std::atomic<int> winners{0}, losers{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j) {
        auto r = store.run("a", nullptr, std::chrono::milliseconds{1000}, t0());
        (r.outcome == StoreOutcome::ok ? winners : losers)++;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(losers.load(), 799);
  auto entries = store.ledger_entries(t0());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].counters.runs, 1u);
  EXPECT_EQ(entries[0].counters.rejected_runs, 799u);
}

TEST(JobStore, ConcurrentCreatesOfDistinctJobsAreAllKept) {
  JobStore store;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&store, i] {
      for (int j = 0; j < 500; ++j)
        store.create_or_update(spec(std::to_string(i) + "-" + std::to_string(j)), t0());
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(store.ledger_size(), 2000u);
  EXPECT_EQ(store.list(0, 5000).total, 2000u);
}

TEST(JobStore, UnknownJobsAreNotFound) {
  JobStore store;
  EXPECT_FALSE(store.get("x"));
  EXPECT_EQ(store.run("x", nullptr, {}, t0()).outcome, StoreOutcome::not_found);
  EXPECT_EQ(store.abort("x", t0()).outcome, StoreOutcome::not_found);
  EXPECT_EQ(store.remove("x").outcome, StoreOutcome::not_found);
  EXPECT_EQ(store.merge_params("x", {}, t0()).outcome, StoreOutcome::not_found);
}

TEST(JobStore, ClearForgetsEverything) {
  JobStore store;
  store.create_or_update(spec("a"), t0());
  store.clear();
  EXPECT_EQ(store.ledger_size(), 0u);
  EXPECT_FALSE(store.get("a"));
  EXPECT_EQ(store.create_or_update(spec("a"), t0()).outcome, StoreOutcome::created);
}

TEST(JobState, NamesAndTerminality) {
  EXPECT_EQ(job_state_name(JobState::new_), "JOB_STATE_NEW");
  EXPECT_EQ(job_state_name(JobState::aborted), "JOB_STATE_ABORTED");
  EXPECT_TRUE(is_terminal(JobState::failed));
  EXPECT_FALSE(is_terminal(JobState::running));
}

TEST(JobState, ZeroDurationCompletesAtOnce) {
  Job j;
  j.template_id = "t";
  j.run_at = t0();
  j.planned_duration = std::chrono::milliseconds{0};
  EXPECT_EQ(j.state_at(t0()), JobState::complete);
  EXPECT_EQ(j.ended_at(t0()), t0());
}

}  // namespace
}  // namespace emulator
