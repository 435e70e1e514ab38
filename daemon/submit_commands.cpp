// Role: bytenite-submit's commands (see submit_commands.hpp).
#include "submit_commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <simdjson.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>

#include "cli/abort.hpp"
#include "cli/control_client.hpp"
#include "cli/exit_codes.hpp"
#include "cli/spool_drop.hpp"
#include "cli/validate.hpp"
#include "spool/input_file.hpp"
#include "cli/wait.hpp"
#include "config/load.hpp"
#include "util/json_text.hpp"

namespace submitd::cli_main {
namespace {

namespace fs = std::filesystem;
using cli::kDone;
using cli::kRefused;
using cli::kUsage;

void problem(const std::string& text) { std::fprintf(stderr, "bytenite-submit: %s\n", text.c_str()); }

// The daemon's settings, when there is a config to read (given, or the default one exists).
// Exits 2 on a bad config.
std::optional<config::Settings> load_config(const CliOptions& o) {
  if (!o.config_given && !fs::exists(o.config)) return std::nullopt;
  try {
    return config::load_settings_file(o.config);
  } catch (const config::ConfigError& e) {
    problem(e.what());
    std::exit(kUsage);
  }
}

// The control socket to use: --socket, else the configuration's (when it exists).
std::optional<fs::path> socket_of(const CliOptions& o, const std::optional<config::Settings>& settings) {
  if (o.socket) return o.socket;
  if (settings && settings->control.socket && fs::exists(*settings->control.socket)) return settings->control.socket;
  return std::nullopt;
}


std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    append_json_string(out, item);
  }
  return out + "]";
}

// What became of one submitted input.
struct Sent {
  int exit = kDone;
  std::size_t accepted = 0;
  std::size_t refused = 0;
};

std::string read_all(int fd, const std::string& shown, Sent& sent) {
  std::string content;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      problem(shown + ": " + std::strerror(errno));
      sent.exit = kRefused;
      return {};
    }
    content.append(buf, static_cast<std::size_t>(n));
  }
  return content;
}

// Posts one input to the control socket and reports each request's fate.
Sent post_file(const fs::path& socket, const std::string& shown, int fd, const CliOptions& o) {
  Sent sent;
  const std::string content = read_all(fd, shown, sent);
  if (sent.exit != kDone) return sent;
  const cli::ControlReply reply = cli::control_request(socket, "POST", "/v1/jobs", content);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const bool json = reply.status != 0 && !parser.parse(simdjson::padded_string(reply.body)).get(doc) && doc.is_object();
  std::string_view error;
  if (!json || !doc["error"].get(error)) {
    // An "error" body on a 2xx is still a refusal; otherwise the common table.
    sent.exit = cli::exit_code_of(reply) == kDone ? kRefused : cli::exit_code_of(reply);
    const std::string why = reply.status == 0 ? reply.error
                            : json           ? std::string(error)
                                             : "HTTP " + std::to_string(reply.status) + ": " + reply.body;
    if (o.json) std::printf("{\"file\":%s,\"error\":%s}\n", json_string(shown).c_str(), json_string(why).c_str());
    else problem(shown + ": " + why);
    return sent;
  }
  sent.exit = reply.status == 202 ? kDone : kRefused;
  for (auto item : doc["accepted"].get_array()) {
    ++sent.accepted;
    if (o.json || o.quiet) continue;
    std::printf("accepted %s line %lld: requestId %s, jobId %s\n", shown.c_str(),
                static_cast<long long>(int64_t(item["line"])), std::string(std::string_view(item["requestId"])).c_str(),
                std::string(std::string_view(item["jobId"])).c_str());
  }
  for (auto item : doc["rejected"].get_array()) {
    ++sent.refused;
    sent.exit = kRefused;
    if (!o.json) std::fprintf(stderr, "refused %s: %s\n", shown.c_str(), std::string(std::string_view(item["error"])).c_str());
  }
  if (o.json) std::printf("{\"file\":%s,\"status\":%d,\"answer\":%s}\n", json_string(shown).c_str(), reply.status, reply.body.c_str());
  return sent;
}

// The spool: --spool, else the configuration's (checked to be one); nullopt after saying why.
std::optional<fs::path> spool_of(const CliOptions& o, const std::optional<config::Settings>& settings,
                                 const std::string& alternatives) {
  fs::path spool;
  if (o.spool) spool = *o.spool;
  else if (settings) spool = settings->spool.dir;
  else {
    problem("no " + alternatives + ": give " + (alternatives == "spool" ? "" : "--socket PATH, ") +
            "--spool DIR or --config FILE (" + o.config + " does not exist)");
    return std::nullopt;
  }
  if (!fs::is_directory(spool / "incoming") || !fs::is_directory(spool / "tmp")) {
    problem(spool.string() + " is not a spool (no tmp/ and incoming/)");
    return std::nullopt;
  }
  return spool;
}

// Where submit sends: the control socket, else the spool; nullopt after saying why.
struct Target {
  std::optional<fs::path> socket;
  fs::path spool;
};
std::optional<Target> submit_target(const CliOptions& o) {
  const auto settings = (o.spool && o.socket) ? std::nullopt : load_config(o);
  Target t;
  t.socket = o.drop ? std::nullopt : socket_of(o, settings);
  if (t.socket) return t;
  auto spool = spool_of(o, settings, "control socket and no spool");
  if (!spool) return std::nullopt;
  t.spool = *spool;
  return t;
}

Sent drop_file(const fs::path& spool, const std::string& name, const std::string& shown, int fd, const CliOptions& o) {
  Sent sent;
  try {
    const std::string queued = (spool / "incoming" / cli::drop_into_spool(spool, name, fd)).string();
    if (o.json) std::printf("{\"file\":%s,\"queued\":%s}\n", json_string(shown).c_str(), json_string(queued).c_str());
    else if (!o.quiet) std::printf("queued %s\n", queued.c_str());
  } catch (const std::exception& e) {
    problem(shown + ": " + e.what());
    sent.exit = kRefused;
  }
  return sent;
}

// The worst of two statuses: usage or unreachable over busy over refused over done.
std::string fmt_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

int worse(int a, int b) {
  auto rank = [](int code) { return code == kUsage ? 3 : code == cli::kTemporary ? 2 : code == kRefused ? 1 : 0; };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace

std::optional<fs::path> control_socket_for(const CliOptions& o, const std::string& command) {
  auto socket = socket_of(o, o.socket ? std::nullopt : load_config(o));
  if (!socket) problem(command + " needs the control socket: give --socket PATH or a --config with control.socket");
  return socket;
}

int run_validate(const CliOptions& o) {
  const auto settings = load_config(o);
  const std::uint64_t limit = settings ? settings->spool.max_request_bytes : config::SpoolSettings{}.max_request_bytes;
  cli::ValidationReport report;
  const auto rules = spool::input_rules_of(settings ? settings->upload : config::UploadSettings{});
  for (const auto& f : o.files) cli::validate_input(f, limit, rules, report);
  if (o.json) {
    std::printf("{\"valid\":%zu,\"refused\":%zu,\"problems\":%s,\"warnings\":%s}\n", report.requests, report.refused,
                json_array(report.problems).c_str(), json_array(report.warnings).c_str());
  } else {
    for (const auto& w : report.warnings) std::printf("warning: %s\n", w.c_str());
    for (const auto& p : report.problems) std::printf("%s\n", p.c_str());
    std::printf("%zu request%s valid, %zu refused\n", report.requests, report.requests == 1 ? "" : "s", report.refused);
  }
  return report.refused == 0 ? kDone : kRefused;
}

int run_submit(const CliOptions& o) {
  const auto target = submit_target(o);
  if (!target) return kUsage;
  std::vector<std::string> files = o.files;
  if (files.empty()) files.push_back("-");
  const bool progress = !o.quiet && !o.json && files.size() > 1 && ::isatty(2);
  Sent total;
  std::size_t done = 0;
  for (const auto& f : files) {
    const bool from_stdin = f == "-";
    const std::string shown = from_stdin ? "stdin" : f;
    const int fd = from_stdin ? 0 : ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    Sent sent;
    if (fd < 0) {
      problem(f + ": " + std::strerror(errno));
      sent.exit = kRefused;
    } else if (target->socket) {
      sent = post_file(*target->socket, shown, fd, o);
    } else {
      const std::string name = from_stdin ? "stdin-" + std::to_string(std::time(nullptr)) + "-" +
                                                std::to_string(::getpid()) + ".jsonl"
                                          : fs::path(f).filename().string();
      sent = drop_file(target->spool, name, shown, fd, o);
    }
    if (fd > 0) ::close(fd);
    total.exit = worse(total.exit, sent.exit);
    total.accepted += sent.accepted;
    total.refused += sent.refused;
    ++done;
    if (progress) std::fprintf(stderr, "\r%zu/%zu files, %zu accepted, %zu refused", done, files.size(), total.accepted, total.refused);
  }
  if (progress) std::fputc('\n', stderr);
  if (!o.quiet && !o.json && target->socket) {
    std::printf("%zu file%s: %zu request%s accepted, %zu refused\n", files.size(), files.size() == 1 ? "" : "s",
                total.accepted, total.accepted == 1 ? "" : "s", total.refused);
  }
  return total.exit;
}

int run_status(const CliOptions& o) {
  const auto socket = control_socket_for(o, "status");
  if (!socket) return kUsage;
  const std::string target = o.request_id.empty() ? "/v1/status" : "/v1/jobs/" + cli::path_segment(o.request_id);
  const cli::ControlReply reply = cli::control_request(*socket, "GET", target, "");
  if (reply.status != 200) {
    problem(reply.status ? reply.body : reply.error);
    return cli::exit_code_of(reply);
  }
  std::printf("%s\n", reply.body.c_str());
  return kDone;
}

int run_pause_or_resume(const CliOptions& o, bool pause) {
  const std::string command = pause ? "pause" : "resume";
  const auto socket = control_socket_for(o, command);
  if (!socket) return kUsage;
  const cli::ControlReply reply = cli::control_request(*socket, "POST", "/v1/" + command, "");
  if (reply.status != 200) {
    problem(reply.status ? reply.body : reply.error);
    return cli::exit_code_of(reply);
  }
  std::printf("%s\n", pause ? "paused: intake goes on, nothing is sent to the API" : "resumed: submitting again");
  return kDone;
}

int run_abort(const CliOptions& o) {
  const auto socket = control_socket_for(o, "abort");
  if (!socket) return kUsage;
  const cli::AbortReport report = cli::abort_request(*socket, o.request_id);
  if (!report.out.empty()) std::printf("%s\n", report.out.c_str());
  if (!report.err.empty()) problem(report.err);
  return report.exit_code;
}

int run_wait(const CliOptions& o) {
  const bool file = cli::names_a_file(o.wait_for);
  std::optional<fs::path> socket;
  std::optional<fs::path> spool;
  if (file) {
    spool = spool_of(o, o.spool ? std::nullopt : load_config(o), "spool");
    if (!spool) return kUsage;
  } else {
    if (!cli::is_request_id(o.wait_for)) {
      problem("'" + o.wait_for + "' is neither a FILE (.json, .jsonl, or a path) nor a requestId");
      return kUsage;
    }
    socket = control_socket_for(o, "wait REQUEST_ID");
    if (!socket) return kUsage;
  }
  const std::string name = fs::path(o.wait_for).filename().string();
  const std::string target = "/v1/jobs/" + cli::path_segment(o.wait_for);
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    const cli::WaitVerdict v = file ? cli::file_verdict(*spool, name)
                                    : cli::request_verdict(cli::control_request(*socket, "GET", target, ""));
    if (v.ended) {
      std::fprintf(v.exit_code == kDone ? stdout : stderr, "%s\n", v.line.c_str());
      return v.exit_code;
    }
    if (o.timeout_s > 0 && std::chrono::steady_clock::now() - started >= std::chrono::duration<double>(o.timeout_s)) {
      problem("still waiting for " + o.wait_for + " after " + fmt_seconds(o.timeout_s) + ": try again later");
      return cli::kTemporary;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace submitd::cli_main
