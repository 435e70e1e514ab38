// Role: fuzz checks for the request parser and the JSON Lines reader. Beyond "does not crash"
// it checks properties: the chunked reader splits exactly like a naive splitter whatever the
// chunk and limit, accepted requests satisfy the documented rules, pass-through text is a
// JSON object on its own, and a reused parser gives the same answer twice.
#include "request_parser_entry.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "spool/jsonl_reader.hpp"
#include "spool/request_parser.hpp"

namespace submitd::fuzz {
namespace {

using spool::JobRequest;
using spool::ParseOutcome;
using spool::RequestError;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) violated(what);
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == ':' || c == '-'))
      return false;
  return true;
}

// A pass-through text must stand alone as a JSON object (it is sent as a request body part).
void check_object_text(const std::string& raw, const char* what) {
  if (raw.empty()) return;
  require(raw.front() == '{' && raw.back() == '}', what);
  static simdjson::dom::parser dom;
  simdjson::dom::element element;
  auto error = dom.parse(raw).get(element);
  // simdjson's DOM refuses numbers it cannot represent (1e400), which JSON allows.
  if (error == simdjson::NUMBER_ERROR) return;
  require(!error && element.is_object(), what);
}

void check_outcome(const ParseOutcome& out, std::string_view text, uint64_t line,
                   simdjson::ondemand::parser& parser) {
  if (const auto* req = std::get_if<JobRequest>(&out)) {
    require(req->line == line, "line echoed");
    require(!req->template_id.empty(), "templateId non-empty");
    require(req->request_id.empty() || valid_request_id(req->request_id), "requestId charset");
    check_object_text(req->data_source_json, "dataSource is an object");
    check_object_text(req->data_destination_json, "dataDestination is an object");
    check_object_text(req->params_json, "params is an object");
    check_object_text(req->config_json, "config is an object");
    require(req->warnings.size() <= 9, "warnings capped");
  } else {
    const auto& error = std::get<RequestError>(out);
    require(error.line == line, "line echoed in error");
    require(!error.message.empty(), "error has a message");
    require(!spool::to_string(error).empty(), "error renders");
  }
  // The same input through the reused parser and scratch buffers: the same answer.
  ParseOutcome again = spool::parse_request(text, line, parser);
  require(again.index() == out.index(), "deterministic outcome kind");
  if (const auto* error = std::get_if<RequestError>(&out))
    require(std::get<RequestError>(again).message == error->message, "deterministic error");
}

struct Line {
  uint64_t number, offset, length;
  std::string text;
  bool too_long;
  bool operator==(const Line&) const = default;
};

std::vector<Line> naive_split(std::string_view content, size_t max_line) {
  std::vector<Line> lines;
  uint64_t number = 0;
  for (size_t pos = 0; pos < content.size();) {
    size_t nl = content.find('\n', pos);
    size_t end = nl == std::string_view::npos ? content.size() : nl;
    std::string_view text = content.substr(pos, end - pos);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    ++number;
    if (text.size() > max_line)
      lines.push_back({number, pos, text.size(), "", true});
    else if (text.find_first_not_of(" \t\r") != std::string_view::npos)
      lines.push_back({number, pos, text.size(), std::string(text), false});
    pos = end + 1;
  }
  return lines;
}

// An in-memory file holding `content`, positioned at its start.
int memory_file(std::string_view content) {
  int fd = ::memfd_create("fuzz-jsonl", MFD_CLOEXEC);
  require(fd >= 0, "memfd_create");
  for (size_t done = 0; done < content.size();) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    require(n > 0, "write memfd");
    done += static_cast<size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

}  // namespace

int request_parser_one_input(const uint8_t* data, size_t size) {
  static simdjson::ondemand::parser parser;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // As a .json file: one request.
  check_outcome(spool::parse_request(text, 1, parser), text, 1, parser);

  // As a .jsonl file with small limits and chunks drawn from the input: the reader must agree
  // with the naive splitter at every chunk boundary.
  size_t max_line = size > 0 ? data[0] % 80 : 8;
  size_t chunk = size > 1 ? data[1] % 19 + 1 : 4;
  int fd = memory_file(text);
  {
    spool::JsonlReader reader(fd, max_line, chunk);
    std::vector<Line> got;
    while (auto l = reader.next())
      got.push_back({l->number, l->offset, l->length, std::string(l->text), l->too_long});
    require(got == naive_split(text, max_line), "reader agrees with naive split");
    require(reader.buffer_capacity() <= max_line + 1 + chunk, "reader memory bound");
  }
  // And with a realistic limit, every line through the parser.
  ::lseek(fd, 0, SEEK_SET);
  spool::JsonlReader reader(fd, 1 << 20);
  while (auto l = reader.next())
    if (!l->too_long) {
      std::string line(l->text);  // the reader's view dies on the next read
      check_outcome(spool::parse_request(line, l->number, parser), line, l->number, parser);
    }
  ::close(fd);
  return 0;
}

}  // namespace submitd::fuzz
