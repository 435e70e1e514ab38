// Role: the inputFile rules (spool/input_file.hpp) on a real directory tree: where a file may
// be (upload.dir, upload.allowed_dirs), what it may be (a regular file within
// upload.max_bytes, no symlink on the way, no "..", no FIFO, device or directory), and the
// change check the upload makes before reading.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "spool/input_file.hpp"
#include "spool/request_parser.hpp"
#include "util/durable_fs.hpp"

namespace fs = std::filesystem;
using namespace submitd::spool;

namespace {

class InputFile : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("input-file-" + submitd::random_hex(4));
    fs::create_directories(root_ / "uploads" / "sub");
    fs::create_directories(root_ / "shared");
    fs::create_directories(root_ / "elsewhere");
    write(root_ / "uploads" / "in.bin", "0123456789");
    write(root_ / "uploads" / "sub" / "deep.bin", "abc");
    write(root_ / "shared" / "big.bin", std::string(2000, 'x'));
    write(root_ / "elsewhere" / "secret.txt", "no");
    rules_.dir = root_ / "uploads";
    rules_.allowed_dirs = {root_ / "shared", root_ / "uploads"};
    rules_.max_bytes = 1000;
  }
  void TearDown() override { fs::remove_all(root_); }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  std::string refusal(const std::string& path) {
    auto r = open_input_file(path, rules_);
    if (auto* why = std::get_if<std::string>(&r)) return *why;
    return "(opened)";
  }
  fs::path root_;
  InputFileRules rules_;
};

}  // namespace

TEST_F(InputFile, ARegularFileUnderTheDirectoriesOpensWithItsSize) {
  auto relative = open_input_file("in.bin", rules_);
  ASSERT_TRUE(std::holds_alternative<OpenedInputFile>(relative)) << std::get<std::string>(relative);
  EXPECT_EQ(std::get<OpenedInputFile>(relative).size, 10u);
  auto nested = open_input_file("sub/deep.bin", rules_);
  ASSERT_TRUE(std::holds_alternative<OpenedInputFile>(nested));
  auto absolute = open_input_file((root_ / "uploads" / "sub" / "deep.bin").string(), rules_);
  ASSERT_TRUE(std::holds_alternative<OpenedInputFile>(absolute));
  char buf[8] = {};
  EXPECT_EQ(::read(std::get<OpenedInputFile>(absolute).fd.get(), buf, sizeof buf), 3);
  EXPECT_EQ(std::string(buf), "abc");
}

TEST_F(InputFile, PathsOutsideTheDirectoriesAreRefused) {
  EXPECT_EQ(refusal((root_ / "elsewhere" / "secret.txt").string()), "inputFile is outside upload.allowed_dirs");
  EXPECT_EQ(refusal((root_ / "uploads" / ".." / "elsewhere" / "secret.txt").string()),
            "inputFile is outside upload.allowed_dirs");
  EXPECT_NE(refusal("../elsewhere/secret.txt").find("leads outside its directory"), std::string::npos);
  EXPECT_NE(refusal("sub/../../elsewhere/secret.txt").find("leads outside its directory"), std::string::npos);
  EXPECT_EQ(refusal("/etc/passwd"), "inputFile is outside upload.allowed_dirs");
  rules_.dir.clear();
  EXPECT_EQ(refusal("in.bin"), "a relative inputFile needs upload.dir, which is not set");
}

TEST_F(InputFile, SymlinksAnywhereOnTheWayAreRefused) {
  fs::create_symlink(root_ / "elsewhere" / "secret.txt", root_ / "uploads" / "link.bin");
  fs::create_symlink(root_ / "uploads" / "in.bin", root_ / "uploads" / "inside-link.bin");
  fs::create_directory_symlink(root_ / "elsewhere", root_ / "uploads" / "dirlink");
  EXPECT_NE(refusal("link.bin").find("symlink"), std::string::npos);
  EXPECT_NE(refusal("inside-link.bin").find("symlink"), std::string::npos);  // even one that stays inside
  EXPECT_NE(refusal("dirlink/secret.txt").find("symlink"), std::string::npos);
}

TEST_F(InputFile, OnlyRegularFilesWithinTheSizeLimit) {
  ASSERT_EQ(::mkfifo((root_ / "uploads" / "pipe").c_str(), 0600), 0);
  EXPECT_EQ(refusal("pipe"), "inputFile is a FIFO; uploads read regular files only");  // and it does not hang
  EXPECT_EQ(refusal("sub"), "inputFile is a directory; uploads read regular files only");
  rules_.allowed_dirs.push_back("/dev");
  EXPECT_EQ(refusal("/dev/null"), "inputFile is a device; uploads read regular files only");
  EXPECT_EQ(refusal((root_ / "shared" / "big.bin").string()),
            "inputFile is 2000 bytes, more than upload.max_bytes (1000)");
  EXPECT_EQ(refusal("missing.bin"), "inputFile does not exist");
}

TEST_F(InputFile, AChangeAfterValidationIsSeen) {
  auto r = open_input_file("in.bin", rules_);
  ASSERT_TRUE(std::holds_alternative<OpenedInputFile>(r));
  auto& f = std::get<OpenedInputFile>(r);
  EXPECT_TRUE(unchanged_since(f.fd.get(), f.size, f.mtime));
  std::ofstream(root_ / "uploads" / "in.bin", std::ios::app) << "more";
  EXPECT_FALSE(unchanged_since(f.fd.get(), f.size, f.mtime));
}

// The parser every intake reads through (spool files, posts, `validate`) checks the file by
// the rules, keeps its size and modification time, and refuses with a per-line reason.
TEST_F(InputFile, TheRequestParserChecksInputFileByTheRules) {
  RequestParser parser(rules_);
  const auto request = [](const std::string& path) {
    return R"({"templateId":"t","dataSource":{"dataSourceDescriptor":"file"},"inputFile":")" + path + "\"}";
  };
  auto ok = parser.parse(request("in.bin"), 4);
  ASSERT_TRUE(std::holds_alternative<JobRequest>(ok));
  EXPECT_EQ(std::get<JobRequest>(ok).input_size, 10u);
  EXPECT_NE(std::get<JobRequest>(ok).input_mtime.tv_sec, 0);
  auto outside = parser.parse(request((root_ / "elsewhere" / "secret.txt").string()), 5);
  ASSERT_TRUE(std::holds_alternative<RequestError>(outside));
  EXPECT_EQ(to_string(std::get<RequestError>(outside)), "line 5: field \"inputFile\": inputFile is outside upload.allowed_dirs");
  auto traversal = parser.parse(request("../elsewhere/secret.txt"), 6);
  ASSERT_TRUE(std::holds_alternative<RequestError>(traversal));
  EXPECT_NE(std::get<RequestError>(traversal).message.find("\"..\""), std::string::npos);
  // Without rules (no upload.dir, no allowed dirs), nothing may be uploaded.
  RequestParser unconfigured;
  auto none = unconfigured.parse(request("in.bin"), 1);
  ASSERT_TRUE(std::holds_alternative<RequestError>(none));
  EXPECT_EQ(std::get<RequestError>(none).message, "a relative inputFile needs upload.dir, which is not set");
}
