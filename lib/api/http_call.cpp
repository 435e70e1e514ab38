// Role: names of endpoints and transport failures (metric label values, log words).
#include "api/http_call.hpp"

namespace submitd::api {

std::string_view endpoint_name(Endpoint e) {
  switch (e) {
    case Endpoint::token: return "token";
    case Endpoint::create: return "create";
    case Endpoint::datasource: return "datasource";
    case Endpoint::params: return "params";
    case Endpoint::run: return "run";
    case Endpoint::get: return "get";
    case Endpoint::list: return "list";
    case Endpoint::results: return "results";
    case Endpoint::abort: return "abort";
    case Endpoint::upload: return "upload";
    case Endpoint::upload_completed: return "uploadcompleted";
    case Endpoint::download: return "download";
  }
  return "unknown";
}

std::string_view transport_failure_name(TransportFailure f) {
  switch (f) {
    case TransportFailure::none: return "none";
    case TransportFailure::connect: return "connect";
    case TransportFailure::tls: return "tls";
    case TransportFailure::certificate: return "certificate";
    case TransportFailure::timeout: return "timeout";
    case TransportFailure::reset: return "reset";
  }
  return "unknown";
}

}  // namespace submitd::api
