// Role: the JSON Lines reader over real file descriptors (temp files, pipes): line numbers
// that match the file, CRLF, blank lines, a last line without newline, over-long lines skipped
// with bounded memory, resuming at an offset, and read errors. No sleeping.
#include "spool/jsonl_reader.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace submitd::spool {
namespace {

struct Line {
  uint64_t number;
  uint64_t offset;
  uint64_t length;
  std::string text;
  bool too_long;
  bool operator==(const Line&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Line& l) {
  return os << "{" << l.number << " @" << l.offset << " len " << l.length << " \"" << l.text << "\""
            << (l.too_long ? " too_long" : "") << "}";
}

// An unlinked temp file in $TMPDIR holding `content`, positioned at its start.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    const char* base = std::getenv("TMPDIR");
    std::string name = std::string(base && *base ? base : "/tmp") + "/submitd-jsonl-XXXXXX";
    fd_ = ::mkstemp(name.data());
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "mkstemp");
    ::unlink(name.c_str());
    for (size_t done = 0; done < content.size();) {
      ssize_t n = ::write(fd_, content.data() + done, content.size() - done);
      if (n <= 0) throw std::system_error(errno, std::generic_category(), "write");
      done += static_cast<size_t>(n);
    }
    ::lseek(fd_, 0, SEEK_SET);
  }
  ~TempFile() { ::close(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::vector<Line> read_all(JsonlReader& reader) {
  std::vector<Line> lines;
  while (auto l = reader.next())
    lines.push_back({l->number, l->offset, l->length, std::string(l->text), l->too_long});
  return lines;
}

std::vector<Line> read_all(const std::string& content, size_t max_line,
                           size_t chunk = JsonlReader::kDefaultChunkBytes) {
  TempFile file(content);
  JsonlReader reader(file.fd(), max_line, chunk);
  return read_all(reader);
}

// The same split done the obvious way, to compare the chunked reader against.
std::vector<Line> reference_split(const std::string& content, size_t max_line) {
  std::vector<Line> lines;
  uint64_t number = 0;
  for (size_t pos = 0; pos < content.size();) {
    size_t nl = content.find('\n', pos);
    size_t end = nl == std::string::npos ? content.size() : nl;
    std::string text = content.substr(pos, end - pos);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    ++number;
    if (text.size() > max_line)
      lines.push_back({number, pos, text.size(), "", true});
    else if (text.find_first_not_of(" \t\r") != std::string::npos)
      lines.push_back({number, pos, text.size(), text, false});
    pos = end + 1;
  }
  return lines;
}

TEST(JsonlReader, LinesWithNumbersAndOffsets) {
  EXPECT_EQ(read_all("{\"a\":1}\n{\"b\":2}\n", 100),
            (std::vector<Line>{{1, 0, 7, "{\"a\":1}", false}, {2, 8, 7, "{\"b\":2}", false}}));
}

TEST(JsonlReader, LastLineWithoutNewline) {
  EXPECT_EQ(read_all("a\nb", 100),
            (std::vector<Line>{{1, 0, 1, "a", false}, {2, 2, 1, "b", false}}));
}

TEST(JsonlReader, CrLfIsStripped) {
  EXPECT_EQ(read_all("a\r\nbc\r\n", 100),
            (std::vector<Line>{{1, 0, 1, "a", false}, {2, 3, 2, "bc", false}}));
  EXPECT_EQ(read_all("a\r", 100), (std::vector<Line>{{1, 0, 1, "a", false}}));
}

TEST(JsonlReader, BlankLinesAreSkippedButCounted) {
  EXPECT_EQ(read_all("\n  \n\r\n\t\na\n\n\nb\n  ", 100),
            (std::vector<Line>{{5, 8, 1, "a", false}, {8, 12, 1, "b", false}}));
  EXPECT_TRUE(read_all("", 100).empty());
  EXPECT_TRUE(read_all("\n\n \n", 100).empty());
}

TEST(JsonlReader, LimitIsOnTheLineWithoutItsTerminator) {
  std::string max(10, 'x');
  EXPECT_EQ(
      read_all(max + "\r\n" + max + "x\n" + max, 10, 4),
      (std::vector<Line>{{1, 0, 10, max, false}, {2, 12, 11, "", true}, {3, 24, 10, max, false}}));
}

TEST(JsonlReader, OverLongLineIsSkippedAndReadingGoesOn) {
  std::string big(1000, 'x');
  EXPECT_EQ(read_all("a\n" + big + "\r\nb\n" + big, 100, 16),
            (std::vector<Line>{{1, 0, 1, "a", false},
                               {2, 2, 1000, "", true},
                               {3, 1004, 1, "b", false},
                               {4, 1006, 1000, "", true}}));
}

TEST(JsonlReader, AgreesWithReferenceForAnyChunkSize) {
  std::mt19937 rng(12345);
  std::string content;
  const char alphabet[] = "ab{}\" \r\n\n\t";
  for (int i = 0; i < 5000; ++i) content += alphabet[rng() % (sizeof alphabet - 1)];
  for (size_t max_line : {0u, 1u, 2u, 7u, 50u, 10000u})
    for (size_t chunk : {1u, 2u, 3u, 5u, 64u, 4096u})
      EXPECT_EQ(read_all(content, max_line, chunk), reference_split(content, max_line))
          << "max_line " << max_line << " chunk " << chunk;
}

TEST(JsonlReader, HundredThousandLines) {
  std::string content;
  for (int i = 0; i < 100000; ++i)
    content += "{\"templateId\":\"t\",\"requestId\":\"r-" + std::to_string(i) + "\"}\n";
  TempFile file(content);
  JsonlReader reader(file.fd(), 1024);
  uint64_t expected = 0;
  while (auto line = reader.next()) {
    ++expected;
    ASSERT_EQ(line->number, expected);
    ASSERT_EQ(line->text,
              "{\"templateId\":\"t\",\"requestId\":\"r-" + std::to_string(expected - 1) + "\"}");
  }
  EXPECT_EQ(expected, 100000u);
  EXPECT_EQ(reader.bytes_consumed(), content.size());
  EXPECT_LE(reader.buffer_capacity(), 1024 + 1 + JsonlReader::kDefaultChunkBytes);
}

TEST(JsonlReader, FiveMebibyteLineIsNotHeldInMemory) {
  const size_t max_line = 1 << 20;
  std::string huge(5 << 20, 'x');
  TempFile file("{\"a\":1}\n" + huge + "\n{\"b\":2}\n");
  JsonlReader reader(file.fd(), max_line);
  auto lines = read_all(reader);
  EXPECT_EQ(lines, (std::vector<Line>{{1, 0, 7, "{\"a\":1}", false},
                                      {2, 8, huge.size(), "", true},
                                      {3, 8 + huge.size() + 1, 7, "{\"b\":2}", false}}));
  EXPECT_LE(reader.buffer_capacity(), max_line + 1 + JsonlReader::kDefaultChunkBytes);
}

TEST(JsonlReader, LineUpToTheLimitIsKept) {
  const size_t max_line = 1 << 20;
  std::string line(max_line, 'y');
  TempFile file(line + "\n");
  JsonlReader reader(file.fd(), max_line);
  auto got = reader.next();
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->too_long);
  EXPECT_EQ(got->text.size(), max_line);
  EXPECT_FALSE(reader.next());
}

TEST(JsonlReader, ReadsFromAPipeWrittenInSmallPieces) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string content;
  for (int i = 0; i < 2000; ++i) content += "line-" + std::to_string(i) + (i % 3 ? "\n" : "\r\n");
  std::thread writer([&] {
    for (size_t pos = 0; pos < content.size(); pos += 7) {
      size_t n = std::min<size_t>(7, content.size() - pos);
      if (::write(fds[1], content.data() + pos, n) != static_cast<ssize_t>(n)) break;
    }
    ::close(fds[1]);
  });
  JsonlReader reader(fds[0], 64, 16);
  auto lines = read_all(reader);
  writer.join();
  ::close(fds[0]);
  EXPECT_EQ(lines, reference_split(content, 64));
  EXPECT_EQ(lines.size(), 2000u);
}

TEST(JsonlReader, ResumesAtAnOffset) {
  TempFile file("a\nb\n\nc\nd");
  std::vector<Line> first;
  {
    JsonlReader reader(file.fd(), 100);
    auto all = read_all(reader);
    ASSERT_EQ(all.size(), 4u);
    first = all;
  }
  JsonlReader resumed(file.fd(), 100);
  resumed.start_at(first[2].offset, first[2].number - 1);  // from "c", line 4
  EXPECT_EQ(read_all(resumed), (std::vector<Line>{first[2], first[3]}));
}

TEST(JsonlReader, ReadErrorIsReported) {
  const char* base = std::getenv("TMPDIR");
  int dir = ::open(base && *base ? base : "/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  JsonlReader reader(dir, 100);
  try {
    reader.next();
    ADD_FAILURE() << "no error reading a directory";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EISDIR);
    EXPECT_NE(std::string(e.what()).find("read JSON Lines file"), std::string::npos);
  }
  ::close(dir);
  JsonlReader unseekable(-1, 100);
  EXPECT_THROW(unseekable.start_at(10, 1), std::system_error);
}

}  // namespace
}  // namespace submitd::spool
