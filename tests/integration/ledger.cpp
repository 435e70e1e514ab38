// Role: request lines, ledger readings and outcome collection for integration tests
// (see ledger.hpp).
#include "ledger.hpp"

#include <simdjson.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

namespace fs = std::filesystem;

namespace submitd::testing {

std::string request_line(int n, bool with_params) {
  std::string r = fmt::format(
      R"({{"requestId":"it-{}","templateId":"img-gen-diffusers","name":"job {}",)"
      R"("dataSource":{{"dataSourceDescriptor":"url","params":{{"@type":"type.googleapis.com/bytenite.data_source.HttpDataSource","url":"https://storage.example.com/in-{}.txt"}}}},)"
      R"("dataDestination":{{"dataSourceDescriptor":"bucket"}},)",
      n, n, n);
  if (with_params) r += R"("params":{"partitioner":{"numImages":2},"app":{"prompt":"A sunset"},"assembler":{}},)";
  r += R"("config":{"taskTimeout":3600,"jobTimeout":86400,"isTestJob":true}})";
  return r;
}

std::string request_lines(int first, int count) {
  std::string lines;
  for (int n = first; n < first + count; ++n) lines += request_line(n) + "\n";
  return lines;
}

::testing::AssertionResult ran_once(const LedgerJob& job) {
  if (job.runs == 1 && job.rejected_runs == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << job.runs << " runs accepted, " << job.rejected_runs << " refused";
}

std::map<std::string, LedgerJob> read_ledger(Emulator& emulator) {
  auto answer = emulator.get("/_emulator/ledger");
  EXPECT_EQ(answer.status, 200) << answer.failure;
  std::map<std::string, LedgerJob> jobs;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(answer.body)).get(doc)) {
    ADD_FAILURE() << "ledger is not JSON";
    return jobs;
  }
  for (auto job : doc["jobs"].get_array()) {
    LedgerJob j;
    j.creates = static_cast<int>(int64_t(job["creates"]));
    j.runs = static_cast<int>(int64_t(job["runs"]));
    j.rejected_runs = static_cast<int>(int64_t(job["rejectedRuns"]));
    j.data_source_set = bool(job["dataSourceSet"]);
    j.params_set = bool(job["paramsSet"]);
    j.test_job = bool(job["testJob"]);
    j.uploads = static_cast<int>(int64_t(job["uploads"]));
    int64_t bytes = -1;
    if (!job["uploadBytes"].get(bytes)) {
      j.upload_bytes = bytes;
      j.upload_sha256 = std::string(std::string_view(job["uploadSha256"]));
    }
    jobs[std::string(std::string_view(job["id"]))] = j;
  }
  return jobs;
}

int64_t ledger_count(Emulator& emulator, const std::string& name) {
  auto answer = emulator.get("/_emulator/ledger/summary");
  if (answer.status != 200) return -1;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(answer.body)).get(doc)) return -1;
  int64_t value = -1;
  auto dot = name.find('.');
  auto field = dot == std::string::npos ? doc[name] : doc[name.substr(0, dot)][name.substr(dot + 1)];
  if (field.get(value)) return -1;
  return value;
}

bool wait_for_idle_closes(Emulator& emulator, int64_t n) {
  using namespace std::chrono_literals;
  return eventually([&] { return ledger_count(emulator, "connections.closedIdle") >= n; }, 10s);
}

std::vector<std::string> all_outcomes(const DaemonUnderTest& d) {
  std::vector<std::string> lines;
  for (const char* sub : {"done", "failed"}) {
    for (const auto& e : fs::directory_iterator(d.spool() / sub)) {
      auto name = e.path().filename().string();
      if (name.ends_with(".outcome.jsonl")) {
        for (auto& l : read_lines(e.path())) lines.push_back(l);
      }
    }
  }
  return lines;
}

}  // namespace submitd::testing
