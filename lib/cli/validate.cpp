// Role: offline validation of input files (see validate.hpp).
#include "cli/validate.hpp"

#include <unistd.h>

#include <system_error>

#include "spool/claim.hpp"
#include "spool/input_reader.hpp"

namespace submitd::cli {

void validate_input(const std::filesystem::path& file, std::uint64_t max_request_bytes,
                    const spool::InputFileRules& input_rules,
                    ValidationReport& report) {
  const std::string shown = file.string();
  // Classified as the daemon classifies a claimed file: by lstat and name.
  spool::ClaimedFile claimed;
  claimed.original_name = file.filename().string();
  claimed.active_path = file;
  spool::classify_claimed(claimed);
  if (claimed.kind == spool::InputKind::unreadable) {
    ++report.refused;
    report.problems.push_back(shown + ": " + claimed.original_name + " " + claimed.reject_reason);
    return;
  }
  spool::OpenedInput opened = spool::open_input(shown);
  if (!opened.refusal.empty()) {
    ++report.refused;
    report.problems.push_back(shown + ": " + opened.refusal);
    return;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{opened.fd};
  spool::RequestParser parser(input_rules);
  spool::InputReader source(opened.fd, claimed.kind, opened.size, max_request_bytes, parser);
  try {
    while (auto item = source.next()) {
      if (auto* why = std::get_if<std::string>(&item->parsed)) {
        ++report.refused;
        report.problems.push_back(shown + ": " + *why);
      } else {
        ++report.requests;
        for (const auto& w : std::get<spool::JobRequest>(item->parsed).warnings) {
          report.warnings.push_back(shown + ": line " + std::to_string(item->line) + ": " + w);
        }
      }
    }
  } catch (const std::system_error& e) {
    ++report.refused;
    report.problems.push_back(shown + ": cannot read the file: " + e.what());
  }
}

}  // namespace submitd::cli
