// Role: validate one job request (a .json file, or one .jsonl line) and extract what the
// submitter needs, keeping the pass-through parts (dataSource, dataDestination, params,
// config) as their raw JSON text so they reach the API byte for byte as the producer wrote
// them. A bad request yields a RequestError a person can act on (line, field, expected/found);
// it never stops the rest of the input.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "spool/input_file.hpp"

namespace submitd::spool {

struct JobRequest {
  uint64_t line = 0;  // 1-based line in a .jsonl file; 0 or 1 for a .json file (caller's choice)
  std::string request_id;   // empty: not given
  std::string template_id;  // never empty
  std::string name;         // empty: not given
  std::string description;  // empty: not given
  // Raw JSON text of each object as written (whitespace inside kept); empty: absent or null.
  std::string data_source_json;
  std::string data_destination_json;
  std::string params_json;
  std::string config_json;
  // inputFile: the local file a "file" data source uploads (as written), and its size and
  // modification time when RequestParser checked it by the upload rules: the upload fails
  // if they have changed by then.
  std::string input_file;
  std::uint64_t input_size = 0;
  timespec input_mtime{};
  // Non-fatal findings, e.g. `unknown field "foo" ignored`. Safe to log (no values).
  std::vector<std::string> warnings;
};

struct RequestError {
  uint64_t line = 0;
  std::string field;    // e.g. "templateId", "params.app.prompt"; "" for the input as a whole
  std::string message;  // what was expected and what was found
};

using ParseOutcome = std::variant<JobRequest, RequestError>;

// Limits the parser enforces on its own (the size limit is the caller's: spool.max_request_bytes).
inline constexpr size_t kMaxRequestIdLength = 128;
inline constexpr size_t kMaxNestingDepth = 64;

// Parses and validates one request. `text` need not be padded: it is copied into a buffer that
// is reused per thread, so steady-state parsing does no allocation beyond the JobRequest.
// Accepts a leading UTF-8 byte order mark. Byte positions in messages are 1-based.
ParseOutcome parse_request(std::string_view text, uint64_t line,
                           simdjson::ondemand::parser& parser);

// Same, owning its parser (one per worker or per file being read; not for concurrent use),
// and checking a request's inputFile by the upload rules (spool/input_file.hpp): a file that
// may not or cannot be uploaded refuses the request now, with the reason, not at its upload.
// Without rules given, every inputFile is refused (no upload.dir, no allowed dirs).
class RequestParser {
 public:
  RequestParser() = default;
  explicit RequestParser(InputFileRules input_rules) : input_rules_(std::move(input_rules)) {}
  ParseOutcome parse(std::string_view text, uint64_t line);

 private:
  simdjson::ondemand::parser parser_;
  InputFileRules input_rules_;
};

// One line for logs and outcome files: `line 3: field "templateId": expected ...`.
// Messages quote field names, types, one offending requestId character or a short number
// (a timeout), never a string value, so pre-signed URLs in a request never reach a log.
std::string to_string(const RequestError& error);

// True when `text` is well-formed UTF-8 (simdjson's validator).
bool is_valid_utf8(std::string_view text);

}  // namespace submitd::spool
