// Role: bytenite-submit's pieces without the binary: the spool drop (complete files only,
// never replacing one in incoming/, nothing left behind on a bad name) and offline validation
// (counts, refusals and warnings as the daemon's reader reports them).
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/spool_drop.hpp"
#include "cli/validate.hpp"

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
  cli::validate_input(mixed, 1024, report);
  cli::validate_input(big, 1024, report);
  cli::validate_input(other, 1024, report);
  cli::validate_input(root_ / "missing.json", 1024, report);
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

}  // namespace
