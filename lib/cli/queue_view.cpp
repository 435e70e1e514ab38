// Role: the queue report as a table (see queue_view.hpp).
#include "cli/queue_view.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>

namespace submitd::cli {

std::string short_duration(double seconds) {
  const long long s = seconds > 0 ? std::llround(seconds) : 0;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{}h", s / 86400, (s % 86400) / 3600);
}

namespace {

std::string count(simdjson::dom::element requests, const char* key) {
  std::int64_t n = 0;
  if (requests[key].get(n) || n == 0) return "-";
  return std::to_string(n);
}

}  // namespace

std::optional<std::string> queue_table(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array files;
  std::int64_t incoming_total = 0;
  if (parser.parse(json.data(), json.size()).get(doc) || doc["files"].get(files) ||
      doc["incomingTotal"].get(incoming_total)) {
    return std::nullopt;
  }
  std::string out = fmt::format("{:<16}  {:<10}  {:>6}  {:>7}  {:>7}  {:>8}  {:>9}  {:>6}  {:>9}  {}\n", "CLAIM", "STATE",
                                "AGE", "WAITING", "SENDING", "DEFERRED", "SUBMITTED", "FAILED", "FOLLOWING", "NAME");
  std::size_t listed = 0, active = 0;
  for (simdjson::dom::element f : files) {
    std::string_view claim = "-", state, name;
    double age = 0;
    simdjson::dom::element requests;
    if (f["state"].get(state) || f["name"].get(name) || f["ageSeconds"].get(age) || f["requests"].get(requests)) {
      return std::nullopt;
    }
    if (f["claimId"].get(claim)) claim = "-";
    if (claim != "-") ++active;
    ++listed;
    out += fmt::format("{:<16}  {:<10}  {:>6}  {:>7}  {:>7}  {:>8}  {:>9}  {:>6}  {:>9}  {}\n", claim, state,
                       short_duration(age), count(requests, "waiting"), count(requests, "inFlight"),
                       count(requests, "deferred"), count(requests, "submitted"), count(requests, "failed"),
                       count(requests, "following"), name);
  }
  const auto incoming_listed = listed - active;
  out += fmt::format("{} in incoming/{}, {} in active/\n", incoming_total,
                     static_cast<std::int64_t>(incoming_listed) < incoming_total
                         ? fmt::format(" ({} oldest listed)", incoming_listed)
                         : std::string(),
                     active);
  return out;
}

}  // namespace submitd::cli
