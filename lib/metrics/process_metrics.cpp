// Role: the process_* metrics (see process_metrics.hpp).
#include "metrics/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace submitd::metrics {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> number(std::string_view field) {
  double value = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (ec != std::errc() || end != field.data() + field.size()) return std::nullopt;
  return value;
}

MetricFamily family(const char* name, const char* help, MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == MetricType::Counter) metric.counter.value = value;
  else metric.gauge.value = value;
  return MetricFamily{name, help, type, {metric}};
}

double open_descriptors() {
  std::error_code ec;
  double n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text, double ticks_per_second, double page_bytes) {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  // Fields after the command name, numbered as in proc(5) from 3 (state).
  std::vector<std::string_view> fields;
  std::size_t at = close + 1;
  while (at < text.size()) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\n')) ++at;
    const std::size_t end = text.find_first_of(" \n", at);
    if (at < text.size()) fields.push_back(text.substr(at, (end == std::string_view::npos ? text.size() : end) - at));
    at = end == std::string_view::npos ? text.size() : end;
  }
  auto field = [&](std::size_t number_in_proc5) -> std::optional<double> {
    if (number_in_proc5 < 3 || number_in_proc5 - 3 >= fields.size()) return std::nullopt;
    return number(fields[number_in_proc5 - 3]);
  };
  const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23), rss = field(24);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  return ProcStat{(*utime + *stime) / ticks_per_second, *start / ticks_per_second, *vsize, *rss * page_bytes};
}

std::optional<double> parse_boot_time(std::string_view text) {
  const auto at = text.find("\nbtime ");
  if (at == std::string_view::npos) return std::nullopt;
  const auto from = at + 7;
  return number(text.substr(from, text.find('\n', from) - from));
}

std::vector<MetricFamily> ProcessCollector::Collect() const {
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  static const std::optional<double> boot = parse_boot_time(read_text("/proc/stat"));
  std::vector<MetricFamily> out;
  if (auto stat = parse_proc_stat(read_text("/proc/self/stat"), ticks, page)) {
    out.push_back(family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                         MetricType::Counter, stat->cpu_seconds));
    out.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
                         stat->resident_bytes));
    out.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
                         stat->virtual_bytes));
    if (boot) {
      out.push_back(family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                           MetricType::Gauge, *boot + stat->start_after_boot_s));
    }
  }
  out.push_back(family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, open_descriptors()));
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.push_back(family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
                         static_cast<double>(limit.rlim_cur)));
  }
  return out;
}

}  // namespace submitd::metrics
