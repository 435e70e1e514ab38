// Role: bytenite-submit's queue commands (see queue_commands.hpp).
#include "queue_commands.hpp"

#include <simdjson.h>

#include <cstdio>

#include "cli/control_client.hpp"
#include "cli/exit_codes.hpp"
#include "cli/queue_view.hpp"
#include "util/json_text.hpp"

namespace submitd::cli_main {
namespace {

void problem(const std::string& text) { std::fprintf(stderr, "bytenite-submit: %s\n", text.c_str()); }

// The answer's "done" or "error" text, else the body as it came.
std::string said(const cli::ControlReply& reply) {
  if (reply.status == 0) return reply.error;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view text;
  if (!parser.parse(simdjson::padded_string(reply.body)).get(doc) &&
      (!doc["done"].get(text) || !doc["error"].get(text))) {
    return std::string(text);
  }
  return "HTTP " + std::to_string(reply.status) + ": " + reply.body;
}

// Sends one request; prints the answer (as is with --json) and returns the exit status.
int ask(const CliOptions& o, const std::string& command, const std::string& method, const std::string& target,
        const std::string& body, const std::string& shown) {
  const auto socket = control_socket_for(o, command);
  if (!socket) return cli::kUsage;
  const cli::ControlReply reply = cli::control_request(*socket, method, target, body);
  const int exit = cli::exit_code_of(reply);
  if (o.json && reply.status != 0) {
    std::printf("%s\n", reply.body.c_str());
  } else if (exit == cli::kDone) {
    std::printf("%s\n", shown.empty() ? said(reply).c_str() : shown.c_str());
  } else {
    problem(said(reply));
  }
  return exit;
}

}  // namespace

int run_queue(const CliOptions& o) {
  const auto socket = control_socket_for(o, "queue");
  if (!socket) return cli::kUsage;
  const cli::ControlReply reply = cli::control_request(*socket, "GET", "/v1/queue?limit=" + std::to_string(o.limit), "");
  if (reply.status != 200) {
    problem(said(reply));
    return cli::exit_code_of(reply);
  }
  if (o.json) {
    std::printf("%s\n", reply.body.c_str());
    return cli::kDone;
  }
  auto table = cli::queue_table(reply.body);
  if (!table) {
    problem("the daemon's queue answer is not what this client reads: " + reply.body.substr(0, 200));
    return cli::kRefused;
  }
  std::fputs(table->c_str(), stdout);
  return cli::kDone;
}

int run_file_action(const CliOptions& o, const std::string& verb) {
  std::string body = "{\"file\":" + json_string(o.file);
  if (o.abort_running) body += ",\"abortRunning\":true";
  body += "}";
  return ask(o, verb, "POST", "/v1/queue/" + verb, body, "");
}

int run_retry_now(const CliOptions& o) {
  const auto socket = control_socket_for(o, "retry-now");
  if (!socket) return cli::kUsage;
  const cli::ControlReply reply = cli::control_request(*socket, "POST", "/v1/queue/retry-now", "");
  if (reply.status != 200) {
    problem(said(reply));
    return cli::exit_code_of(reply);
  }
  simdjson::dom::parser parser;
  std::int64_t woken = 0;
  if (o.json || parser.parse(simdjson::padded_string(reply.body))["woken"].get(woken)) {
    std::printf("%s\n", reply.body.c_str());
  } else {
    std::printf("%lld deferred request%s try again now\n", static_cast<long long>(woken), woken == 1 ? "" : "s");
  }
  return cli::kDone;
}

}  // namespace submitd::cli_main
