// Role: the small helpers of the settings structs (derived strings for the API client).
#include "config/settings.hpp"

namespace submitd::config {

std::string ApiSettings::customer_prefix() const { return base_path + "/" + customer_path; }

std::string ApiSettings::authority() const {
  // An IPv6 literal needs brackets in a Host header; port 443 is implied by https.
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != 443) out += ":" + std::to_string(port);
  return out;
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

}  // namespace submitd::config
