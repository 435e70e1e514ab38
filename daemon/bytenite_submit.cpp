// Role: main of bytenite-submit, the command-line client. Parses the command line, finds the
// spool from --spool or the daemon's config file, and runs the command; results on stdout,
// errors on stderr. Exit codes: 0 done/valid, 1 something was refused, 2 usage or setup error.
// Commands that need the control socket (status, pause, resume) are not served by this
// version and say so.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

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
               "usage: bytenite-submit [--config FILE] [--spool DIR] COMMAND [ARGS]\n"
               "Feeds job requests to bytenite-submitd and checks them.\n"
               "\n"
               "commands:\n"
               "  submit [FILE...]   queue .json/.jsonl files (or, with no FILE or '-', standard\n"
               "                     input as one .jsonl file) by a safe drop into the spool:\n"
               "                     written to tmp/, synced, renamed into incoming/\n"
               "  validate FILE...   check files offline exactly as the daemon would (same\n"
               "                     messages); exit 1 when anything would be refused\n"
               "\n"
               "options:\n"
               "  --config FILE      the daemon's configuration (default %s): spool.dir and\n"
               "                     spool.max_request_bytes are read from it\n"
               "  --spool DIR        the spool directory (instead of the configuration's)\n"
               "  --help, --version\n"
               "\n"
               "status, pause and resume need the control socket, which this version does not serve.\n"
               "exit status: 0 ok, 1 something was refused or failed, 2 usage or setup error\n",
               kDefaultConfig);
}

struct Args {
  std::string config = kDefaultConfig;
  bool config_given = false;
  std::optional<fs::path> spool;
  std::string command;
  std::vector<std::string> rest;
};

std::optional<Args> parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (a.command.empty() && (s == "--config" || s == "--spool")) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bytenite-submit: %s needs a value\n", s.c_str());
        return std::nullopt;
      }
      if (s == "--config") {
        a.config = argv[++i];
        a.config_given = true;
      } else {
        a.spool = fs::path(argv[++i]);
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

int submit(const Args& a) {
  fs::path spool;
  if (a.spool) {
    spool = *a.spool;
  } else if (auto settings = load_config(a)) {
    spool = settings->spool.dir;
  } else {
    std::fprintf(stderr, "bytenite-submit: no spool: give --spool DIR or --config FILE (%s does not exist)\n",
                 a.config.c_str());
    return 2;
  }
  if (!fs::is_directory(spool / "incoming") || !fs::is_directory(spool / "tmp")) {
    std::fprintf(stderr, "bytenite-submit: %s is not a spool (no tmp/ and incoming/)\n", spool.c_str());
    return 2;
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
    try {
      std::string queued = cli::drop_into_spool(spool, name, fd);
      std::printf("queued %s\n", (spool / "incoming" / queued).c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bytenite-submit: %s: %s\n", f.c_str(), e.what());
      status = 1;
    }
    if (!from_stdin) ::close(fd);
  }
  return status;
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
  if (args->command == "status" || args->command == "pause" || args->command == "resume") {
    std::fprintf(stderr, "bytenite-submit: '%s' needs the daemon's control socket, which this version "
                         "does not serve yet\n", args->command.c_str());
    return 2;
  }
  std::fprintf(stderr, "bytenite-submit: unknown command '%s'\n", args->command.c_str());
  usage(stderr);
  return 2;
}
