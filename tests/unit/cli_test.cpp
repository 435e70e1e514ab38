// Role: bytenite-submit's pieces without the binary: the spool drop (complete files only,
// never replacing one in incoming/, nothing left behind on a bad name) and offline validation
// (counts, refusals and warnings as the daemon's reader reports them), and abort (the
// requestId check, its path, every answer's line and exit code, one real exchange over a
// Unix socket with a stand-in daemon).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "cli/abort.hpp"
#include "cli/exit_codes.hpp"
#include "cli/queue_view.hpp"
#include "cli/spool_drop.hpp"
#include "spool/claim.hpp"
#include "cli/validate.hpp"
#include "cli/wait.hpp"

namespace fs = std::filesystem;
using namespace submitd;

namespace {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("cli-test-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "spool" / "tmp");
    fs::create_directories(root_ / "spool" / "incoming");
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path write(const std::string& name, const std::string& content) {
    std::ofstream(root_ / name, std::ios::binary) << content;
    return root_ / name;
  }
  std::string drop(const fs::path& source, const std::string& name) {
    int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    std::string used = cli::drop_into_spool(root_ / "spool", name, fd);
    ::close(fd);
    return used;
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  fs::path root_;
};

TEST_F(CliTest, DropIsCompleteAndNeverReplaces) {
  auto src = write("batch.jsonl", "{\"templateId\":\"t\"}\n");
  EXPECT_EQ(drop(src, "batch.jsonl"), "batch.jsonl");
  auto second = drop(src, "batch.jsonl");
  EXPECT_NE(second, "batch.jsonl");
  EXPECT_TRUE(second.starts_with("batch.") && second.ends_with(".jsonl")) << second;
  EXPECT_EQ(read(root_ / "spool" / "incoming" / "batch.jsonl"), "{\"templateId\":\"t\"}\n");
  EXPECT_EQ(read(root_ / "spool" / "incoming" / second), "{\"templateId\":\"t\"}\n");
  EXPECT_TRUE(fs::is_empty(root_ / "spool" / "tmp"));
}

TEST_F(CliTest, DropRefusesNamesTheSpoolDoesNotTake) {
  auto src = write("notes.txt", "hello");
  EXPECT_THROW(drop(src, "notes.txt"), std::invalid_argument);
  EXPECT_THROW(drop(src, ".hidden.json"), std::invalid_argument);
  EXPECT_TRUE(fs::is_empty(root_ / "spool" / "incoming"));
  EXPECT_TRUE(fs::is_empty(root_ / "spool" / "tmp"));
}

// The longest name the daemon can claim under its own name is taken, twice (the second gets a
// random part and gives up bytes of its stem for it); one byte more is refused with the limit.
TEST_F(CliTest, DropTakesNamesUpToTheClaimableLengthAndRefusesLonger) {
  auto src = write("one.json", "{}");
  const std::string longest = std::string(submitd::spool::kLongestClaimableName - 5, 'n') + ".json";
  EXPECT_EQ(drop(src, longest), longest);
  auto second = drop(src, longest);
  EXPECT_NE(second, longest);
  EXPECT_LE(second.size(), submitd::spool::kLongestClaimableName);
  EXPECT_TRUE(second.ends_with(".json")) << second;
  try {
    drop(src, "n" + longest);
    ADD_FAILURE() << "a name one byte too long was dropped";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at most 238 bytes"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(root_ / "spool" / "tmp"));
}

TEST_F(CliTest, DropIntoSomethingThatIsNotASpoolFailsCleanly) {
  auto src = write("one.json", "{}");
  int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_THROW(cli::drop_into_spool(root_ / "nowhere", "one.json", fd), std::system_error);
  ::close(fd);
}

TEST_F(CliTest, ValidationCountsRefusalsWithTheDaemonsWords) {
  auto mixed = write("mixed.jsonl", "{\"templateId\":\"t\",\"extra\":1}\n{\"templateId\":5}\n\n{broken\n");
  auto big = write("big.json", "{\"templateId\":\"" + std::string(2000, 'x') + "\"}");
  auto other = write("notes.txt", "hi");
  cli::ValidationReport report;
  cli::validate_input(mixed, 1024, {}, report);
  cli::validate_input(big, 1024, {}, report);
  cli::validate_input(other, 1024, {}, report);
  cli::validate_input(root_ / "missing.json", 1024, {}, report);
  EXPECT_EQ(report.requests, 1u);
  EXPECT_EQ(report.refused, 5u);
  ASSERT_EQ(report.problems.size(), 5u);
  EXPECT_EQ(report.problems[0], mixed.string() + ": line 2: field \"templateId\": expected a non-empty string, found number");
  EXPECT_NE(report.problems[1].find(": line 4: not valid JSON"), std::string::npos) << report.problems[1];
  EXPECT_EQ(report.problems[2], big.string() + ": the file is 2017 bytes; a request may be at most 1024 bytes (spool.max_request_bytes)");
  EXPECT_NE(report.problems[3].find("notes.txt has an unsupported extension"), std::string::npos);
  EXPECT_NE(report.problems[4].find("missing.json: missing.json"), std::string::npos) << report.problems[4];
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("line 1: unknown field \"extra\" ignored"), std::string::npos);
}

TEST(CliAbort, RequestIdsAndTheirPath) {
  EXPECT_TRUE(cli::is_request_id("c0ffee0000000001:4"));
  EXPECT_TRUE(cli::is_request_id("demo-sunset_0001.a"));
  EXPECT_TRUE(cli::is_request_id(std::string(128, 'x')));
  EXPECT_FALSE(cli::is_request_id(""));
  EXPECT_FALSE(cli::is_request_id(std::string(129, 'x')));
  EXPECT_FALSE(cli::is_request_id("a/b"));
  EXPECT_FALSE(cli::is_request_id("a b"));
  EXPECT_EQ(cli::path_segment("c0ffee0000000001:4"), "c0ffee0000000001:4");  // valid ids go as they are
  EXPECT_EQ(cli::path_segment("a b/c?d%e#\r\n"), "a%20b%2Fc%3Fd%25e%23%0D%0A");
  EXPECT_EQ(cli::path_segment("\xC3\xA9"), "%C3%A9");
}

cli::ControlReply reply(int status, std::string body) { return {status, std::move(body), ""}; }

TEST(CliAbort, TakenIsExit0WithALineForAPerson) {
  auto r = cli::describe_abort_reply(
      "r-1", reply(202, "{\"requestId\":\"r-1\",\"jobId\":\"job-1\",\"abort\":\"requested\",\"message\":\"stopping\"}"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "abort requested for request r-1 (job job-1): stopping");
  EXPECT_EQ(r.err, "");
  auto sent = cli::describe_abort_reply(
      "r-2", reply(202, "{\"requestId\":\"r-2\",\"jobId\":\"job-2\",\"abort\":\"sent\",\"message\":\"not followed\"}"));
  EXPECT_EQ(sent.exit_code, 0);
  EXPECT_EQ(sent.out, "abort sent for request r-2 (job job-2): not followed");
  auto no_job = cli::describe_abort_reply(
      "r-3", reply(202, "{\"requestId\":\"r-3\",\"jobId\":null,\"abort\":\"requested\",\"message\":\"queued\"}"));
  EXPECT_EQ(no_job.out, "abort requested for request r-3: queued");
  auto odd = cli::describe_abort_reply("r-4", reply(202, "taken"));  // still taken: never ask twice
  EXPECT_EQ(odd.exit_code, 0);
  EXPECT_EQ(odd.out, "abort requested for request r-4: taken");
}

TEST(CliAbort, UnknownOrEndedIsExit1OnStderr) {
  auto unknown = cli::describe_abort_reply("nope", reply(404, "{\"error\":\"no request with requestId nope\"}"));
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.out, "");
  EXPECT_EQ(unknown.err, "no request with requestId nope");
  auto ended = cli::describe_abort_reply("r-5", reply(409, "{\"error\":\"its job already ended\",\"jobId\":\"job-5\"}"));
  EXPECT_EQ(ended.exit_code, 1);
  EXPECT_EQ(ended.out, "");
  EXPECT_EQ(ended.err, "its job already ended (request r-5, job job-5)");
}

TEST(CliExitCodes, OneTableForEveryCommand) {
  EXPECT_EQ(cli::exit_code_of(cli::ControlReply{0, "", "cannot connect"}), 2) << "the daemon could not be asked";
  EXPECT_EQ(cli::exit_code_of(reply(503, "{}")), 75) << "busy: try again";
  EXPECT_EQ(cli::exit_code_of(reply(200, "{}")), 0);
  EXPECT_EQ(cli::exit_code_of(reply(202, "{}")), 0);
  EXPECT_EQ(cli::exit_code_of(reply(404, "{}")), 1);
  EXPECT_EQ(cli::exit_code_of(reply(400, "{}")), 1);
}

TEST(CliAbort, NotAskedIsExit2) {
  auto no_answer = cli::describe_abort_reply("r", cli::ControlReply{0, "", "cannot connect to /x: No such file"});
  EXPECT_EQ(no_answer.exit_code, 2);
  EXPECT_EQ(no_answer.err, "cannot connect to /x: No such file");
  auto bad = cli::describe_abort_reply("r", reply(400, "{\"error\":\"a requestId is 1 to 128 of ...\"}"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "a requestId is 1 to 128 of ...");
  auto old = cli::describe_abort_reply("r", reply(405, "{\"error\":\"use GET\"}"));
  EXPECT_EQ(old.exit_code, 2);
  EXPECT_NE(old.err.find("does not offer abort"), std::string::npos) << old.err;
  auto busy = cli::describe_abort_reply("r", reply(503, "{\"error\":\"abort is not available\"}"));
  EXPECT_EQ(busy.exit_code, 75) << "a busy daemon: try again";
  EXPECT_EQ(busy.err, "the daemon did not take the abort (HTTP 503): abort is not available");
  EXPECT_EQ(cli::describe_abort_reply("r", reply(500, "oops")).err, "the daemon did not take the abort (HTTP 500): oops");
  // An id that cannot be one is refused without asking (no socket is touched).
  auto invalid = cli::abort_request("/nonexistent/control.sock", "a/b");
  EXPECT_EQ(invalid.exit_code, 2);
  EXPECT_NE(invalid.err.find("is not a requestId"), std::string::npos) << invalid.err;
}

// One exchange with a stand-in daemon: the request line the CLI sends, and its reading of the answer.
TEST(CliAbort, AsksTheDaemonOverItsSocket) {
  fs::path dir = fs::temp_directory_path() / ("cli-abort-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::path path = dir / "control.sock";
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  std::string request;
  std::thread daemon([&] {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<std::size_t>(n));
    }
    std::string body = "{\"requestId\":\"c0ffee0000000001:4\",\"jobId\":\"8ea33de0\",\"abort\":\"requested\","
                       "\"message\":\"the job gets the API's abort\"}";
    std::string answer = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    EXPECT_EQ(::write(fd, answer.data(), answer.size()), static_cast<ssize_t>(answer.size()));
    ::close(fd);
  });
  auto r = cli::abort_request(path, "c0ffee0000000001:4");
  daemon.join();
  ::close(listener);
  fs::remove_all(dir);
  EXPECT_TRUE(request.starts_with("POST /v1/jobs/c0ffee0000000001:4/abort HTTP/1.1\r\n")) << request;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "abort requested for request c0ffee0000000001:4 (job 8ea33de0): the job gets the API's abort");
}

}  // namespace

TEST(CliWait, FilesAndRequestIdsAreToldApartByTheNamesTheSpoolTakes) {
  EXPECT_TRUE(cli::names_a_file("batch.jsonl"));
  EXPECT_TRUE(cli::names_a_file("one.json"));
  EXPECT_TRUE(cli::names_a_file("dir/batch"));
  EXPECT_FALSE(cli::names_a_file("render-0042"));
  EXPECT_FALSE(cli::names_a_file("v1.2:frame"));
}

TEST(CliWait, ARequestEndsWhenItIsNoLongerSubmitting) {
  for (const char* working : {"submitting", "queued", "deferred", "paused", "held"}) {
    EXPECT_FALSE(cli::request_verdict(reply(200, fmt::format(R"({{"requestId":"r","state":"{}"}})", working))).ended)
        << working;
  }
  auto submitted = cli::request_verdict(reply(200, R"({"requestId":"r","state":"submitted","jobId":"j"})"));
  EXPECT_TRUE(submitted.ended);
  EXPECT_EQ(submitted.exit_code, 0);
  EXPECT_NE(submitted.line.find("\"jobId\":\"j\""), std::string::npos);
  EXPECT_EQ(cli::request_verdict(reply(200, R"({"state":"duplicate"})")).exit_code, 0);
  EXPECT_EQ(cli::request_verdict(reply(200, R"({"state":"failed"})")).exit_code, 1);
  EXPECT_EQ(cli::request_verdict(reply(404, R"({"error":"no request"})")).exit_code, 1) << "unknown: nothing to wait for";
  EXPECT_EQ(cli::request_verdict(cli::ControlReply{0, "", "cannot connect"}).exit_code, 2);
  EXPECT_EQ(cli::request_verdict(reply(503, "{}")).exit_code, 75);
  auto odd = cli::request_verdict(reply(200, "{}"));
  EXPECT_TRUE(odd.ended) << "an answer without a state would never change";
  EXPECT_EQ(odd.exit_code, 2);
}

TEST_F(CliTest, AFileEndsWithItsOutcomeOrWhenItIsNowhere) {
  const fs::path spool = root_ / "spool";
  for (const char* d : {"active", "done", "failed"}) fs::create_directories(spool / d);
  EXPECT_TRUE(cli::file_verdict(spool, "absent.jsonl").ended) << "nowhere in the spool: nothing to wait for";
  EXPECT_EQ(cli::file_verdict(spool, "absent.jsonl").exit_code, 1);
  write("spool/incoming/a.jsonl", "{}");
  EXPECT_FALSE(cli::file_verdict(spool, "a.jsonl").ended) << "waiting in incoming/";
  fs::rename(spool / "incoming" / "a.jsonl", spool / "active" / "0123456789abcdef.a.jsonl");
  EXPECT_FALSE(cli::file_verdict(spool, "a.jsonl").ended) << "claimed, being worked";
  fs::rename(spool / "active" / "0123456789abcdef.a.jsonl", spool / "done" / "a.jsonl");
  EXPECT_FALSE(cli::file_verdict(spool, "a.jsonl").ended) << "moved, its outcome about to follow";
  write("spool/done/a.jsonl.outcome.jsonl", "{}\n");
  auto done = cli::file_verdict(spool, "a.jsonl");
  EXPECT_TRUE(done.ended);
  EXPECT_EQ(done.exit_code, 0);
  EXPECT_EQ(done.line, "done: " + (spool / "done" / "a.jsonl.outcome.jsonl").string());
  write("spool/failed/b.jsonl.outcome.jsonl", "{}\n");
  EXPECT_EQ(cli::file_verdict(spool, "b.jsonl").exit_code, 1);
}

TEST(CliQueue, ShortDurations) {
  EXPECT_EQ(submitd::cli::short_duration(-3), "0s");
  EXPECT_EQ(submitd::cli::short_duration(59.4), "59s");
  EXPECT_EQ(submitd::cli::short_duration(185), "3m05s");
  EXPECT_EQ(submitd::cli::short_duration(7800), "2h10m");
  EXPECT_EQ(submitd::cli::short_duration(273600), "3d4h");
}

TEST(CliQueue, TheTableShowsEachFileAndTheTotals) {
  const std::string json =
      R"({"incomingTotal":4,"files":[)"
      R"({"claimId":null,"name":"new.jsonl","state":"incoming","ageSeconds":75.0,"bytes":10,"bytesRead":0,)"
      R"("requests":{"waiting":0,"inFlight":0,"deferred":0,"submitted":0,"failed":0,"following":0},"nextRetry":null},)"
      R"({"claimId":"0123456789abcdef","name":"a.jsonl","state":"held","ageSeconds":3700,"bytes":10,"bytesRead":10,)"
      R"("requests":{"waiting":12,"inFlight":0,"deferred":3,"submitted":40,"failed":2,"following":0},"nextRetry":null}]})";
  auto table = submitd::cli::queue_table(json);
  ASSERT_TRUE(table);
  EXPECT_NE(table->find("CLAIM"), std::string::npos) << *table;
  EXPECT_NE(table->find("-                 incoming     1m15s        -        -         -          -       -          -  new.jsonl"), std::string::npos) << *table;
  EXPECT_NE(table->find("0123456789abcdef  held         1h01m       12        -         3         40       2          -  a.jsonl"),
            std::string::npos)
      << *table;
  EXPECT_NE(table->find("4 in incoming/ (1 oldest listed), 1 in active/"), std::string::npos) << *table;
  EXPECT_FALSE(submitd::cli::queue_table("{\"files\":[]}"));
  EXPECT_FALSE(submitd::cli::queue_table("not json"));
}
