// Role: turns whatever the API sent back on failure into one message a person can act on.
// The API uses two JSON error shapes (grpc-gateway rpcStatus {code,message,details} and
// GenericResponse {ok,requestId,message,error{code,message,description}}) and proxies in
// front of it send HTML or nothing; every case is parsed defensively and never throws.
#pragma once

#include <string>
#include <string_view>

namespace submitd::api {

struct ApiError {
  int http_status = 0;
  std::string message;  // from the body when it had one, else a description of the status
};

ApiError parse_api_error(int http_status, std::string_view body);

}  // namespace submitd::api
