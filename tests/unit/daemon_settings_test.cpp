// Role: every configuration key the daemon hands to a library arrives in the right field of
// the right settings struct (daemon/settings_of_config.hpp). Each key gets a value unlike its
// default and unlike the others, so a key dropped or crossed with another shows.
#include <gtest/gtest.h>

#include <optional>

#include "settings_of_config.hpp"

using namespace submitd;
using namespace std::chrono_literals;

namespace {

config::Settings unusual_settings() {
  config::Settings s;
  s.api.host = "api.example.test";
  s.api.port = 8443;
  s.api.ca_file = "/etc/submitd/ca.pem";
  s.api.connections = 7;
  s.api.connect_timeout = 1234ms;
  s.api.request_timeout = 4321ms;
  s.api.max_inflight = 99;
  s.api.retry_base = 111ms;
  s.api.retry_cap = 2222ms;
  s.api.retry_after_cap = 333s;
  s.api.blocked_retry = 77s;
  s.api.retry_budget_percent = 25;
  s.api.retry_budget_min_per_second = 3;
  s.api.rate_limit_per_second = 42;
  s.spool.dir = "/var/spool/submitd";
  s.spool.max_request_bytes = 5555;
  s.spool.rescan_interval = 777ms;
  s.spool.max_active_files = 11;
  s.spool.min_free_bytes = 123456;
  s.spool.done_retention = std::chrono::days(3);
  s.spool.give_up_after = 999s;
  s.state.dir = "/var/lib/submitd";
  s.state.fsync = false;
  s.submit.request_id_retention = std::chrono::days(2);
  s.submit.force_test_jobs = true;
  s.submit.max_jobs_per_minute = 17;
  s.follow.enabled = true;
  s.follow.poll_interval = 13s;
  s.follow.max_followed = 444;
  s.follow.give_up_margin = 555s;
  s.results.download_dir = "/srv/results";
  s.results.max_concurrent = 7;
  s.results.max_bytes_per_second = 888;
  s.results.max_bytes = 999;
  return s;
}

}  // namespace

TEST(DaemonSettings, LogLevelsMapOneToOne) {
  EXPECT_EQ(log_level_of(config::LogLevel::debug), log::Level::debug);
  EXPECT_EQ(log_level_of(config::LogLevel::info), log::Level::info);
  EXPECT_EQ(log_level_of(config::LogLevel::warning), log::Level::warning);
  EXPECT_EQ(log_level_of(config::LogLevel::error), log::Level::error);
}

TEST(DaemonSettings, PoolCarriesTheApiKeysButNoProxy) {
  auto pool = pool_settings_of(unusual_settings().api);
  EXPECT_EQ(pool.host, "api.example.test");
  EXPECT_EQ(pool.port, 8443);
  EXPECT_EQ(pool.ca_file, "/etc/submitd/ca.pem");
  EXPECT_EQ(pool.connections, 7u);
  EXPECT_EQ(pool.connect_timeout, 1234ms);
  EXPECT_EQ(pool.request_timeout, 4321ms);
  EXPECT_EQ(pool.certificate_hold, 77s);
  EXPECT_FALSE(pool.proxy.has_value());  // the environment's, added by the caller
}

TEST(DaemonSettings, PoolWithoutCaFileUsesTheSystemStore) {
  EXPECT_FALSE(pool_settings_of(config::ApiSettings{}).ca_file.has_value());
}

TEST(DaemonSettings, RefusedKeyWaitsBlockedRetry) {
  EXPECT_EQ(token_timing_of(unusual_settings().api).key_refused_hold, 77s);
}

TEST(DaemonSettings, JournalInTheStateDirectory) {
  auto options = journal_options_of(unusual_settings(), "/resolved/state");
  EXPECT_EQ(options.file, std::filesystem::path("/resolved/state/journal.sqlite"));
  EXPECT_FALSE(options.durable);
  EXPECT_EQ(options.request_id_retention, std::chrono::days(2));
  EXPECT_FALSE(options.read_only);
}

TEST(DaemonSettings, RetryTimingAndBudget) {
  auto api = unusual_settings().api;
  auto timing = retry_timing_of(api);
  EXPECT_EQ(timing.base, 111ms);
  EXPECT_EQ(timing.cap, 2222ms);
  EXPECT_EQ(timing.retry_after_cap, 333s);
  EXPECT_EQ(timing.blocked_delay, 77s);
  auto budget = retry_budget_of(api);
  EXPECT_DOUBLE_EQ(budget.ratio, 0.25);  // percent of fresh calls, as a ratio
  EXPECT_DOUBLE_EQ(budget.min_per_second, 3);
}

// A SIGHUP applies the reloaded API settings to every part that took them at start: a
// reloaded api.blocked_retry once reached the scheduler but neither the pool's certificate
// hold nor the token cache's refused-key hold.
TEST(DaemonSettings, ReloadReachesEveryPartThatTookTheApiSettingsAtStart) {
  auto api = unusual_settings().api;
  std::optional<double> rate;
  std::optional<submit::RetryBudgetSettings> budget;
  std::optional<submit::RetryTiming> timing;
  std::optional<std::chrono::milliseconds> certificate_hold, key_refused_hold;
  apply_live_api_settings(
      api, {[&](double r, submit::RetryBudgetSettings b, submit::RetryTiming t) {
              rate = r;
              budget = b;
              timing = t;
            },
            [&](std::chrono::milliseconds hold) { certificate_hold = hold; },
            [&](std::chrono::milliseconds hold) { key_refused_hold = hold; }});
  ASSERT_TRUE(rate && budget && timing);
  EXPECT_DOUBLE_EQ(*rate, 42);
  EXPECT_DOUBLE_EQ(budget->ratio, 0.25);
  EXPECT_DOUBLE_EQ(budget->min_per_second, 3);
  EXPECT_EQ(timing->base, 111ms);
  EXPECT_EQ(timing->cap, 2222ms);
  EXPECT_EQ(timing->retry_after_cap, 333s);
  EXPECT_EQ(timing->blocked_delay, 77s);
  // What a start gives them (pool_settings_of, token_timing_of).
  EXPECT_EQ(certificate_hold, std::optional<std::chrono::milliseconds>(77s));
  EXPECT_EQ(key_refused_hold, std::optional<std::chrono::milliseconds>(77s));
}

TEST(DaemonSettings, EngineCarriesEveryKey) {
  auto e = engine_settings_of(unusual_settings(), "/resolved/state");
  EXPECT_EQ(e.scheduler.max_inflight, 99u);
  EXPECT_EQ(e.scheduler.submission.give_up_after, 999s);
  EXPECT_TRUE(e.scheduler.submission.force_test_jobs);
  EXPECT_EQ(e.scheduler.submission.timing.base, 111ms);
  EXPECT_EQ(e.scheduler.submission.timing.cap, 2222ms);
  EXPECT_EQ(e.scheduler.submission.timing.retry_after_cap, 333s);
  EXPECT_EQ(e.scheduler.submission.timing.blocked_delay, 77s);
  EXPECT_DOUBLE_EQ(e.scheduler.rate_limit_per_second, 42);
  EXPECT_DOUBLE_EQ(e.scheduler.max_jobs_per_minute, 17);
  EXPECT_DOUBLE_EQ(e.scheduler.retry_budget.ratio, 0.25);
  EXPECT_DOUBLE_EQ(e.scheduler.retry_budget.min_per_second, 3);
  EXPECT_EQ(e.scheduler.pause_marker, std::filesystem::path("/resolved/state/paused"));
  EXPECT_EQ(e.files.max_request_bytes, 5555u);
  EXPECT_EQ(e.files.max_active_files, 11u);
  EXPECT_EQ(e.files.files_ceiling, 11u + 99u);  // and small files up to max_inflight more
  EXPECT_EQ(e.spool.rescan_interval, 777ms);
  EXPECT_EQ(e.spool.request_id_retention, std::chrono::days(2));
  EXPECT_EQ(e.spool.done_retention, std::chrono::days(3));
  EXPECT_EQ(e.storage.min_free_bytes, 123456u);
  EXPECT_TRUE(e.follow.enabled);
  EXPECT_EQ(e.follow.poll_interval, 13s);
  EXPECT_EQ(e.follow.max_followed, 444u);
  EXPECT_EQ(e.follow.give_up_margin, 555s);
  EXPECT_EQ(e.follow.downloads.download_dir, std::filesystem::path("/srv/results"));
  EXPECT_EQ(e.follow.downloads.max_concurrent, 7u);
  EXPECT_EQ(e.follow.downloads.max_bytes_per_second, 888u);
  EXPECT_EQ(e.follow.downloads.max_bytes, 999u);
}

TEST(DaemonSettings, StoragePoolsCarryAsManyConnectionsAsUploadsOrDownloadsNeed) {
  config::Settings s;
  s.upload.max_concurrent = 3;
  s.results.max_concurrent = 9;
  EXPECT_EQ(storage_settings_of(s, {}).connections_per_host, 9u);
  s.upload.max_concurrent = 12;
  EXPECT_EQ(storage_settings_of(s, {}).connections_per_host, 12u);
}

TEST(DaemonSettings, DefaultsStayTheLibrariesDefaultsWhereTheFileHasNoKey) {
  auto e = engine_settings_of(config::Settings{}, "/s");
  submit::EngineSettings untouched;
  EXPECT_EQ(e.scheduler.max_accepted, untouched.scheduler.max_accepted);
  EXPECT_EQ(e.files.reorder_window, untouched.files.reorder_window);
  EXPECT_EQ(e.storage.probe_interval, untouched.storage.probe_interval);
  EXPECT_EQ(e.follow.default_job_timeout, untouched.follow.default_job_timeout);
  EXPECT_EQ(e.follow.page_size, untouched.follow.page_size);
  EXPECT_EQ(e.follow.parallel_reads, untouched.follow.parallel_reads);
}

// Idle control clients must never take the descriptors the spool and the journal need: the
// cap is control.max_connections, lowered to what the open-file limit leaves after the
// daemon's own reserve (which grows with the API connections and the files worked at once).
TEST(DaemonSettings, ControlConnectionCapKeepsTheDaemonsReserve) {
  config::Settings s;  // 32 API connections, 64 files at once (and 256 more small ones), 256 control connections
  EXPECT_EQ(descriptor_reserve_of(s), 64u + 2 * 32 + 2 * (64 + 256));
  EXPECT_EQ(control_connection_cap_of(s, 65536).cap, 256u);
  EXPECT_FALSE(control_connection_cap_of(s, 65536).bounded_by_descriptors);
  auto bounded = control_connection_cap_of(s, 800);  // 800 - 768 left
  EXPECT_EQ(bounded.cap, 32u);
  EXPECT_TRUE(bounded.bounded_by_descriptors);
  auto tuned = unusual_settings();  // 7 API connections, 11 files at once, max_inflight 99
  tuned.control.max_connections = 33;
  EXPECT_EQ(descriptor_reserve_of(tuned), 64u + 2 * 7 + 2 * (11 + 99));
  EXPECT_EQ(control_connection_cap_of(tuned, 1024).cap, 33u);
  EXPECT_EQ(control_connection_cap_of(tuned, 320).cap, 22u);
}
