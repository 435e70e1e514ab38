// Role: main of bytenite-submit, the command-line client. Parses the command line, finds the
// control socket and the spool from --socket/--spool or the daemon's config file, and runs
// the command; results on stdout, errors on stderr. Exit codes: 0 done/valid, 1 something
// was refused or failed, 2 usage or setup error.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <simdjson.h>

#include "cli/abort.hpp"
#include "cli/control_client.hpp"
#include "cli/spool_drop.hpp"
#include "cli/validate.hpp"
#include "config/load.hpp"
#include "config/settings.hpp"

namespace {

namespace fs = std::filesystem;
using namespace submitd;

constexpr const char* kDefaultConfig = "/etc/bytenite-submitd/config.toml";

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: bytenite-submit [--config FILE] [--socket PATH] [--spool DIR] [--drop] COMMAND [ARGS]\n"
               "Feeds job requests to bytenite-submitd and checks them.\n"
               "\n"
               "commands:\n"
               "  submit [FILE...]   queue .json/.jsonl files (or, with no FILE or '-', standard\n"
               "                     input): through the control socket when there is one (the\n"
               "                     answer names each request's jobId, or why it was refused),\n"
               "                     else by a safe drop into the spool (tmp/, synced, renamed\n"
               "                     into incoming/)\n"
               "  validate FILE...   check files offline exactly as the daemon would (same\n"
               "                     messages); exit 1 when anything would be refused\n"
               "  status [REQUEST_ID]  the daemon's status, or one request's (state submitting,\n"
               "                     submitted, failed or duplicate; jobId; error), as JSON,\n"
               "                     through the control socket; exit 1 when not found\n"
               "  pause, resume      stop or restart sending work to the API (intake goes on;\n"
               "                     the pause survives a daemon restart)\n"
               "  abort REQUEST_ID   stop one request through the control socket: if still queued\n"
               "                     it is not submitted, a running job gets the API's abort (its\n"
               "                     final state shows later in status REQUEST_ID); exit 0 when\n"
               "                     taken, 1 when unknown or already ended, 2 when the daemon\n"
               "                     could not be asked\n"
               "\n"
               "options:\n"
               "  --config FILE      the daemon's configuration (default %s): control.socket,\n"
               "                     spool.dir and spool.max_request_bytes are read from it\n"
               "  --socket PATH      the control socket (instead of the configuration's)\n"
               "  --spool DIR        the spool directory (instead of the configuration's)\n"
               "  --drop             submit by a spool drop even when there is a control socket\n"
               "  --help, --version\n"
               "exit status: 0 ok, 1 something was refused or failed, 2 usage or setup error\n",
               kDefaultConfig);
}

struct Args {
  std::string config = kDefaultConfig;
  bool config_given = false;
  std::optional<fs::path> spool;
  std::optional<fs::path> socket;
  bool drop = false;
  std::string command;
  std::vector<std::string> rest;
};

std::optional<Args> parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (a.command.empty() && s == "--drop") {
      a.drop = true;
    } else if (a.command.empty() && (s == "--config" || s == "--spool" || s == "--socket")) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bytenite-submit: %s needs a value\n", s.c_str());
        return std::nullopt;
      }
      if (s == "--config") {
        a.config = argv[++i];
        a.config_given = true;
      } else if (s == "--spool") {
        a.spool = fs::path(argv[++i]);
      } else {
        a.socket = fs::path(argv[++i]);
      }
    } else if (a.command.empty() && (s == "--help" || s == "-h")) {
      usage(stdout);
      std::exit(0);
    } else if (a.command.empty() && s == "--version") {
      std::printf("bytenite-submit %s\n", SUBMITD_VERSION);
      std::exit(0);
    } else if (a.command.empty() && s.rfind("--", 0) == 0) {
      std::fprintf(stderr, "bytenite-submit: unknown option '%s'\n", s.c_str());
      return std::nullopt;
    } else if (a.command.empty()) {
      a.command = s;
    } else {
      a.rest.push_back(s);
    }
  }
  if (a.command.empty()) {
    std::fprintf(stderr, "bytenite-submit: no command given\n");
    return std::nullopt;
  }
  return a;
}

// The daemon's settings, when there is a config to read (explicitly given, or the default
// one exists). Exits 2 on a bad config.
std::optional<config::Settings> load_config(const Args& a) {
  if (!a.config_given && !fs::exists(a.config)) return std::nullopt;
  try {
    return config::load_settings_file(a.config);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "bytenite-submit: %s\n", e.what());
    std::exit(2);
  }
}

int validate(const Args& a) {
  if (a.rest.empty()) {
    std::fprintf(stderr, "bytenite-submit: validate needs at least one FILE\n");
    return 2;
  }
  auto settings = load_config(a);
  std::uint64_t limit = settings ? settings->spool.max_request_bytes : config::SpoolSettings{}.max_request_bytes;
  cli::ValidationReport report;
  for (const auto& f : a.rest) cli::validate_input(f, limit, report);
  for (const auto& w : report.warnings) std::printf("warning: %s\n", w.c_str());
  for (const auto& p : report.problems) std::printf("%s\n", p.c_str());
  std::printf("%zu request%s valid, %zu refused\n", report.requests, report.requests == 1 ? "" : "s",
              report.refused);
  return report.refused == 0 ? 0 : 1;
}

// The control socket to use: --socket, else the configuration's (when it exists).
std::optional<fs::path> socket_of(const Args& a, const std::optional<config::Settings>& settings) {
  if (a.socket) return a.socket;
  if (settings && settings->control.socket && fs::exists(*settings->control.socket)) return settings->control.socket;
  return std::nullopt;
}

// The control socket a command needs; nullopt after telling how to give one.
std::optional<fs::path> control_socket_for(const Args& a, const std::string& command) {
  auto settings = a.socket ? std::nullopt : load_config(a);
  auto socket = socket_of(a, settings);
  if (!socket) {
    std::fprintf(stderr, "bytenite-submit: %s needs the control socket: give --socket PATH or a --config "
                         "with control.socket\n", command.c_str());
  }
  return socket;
}

// Posts one input to the control socket and reports each request's fate.
int post_file(const fs::path& socket, const std::string& shown, int fd) {
  std::string content;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "bytenite-submit: %s: %s\n", shown.c_str(), std::strerror(errno));
      return 1;
    }
    content.append(buf, static_cast<std::size_t>(n));
  }
  cli::ControlReply reply = cli::control_request(socket, "POST", "/v1/jobs", content);
  if (reply.status == 0) {
    std::fprintf(stderr, "bytenite-submit: %s: %s\n", shown.c_str(), reply.error.c_str());
    return 1;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(reply.body)).get(doc)) {
    std::fprintf(stderr, "bytenite-submit: %s: HTTP %d: %s\n", shown.c_str(), reply.status, reply.body.c_str());
    return 1;
  }
  std::string_view error;
  if (!doc["error"].get(error)) {
    std::fprintf(stderr, "bytenite-submit: %s: %.*s\n", shown.c_str(), static_cast<int>(error.size()), error.data());
    return 1;
  }
  int status = reply.status == 202 ? 0 : 1;
  for (auto item : doc["accepted"].get_array()) {
    std::printf("accepted %s line %lld: requestId %s, jobId %s\n", shown.c_str(),
                static_cast<long long>(int64_t(item["line"])), std::string(std::string_view(item["requestId"])).c_str(),
                std::string(std::string_view(item["jobId"])).c_str());
  }
  for (auto item : doc["rejected"].get_array()) {
    std::fprintf(stderr, "refused %s: %s\n", shown.c_str(), std::string(std::string_view(item["error"])).c_str());
    status = 1;
  }
  return status;
}

int submit(const Args& a) {
  auto settings = (a.spool && a.socket) ? std::nullopt : load_config(a);
  std::optional<fs::path> socket = a.drop ? std::nullopt : socket_of(a, settings);
  fs::path spool;
  if (!socket) {
    if (a.spool) {
      spool = *a.spool;
    } else if (settings) {
      spool = settings->spool.dir;
    } else {
      std::fprintf(stderr, "bytenite-submit: no control socket and no spool: give --socket PATH, --spool DIR "
                           "or --config FILE (%s does not exist)\n", a.config.c_str());
      return 2;
    }
    if (!fs::is_directory(spool / "incoming") || !fs::is_directory(spool / "tmp")) {
      std::fprintf(stderr, "bytenite-submit: %s is not a spool (no tmp/ and incoming/)\n", spool.c_str());
      return 2;
    }
  }
  std::vector<std::string> files = a.rest;
  if (files.empty()) files.push_back("-");
  int status = 0;
  for (const auto& f : files) {
    const bool from_stdin = f == "-";
    std::string name = from_stdin ? "stdin-" + std::to_string(std::time(nullptr)) + "-" +
                                        std::to_string(::getpid()) + ".jsonl"
                                  : fs::path(f).filename().string();
    int fd = from_stdin ? 0 : ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::fprintf(stderr, "bytenite-submit: %s: %s\n", f.c_str(), std::strerror(errno));
      status = 1;
      continue;
    }
    if (socket) {
      if (post_file(*socket, from_stdin ? "stdin" : f, fd) != 0) status = 1;
    } else {
      try {
        std::string queued = cli::drop_into_spool(spool, name, fd);
        std::printf("queued %s\n", (spool / "incoming" / queued).c_str());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "bytenite-submit: %s: %s\n", f.c_str(), e.what());
        status = 1;
      }
    }
    if (!from_stdin) ::close(fd);
  }
  return status;
}

int status(const Args& a) {
  if (a.rest.size() > 1) {
    std::fprintf(stderr, "bytenite-submit: status takes at most one REQUEST_ID\n");
    return 2;
  }
  auto socket = control_socket_for(a, "status");
  if (!socket) return 2;
  const std::string target = a.rest.empty() ? "/v1/status" : "/v1/jobs/" + cli::path_segment(a.rest[0]);
  cli::ControlReply reply = cli::control_request(*socket, "GET", target, "");
  if (reply.status != 200) {
    std::fprintf(stderr, "bytenite-submit: %s\n", reply.status ? reply.body.c_str() : reply.error.c_str());
    return 1;
  }
  std::printf("%s\n", reply.body.c_str());
  return 0;
}

int pause_or_resume(const Args& a) {
  auto socket = control_socket_for(a, a.command);
  if (!socket) return 2;
  cli::ControlReply reply = cli::control_request(*socket, "POST", "/v1/" + a.command, "");
  if (reply.status != 200) {
    std::fprintf(stderr, "bytenite-submit: %s\n", reply.status ? reply.body.c_str() : reply.error.c_str());
    return 1;
  }
  std::printf("%s\n", a.command == "pause" ? "paused: intake goes on, nothing is sent to the API"
                                            : "resumed: submitting again");
  return 0;
}

int abort_one(const Args& a) {
  if (a.rest.size() != 1) {
    std::fprintf(stderr, "bytenite-submit: abort takes exactly one REQUEST_ID\n");
    return 2;
  }
  auto socket = control_socket_for(a, "abort");
  if (!socket) return 2;
  cli::AbortReport report = cli::abort_request(*socket, a.rest[0]);
  if (!report.out.empty()) std::printf("%s\n", report.out.c_str());
  if (!report.err.empty()) std::fprintf(stderr, "bytenite-submit: %s\n", report.err.c_str());
  return report.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse(argc, argv);
  if (!args) {
    usage(stderr);
    return 2;
  }
  if (args->command == "validate") return validate(*args);
  if (args->command == "submit") return submit(*args);
  if (args->command == "status") return status(*args);
  if (args->command == "pause" || args->command == "resume") return pause_or_resume(*args);
  if (args->command == "abort") return abort_one(*args);
  std::fprintf(stderr, "bytenite-submit: unknown command '%s'\n", args->command.c_str());
  usage(stderr);
  return 2;
}
