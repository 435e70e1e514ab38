// Role: config/example.toml is the documentation of every key; keep it loadable, keep its
// shown defaults equal to the real ones, and keep it complete.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/load.hpp"

namespace submitd::config {
namespace {

std::string example_text() {
  std::ifstream in(SUBMITD_EXAMPLE_CONFIG);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ExampleConfig, LoadsWithDocumentedDefaults) {
  Settings s = load_settings_file(SUBMITD_EXAMPLE_CONFIG);
  Settings defaults;
  EXPECT_EQ(s.spool.dir, "/var/spool/bytenite-submitd");
  EXPECT_EQ(s.state.dir, "/var/spool/bytenite-submitd/state");
  EXPECT_EQ(s.api.base_url, defaults.api.base_url);
  EXPECT_EQ(s.api.connections, defaults.api.connections);
  EXPECT_EQ(s.metrics.listen, defaults.metrics.listen);
  EXPECT_EQ(s.log.level, defaults.log.level);
}

// "# some_key = value": a key shown with its default, commented out.
bool is_shown_value(const std::string& line) {
  if (line.rfind("# ", 0) != 0) return false;
  size_t i = 2;
  while (i < line.size() && ((line[i] >= 'a' && line[i] <= 'z') || line[i] == '_')) ++i;
  return i > 2 && line.compare(i, 3, " = ") == 0;
}

// Uncommenting every "# key = value" line must still load, and give exactly the defaults
// (except the paths, which are unset by default and only examples here).
TEST(ExampleConfig, ShownValuesAreTheDefaults) {
  std::istringstream in(example_text());
  std::string line, uncommented;
  while (std::getline(in, line)) {
    uncommented += (is_shown_value(line) ? line.substr(2) : line) + "\n";
  }
  // ca_file must exist when set; the example path does not exist here. download_dir needs
  // following on, which is off by default.
  std::string text;
  std::istringstream lines(uncommented);
  while (std::getline(lines, line))
    if (line.rfind("ca_file = ", 0) != 0 && line.rfind("creds_file = ", 0) != 0 &&
        line.rfind("download_dir = ", 0) != 0) {
      text += line + "\n";
    }
  Settings s = parse_settings(text, "example.toml (uncommented)");
  Settings d;
  EXPECT_EQ(s.api.base_url, d.api.base_url);
  EXPECT_EQ(s.api.customer_path, d.api.customer_path);
  EXPECT_EQ(s.api.connections, d.api.connections);
  EXPECT_EQ(s.api.connect_timeout, d.api.connect_timeout);
  EXPECT_EQ(s.api.request_timeout, d.api.request_timeout);
  EXPECT_EQ(s.api.max_inflight, d.api.max_inflight);
  EXPECT_EQ(s.api.retry_base, d.api.retry_base);
  EXPECT_EQ(s.api.retry_cap, d.api.retry_cap);
  EXPECT_EQ(s.api.retry_after_cap, d.api.retry_after_cap);
  EXPECT_EQ(s.api.blocked_retry, d.api.blocked_retry);
  EXPECT_EQ(s.api.retry_budget_percent, d.api.retry_budget_percent);
  EXPECT_EQ(s.api.retry_budget_min_per_second, d.api.retry_budget_min_per_second);
  EXPECT_EQ(s.api.rate_limit_per_second, d.api.rate_limit_per_second);
  EXPECT_EQ(s.api.adaptive, d.api.adaptive);
  EXPECT_EQ(s.api.shutdown_grace, d.api.shutdown_grace);
  EXPECT_EQ(s.spool.max_request_bytes, d.spool.max_request_bytes);
  EXPECT_EQ(s.spool.rescan_interval, d.spool.rescan_interval);
  EXPECT_EQ(s.spool.max_active_files, d.spool.max_active_files);
  EXPECT_EQ(s.spool.done_retention, d.spool.done_retention);
  EXPECT_EQ(s.spool.give_up_after, d.spool.give_up_after);
  EXPECT_EQ(s.metrics.listen, d.metrics.listen);
  EXPECT_EQ(s.state.fsync, d.state.fsync);
  EXPECT_EQ(s.log.level, d.log.level);
  EXPECT_EQ(s.submit.request_id_retention, d.submit.request_id_retention);
  EXPECT_EQ(s.submit.force_test_jobs, d.submit.force_test_jobs);
  EXPECT_EQ(s.submit.max_jobs_per_minute, d.submit.max_jobs_per_minute);
  EXPECT_TRUE(s.api.api_key_file);
  EXPECT_TRUE(s.control.socket);
  EXPECT_EQ(s.control.max_backlog_files, d.control.max_backlog_files);
  EXPECT_EQ(s.control.max_connections, d.control.max_connections);
  EXPECT_EQ(s.results.max_concurrent, d.results.max_concurrent);
  EXPECT_EQ(s.results.max_bytes_per_second, d.results.max_bytes_per_second);
  EXPECT_EQ(s.results.max_bytes, d.results.max_bytes);
  EXPECT_EQ(s.jetstream.servers, d.jetstream.servers);
  EXPECT_EQ(s.jetstream.batch, d.jetstream.batch);
  EXPECT_EQ(s.jetstream.ack_wait, d.jetstream.ack_wait);
  EXPECT_EQ(s.jetstream.max_deliver, d.jetstream.max_deliver);
  EXPECT_EQ(s.jetstream.outcome_subject, d.jetstream.outcome_subject);
}

TEST(ExampleConfig, DocumentsEveryKeyInItsTable) {
  std::string text = example_text();
  for (const std::string& key : known_keys()) {
    std::string table = key.substr(0, key.rfind('.'));  // "intake.jetstream.servers": [intake.jetstream]
    std::string name = key.substr(key.rfind('.') + 1);
    size_t start = text.find("\n[" + table + "]\n");
    ASSERT_NE(start, std::string::npos) << "no [" << table << "] table";
    size_t end = text.find("\n[", start + 1);
    std::string section = text.substr(start, end - start);
    bool documented = section.find("\n" + name + " = ") != std::string::npos ||
                      section.find("\n# " + name + " = ") != std::string::npos;
    EXPECT_TRUE(documented) << key << " is not documented in config/example.toml";
  }
}

}  // namespace
}  // namespace submitd::config
