// Role: the run body (see run_body.hpp).
#include "submit/run_body.hpp"

#include <simdjson.h>

#include "util/json_text.hpp"

namespace submitd::submit {

std::string run_body(std::string_view config_json, bool force_test_jobs) {
  if (!force_test_jobs) return config_json.empty() ? std::string("{}") : std::string(config_json);
  std::string out = "{";
  if (!config_json.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::object config;
    // The request parser accepted `config` as an object; anything else is sent as no config.
    if (!parser.parse(simdjson::padded_string(config_json)).get(config)) {
      for (auto field : config) {
        if (field.key == "isTestJob") continue;
        if (out.size() > 1) out += ",";
        append_json_string(out, field.key);
        out += ":";
        out += simdjson::minify(field.value);
      }
    }
  }
  if (out.size() > 1) out += ",";
  out += "\"isTestJob\":true}";
  return out;
}

}  // namespace submitd::submit
