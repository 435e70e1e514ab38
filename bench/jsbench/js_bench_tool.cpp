// Role: the NATS side of the JetStream benchmarks (bench/submitbench/fleet.py), through the
// project's own client (lib/jetstream): set up the request and outcome streams, publish N
// requests pipelined, and wait for N outcomes, reporting from their records when the first
// request was accepted and the last one finished. Bench-only; not installed.
//   js_bench_tool SERVERS setup REPLICAS ACK_WAIT_S
//   js_bench_tool SERVERS publish FIRST COUNT          (request_line-shaped requests)
//   js_bench_tool SERVERS outcomes COUNT TIMEOUT_S     (prints one JSON object)
// SERVERS: comma-separated nats:// URLs.
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "jetstream/jetstream_client.hpp"

namespace js = submitd::jetstream;
using namespace std::chrono_literals;

namespace {

std::string request(int n) {
  return "{\"requestId\":\"bench-" + std::to_string(n) +
         "\",\"templateId\":\"img-gen-diffusers\",\"name\":\"job\",\"dataSource\":{\"dataSourceDescriptor\":\"url\","
         "\"params\":{\"@type\":\"type.googleapis.com/bytenite.data_source.HttpDataSource\",\"url\":"
         "\"https://storage.example.com/in.txt\"}},\"dataDestination\":{\"dataSourceDescriptor\":\"bucket\"},"
         "\"params\":{\"partitioner\":{\"numImages\":2},\"app\":{\"prompt\":\"A sunset\"},\"assembler\":{}},"
         "\"config\":{\"taskTimeout\":3600,\"jobTimeout\":86400,\"isTestJob\":true}}";
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) out.push_back(part);
  return out;
}

int publish(js::Client& client, int first, int count) {
  std::vector<js::Client::Outgoing> batch;
  int failed = 0;
  const auto send = [&] {
    for (bool ok : client.publish_all(batch)) failed += ok ? 0 : 1;
    batch.clear();
  };
  for (int n = first; n < first + count; ++n) {
    batch.push_back({"bench.requests.jobs", request(n), "bench-" + std::to_string(n)});
    if (batch.size() == 1000) send();
  }
  if (!batch.empty()) send();
  std::printf("{\"published\":%d,\"failed\":%d}\n", count - failed, failed);
  return failed == 0 ? 0 : 1;
}

int outcomes(js::Client& client, std::size_t count, int timeout_s) {
  client.ensure_consumer({"OUTCOMES", "bench", "", 30s, 1000});
  js::PullConsumer reader(client, "OUTCOMES", "bench", "");
  simdjson::dom::parser parser;
  std::set<std::uint64_t> seqs;
  std::size_t records = 0, submitted = 0;
  std::string first_accepted = "~", last_finished;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (seqs.size() < count && std::chrono::steady_clock::now() < deadline) {
    for (const auto& d : reader.fetch(512, 500ms)) {
      ++records;
      simdjson::dom::element doc;
      if (parser.parse(d.data).get(doc) != simdjson::SUCCESS) continue;
      std::uint64_t seq = 0;
      if (doc["seq"].get(seq) == simdjson::SUCCESS) seqs.insert(seq);
      std::string_view status, accepted, finished;
      if (doc["status"].get(status) == simdjson::SUCCESS && status == "submitted") ++submitted;
      // ISO-8601 UTC with a fixed width: the text order is the time order.
      if (doc["acceptedAt"].get(accepted) == simdjson::SUCCESS && accepted < first_accepted) first_accepted = accepted;
      if (doc["finishedAt"].get(finished) == simdjson::SUCCESS && finished > last_finished) last_finished = finished;
      reader.ack(d);
    }
  }
  std::printf("{\"outcomes\":%zu,\"records\":%zu,\"submitted\":%zu,\"firstAccepted\":\"%s\",\"lastFinished\":\"%s\"}\n",
              seqs.size(), records, submitted, first_accepted.c_str(), last_finished.c_str());
  return seqs.size() == count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: js_bench_tool SERVERS setup|publish|outcomes ...\n");
    return 2;
  }
  try {
    js::Client client(js::ConnectSettings{split(argv[1]), {}, {}, 10s});
    const std::string command = argv[2];
    if (command == "setup" && argc == 5) {
      const int replicas = std::stoi(argv[3]);
      const auto ack_wait = std::chrono::seconds(std::stoi(argv[4]));
      client.ensure_stream({"BENCH", {"bench.requests.>"}, replicas, true});
      client.ensure_consumer({"BENCH", "fleet", "bench.requests.>", ack_wait, 5});
      client.ensure_stream({"OUTCOMES", {"bytenite.outcomes"}, replicas, false});
      return 0;
    }
    if (command == "publish" && argc == 5) return publish(client, std::stoi(argv[3]), std::stoi(argv[4]));
    if (command == "outcomes" && argc == 5) return outcomes(client, std::stoul(argv[3]), std::stoi(argv[4]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "js_bench_tool: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "js_bench_tool: bad arguments\n");
  return 2;
}
