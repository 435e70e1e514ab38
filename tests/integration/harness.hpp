// Role: the integration-test harness: runs the real programs (bytenite-emulator,
// bytenite-submitd) as child processes on 127.0.0.1 port 0 with temp directories, drops
// files into the spool the way producers do (tmp/ then rename), waits for results with a
// deadline (polling the file system or the emulator, never a fixed sleep), and reads the
// emulator's ledger over verified TLS with the project's own HTTPS client.
#pragma once

#include <sys/types.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace submitd::testing {

std::filesystem::path make_temp_dir(const std::string& tag);
std::string read_file(const std::filesystem::path& p);
std::vector<std::string> read_lines(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& content);

// A child process whose stdout/stderr go to a log file.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_file,
               const std::map<std::string, std::string>& extra_env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits for exit up to `timeout`; returns the exit status (or -signal), nullopt if still running.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  const std::filesystem::path& log_file() const { return log_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_;
};

// Polls `done` every few milliseconds until it is true or `timeout` passes.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout);

struct HttpAnswer {
  int status = 0;  // 0: transport failure
  std::string body;
  std::string failure;
  std::string head;  // status line and headers (unix_http only)
};

// A running emulator.
class Emulator {
 public:
  explicit Emulator(const std::filesystem::path& dir, const std::vector<std::string>& extra_args = {});
  std::uint16_t port() const { return port_; }
  const std::filesystem::path& ca_file() const { return ca_file_; }
  std::string base_url() const;  // https://localhost:PORT/v1
  HttpAnswer get(const std::string& target);
  HttpAnswer post(const std::string& target, const std::string& body);
  // The name get/post use to reach the emulator (and verify its certificate for); e.g.
  // "127.0.0.1" for an emulator whose certificate names another host.
  void set_hook_host(std::string host) { hook_host_ = std::move(host); }
  ChildProcess& process() { return *process_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> process_;
  std::uint16_t port_ = 0;
  std::filesystem::path ca_file_;
  std::string hook_host_ = "localhost";
};

// One https request with the project's client (certificate verified against `ca_file`).
HttpAnswer https_request(const std::string& host, std::uint16_t port, const std::filesystem::path& ca_file,
                         const std::string& method, const std::string& target, const std::string& body);

// A spool directory plus a daemon configured for it.
class DaemonUnderTest {
 public:
  static constexpr const char* kApiKey = "integration-secret-key-3f9c1e";

  DaemonUnderTest(const std::filesystem::path& dir, const Emulator& emulator,
                  const std::string& extra_toml = "");
  // Sets an environment variable for the next start(). The proxy variables (HTTPS_PROXY,
  // https_proxy, NO_PROXY, no_proxy) are otherwise set empty (unset for the daemon), so a
  // proxy in the environment running the tests is never used.
  void set_env(const std::string& name, const std::string& value) { env_[name] = value; }
  // Runs the daemon under a wrapper from the next start() on, e.g. {"/usr/bin/strace", ...}:
  // the daemon's own arguments follow the wrapper's. Signals then go to the wrapper.
  void set_wrapper(std::vector<std::string> wrapper) { wrapper_ = std::move(wrapper); }
  void start();
  std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void kill_hard();

  const std::filesystem::path& spool() const { return spool_; }
  const std::filesystem::path& config_file() const { return config_; }
  std::filesystem::path log_file() const { return dir_ / "daemon.log"; }
  ChildProcess* process() { return process_.get(); }
  // With `listen = "127.0.0.1:0"` under [metrics]: the port the daemon logged, and the value
  // of one series (e.g. "bytenite_submitd_token_refreshes_total"), -1 when not there.
  std::optional<std::uint16_t> metrics_port() const;
  double metric(const std::string& series) const;

  // Producer-style drop: write into tmp/, then rename into incoming/.
  void drop(const std::string& name, const std::string& content);
  std::size_t count_files(const std::string& subdir, const std::string& suffix) const;

 private:
  std::filesystem::path dir_, spool_, config_;
  std::unique_ptr<ChildProcess> process_;
  std::vector<std::string> wrapper_;
  std::map<std::string, std::string> env_{{"HTTPS_PROXY", ""}, {"https_proxy", ""}, {"NO_PROXY", ""}, {"no_proxy", ""}};
};

// One HTTP/1.1 exchange over a Unix socket (the control socket): a whole raw request as
// written, or a method/target/body (Connection: close). Reads until the server closes.
HttpAnswer unix_http(const std::filesystem::path& socket_path, const std::string& raw_request);
HttpAnswer unix_http(const std::filesystem::path& socket_path, const std::string& method,
                     const std::string& target, const std::string& body);

// A plain-HTTP GET on 127.0.0.1 (for the metrics endpoint); returns the body, "" on failure.
std::string http_get_local(std::uint16_t port, const std::string& target);
// The same GET, with the status (0: no answer).
HttpAnswer http_get_local_answer(std::uint16_t port, const std::string& target);

std::filesystem::path bin_dir();

// Nothing secret in `text`: not DaemonUnderTest's API key, nor a token-like run of 64 hex
// digits (the emulator's tokens).
void expect_no_secrets(const std::string& text, const std::string& what);

// Runs bytenite-submit with `args` to its end (30 s at most); its output (stdout and stderr)
// goes to `log` and into `output`. Returns the exit status, -1 if it did not end.
int run_cli(const std::vector<std::string>& args, const std::filesystem::path& log, std::string& output);

// A test with a temp directory of its own (dir_), removed after a pass and kept, with its
// path printed, after a failure so the logs can be read.
class TempDirTest : public ::testing::Test {
 protected:
  explicit TempDirTest(std::string tag) : tag_(std::move(tag)) {}
  void SetUp() override { dir_ = make_temp_dir(tag_); }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
    else std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
  }
  std::filesystem::path dir_;

 private:
  std::string tag_;
};  // build/bin, from the SUBMITD_BIN_DIR compile definition

}  // namespace submitd::testing
