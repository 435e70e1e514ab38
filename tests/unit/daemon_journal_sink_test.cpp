// Role: the journal sink's one decision: JOURNAL_STREAM names stderr ("<device>:<inode>").
#include <gtest/gtest.h>

#include "journal_sink.hpp"

using submitd::names_stream;

TEST(JournalStream, NamesTheStreamByDeviceAndInode) {
  EXPECT_TRUE(names_stream("64769:123456", 64769, 123456));
  EXPECT_FALSE(names_stream("64769:123457", 64769, 123456));
  EXPECT_FALSE(names_stream("64768:123456", 64769, 123456));
  for (const char* bad : {"", ":", "64769", "64769:", ":123456", "64769:123456x", "x64769:123456", "-1:2", "1:2:3",
                          " 64769:123456"}) {
    EXPECT_FALSE(names_stream(bad, 64769, 123456)) << bad;
  }
}
