// Role: main of bytenite-submit, the command-line client: its command line, parsed with CLI11
// (options anywhere, `--opt=value`, per-command `--help`), then the command
// (submit_commands.hpp). Results on stdout, problems on stderr. Exit status (one table,
// cli/exit_codes.hpp): 0 done, 1 refused or failed, 2 usage error or daemon unreachable,
// 75 the daemon is busy (503): try again.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/exit_codes.hpp"
#include "jetstream_commands.hpp"
#include "queue_commands.hpp"
#include "submit_commands.hpp"

using namespace submitd::cli_main;

namespace {

constexpr const char* kExitStatus =
    "Exit status: 0 done; 1 something was refused, is unknown or failed; 2 usage error, or the\n"
    "daemon could not be asked; 75 the daemon is busy (503): try again.";

void add_common_options(CLI::App& app, CliOptions& o) {
  app.add_option("--config", o.config,
                 "the daemon's configuration: control.socket, spool.dir and spool.max_request_bytes are read from it")
      ->type_name("FILE")
      ->capture_default_str()
      ->each([&o](const std::string&) { o.config_given = true; });
  app.add_option("--socket", o.socket, "the control socket (instead of the configuration's)")->type_name("PATH");
  app.add_option("--spool", o.spool, "the spool directory (instead of the configuration's)")->type_name("DIR");
  app.add_flag("--drop", o.drop, "submit by a spool drop even when there is a control socket");
}

// The queue commands: queue, hold, release, cancel, requeue, retry-now.
struct QueueCommands {
  CLI::App* queue = nullptr;
  std::vector<std::pair<std::string, CLI::App*>> files;  // verb, command
  CLI::App* retry_now = nullptr;
};

QueueCommands add_queue_commands(CLI::App& app, CliOptions& o) {
  QueueCommands out;
  out.queue = app.add_subcommand(
      "queue",
      "every file in incoming/ and active/: claim id, state (incoming, held, working, cancelling, following), age, "
      "and its requests waiting, being sent, deferred, submitted, failed and followed");
  out.queue->add_flag("--json", o.json, "the daemon's answer as JSON (with each deferral's reason and next try)");
  out.queue->add_option("--limit", o.limit, "list at most this many files of incoming/ (the oldest)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  struct FileCommand {
    const char* verb;
    const char* help;
  };
  const FileCommand file_commands[] = {
      {"hold", "hold a file: none of its requests goes to the API until release (survives a restart); a file in "
               "incoming/ is claimed first, so its claim id is fixed"},
      {"release", "end a file's hold: its requests go to the API again"},
      {"cancel", "cancel a file: every request of it not yet run ends failed with stage cancelled (its retry file "
                 "in failed/ holds them for a requeue)"},
  };
  for (const auto& fc : file_commands) {
    auto* cmd = app.add_subcommand(fc.verb, fc.help);
    cmd->add_option("FILE|CLAIM", o.file, "a file's name as dropped, its claim id, or a path ending in one")->required();
    cmd->add_flag("--json", o.json, "the daemon's answer as JSON");
    if (std::string(fc.verb) == "cancel") cmd->add_flag("--abort-running", o.abort_running, "also abort its jobs that already run");
    out.files.emplace_back(fc.verb, cmd);
  }
  auto* requeue = app.add_subcommand(
      "requeue", "move a retry file from failed/ back into incoming/, where it is claimed like any drop");
  requeue->add_option("RETRY_FILE", o.file, "failed/NAME.retry.jsonl")->required();
  requeue->add_flag("--json", o.json, "the daemon's answer as JSON");
  out.files.emplace_back("requeue", requeue);
  out.retry_now = app.add_subcommand("retry-now", "wake every request waiting to retry: each tries again now");
  out.retry_now->add_flag("--json", o.json, "the daemon's answer as JSON");

  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CliOptions o;
  CLI::App app{"Feeds job requests to bytenite-submitd, checks them, and steers it.", "bytenite-submit"};
  app.footer(kExitStatus);
  app.set_version_flag("--version", std::string("bytenite-submit ") + SUBMITD_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // the common options may also come after the command
  add_common_options(app, o);

  auto* submit = app.add_subcommand(
      "submit",
      "queue .json/.jsonl files (or, with no FILE or '-', standard input): through the control socket when there is "
      "one (the answer names each request's jobId, or why it was refused), else by a safe drop into the spool (tmp/, "
      "synced, renamed into incoming/)");
  submit->add_option("FILE", o.files, "request files; '-' is standard input");
  submit->add_flag("--json", o.json, "one JSON object per input: the daemon's answer, or where the file was queued");
  submit->add_flag("--quiet,-q", o.quiet, "print only what was refused or failed");

  auto* validate = app.add_subcommand(
      "validate", "check files offline exactly as the daemon would (same messages); exit 1 when anything would be refused");
  validate->add_option("FILE", o.files, "request files")->required();
  validate->add_flag("--json", o.json, "one JSON object: valid and refused counts, problems, warnings");

  auto* status = app.add_subcommand(
      "status", "the daemon's status, or one request's (state, jobId, error), as JSON; exit 1 when not found");
  status->add_option("REQUEST_ID", o.request_id, "a requestId");

  auto* pause = app.add_subcommand("pause", "stop sending work to the API (intake goes on; survives a restart)");
  auto* resume = app.add_subcommand("resume", "send work to the API again");

  auto* abort = app.add_subcommand(
      "abort",
      "stop one request: if still queued it is not submitted, a running job gets the API's abort; exit 0 when taken, "
      "1 when unknown or already ended");
  abort->add_option("REQUEST_ID", o.request_id, "a requestId")->required();

  auto* wait = app.add_subcommand(
      "wait",
      "wait until a request, or a file dropped into the spool, has ended; exit 0 submitted (or done), 1 failed or "
      "unknown, 75 --timeout passed");
  wait->add_option("FILE|REQUEST_ID", o.wait_for,
                   "a file name (with a '/', or ending in .json or .jsonl: its outcome in done/ or failed/) or a "
                   "requestId (its state from the daemon)")
      ->required();
  wait->add_option("--timeout", o.timeout_s, "give up after this many seconds (default: never)")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);

  const QueueCommands queue_commands = add_queue_commands(app, o);

  JetStreamInitOptions js_init;
  auto* jetstream = app.add_subcommand("jetstream", "set up a NATS JetStream cluster for a fleet of daemons");
  jetstream->require_subcommand(1);
  auto* js_init_cmd = jetstream->add_subcommand(
      "init",
      "make the request stream, the shared consumer, the outcome stream and (with kv_bucket) the requestId index the "
      "configuration's [intake.jetstream] names; what exists is left as it is");
  js_init_cmd->add_option("--replicas", js_init.replicas, "copies the cluster keeps of each (1 for a single server)")
      ->capture_default_str()
      ->check(CLI::Range(1, 5));
  js_init_cmd->add_option("--subject", js_init.subjects,
                          "the request stream's subjects (default: intake.jetstream.subject)");
  js_init_cmd->add_option("--outcome-stream", js_init.outcome_stream, "the name of the stream that keeps outcomes")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // "A subcommand is required" would be a puzzling answer to a mistyped command.
    if (const auto extra = app.remaining(); dynamic_cast<const CLI::RequiredError*>(&e) && !extra.empty()) {
      std::fprintf(stderr, "bytenite-submit: unknown command '%s'\nRun with --help for more information.\n",
                   extra.front().c_str());
      return submitd::cli::kUsage;
    }
    const int shown = app.exit(e);  // prints the help, the version, or the error and a hint
    return shown == 0 ? submitd::cli::kDone : submitd::cli::kUsage;
  }
  if (submit->parsed()) return run_submit(o);
  if (validate->parsed()) return run_validate(o);
  if (status->parsed()) return run_status(o);
  if (pause->parsed()) return run_pause_or_resume(o, true);
  if (resume->parsed()) return run_pause_or_resume(o, false);
  if (abort->parsed()) return run_abort(o);
  if (wait->parsed()) return run_wait(o);
  if (queue_commands.queue->parsed()) return run_queue(o);
  for (const auto& [verb, cmd] : queue_commands.files) {
    if (cmd->parsed()) return run_file_action(o, verb);
  }
  if (queue_commands.retry_now->parsed()) return run_retry_now(o);
  if (js_init_cmd->parsed()) return run_jetstream_init(o, js_init);
  return submitd::cli::kUsage;
}
