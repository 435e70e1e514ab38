// Role: implementation of the integration-test harness (see harness.hpp).
#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <thread>

#include "api/https_pool.hpp"

extern char** environ;

namespace submitd::testing {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path bin_dir() { return SUBMITD_BIN_DIR; }

fs::path make_temp_dir(const std::string& tag) {
  std::string tmpl = (fs::temp_directory_path() / ("submitd-" + tag + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const fs::path& log_file,
                           const std::map<std::string, std::string>& extra_env)
    : log_(log_file) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto name = kv.substr(0, kv.find('='));
    if (!extra_env.count(name)) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : extra_env) env_strings.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_file.string());
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // If the test process dies (a crash, a failed assertion in a helper thread's abort), its
    // emulators and daemons go with it instead of lingering after the run.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

ChildProcess::~ChildProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait_exit(5s);
  }
}

void ChildProcess::signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

bool ChildProcess::running() {
  if (status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    return false;
  }
  return true;
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  eventually([&] { return !running(); }, timeout);
  return status_;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

HttpAnswer https_request(const std::string& host, std::uint16_t port, const fs::path& ca_file,
                         const std::string& method, const std::string& target, const std::string& body) {
  boost::asio::io_context io;
  api::PoolSettings settings;
  settings.host = host;
  settings.port = port;
  settings.ca_file = ca_file.string();
  settings.connections = 1;
  api::HttpsPool pool(io.get_executor(), settings);
  api::HttpCall call;
  call.method = method == "GET" ? api::Method::get : method == "PATCH" ? api::Method::patch : api::Method::post;
  call.target = target;
  call.body = body;
  HttpAnswer answer;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> {
        auto r = co_await pool.send(call);
        answer.status = r.has_response() ? r.status : 0;
        answer.body = r.body;
        answer.failure = r.failure_detail;
        pool.shutdown();
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return answer;
}

std::string http_get_local(std::uint16_t port, const std::string& target) {
  return http_get_local_answer(port, target).body;
}

HttpAnswer http_get_local_answer(std::uint16_t port, const std::string& target) {
  HttpAnswer answer;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return answer;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) response.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  auto body = response.find("\r\n\r\n");
  if (body == std::string::npos || response.compare(0, 9, "HTTP/1.1 ") != 0) return answer;
  answer.status = std::atoi(response.c_str() + 9);
  answer.head = response.substr(0, body);
  answer.body = response.substr(body + 4);
  return answer;
}

int run_cli(const std::vector<std::string>& args, const fs::path& log, std::string& output) {
  std::vector<std::string> argv{(bin_dir() / "bytenite-submit").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess p(argv, log);
  auto status = p.wait_exit(std::chrono::seconds(30));
  output = read_file(log);
  return status.value_or(-1);
}

HttpAnswer unix_http(const fs::path& socket_path, const std::string& raw_request) {
  HttpAnswer answer;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    answer.failure = "socket";
    return answer;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path.c_str());
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    answer.failure = std::string("connect: ") + std::strerror(errno);
  } else {
    std::string_view rest = raw_request;
    while (!rest.empty()) {
      ssize_t n = ::write(fd, rest.data(), rest.size());
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    char buf[8192];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (response.rfind("HTTP/1.1 ", 0) == 0) answer.status = std::atoi(response.c_str() + 9);
  auto body = response.find("\r\n\r\n");
  if (body != std::string::npos) answer.body = response.substr(body + 4);
  answer.head = response.substr(0, body);
  return answer;
}

HttpAnswer unix_http(const fs::path& socket_path, const std::string& method, const std::string& target,
                     const std::string& body) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  return unix_http(socket_path, req);
}

Emulator::Emulator(const fs::path& dir, const std::vector<std::string>& extra_args) : dir_(dir) {
  fs::create_directories(dir);
  auto ready = dir / "ready.json";
  std::vector<std::string> argv = {(bin_dir() / "bytenite-emulator").string(),
                                   "--listen", "127.0.0.1:0",
                                   "--cert-dir", dir.string(),
                                   "--ready-file", ready.string(),
                                   "--api-key", DaemonUnderTest::kApiKey,
                                   "--quiet"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<ChildProcess>(argv, dir / "emulator.log");
  if (!eventually([&] { return fs::exists(ready) || !process_->running(); }, 30s) || !fs::exists(ready)) {
    throw std::runtime_error("emulator did not start: " + read_file(dir / "emulator.log"));
  }
  simdjson::dom::parser parser;
  auto doc = parser.parse(simdjson::padded_string(read_file(ready)));
  port_ = static_cast<std::uint16_t>(int64_t(doc["port"]));
  ca_file_ = std::string(std::string_view(doc["caFile"]));
}

std::string Emulator::base_url() const { return "https://localhost:" + std::to_string(port_) + "/v1"; }

HttpAnswer Emulator::get(const std::string& target) {
  return https_request(hook_host_, port_, ca_file_, "GET", target, "");
}

HttpAnswer Emulator::post(const std::string& target, const std::string& body) {
  return https_request(hook_host_, port_, ca_file_, "POST", target, body);
}

DaemonUnderTest::DaemonUnderTest(const fs::path& dir, const Emulator& emulator, const std::string& extra_toml)
    : dir_(dir), spool_(dir / "spool"), config_(dir / "config.toml") {
  fs::create_directories(dir);
  write_file(dir / "api_key", std::string(kApiKey) + "\n");
  std::string toml = "[api]\n";
  toml += "base_url = \"" + emulator.base_url() + "\"\n";
  toml += "ca_file = \"" + emulator.ca_file().string() + "\"\n";
  toml += "api_key_file = \"" + (dir / "api_key").string() + "\"\n";
  toml += extra_toml;
  if (extra_toml.find("[spool]") == std::string::npos) {
    toml += "\n[spool]\ndir = \"" + spool_.string() + "\"\nrescan_interval_ms = 250\n";
  }
  if (extra_toml.find("[metrics]") == std::string::npos) toml += "\n[metrics]\nlisten = \"\"\n";
  write_file(config_, toml);
  // Create the layout up front so tests can drop files before the daemon starts.
  for (const char* d : {"tmp", "incoming"}) fs::create_directories(spool_ / d);
}

std::optional<std::uint16_t> DaemonUnderTest::metrics_port() const {
  static const std::string kMarker = "metrics on http://127.0.0.1:";
  auto log = read_file(log_file());
  auto at = log.rfind(kMarker);  // a restarted daemon's is the last
  if (at == std::string::npos) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoi(log.substr(at + kMarker.size())));
}

double DaemonUnderTest::metric(const std::string& series) const {
  auto port = metrics_port();
  if (!port) return -1;
  std::string text = "\n" + http_get_local(*port, "/metrics");
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

void DaemonUnderTest::start() {
  std::vector<std::string> argv = wrapper_;
  for (const auto& arg : {(bin_dir() / "bytenite-submitd").string(), std::string("--config"), config_.string()}) {
    argv.push_back(arg);
  }
  process_ = std::make_unique<ChildProcess>(argv, log_file(), env_);
}

std::optional<int> DaemonUnderTest::stop(std::chrono::milliseconds timeout) {
  if (!process_) return std::nullopt;
  process_->signal(SIGTERM);
  return process_->wait_exit(timeout);
}

void DaemonUnderTest::kill_hard() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->wait_exit(10s);
}

void DaemonUnderTest::drop(const std::string& name, const std::string& content) {
  auto staged = spool_ / "tmp" / name;
  write_file(staged, content);
  fs::rename(staged, spool_ / "incoming" / name);
}

std::size_t DaemonUnderTest::count_files(const std::string& subdir, const std::string& suffix) const {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(spool_ / subdir, ec)) {
    auto name = e.path().filename().string();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      ++n;
    }
  }
  return n;
}

void expect_no_secrets(const std::string& text, const std::string& what) {
  EXPECT_EQ(text.find(DaemonUnderTest::kApiKey), std::string::npos) << what << " contains the API key";
  static const std::regex token_like("[0-9a-fA-F]{64}");
  std::smatch m;
  EXPECT_FALSE(std::regex_search(text, m, token_like)) << what << " contains a token-like string: " << m.str();
}

}  // namespace submitd::testing
