// Role: unit tests of a result's file under the download directory (spool/result_file.hpp):
// written to a temp file, committed under its final name, never through a symlink, and
// removed when not committed. Real files in a temp directory; no network.
#include "spool/result_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace submitd::spool {
namespace {

namespace fs = std::filesystem;

class ResultFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("result-file-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    dir_ = root_ / "results";
  }
  void TearDown() override { fs::remove_all(root_); }
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static std::unique_ptr<ResultFile> made(std::variant<std::unique_ptr<ResultFile>, std::string> r) {
    if (auto* why = std::get_if<std::string>(&r)) ADD_FAILURE() << *why;
    auto* file = std::get_if<std::unique_ptr<ResultFile>>(&r);
    return file ? std::move(*file) : nullptr;
  }
  fs::path root_;
  fs::path dir_;
};

TEST_F(ResultFileTest, BytesAppearUnderTheFinalNameOnlyOnceCommitted) {
  auto file = made(ResultFile::create(dir_, "req-1/out/a.bin", ".t.part"));
  ASSERT_TRUE(file);
  ASSERT_TRUE(file->write("partial "));
  ASSERT_TRUE(file->restart());  // a new attempt starts from the first byte
  ASSERT_TRUE(file->write("hello "));
  ASSERT_TRUE(file->write("world"));
  EXPECT_EQ(file->written(), 11u);
  EXPECT_FALSE(fs::exists(dir_ / "req-1/out/a.bin"));
  EXPECT_TRUE(fs::exists(dir_ / "req-1/out/.t.part"));
  ASSERT_TRUE(file->commit()) << file->trouble();
  EXPECT_EQ(file->final_path(), dir_ / "req-1/out/a.bin");
  EXPECT_EQ(read(dir_ / "req-1/out/a.bin"), "hello world");
  EXPECT_FALSE(fs::exists(dir_ / "req-1/out/.t.part"));
  file.reset();
  EXPECT_TRUE(fs::exists(dir_ / "req-1/out/a.bin"));  // committed: kept
}

TEST_F(ResultFileTest, AFileNotCommittedIsRemovedAndAStaleTempFileIsReplaced) {
  fs::create_directories(dir_ / "req-1");
  std::ofstream(dir_ / "req-1/.t.part") << "left by a killed run";
  auto file = made(ResultFile::create(dir_, "req-1/a", ".t.part"));
  ASSERT_TRUE(file);
  EXPECT_EQ(fs::file_size(dir_ / "req-1/.t.part"), 0u);
  ASSERT_TRUE(file->write("x"));
  file.reset();
  EXPECT_FALSE(fs::exists(dir_ / "req-1/.t.part"));
  EXPECT_FALSE(fs::exists(dir_ / "req-1/a"));
}

TEST_F(ResultFileTest, ARenameReplacesAnOlderCopyOfTheSameResult) {
  fs::create_directories(dir_ / "req-1");
  std::ofstream(dir_ / "req-1/a") << "older";
  auto file = made(ResultFile::create(dir_, "req-1/a", ".t.part"));
  ASSERT_TRUE(file && file->write("newer") && file->commit());
  EXPECT_EQ(read(dir_ / "req-1/a"), "newer");
}

TEST_F(ResultFileTest, NothingIsWrittenThroughASymlinkPlantedInTheDownloadDirectory) {
  const fs::path elsewhere = root_ / "elsewhere";
  fs::create_directories(elsewhere);
  fs::create_directories(dir_);
  fs::create_directory_symlink(elsewhere, dir_ / "req-1");
  auto r = ResultFile::create(dir_, "req-1/a", ".t.part");
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_EQ(std::get<std::string>(r),
            "the result's directory cannot be opened: a symlink is in the way; results are written to real "
            "directories only");
  EXPECT_TRUE(fs::is_empty(elsewhere));
}

TEST_F(ResultFileTest, AFileInTheWayOfADirectoryAndADirectoryInTheWayOfTheNameAreRefused) {
  fs::create_directories(dir_ / "req-1");
  std::ofstream(dir_ / "req-1/out") << "a file";
  auto blocked = ResultFile::create(dir_, "req-1/out/a", ".t.part");
  ASSERT_TRUE(std::holds_alternative<std::string>(blocked));
  EXPECT_NE(std::get<std::string>(blocked).find("the result's directory cannot be"), std::string::npos);
  fs::create_directories(dir_ / "req-1/d");
  auto file = made(ResultFile::create(dir_, "req-1/d", ".t.part"));
  ASSERT_TRUE(file && file->write("x"));
  EXPECT_FALSE(file->commit());
  EXPECT_NE(file->trouble().find("could not take its name"), std::string::npos);
}

}  // namespace
}  // namespace submitd::spool
