// Role: the standard process_* metrics of a Prometheus client (CPU seconds, resident and
// virtual memory, open and allowed file descriptors, start time), read from /proc at each
// scrape. prometheus-cpp has no process collector; these names are the ones dashboards and
// alerts expect from every exporter. Parsing is plain code; the collector only reads files.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <optional>
#include <string_view>
#include <vector>

namespace submitd::metrics {

// What /proc/self/stat says, in the units the metrics use.
struct ProcStat {
  double cpu_seconds = 0;       // user + system
  double start_after_boot_s = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
};

// Parses the text of /proc/<pid>/stat (its command name may hold spaces and parentheses);
// nothing when it is not that format.
std::optional<ProcStat> parse_proc_stat(std::string_view text, double ticks_per_second, double page_bytes);
// The "btime" line of /proc/stat: the boot time in seconds since the epoch.
std::optional<double> parse_boot_time(std::string_view proc_stat_text);

class ProcessCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace submitd::metrics
