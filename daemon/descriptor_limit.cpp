// Role: raising the open-file limit at start (see descriptor_limit.hpp).
#include "descriptor_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace submitd {

DescriptorLimit raise_descriptor_limit() {
  DescriptorLimit result;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    result.failure = std::string("getrlimit: ") + std::strerror(errno);
    result.before = result.now = 1024;  // the usual default: a safe guess for the cap's bound
    return result;
  }
  result.before = result.now = lim.rlim_cur;
  if (lim.rlim_cur >= lim.rlim_max) return result;  // nothing to raise
  rlimit raised = lim;
  raised.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    result.failure = std::string("setrlimit: ") + std::strerror(errno);
    return result;
  }
  result.now = raised.rlim_cur;
  return result;
}

}  // namespace submitd
