// Role: the API-health rule (see api_health.hpp).
#include "api/api_health.hpp"

namespace submitd::api {

void ApiHealth::observe(const HttpResult& result) {
  // A redirect is an answer, but not the API's: trouble to report (check api.base_url).
  answering_ = result.has_response() && result.status < 500 && (result.status < 300 || result.status >= 400);
  if (answering_) return;
  trouble_ = result.has_response() ? "HTTP " + std::to_string(result.status)
                                   : std::string(transport_failure_name(result.failure));
}

std::string ApiHealth::trouble() const { return answering_ ? std::string() : trouble_; }

}  // namespace submitd::api
