// Role: the body of POST /jobs/{id}/run: the request's `config` as written, or, when the
// daemon is set to force test jobs (submit.force_test_jobs, for trial deployments), the same
// object with "isTestJob": true whatever the request said.
#pragma once

#include <string>
#include <string_view>

namespace submitd::submit {

std::string run_body(std::string_view config_json, bool force_test_jobs);

}  // namespace submitd::submit
