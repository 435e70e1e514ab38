// Request validation for the job endpoints: what the emulator accepts and the actionable
// message it gives when it does not. Pure functions over parsed JSON, so each rule is
// unit-tested directly.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emulator {

// A value or the reason there is none.
template <class T>
struct Checked {
  std::optional<T> value;
  std::string error;
  static Checked ok(T v) { return {std::move(v), {}}; }
  static Checked fail(std::string e) { return {std::nullopt, std::move(e)}; }
  explicit operator bool() const { return value.has_value(); }
};

// 8-4-4-4-12 hex digits, any version, either case.
bool is_uuid(std::string_view s);
std::string to_lower(std::string_view s);

enum class Direction { input, output };

// Checks one `dataSource` (input) or `dataDestination` (output) object. `field` names it in
// the message. Returns the problem, or nullopt when it is acceptable.
std::optional<std::string> check_data_endpoint(const boost::json::value& v, Direction dir,
                                               std::string_view field);

// PATCH /jobs/{id}/params: `app`, `partitioner`, `assembler` (and the deprecated `preset`)
// must be objects when present. Returns the fields to merge (nulls dropped).
Checked<boost::json::object> check_params_patch(const boost::json::object& body);

// POST /jobs/{id}/run: flat {taskTimeout?, jobTimeout?, isTestJob?}; numbers may come as
// strings (int64 in grpc-gateway JSON). Returns the normalised JobConfig
// ({"taskTimeout":"3600","jobTimeout":"86400","isTestJob":true}, unset fields null).
Checked<boost::json::object> check_run_config(const boost::json::object& body);

// The ?query of a request as decoded key/value pairs (%XX and '+' decoded). Malformed
// escapes are kept literally: the pagination checks then report the odd value.
std::vector<std::pair<std::string, std::string>> decode_query(std::string_view query);

// An int64 given as a JSON integer or a decimal string.
std::optional<std::int64_t> as_int64(const boost::json::value& v);

}  // namespace emulator
