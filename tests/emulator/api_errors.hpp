// The two error body shapes ByteNite documents: grpc-gateway's rpcStatus (used for job
// validation errors) and GenericResponse (used for auth errors and injected 429/503/5xx).
// Clients must parse both, so the emulator deliberately uses both.
#pragma once

#include <string>
#include <string_view>

#include "api_exchange.hpp"

namespace emulator {

namespace grpc_code {
constexpr int invalid_argument = 3;
constexpr int not_found = 5;
constexpr int permission_denied = 7;
constexpr int resource_exhausted = 8;
constexpr int failed_precondition = 9;
constexpr int unimplemented = 12;
constexpr int internal = 13;
constexpr int unavailable = 14;
constexpr int unauthenticated = 16;
}  // namespace grpc_code

// {"code":<grpc code>,"message":"...","details":[]}
ApiResponse rpc_status(int http_status, int code, std::string_view message);

// {"ok":false,"requestId":"...","message":<message>,"error":{"code":<http>,
//  "message":<reason phrase>,"description":<description>}}
ApiResponse generic_error(int http_status, std::string_view request_id, std::string_view message,
                          std::string_view description);

// {"ok":true,"requestId":"","message":"...","error":null}
ApiResponse generic_ok(std::string_view message = "");

// The standard reason phrase for the statuses the emulator produces ("Service Unavailable").
std::string_view reason_phrase(int http_status);

}  // namespace emulator
