// Role: bytenite-submit end to end with the real daemon: `validate` refuses exactly the lines
// the daemon refuses, in the same words, and exits 1; `submit` queues files and standard
// input through a safe spool drop that the daemon then works; the command line takes options
// anywhere and `--opt=value`, every command has its own --help, --json answers scripts, and
// usage errors exit 2.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <set>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

class CliEndToEnd : public TempDirTest {
 protected:
  CliEndToEnd() : TempDirTest("cli") {}
  // Runs bytenite-submit with `args`; returns its exit status and fills `output`.
  int cli(const std::vector<std::string>& args, std::string& output, const std::string& tag) {
    return run_cli(args, dir_ / ("cli-" + tag + ".out"), output);
  }
};

}  // namespace

TEST_F(CliEndToEnd, ValidateRefusesWhatTheDaemonRefusesInTheSameWords) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  auto input = dir_ / "mixed.jsonl";
  write_file(input, request_line(1) + "\n{\"templateId\": 7}\n\n{\"name\":\"no template\"}\n" +
                        request_line(2) + "\n{not json\n");

  std::string out;
  EXPECT_EQ(cli({"validate", input.string()}, out, "validate"), 1);
  std::set<std::string> validator_says;
  const std::string prefix = input.string() + ": ";
  for (std::size_t at = 0; (at = out.find(prefix, at)) != std::string::npos;) {
    auto end = out.find('\n', at);
    validator_says.insert(out.substr(at + prefix.size(), end - at - prefix.size()));
    at = end;
  }
  EXPECT_EQ(validator_says.size(), 3u) << out;
  EXPECT_NE(out.find("2 requests valid, 3 refused"), std::string::npos) << out;

  daemon.start();
  EXPECT_EQ(cli({"--config", daemon.config_file().string(), "submit", input.string()}, out, "submit"), 0) << out;
  EXPECT_NE(out.find("queued "), std::string::npos) << out;
  ASSERT_TRUE(eventually([&] { return daemon.count_files("failed", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  std::set<std::string> daemon_says;
  simdjson::dom::parser parser;
  for (const auto& line : read_lines(daemon.spool() / "failed" / "mixed.jsonl.outcome.jsonl")) {
    simdjson::dom::element rec;
    ASSERT_FALSE(parser.parse(simdjson::padded_string(line)).get(rec));
    if (std::string_view(rec["status"]) == "failed") {
      daemon_says.insert(std::string(std::string_view(rec["error"]["message"])));
    }
  }
  EXPECT_EQ(daemon_says, validator_says);
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 2);
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(CliEndToEnd, SubmitFromStandardInputAndUsageErrors) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  daemon.start();
  // Standard input: the shell feeds a file to the CLI as a producer's pipe would.
  auto body = dir_ / "piped.jsonl";
  write_file(body, request_line(10) + "\n" + request_line(11) + "\n");
  std::string command = (bin_dir() / "bytenite-submit").string() + " --spool " + daemon.spool().string() +
                        " submit < " + body.string() + " > " + (dir_ / "stdin.out").string() + " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << read_file(dir_ / "stdin.out");
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 2);
  EXPECT_EQ(daemon.stop(), 0);

  std::string out;
  EXPECT_EQ(cli({}, out, "none"), 2);
  EXPECT_NE(out.find("A subcommand is required"), std::string::npos) << out;
  EXPECT_EQ(cli({"frobnicate"}, out, "unknown"), 2);
  EXPECT_NE(out.find("unknown command 'frobnicate'"), std::string::npos) << out;
  EXPECT_EQ(cli({"--spool", (dir_ / "nowhere").string(), "submit", body.string()}, out, "nospool"), 2);
  EXPECT_NE(out.find("is not a spool"), std::string::npos) << out;
  EXPECT_EQ(cli({"abort"}, out, "abort-no-id"), 2);
  EXPECT_NE(out.find("REQUEST_ID is required"), std::string::npos) << out;
  EXPECT_EQ(cli({"--help"}, out, "help"), 0);
  EXPECT_NE(out.find("validate"), std::string::npos);
  EXPECT_NE(out.find("Exit status: 0 done"), std::string::npos) << out;
}

TEST_F(CliEndToEnd, OptionsGoAnywhereEachCommandHasItsHelpAndJsonIsForScripts) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  auto input = dir_ / "two.jsonl";
  write_file(input, request_line(20) + "\n{\"templateId\": 7}\n");
  std::string out;
  // `validate --help` is the command's help, not a file named --help.
  EXPECT_EQ(cli({"validate", "--help"}, out, "validate-help"), 0) << out;
  EXPECT_NE(out.find("Usage: bytenite-submit validate [OPTIONS] FILE..."), std::string::npos) << out;
  EXPECT_NE(out.find("--json"), std::string::npos) << out;
  EXPECT_EQ(out.find("No such file"), std::string::npos) << out;

  EXPECT_EQ(cli({"validate", input.string(), "--json"}, out, "validate-json"), 1) << out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_FALSE(parser.parse(simdjson::padded_string(out)).get(doc)) << out;
  EXPECT_EQ(int64_t(doc["valid"]), 1);
  EXPECT_EQ(int64_t(doc["refused"]), 1);
  EXPECT_EQ(doc["problems"].get_array().size(), 1u);

  // The common options after the command, as --opt=value; one JSON line per input.
  daemon.start();
  EXPECT_EQ(cli({"submit", "--json", input.string(), "--spool=" + daemon.spool().string()}, out, "submit-json"), 0)
      << out;
  ASSERT_FALSE(parser.parse(simdjson::padded_string(out)).get(doc)) << out;
  EXPECT_EQ(std::string_view(doc["file"]), input.string());
  EXPECT_EQ(std::string_view(doc["queued"]), (daemon.spool() / "incoming" / "two.jsonl").string());
  // `wait FILE` ends with the file's outcome: failed/ here (one line was refused), exit 1.
  EXPECT_EQ(cli({"wait", "two.jsonl", "--spool", daemon.spool().string(), "--timeout", "60"}, out, "wait-file"), 1)
      << out;
  EXPECT_NE(out.find("failed: " + (daemon.spool() / "failed" / "two.jsonl.outcome.jsonl").string()), std::string::npos)
      << out;
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 1);
  EXPECT_EQ(daemon.stop(), 0);

  // A file the stopped daemon has not taken: waited for until --timeout, then 75 (try again);
  // a name that is nowhere in the spool ends at once, 1.
  daemon.drop("later.jsonl", request_line(21) + "\n");
  EXPECT_EQ(cli({"--spool", daemon.spool().string(), "wait", "later.jsonl", "--timeout=0.5"}, out, "wait-timeout"), 75)
      << out;
  EXPECT_NE(out.find("still waiting for later.jsonl after 0.5 s"), std::string::npos) << out;
  EXPECT_EQ(cli({"--spool", daemon.spool().string(), "wait", "nothing.jsonl"}, out, "wait-nowhere"), 1) << out;
  EXPECT_NE(out.find("nothing.jsonl is not in"), std::string::npos) << out;
}
