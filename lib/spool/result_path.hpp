// Role: where a downloaded result may be written (issue 19's downloads): the relative path
// under results.download_dir for a request's result, from the result's name as the API gave
// it, or why the name cannot be used. A name is the API's (or a hostile server's) text: no
// ".." segment, no absolute path, no control character, no empty or over-long part, so a
// result can never be written outside its request's directory. Plain code.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

namespace submitd::spool {

// "<request id>/<name's segments>" (redundant "/" and "." segments dropped), or the reason
// for the outcome. The request id must itself be a usable directory name.
std::variant<std::filesystem::path, std::string> result_path(std::string_view request_id, std::string_view name);

}  // namespace submitd::spool
