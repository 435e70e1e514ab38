// Role: result names as a hostile server might send them never lead out of the request's
// directory under results.download_dir (spool/result_path.hpp).
#include "spool/result_path.hpp"

#include <gtest/gtest.h>

using submitd::spool::result_path;

namespace {

std::string placed(std::string_view request_id, std::string_view name) {
  auto r = result_path(request_id, name);
  if (auto* why = std::get_if<std::string>(&r)) return "refused: " + *why;
  return std::get<std::filesystem::path>(r).string();
}

}  // namespace

TEST(ResultPath, NamesBecomePathsUnderTheRequestsDirectory) {
  EXPECT_EQ(placed("req-1", "out_0/result.bin"), "req-1/out_0/result.bin");
  EXPECT_EQ(placed("req-1", "a//b/./c.txt"), "req-1/a/b/c.txt");
  EXPECT_EQ(placed("req-1", "dir/"), "req-1/dir");
  EXPECT_EQ(placed("r:1.x", "..hidden/..file"), "r:1.x/..hidden/..file");  // only ".." itself leads out
}

TEST(ResultPath, NamesThatLeadOutOrHideAreRefused) {
  EXPECT_EQ(placed("req-1", "../escape.bin"), "refused: the result's name leads out of its directory (\"..\")");
  EXPECT_EQ(placed("req-1", "sub/../../up.bin"), "refused: the result's name leads out of its directory (\"..\")");
  EXPECT_EQ(placed("req-1", ".."), "refused: the result's name leads out of its directory (\"..\")");
  EXPECT_EQ(placed("req-1", "/etc/absolute.bin"), "refused: the result's name is an absolute path");
  EXPECT_EQ(placed("req-1", "ctrl\x01name.bin"), "refused: the result's name holds a control character");
  EXPECT_EQ(placed("req-1", std::string_view("a\0b", 3)), "refused: the result's name holds a control character");
  EXPECT_EQ(placed("req-1", ""), "refused: the result has no name");
  EXPECT_EQ(placed("req-1", "./."), "refused: the result's name has no file name in it");
  EXPECT_EQ(placed("req-1", std::string(256, 'x')), "refused: a part of the result's name is longer than 255 bytes");
  EXPECT_EQ(placed("req-1", std::string(1025, 'x')), "refused: the result's name is longer than 1024 bytes");
}

TEST(ResultPath, ARequestIdThatIsNotADirectoryNameIsRefused) {
  for (std::string_view id : {"", ".", ".."}) {
    EXPECT_EQ(placed(id, "x.bin"), "refused: the requestId cannot name a directory for its results") << id;
  }
}
