// Role: reading /proc for the process_* metrics: the fields proc(5) numbers, a command name
// with spaces and parentheses, and text that is not /proc/<pid>/stat.
#include "metrics/process_metrics.hpp"
#include "metrics/metrics_server.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <gtest/gtest.h>

#include <string>

using submitd::metrics::parse_boot_time;
using submitd::metrics::parse_proc_stat;

namespace {

// Fields 3..24 of proc(5): utime (14) 250, stime (15) 150, starttime (22) 12000 ticks,
// vsize (23) 1048576 bytes, rss (24) 300 pages.
std::string stat_line(const std::string& comm) {
  return "4242 (" + comm + ") S 1 4242 4242 0 -1 4194560 900 0 0 0 250 150 0 0 20 0 9 0 12000 1048576 300 "
         "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
}

TEST(ProcessMetrics, ProcStatFieldsInTheMetricsUnits) {
  const auto stat = parse_proc_stat(stat_line("bytenite-submit"), 100, 4096);
  ASSERT_TRUE(stat.has_value());
  EXPECT_DOUBLE_EQ(stat->cpu_seconds, 4.0);  // (250 + 150) / 100
  EXPECT_DOUBLE_EQ(stat->start_after_boot_s, 120.0);
  EXPECT_DOUBLE_EQ(stat->virtual_bytes, 1048576.0);
  EXPECT_DOUBLE_EQ(stat->resident_bytes, 300.0 * 4096);
}

TEST(ProcessMetrics, ACommandNameWithSpacesAndParenthesesIsSkippedWhole) {
  const auto stat = parse_proc_stat(stat_line("a b) S 9 (c"), 100, 4096);
  ASSERT_TRUE(stat.has_value());
  EXPECT_DOUBLE_EQ(stat->cpu_seconds, 4.0);
}

TEST(ProcessMetrics, TextThatIsNotProcStatGivesNothing) {
  EXPECT_FALSE(parse_proc_stat("", 100, 4096));
  EXPECT_FALSE(parse_proc_stat("4242 (x) S 1 2 3", 100, 4096)) << "too few fields";
  EXPECT_FALSE(parse_proc_stat("4242 no parenthesis S 1", 100, 4096));
  std::string bad = stat_line("x");
  bad.replace(bad.find(" 250 "), 5, " 2x0 ");
  EXPECT_FALSE(parse_proc_stat(bad, 100, 4096)) << "a field that is not a number";
}

TEST(ProcessMetrics, BootTimeComesFromTheBtimeLine) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1764950000\nprocesses 9\n"), 1764950000.0);
  EXPECT_FALSE(parse_boot_time("cpu  1 2 3\n"));
}

}  // namespace

// The metrics port's body: every family of every collectable, in Prometheus' text format.
TEST(MetricsScrape, EveryCollectableInTheTextFormat) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("bytenite_submitd_example_total").Help("an example").Register(*registry).Add({}).Increment(3);
  const std::string text = submitd::metrics::scrape_text({registry, std::make_shared<submitd::metrics::ProcessCollector>()});
  EXPECT_NE(text.find("# TYPE bytenite_submitd_example_total counter\nbytenite_submitd_example_total 3"), std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE process_open_fds gauge"), std::string::npos) << text;
}
