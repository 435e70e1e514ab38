// Role: what integration tests send and check: a well-formed job request line, the
// emulator's ledger (per-job creates/runs/configuration, summary counters) and every outcome
// record the daemon wrote, so each test file asserts on the same readings.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness.hpp"

namespace submitd::testing {

// A complete request ("requestId":"it-N"); `with_params` adds the optional params object.
std::string request_line(int n, bool with_params = true);
// request_line(first) ... request_line(first + count - 1), one per line (JSON Lines).
std::string request_lines(int first, int count);

struct LedgerJob {
  int creates = 0, runs = 0, rejected_runs = 0;
  bool data_source_set = false, params_set = false;
  bool test_job = false;  // run with isTestJob true
  int uploads = 0;           // PUTs to its tempUrl that arrived whole
  int64_t upload_bytes = -1;  // the input it holds (-1: none)
  std::string upload_sha256;
};

// Exactly one run accepted and none refused. The emulator refuses a second run of a started
// job, and the daemon reads such a refusal as "already running": counting accepted runs alone
// would not see a run sent twice.
::testing::AssertionResult ran_once(const LedgerJob& job);

// Every job the emulator holds, by id (adds a test failure if the ledger cannot be read).
std::map<std::string, LedgerJob> read_ledger(Emulator& emulator);

// One counter of the ledger summary (cheap to poll: no per-job list), e.g. "tokenExchanges"
// or "totals.jobs"; -1 when the emulator did not answer.
int64_t ledger_count(Emulator& emulator, const std::string& name);

// Waits (up to 10 s) until the emulator has closed at least `n` keep-alive connections that
// stayed idle past its --idle-timeout-s; false on timeout, or when the ledger cannot be read.
bool wait_for_idle_closes(Emulator& emulator, int64_t n);

// Every outcome record of every outcome file in done/ and failed/.
std::vector<std::string> all_outcomes(const DaemonUnderTest& d);

}  // namespace submitd::testing
