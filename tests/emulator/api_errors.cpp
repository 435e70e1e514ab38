// Error and acknowledgement bodies.
#include "api_errors.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace emulator {

namespace json = boost::json;

ApiResponse rpc_status(int http_status, int code, std::string_view message) {
  json::object o;
  o["code"] = code;
  o["message"] = message;
  o["details"] = json::array{};
  return {http_status, json::serialize(o)};
}

ApiResponse generic_error(int http_status, std::string_view request_id, std::string_view message,
                          std::string_view description) {
  json::object err;
  err["code"] = http_status;
  err["message"] = reason_phrase(http_status);
  err["description"] = description;
  json::object o;
  o["ok"] = false;
  o["requestId"] = request_id;
  o["message"] = message;
  o["error"] = std::move(err);
  return {http_status, json::serialize(o)};
}

ApiResponse generic_ok(std::string_view message) {
  json::object o;
  o["ok"] = true;
  o["requestId"] = "";
  o["message"] = message;
  o["error"] = nullptr;
  return {200, json::serialize(o)};
}

std::string_view reason_phrase(int http_status) {
  switch (http_status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return http_status >= 500 ? "Server Error" : http_status >= 400 ? "Client Error" : "OK";
  }
}

}  // namespace emulator
