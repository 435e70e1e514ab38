// Role: the small JSON-writing primitives the daemon needs for outcome records and API bodies.
// Values that came from users (names, descriptions, messages) always pass through
// append_json_string, so no input can break the structure of what we write.
#pragma once

#include <string>
#include <string_view>

namespace submitd {

// Appends `text` as a quoted JSON string. Invalid UTF-8 bytes become U+FFFD so the output is
// always valid JSON even when an error message quotes a broken input.
void append_json_string(std::string& out, std::string_view text);
std::string json_string(std::string_view text);

// Appends `value` in decimal (a JSON number).
void append_json_int(std::string& out, long long value);

}  // namespace submitd
