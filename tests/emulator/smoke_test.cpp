// emulator_smoke: starts the real bytenite-emulator on 127.0.0.1:0, waits for its ready file,
// and talks to it over verified TLS with curl: token, create, get, the account limit's 429;
// checks that the CA file makes verification succeed (by IP and by name) and that it fails
// without it or for the wrong name; a round trip through the storage endpoint (an input PUT
// with curl -T, its SHA-256 in the ledger; a result fetched, its bytes as generated); then
// SIGTERM must give exit status 0. No shell involved:
// processes are spawned directly. Usage: emulator_smoke_test /path/to/bytenite-emulator
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "result_bytes.hpp"
#include "sha256_hex.hpp"

extern char** environ;

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
  if (!ok) ++failures;
}

pid_t spawn(const std::vector<std::string>& args, int stdout_fd = -1) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    std::cerr << "cannot start " << args[0] << ": " << std::strerror(rc) << "\n";
    std::exit(2);
  }
  return pid;
}

struct CurlResult {
  int exit_code = -1;
  int http_status = 0;
  std::string body;
};

// Runs curl with its output in a temporary file (no pipes to drain, no shell).
CurlResult curl(const fs::path& scratch, std::vector<std::string> args) {
  const fs::path out = scratch / "curl.out";
  std::vector<std::string> full{"curl",       "-sS", "--noproxy", "*",
                                "--max-time", "10",  "-w",        "\n%{http_code}"};
  full.insert(full.end(), args.begin(), args.end());
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const pid_t pid = spawn(full, fd);
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CurlResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  const auto nl = text.rfind('\n');
  if (nl != std::string::npos) {
    r.http_status = std::atoi(text.c_str() + nl + 1);
    r.body = text.substr(0, nl);
  }
  return r;
}

json::value parse_or_null(const std::string& s) {
  json::error_code ec;
  json::value v = json::parse(s, ec);
  return ec ? json::value(nullptr) : v;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The storage endpoint over real TLS: an input PUT to a "file" job's tempUrl (as curl -T
// does, with Expect: 100-continue), and a completed job's result fetched whole.
void check_storage(const fs::path& scratch, const std::string& ca, const std::string& base, const std::string& auth) {
  curl(scratch, {"--cacert", ca, "-X", "POST", "-d", R"({"jobDurationMs":0,"resultBytes":300001})",
                 base + "/_emulator/config"});
  const std::string id = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  curl(scratch, {"--cacert", ca, "-X", "POST", "-H", auth, "-d", R"({"templateId":"smoke","jobId":")" + id + R"("})",
                 base + "/v1/customer/jobs"});
  CurlResult source = curl(scratch, {"--cacert", ca, "-X", "PATCH", "-H", auth, "-d",
                                     R"({"dataSource":{"dataSourceDescriptor":"file"},"dataDestination":{"dataSourceDescriptor":"bucket"}})",
                                     base + "/v1/customer/jobs/" + id + "/datasource"});
  json::value s = parse_or_null(source.body);
  const bool has_url = s.is_object() && s.at("job").at("dataSource").at("params").as_object().contains("tempUrl");
  check(has_url, "a file data source answers with a tempUrl");
  if (!has_url) return;
  const std::string temp_url(s.at("job").at("dataSource").at("params").at("tempUrl").as_string());
  std::string input(2 * 1024 * 1024 + 3, '\0');
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::ofstream(scratch / "input.bin", std::ios::binary) << input;
  CurlResult put = curl(scratch, {"--cacert", ca, "-T", (scratch / "input.bin").string(), temp_url});
  check(put.http_status == 200, "curl -T to the tempUrl answers 200, got " + std::to_string(put.http_status));
  CurlResult ledger = curl(scratch, {"--cacert", ca, base + "/_emulator/ledger"});
  json::value l = parse_or_null(ledger.body);
  bool sha_ok = false;
  if (l.is_object()) {
    for (const auto& job : l.at("jobs").as_array()) {
      if (job.at("id") == id.c_str()) sha_ok = job.as_object().contains("uploadSha256") && job.at("uploadSha256") == emulator::sha256_hex(input).c_str();
    }
  }
  check(sha_ok, "the ledger has the upload's SHA-256, equal to the file's");
  CurlResult done = curl(scratch, {"--cacert", ca, "-X", "PATCH", "-H", auth, "-d", "{}", base + "/v1/customer/jobs/" + id + "/uploadcompleted"});
  CurlResult ran = curl(scratch, {"--cacert", ca, "-X", "POST", "-H", auth, "-d", "{}", base + "/v1/customer/jobs/" + id + "/run"});
  check(done.http_status == 200 && ran.http_status == 200, "uploadcompleted, then run, answer 200");
  CurlResult results = curl(scratch, {"--cacert", ca, "-H", auth, base + "/v1/customer/jobs/" + id + "/results"});
  json::value r = parse_or_null(results.body);
  if (!r.is_object() || r.at("results").as_array().empty()) return check(false, "a completed job lists its results");
  const auto& first = r.at("results").at(0);
  const std::string name(first.at("name").as_string());
  CurlResult fetched = curl(scratch, {"--cacert", ca, "-o", (scratch / "result.bin").string(), std::string(first.at("link").as_string())});
  std::string expected(300001, '\0');
  emulator::result_bytes(emulator::result_seed(id, name), 0, expected.data(), expected.size());
  check(fetched.http_status == 200 && read_all(scratch / "result.bin") == expected,
        "the result link serves its 300001 generated bytes");
}

// The account limit end to end: one call per 100 s (burst 1) set through the hook, so the
// second of two back-to-back calls is refused however slow this machine is.
void check_account_limit(const fs::path& scratch, const std::string& ca, const std::string& base,
                         const std::string& auth, const std::string& id) {
  CurlResult limited =
      curl(scratch, {"--cacert", ca, "-X", "POST", "-d", R"({"rate_limit_per_second":0.01})",
                     base + "/_emulator/config"});
  const json::value config = parse_or_null(limited.body);
  check(limited.http_status == 200 && config.is_object() &&
            config.at("rateLimitPerSecond").to_number<double>() == 0.01,
        "the config hook takes rate_limit_per_second");
  const std::vector<std::string> get_job{"--cacert", ca,   "-i",
                                         "-H",       auth, base + "/v1/customer/jobs/" + id};
  const CurlResult admitted = curl(scratch, get_job);
  const CurlResult refused = curl(scratch, get_job);
  check(admitted.http_status == 200 && refused.http_status == 429,
        "the call beyond the burst answers 429, got " + std::to_string(admitted.http_status) +
            " then " + std::to_string(refused.http_status));
  check(refused.body.find("Retry-After: 100") != std::string::npos ||
            refused.body.find("Retry-After: 99") != std::string::npos,
        "the 429 carries Retry-After (about 100 s)");
  check(refused.body.find(R"("message":"rate limit exceeded")") != std::string::npos,
        "the 429 has a JSON error body");
  json::value after =
      parse_or_null(curl(scratch, {"--cacert", ca, base + "/_emulator/ledger/summary"}).body);
  check(after.is_object() && after.at("throttled429").to_number<int>() == 1,
        "the ledger counts one 429");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: emulator_smoke_test /path/to/bytenite-emulator\n";
    return 2;
  }
  std::string scratch_template = (fs::temp_directory_path() / "emulator-smoke.XXXXXX").string();
  if (!::mkdtemp(scratch_template.data())) return 2;
  const fs::path scratch = scratch_template;
  const fs::path ready = scratch / "ready.json";

  const int log_fd = ::open((scratch / "emulator.out").c_str(), O_WRONLY | O_CREAT, 0600);
  const pid_t emulator =
      spawn({argv[1], "--listen", "127.0.0.1:0", "--cert-dir", (scratch / "certs").string(),
             "--ready-file", ready.string(), "--api-key", "smoke-key", "--quiet"},
            log_fd);
  ::close(log_fd);

  // Wait for the ready file (written atomically, so it is complete once it exists).
  json::value info;
  for (auto deadline = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
    int status = 0;
    if (::waitpid(emulator, &status, WNOHANG) == emulator) {
      std::cerr << "emulator exited early\n";
      return 1;
    }
    std::ifstream in(ready);
    if (!in) continue;
    std::stringstream s;
    s << in.rdbuf();
    info = parse_or_null(s.str());
    break;
  }
  if (!info.is_object()) {
    std::cerr << "no ready file\n";
    ::kill(emulator, SIGKILL);
    return 1;
  }
  const auto port = std::to_string(info.at("port").to_number<int>());
  const std::string ca(info.at("caFile").as_string());
  check(info.at("pid").to_number<pid_t>() == emulator, "ready file names the emulator's pid");
  check(fs::exists(ca), "ca file exists");
  const std::string base = "https://127.0.0.1:" + port;

  CurlResult token = curl(scratch, {"--cacert", ca, "-X", "POST", "-d", R"({"apiKey":"smoke-key"})",
                                    base + "/v1/auth/access_token"});
  json::value t = parse_or_null(token.body);
  const bool got_token =
      token.http_status == 200 && t.is_object() && t.as_object().contains("token");
  check(got_token, "token exchange answers 200 with a token");
  const std::string auth =
      got_token ? "Authorization: " + std::string(t.at("token").as_string()) : "";
  check(got_token && t.at("expiresIn") == "3600", "expiresIn is the string \"3600\"");

  const std::string id = "5f0c7a8e-3b1d-4c2a-9e4f-0a1b2c3d4e5f";
  CurlResult created = curl(
      scratch, {"--cacert", ca, "-X", "POST", "-H", auth, "-d",
                R"({"templateId":"smoke","jobId":")" + id + R"("})", base + "/v1/customer/jobs"});
  json::value c = parse_or_null(created.body);
  check(created.http_status == 200 && c.is_object() && c.at("job").at("id") == id.c_str(),
        "create with a client jobId answers 200 with that id");

  // By name this time: verifies the DNS:localhost SAN.
  CurlResult got =
      curl(scratch, {"--cacert", ca, "-H", auth, "--resolve", "localhost:" + port + ":127.0.0.1",
                     "https://localhost:" + port + "/v1/customer/jobs/" + id});
  json::value g = parse_or_null(got.body);
  check(got.http_status == 200 && g.is_object() && g.at("job").at("state") == "JOB_STATE_NEW",
        "get by name answers 200, state JOB_STATE_NEW");

  CurlResult untrusted = curl(scratch, {base + "/_emulator/health"});
  check(untrusted.exit_code == 60, "without the CA file verification fails (curl exit 60), got " +
                                       std::to_string(untrusted.exit_code));
  CurlResult wrong_name =
      curl(scratch, {"--cacert", ca, "--resolve", "wrong.example:" + port + ":127.0.0.1",
                     "https://wrong.example:" + port + "/_emulator/health"});
  check(wrong_name.exit_code != 0 && wrong_name.http_status == 0,
        "a name not in the certificate fails verification, curl exit " +
            std::to_string(wrong_name.exit_code));

  CurlResult ledger = curl(scratch, {"--cacert", ca, base + "/_emulator/ledger/summary"});
  json::value l = parse_or_null(ledger.body);
  check(l.is_object() && l.at("totals").at("creates").to_number<int>() == 1 &&
            l.at("tokenExchanges").to_number<int>() == 1,
        "ledger counts one token exchange and one create");

  check_storage(scratch, ca, base, auth);
  check_account_limit(scratch, ca, base, auth, id);

  ::kill(emulator, SIGTERM);
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 250 && !exited; ++i) {
    exited = ::waitpid(emulator, &status, WNOHANG) == emulator;
    if (!exited) std::this_thread::sleep_for(20ms);
  }
  if (!exited) {
    ::kill(emulator, SIGKILL);
    ::waitpid(emulator, &status, 0);
  }
  check(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM gives exit status 0");
  check(!fs::exists(ready), "ready file removed on exit");

  std::ifstream log(scratch / "emulator.out");
  std::stringstream s;
  s << log.rdbuf();
  check(s.str().find("listening on https://127.0.0.1:" + port) != std::string::npos,
        "prints the listening line");
  check(s.str().find("smoke-key") == std::string::npos, "never prints the API key");

  std::error_code ignored;
  if (failures == 0)
    fs::remove_all(scratch, ignored);
  else
    std::cout << "scratch kept in " << scratch << "\n";
  std::cout << (failures == 0 ? "PASS" : "FAILED") << "\n";
  return failures == 0 ? 0 : 1;
}
