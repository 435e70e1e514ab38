// Role: a real Prometheus server (Debian's prometheus package) scrapes the daemon while it
// submits through the emulator, with the shipped alert rules loaded, and its HTTP API must
// report the same counts as the emulator's ledger: what operators see is what happened.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fmt/format.h>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

class PrometheusScrape : public TempDirTest {
 protected:
  PrometheusScrape() : TempDirTest("prometheus") {}
};

// A loopback port that was free a moment ago (Prometheus cannot report a port 0 choice).
std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The value of a one-series instant query, or -1.
double query(std::uint16_t port, const std::string& promql) {
  std::string escaped;
  for (char c : promql) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') escaped += c;
    else escaped += fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  std::string body = http_get_local(port, "/api/v1/query?query=" + escaped);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(body)).get(doc)) return -1;
  simdjson::dom::array result;
  if (doc["data"]["result"].get(result) || result.size() != 1) return -1;
  std::string_view value;
  if ((*result.begin())["value"].at(1).get(value)) return -1;
  return std::stod(std::string(value));
}

// A GET in HTTP/1.0, so a large answer comes whole rather than in chunks; returns the body.
std::string get_whole(std::uint16_t port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[8192];
      for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) response.append(buf, static_cast<std::size_t>(n));
    }
  }
  if (fd >= 0) ::close(fd);
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

// Prometheus's rule groups and active alerts as it reports them: how many alerting rules are
// loaded (-1: no readable answer), and the names of alerts pending or firing.
struct RulesSeen {
  int alerting_rules = -1;
  std::vector<std::string> active_alerts;
};
RulesSeen rules_seen(std::uint16_t port) {
  RulesSeen seen;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string rules = get_whole(port, "/api/v1/rules?type=alert");
  simdjson::dom::array groups;
  if (!parser.parse(simdjson::padded_string(rules)).get(doc) && !doc["data"]["groups"].get(groups)) {
    seen.alerting_rules = 0;
    for (auto group : groups) {
      simdjson::dom::array list;
      if (!group["rules"].get(list)) seen.alerting_rules += static_cast<int>(list.size());
    }
  }
  std::string alerts = get_whole(port, "/api/v1/alerts");
  simdjson::dom::array active;
  if (parser.parse(simdjson::padded_string(alerts)).get(doc) || doc["data"]["alerts"].get(active)) {
    seen.active_alerts.push_back("(no readable /api/v1/alerts answer)");
    return seen;
  }
  for (auto alert : active) {
    std::string_view name;
    if (alert["labels"]["alertname"].get(name)) name = "(unnamed)";
    seen.active_alerts.emplace_back(name);
  }
  return seen;
}

}  // namespace

TEST_F(PrometheusScrape, CountsSeenByPrometheusMatchTheLedger) {
  Emulator emulator(dir_ / "emulator", {"--fail-503", "0.05", "--seed", "3"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "\n[metrics]\nlisten = \"127.0.0.1:0\"\n");
  std::string body = request_lines(0, 60);
  body += "{\"templateId\":\"denied-template\"}\n";
  daemon.drop("scraped.jsonl", body);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("failed", ".outcome.jsonl") == 1; }, 60s));
  auto metrics_port = daemon.metrics_port();
  ASSERT_TRUE(metrics_port);

  const std::uint16_t port = free_port();
  fs::copy_file(fs::path(SUBMITD_SOURCE_DIR) / "deploy" / "prometheus" / "alerts.yml", dir_ / "alerts.yml");
  write_file(dir_ / "prometheus.yml", fmt::format(R"(global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: bytenite-submitd
    static_configs:
      - targets: ["127.0.0.1:{}"]
)", *metrics_port));
  ChildProcess prometheus({"/usr/bin/prometheus", "--config.file=" + (dir_ / "prometheus.yml").string(),
                           "--storage.tsdb.path=" + (dir_ / "data").string(),
                           "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                          dir_ / "prometheus.log");
  ASSERT_TRUE(eventually([&] { return query(port, "up{job=\"bytenite-submitd\"}") == 1; }, 60s))
      << read_file(dir_ / "prometheus.log");

  const double runs = static_cast<double>(ledger_count(emulator, "totals.runs"));
  EXPECT_EQ(runs, 60);
  EXPECT_TRUE(eventually([&] { return query(port, "bytenite_submitd_jobs_submitted_total") == runs; }, 20s));
  EXPECT_EQ(query(port, "bytenite_submitd_http_requests_total{endpoint=\"run\",code=\"200\"}"), runs);
  EXPECT_EQ(query(port, "bytenite_submitd_http_requests_total{endpoint=\"create\",code=\"403\"}"), 1);
  EXPECT_EQ(query(port, "bytenite_submitd_jobs_failed_total{stage=\"create\"}"), 1);
  // Every 503 the emulator injected was seen, and retried, by the daemon.
  auto injected = ledger_count(emulator, "faults.injected503");
  ASSERT_GE(injected, 0);  // -1 (no answer) would equal query()'s -1 (no answer) below
  EXPECT_EQ(query(port, "sum(bytenite_submitd_http_requests_total{code=\"503\"})"), static_cast<double>(injected));
  EXPECT_EQ(query(port, "sum(bytenite_submitd_retries_total{reason=\"5xx\"})"), static_cast<double>(injected));
  // build_info names the build, and the process_* series every exporter has are there and sane.
  EXPECT_EQ(query(port, "count(bytenite_submitd_build_info{version=\"" SUBMITD_VERSION_FOR_TESTS "\",revision!=\"\"})"), 1);
  EXPECT_GT(query(port, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(query(port, "process_virtual_memory_bytes"), query(port, "process_resident_memory_bytes"));
  EXPECT_GT(query(port, "process_open_fds"), 5) << "the journal, the spool, sockets";
  EXPECT_GE(query(port, "process_max_fds"), query(port, "process_open_fds"));
  EXPECT_GT(query(port, "process_cpu_seconds_total"), 0);
  const double age = query(port, "time() - process_start_time_seconds");
  EXPECT_GE(age, -2) << "started before now (within the clock's tick)";
  EXPECT_LT(age, 600) << "and during this test";
  // The shipped rules are loaded (each "- alert:" of alerts.yml), and none is pending or firing
  // for a healthy daemon. (A query of ALERTS cannot tell "none" from "no answer".)
  const std::string shipped = read_file(dir_ / "alerts.yml");
  int shipped_rules = 0;
  for (auto at = shipped.find("- alert:"); at != std::string::npos; at = shipped.find("- alert:", at + 1)) ++shipped_rules;
  ASSERT_GT(shipped_rules, 0);
  RulesSeen seen;
  EXPECT_TRUE(eventually([&] { return (seen = rules_seen(port)).alerting_rules == shipped_rules; }, 20s))
      << seen.alerting_rules << " alerting rules loaded of " << shipped_rules;
  // Waited for, not read once: on a loaded machine one scrape can time out (the interval is
  // 1 s) and put an alert on `up` in pending for a moment.
  EXPECT_TRUE(eventually([&] { return (seen = rules_seen(port)).active_alerts.empty(); }, 20s))
      << fmt::format("{}", fmt::join(seen.active_alerts, ", "));
  prometheus.signal(SIGTERM);
  prometheus.wait_exit(30s);
  EXPECT_EQ(daemon.stop(), 0);
}
