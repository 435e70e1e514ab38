// Role: the job-request schema (see request_parser.hpp): which fields exist, their types and
// rules, what passes through raw, and what only earns a warning. The strict JSON walk itself
// (validation, duplicate keys, positions) is in request_walker.
#include "spool/request_parser.hpp"

#include "spool/input_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "spool/request_json_text.hpp"
#include "spool/request_walker.hpp"

namespace submitd::spool {
namespace {

namespace od = simdjson::ondemand;
using value = od::value;

constexpr size_t kMaxWarnings = 8;  // a request with 10k unknown fields must not flood logs
constexpr std::string_view kNonEmptyString = "a non-empty string";
constexpr std::string_view kDescriptor = "a non-empty string such as \"url\" or \"bypass\"";
constexpr std::string_view kTimeout = "a non-negative integer (seconds)";

thread_local WalkScratch tls_scratch;

bool is_blank(std::string_view s) { return std::all_of(s.begin(), s.end(), is_json_space); }

void check_request_id(const JsonWalker& w, std::string_view id) {
  constexpr std::string_view kExpected = "expected 1 to 128 characters of A-Z a-z 0-9 . _ : -";
  if (id.empty()) w.refuse(fmt::format("{}, found an empty string", kExpected));
  if (id.size() > kMaxRequestIdLength)
    w.refuse(fmt::format("{}, found {} bytes", kExpected, id.size()));
  for (size_t i = 0; i < id.size(); ++i) {
    auto c = static_cast<unsigned char>(id[i]);
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (ok) continue;
    if (c == ' ') w.refuse(fmt::format("{}, found a space at position {}", kExpected, i + 1));
    if (c > 0x20 && c < 0x7f)
      w.refuse(fmt::format("{}, found '{}' at position {}", kExpected, char(c), i + 1));
    w.refuse(fmt::format("{}, found byte 0x{:02X} at position {}", kExpected, c, i + 1));
  }
}

class RequestReader {
 public:
  RequestReader(JsonWalker& w, JobRequest& req) : w_(w), req_(req) {}

  void read(od::object& root) {
    bool has_template = false;
    w_.walk_root(root, [&](std::string_view key, value& v) {
      if (key == "templateId") {
        std::string_view id = w_.string_value(v, kNonEmptyString);
        if (is_blank(id)) w_.refuse("expected a non-empty string, found an empty string");
        req_.template_id.assign(id);
        has_template = true;
      } else if (key == "requestId") {
        if (is_null(v)) return false;
        std::string_view id =
            w_.string_value(v, "a string of 1 to 128 characters of A-Z a-z 0-9 . _ : -");
        check_request_id(w_, id);
        req_.request_id.assign(id);
      } else if (key == "name" || key == "description") {
        if (is_null(v)) return false;
        (key == "name" ? req_.name : req_.description).assign(w_.string_value(v, "a string"));
      } else if (key == "dataSource" || key == "dataDestination") {
        if (!is_object(v)) return false;
        const bool source = key == "dataSource";
        (source ? req_.data_source_json : req_.data_destination_json)
            .assign(data_source(v, source ? &source_descriptor_ : nullptr));
      } else if (key == "inputFile") {
        if (is_null(v)) return false;
        std::string_view path = w_.string_value(v, "a non-empty string (a local file's path)");
        if (is_blank(path)) w_.refuse("expected a local file's path, found an empty string");
        req_.input_file.assign(path);
      } else if (key == "params") {
        if (!is_object(v)) return false;
        req_.params_json.assign(
            w_.walk_object(v, 2, [](std::string_view, value&) { return false; }));
      } else if (key == "config") {
        if (!is_object(v)) return false;
        req_.config_json.assign(config(v));
      } else {
        warn(fmt::format("unknown field \"{}\" ignored", w_.path()));
        return false;
      }
      return true;
    });
    if (!has_template)
      throw Invalid{"templateId", "required field is missing: expected a non-empty string"};
    check_input_file();
    if (suppressed_ > 0) req_.warnings.push_back(fmt::format("and {} more warnings", suppressed_));
  }

 private:
  // null stands for "absent" (left to the generic walk, which validates the literal).
  bool is_null(value& v) { return w_.type_of(v) == od::json_type::null; }

  // An optional object: true when it is one, false for null, refused otherwise.
  bool is_object(value& v) {
    od::json_type t = w_.type_of(v);
    if (t == od::json_type::object) return true;
    if (t != od::json_type::null)
      w_.refuse(fmt::format("expected an object, found {}", w_.found(v)));
    return false;
  }

  void warn(std::string text) {
    if (req_.warnings.size() < kMaxWarnings)
      req_.warnings.push_back(std::move(text));
    else
      ++suppressed_;
  }

  // A "file" data source is an upload of a local file: without inputFile the job would run
  // with no input at all (a silent wrong result that costs a run), and inputFile means
  // nothing for any other source.
  void check_input_file() const {
    const bool file_source = source_descriptor_ == "file";
    if (file_source && req_.input_file.empty()) {
      throw Invalid{"dataSource.dataSourceDescriptor",
                    "a \"file\" data source uploads a local file: name it in \"inputFile\" (without it the "
                    "job would run with no input)"};
    }
    if (!file_source && !req_.input_file.empty()) {
      // (The descriptor is not quoted: messages never repeat a request's string values.)
      throw Invalid{"inputFile", source_descriptor_.empty()
                                     ? "is for a \"file\" data source, and the request has no dataSource"
                                     : "is for a \"file\" data source, and this dataSource is another kind"};
    }
  }

  // dataSource / dataDestination: passed through, but must name their descriptor (kept in
  // `descriptor` when asked).
  std::string_view data_source(value& v, std::string* descriptor) {
    bool has_descriptor = false;
    std::string_view raw = w_.walk_object(v, 2, [&](std::string_view key, value& field) {
      if (key != "dataSourceDescriptor") return false;
      std::string_view name = w_.string_value(field, kDescriptor);
      if (is_blank(name)) w_.refuse(fmt::format("expected {}, found an empty string", kDescriptor));
      if (descriptor) descriptor->assign(name);
      has_descriptor = true;
      return true;
    });
    if (!has_descriptor)
      throw Invalid{w_.path() + ".dataSourceDescriptor",
                    "required field is missing: expected a string such as \"url\" or \"bypass\""};
    return raw;
  }

  // config: the run body. Known fields are type-checked; unknown ones pass with a warning.
  std::string_view config(value& v) {
    return w_.walk_object(v, 2, [&](std::string_view key, value& field) {
      if (key == "taskTimeout" || key == "jobTimeout") {
        od::json_type t = w_.type_of(field);
        if (t == od::json_type::null) return false;
        if (t != od::json_type::number)
          w_.refuse(fmt::format("expected {}, found {}", kTimeout, w_.found(field)));
        const char* at = field.raw_json_token().data();
        std::string_view text = trim_json_space(field.raw_json_token());
        if (!is_json_number(text)) w_.json_error(simdjson::NUMBER_ERROR, at);
        uint64_t seconds = 0;
        if (field.get_uint64().get(seconds))
          w_.refuse(fmt::format("expected {}, found {}", kTimeout, text.substr(0, 40)));
        return true;
      }
      if (key == "isTestJob") {
        od::json_type t = w_.type_of(field);
        if (t != od::json_type::null && t != od::json_type::boolean)
          w_.refuse(fmt::format("expected true or false, found {}", w_.found(field)));
        return false;  // the generic walk validates the literal
      }
      warn(fmt::format("unknown field \"{}\" passed through to the run call", w_.path()));
      return false;
    });
  }

  JsonWalker& w_;
  JobRequest& req_;
  size_t suppressed_ = 0;
  std::string source_descriptor_;  // dataSource's dataSourceDescriptor, when given
};

// Why a document that simdjson refused at its root was refused, in a person's terms.
[[noreturn]] void root_error(simdjson::error_code e, std::string_view text, size_t base_offset) {
  size_t end = json_value_end(text);
  if (end != std::string_view::npos && !is_blank(text.substr(end))) {
    while (is_json_space(text[end])) ++end;
    throw Invalid{"", fmt::format("trailing content after the JSON object at byte {}",
                                  end + base_offset + 1)};
  }
  if (e == simdjson::UNESCAPED_CHARS) {
    size_t at = first_unescaped_control(text);
    std::string where =
        at == std::string_view::npos ? "" : fmt::format(" near byte {}", at + base_offset + 1);
    throw Invalid{
        "", fmt::format("not valid JSON: a control character inside a string must be escaped{}",
                        where)};
  }
  throw Invalid{"", fmt::format("not valid JSON: {}", simdjson::error_message(e))};
}

JobRequest parse_or_throw(std::string_view text, uint64_t line, od::parser& parser,
                          WalkScratch& scratch) {
  size_t bom = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // editors on Windows write one
  text.remove_prefix(bom);
  if (is_blank(text)) throw Invalid{"", "empty input: expected a JSON object"};
  if (!simdjson::validate_utf8(text.data(), text.size()))
    throw Invalid{"", fmt::format("not valid UTF-8: invalid byte sequence at byte {}",
                                  first_invalid_utf8(text) + bom + 1)};
  // Copy into the reused padded buffer (it only grows, so steady state allocates nothing).
  scratch.padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(scratch.padded.data(), text.data(), text.size());
  std::memset(scratch.padded.data() + text.size(), ' ', simdjson::SIMDJSON_PADDING);

  od::document doc;
  auto e = parser.iterate(scratch.padded.data(), text.size(), scratch.padded.size()).get(doc);
  if (e) root_error(e, text, bom);
  od::json_type type{};
  if ((e = doc.type().get(type))) root_error(e, text, bom);
  if (type != od::json_type::object)
    throw Invalid{"", fmt::format("expected a JSON object, found {}", type_name(type))};
  od::object root;
  if ((e = doc.get_object().get(root))) root_error(e, text, bom);

  JsonWalker walker(doc, scratch.padded.data(), bom, scratch);
  JobRequest req;
  req.line = line;
  RequestReader(walker, req).read(root);
  const char* rest = nullptr;
  if (!doc.current_location().get(rest))  // still inside the input: something follows '}'
    throw Invalid{"", fmt::format("trailing content after the JSON object at byte {}",
                                  walker.position(rest))};
  return req;
}

}  // namespace

ParseOutcome parse_request(std::string_view text, uint64_t line, od::parser& parser) {
  try {
    return parse_or_throw(text, line, parser, tls_scratch);
  } catch (Invalid& e) {
    return RequestError{line, std::move(e.field), std::move(e.message)};
  }
}

ParseOutcome RequestParser::parse(std::string_view text, uint64_t line) {
  ParseOutcome outcome = parse_request(text, line, parser_);
  auto* request = std::get_if<JobRequest>(&outcome);
  if (request == nullptr || request->input_file.empty()) return outcome;
  auto opened = open_input_file(request->input_file, input_rules_);
  if (auto* refusal = std::get_if<std::string>(&opened)) return RequestError{line, "inputFile", std::move(*refusal)};
  const auto& file = std::get<OpenedInputFile>(opened);
  request->input_size = file.size;
  request->input_mtime = file.mtime;
  return outcome;
}

std::string to_string(const RequestError& error) {
  std::string out;
  if (error.line > 0) out = fmt::format("line {}: ", error.line);
  if (!error.field.empty()) out += fmt::format("field \"{}\": ", error.field);
  return out + error.message;
}

bool is_valid_utf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

}  // namespace submitd::spool
