// JSON views of a Job as ByteNite's API returns them: camelCase, int64 as strings, unset
// fields null, state and times evaluated at the given instant.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "clock.hpp"
#include "job.hpp"

namespace emulator {

boost::json::object job_json(const Job& job, TimePoint now);
boost::json::object template_info_json(const Job& job);
// {"job":{...},"templateInfo":{...}}, serialised: the answer of create, get and the PATCHes.
std::string job_envelope(const Job& job, TimePoint now);

}  // namespace emulator
