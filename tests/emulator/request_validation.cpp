// Validation rules for the job endpoints. Messages name the field, what was given and what
// would be accepted, so a person reading a daemon's outcome file knows what to change.
#include "request_validation.hpp"

#include <array>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <charconv>

namespace emulator {

namespace json = boost::json;

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {

constexpr std::string_view inputs_list = "url, file, bypass, s3, aws, gcp, storj";
constexpr std::string_view outputs_list = "bucket, bypass, s3, aws, gcp, storj";

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

bool is_bucket_like(std::string_view d) {
  return d == "s3" || d == "aws" || d == "gcp" || d == "storj";
}

const json::string* string_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return nullptr;
  return &it->value().get_string();
}

}  // namespace

std::optional<std::string> check_data_endpoint(const json::value& v, Direction dir,
                                               std::string_view field) {
  const std::string f(field);
  const bool input = dir == Direction::input;
  const std::string_view allowed = input ? inputs_list : outputs_list;
  if (v.is_null())
    return f + " is required: give {\"dataSourceDescriptor\": ...} with one of " +
           std::string(allowed);
  if (!v.is_object()) return f + " must be an object, got " + kind_of(v);
  const auto& o = v.get_object();
  const json::string* d = string_field(o, "dataSourceDescriptor");
  if (!d || d->empty())
    return f + ".dataSourceDescriptor is required (one of " + std::string(allowed) + ")";
  const std::string_view desc(d->data(), d->size());

  const bool known = desc == "url" || desc == "file" || desc == "bucket" || desc == "bypass" ||
                     is_bucket_like(desc);
  if (!known)
    return f + ".dataSourceDescriptor " + quoted(desc) + " is not supported; use one of " +
           std::string(allowed);
  if (input && desc == "bucket")
    return f +
           ".dataSourceDescriptor \"bucket\" is output-only: use it in dataDestination; "
           "inputs accept " +
           std::string(inputs_list);
  if (!input && (desc == "url" || desc == "file"))
    return f + ".dataSourceDescriptor " + quoted(desc) +
           " is input-only: use it in dataSource; outputs accept " + std::string(outputs_list);

  const json::object* params = nullptr;
  if (auto it = o.find("params"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object())
      return f + ".params must be an object, got " + kind_of(it->value());
    params = &it->value().get_object();
  }

  if (desc == "url") {
    const json::string* url = params ? string_field(*params, "url") : nullptr;
    if (!url || url->empty())
      return f +
             ".params.url is required for the \"url\" descriptor (a public or "
             "pre-signed http(s) URL)";
    const std::string_view u(url->data(), url->size());
    if (!u.starts_with("https://") && !u.starts_with("http://"))
      return f + ".params.url must be an http:// or https:// URL";
    if (const json::string* t = string_field(*params, "@type");
        t && *t != "type.googleapis.com/bytenite.data_source.HttpDataSource")
      return f +
             ".params.@type must be "
             "\"type.googleapis.com/bytenite.data_source.HttpDataSource\" for \"url\", "
             "got " +
             quoted(std::string_view(t->data(), t->size()));
  }
  if (is_bucket_like(desc)) {
    const json::string* bucket = params ? string_field(*params, "bucketName") : nullptr;
    if (!bucket || bucket->empty())
      return f + ".params.bucketName is required for the " + quoted(desc) +
             " descriptor (with cloudRegion, name and secret_id)";
  }
  return std::nullopt;
}

Checked<json::object> check_params_patch(const json::object& body) {
  static constexpr std::array<std::string_view, 4> parts{"app", "partitioner", "assembler",
                                                         "preset"};
  json::object merged;
  for (std::string_view key : parts) {
    auto it = body.find(key);
    if (it == body.end() || it->value().is_null()) continue;
    if (key == "preset") {  // deprecated upstream (2025-08); a string there is tolerated
      merged[key] = it->value();
      continue;
    }
    if (!it->value().is_object())
      return Checked<json::object>::fail(std::string(key) + " must be a JSON object, got " +
                                         kind_of(it->value()));
    merged[key] = it->value();
  }
  return Checked<json::object>::ok(std::move(merged));
}

namespace {
std::string percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> decode_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    out.emplace_back(percent_decode(part.substr(0, eq)), eq == std::string_view::npos
                                                             ? std::string{}
                                                             : percent_decode(part.substr(eq + 1)));
  }
  return out;
}

std::optional<std::int64_t> as_int64(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.get_uint64());
  if (v.is_string()) {
    const auto& s = v.get_string();
    std::int64_t out = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc{} && ptr == s.data() + s.size() && !s.empty()) return out;
  }
  return std::nullopt;
}

Checked<json::object> check_run_config(const json::object& body) {
  json::object config{{"taskTimeout", nullptr}, {"jobTimeout", nullptr}, {"isTestJob", nullptr}};
  for (std::string_view key : {std::string_view("taskTimeout"), std::string_view("jobTimeout")}) {
    auto it = body.find(key);
    if (it == body.end() || it->value().is_null()) continue;
    auto n = as_int64(it->value());
    if (!n || *n < 0)
      return Checked<json::object>::fail(std::string(key) +
                                         " must be a non-negative integer number of seconds, got " +
                                         json::serialize(it->value()));
    config[key] = std::to_string(*n);  // int64 goes out as a string, like grpc-gateway
  }
  if (auto it = body.find("isTestJob"); it != body.end() && !it->value().is_null()) {
    const auto& v = it->value();
    if (v.is_bool()) {
      config["isTestJob"] = v.get_bool();
    } else if (v.is_string() && (v.get_string() == "true" || v.get_string() == "false")) {
      config["isTestJob"] = v.get_string() == "true";
    } else {
      return Checked<json::object>::fail("isTestJob must be true or false, got " +
                                         json::serialize(v));
    }
  }
  return Checked<json::object>::ok(std::move(config));
}

}  // namespace emulator
