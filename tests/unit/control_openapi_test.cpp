// Role: the control socket's OpenAPI description (docs/control-api.yaml) against the routes
// the daemon serves: the same set of methods and paths as control::kRoutes, and every route
// in kRoutes answered by ControlApi::handle (not "no such endpoint", not "use another
// method"), while paths and methods outside it are refused.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <utility>

#include "control/control_api.hpp"

using namespace submitd::control;

namespace {

using MethodPath = std::pair<std::string, std::string>;

// The methods under `paths:` of an OpenAPI file: "  /path:" lines, then "    get:" lines.
std::set<MethodPath> documented_routes(const std::string& file) {
  std::ifstream in(file);
  std::set<MethodPath> out;
  std::string line, path;
  bool in_paths = false;
  const std::regex path_line(R"(^  (/[^ :]*):\s*$)");
  const std::regex method_line(R"(^    (get|put|post|delete|head|patch|options):)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!in_paths) continue;
    if (!line.empty() && line[0] != ' ' && line[0] != '#') break;  // the next top-level key
    if (std::regex_match(line, m, path_line)) {
      path = m[1];
    } else if (std::regex_search(line, m, method_line)) {
      std::string method = m[1];
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.emplace(method, path);
    }
  }
  return out;
}

ControlApi api_with_every_hook() {
  ControlHooks h;
  h.status = [] { return DaemonStatus{}; };
  h.store = [](std::string, const std::string&, ControlHooks::Stored done) { done(nullptr, "c0ffee0000000001"); };
  h.job_id = [](const std::string& claim, std::uint64_t line) { return claim + std::to_string(line); };
  h.lookup = [](const std::string&) -> std::optional<RequestLookup> { return RequestLookup{"job", false, ""}; };
  h.set_paused = [](bool) {};
  h.abort = [](const std::string&) { return AbortAnswer{AbortAnswer::Kind::requested, "job", ""}; };
  h.queue = [](std::size_t) { return submitd::spool::QueueReport{}; };
  h.file_action = [](std::string_view, const std::string& f, bool) {
    return submitd::spool::FileActionResult{submitd::spool::FileActionResult::Kind::done, "", f, "ok"};
  };
  h.retry_now = [] { return std::size_t{0}; };
  return ControlApi(std::move(h), ControlLimits{});
}

}  // namespace

TEST(ControlOpenApi, DescribesExactlyTheRoutesServed) {
  const auto documented = documented_routes(SUBMITD_SOURCE_DIR "/docs/control-api.yaml");
  ASSERT_FALSE(documented.empty()) << "cannot read docs/control-api.yaml";
  std::set<MethodPath> served;
  for (const auto& r : kRoutes) served.emplace(std::string(r.method), std::string(r.path));
  for (const auto& r : documented) EXPECT_TRUE(served.count(r)) << "documented, not served: " << r.first << " " << r.second;
  for (const auto& r : served) EXPECT_TRUE(documented.count(r)) << "served, not documented: " << r.first << " " << r.second;
}

TEST(ControlOpenApi, EveryRouteIsAnsweredAndOthersAreNot) {
  ControlApi api = api_with_every_hook();
  for (const auto& r : kRoutes) {
    std::string target(r.path);
    if (auto at = target.find("{requestId}"); at != std::string::npos) target.replace(at, 11, "req-1");
    const std::string body = r.method == "POST" && target == "/v1/jobs" ? R"({"templateId":"t","dataSource":{"dataSourceDescriptor":"url","params":{"url":"https://x"}},"dataDestination":{"dataSourceDescriptor":"bucket"}})"
                             : target.starts_with("/v1/queue/") ? R"({"file":"x.retry.jsonl"})"
                                                                : "";
    ControlAnswer a = api.handle(r.method, target, body);
    EXPECT_NE(a.status, 405) << r.method << " " << target << ": " << a.body;
    EXPECT_EQ(a.body.find("no such endpoint"), std::string::npos) << r.method << " " << target << ": " << a.body;
  }
  for (const auto& [method, target] : std::set<MethodPath>{{"GET", "/v1/nothing"}, {"GET", "/v1/queue/hold/x"},
                                                           {"DELETE", "/v1/jobs"}, {"PUT", "/v1/queue"}}) {
    ControlAnswer a = api.handle(method, target, "");
    EXPECT_TRUE(a.status == 404 || a.status == 405) << method << " " << target << ": " << a.status;
  }
}
