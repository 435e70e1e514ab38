// AccountLimits: the per-account rate limit of a cloud API, as plain logic on an injected
// clock. Each API key is an account; every connection and every token issued for that key
// draws from its token bucket (calls per second with a burst), and runs also from a separate
// bucket when one is set. Beyond the limit a call is refused (429, with or without a
// Retry-After, since real APIs do both). Past a knee (a share of the limit), answers slow down
// the closer the account's recent rate is to its limit: real servers queue before they refuse.
// Thread-safe: the HTTPS layer calls admit() from any of its threads.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "clock.hpp"

namespace emulator {

struct AccountLimitKnobs {
  double calls_per_second = 0;  // 0: no limit
  double burst = 0;             // calls at once after a quiet time; 0: a tenth of a second's
                                // worth (at least 1); else at least 1 (a smaller bucket never
                                // holds a whole token, so it would refuse everything)
  double runs_per_second = 0;   // a separate limit for runs; 0: none
  bool retry_after = true;      // a refusal carries Retry-After
  double knee = 0.8;            // share of the limit past which answers slow down
  std::int64_t knee_max_delay_ms = 0;  // the slowdown at the limit; 0: none
};

struct AccountDecision {
  bool refused = false;
  std::optional<int> retry_after_s;  // with a refusal, when the knob is on
  std::chrono::milliseconds delay{0};  // the knee's slowdown of an admitted call
};

class AccountLimits {
 public:
  explicit AccountLimits(AccountLimitKnobs knobs) : knobs_(knobs) {}

  // One authenticated API call of `account` (a run or not) at `now`. A call is admitted only
  // when every bucket it draws from has a token; a refused call takes none (it did no work).
  AccountDecision admit(std::size_t account, bool is_run, TimePoint now);

  AccountLimitKnobs knobs() const;
  // New knobs apply at once; buckets keep their tokens, capped at the new burst.
  void set_knobs(AccountLimitKnobs knobs);
  // Forgets every account's buckets and recent rate (/_emulator/reset: a fresh emulator).
  void reset();

 private:
  struct Bucket {
    double tokens = -1;  // -1: not started (full at the first call)
    TimePoint last{};
  };
  struct Account {
    Bucket calls, runs;
    TimePoint window_start{};
    double this_window = 0, last_window = 0;  // admitted calls, for the recent rate
  };
  // Refills `b` (rate/s, capped at burst) up to `now`; returns the seconds until it holds a
  // whole token (0: it has one now).
  static double refill(Bucket& b, double rate, double burst, TimePoint now);
  double recent_rate(Account& a, TimePoint now) const;
  std::chrono::milliseconds knee_delay(double recent) const;

  mutable std::mutex mutex_;
  AccountLimitKnobs knobs_;
  std::map<std::size_t, Account> accounts_;
};

// The /_emulator/config keys of the account limit: rateLimitPerSecond, rateLimitBurst,
// runLimitPerSecond, rateLimitRetryAfter, knee, kneeMaxDelayMs (camelCase like the other
// keys; the snake_case names rate_limit_per_second, ... are accepted too). Returns nullopt when
// `key` is not one of them, else an error message (empty when the value was taken into `knobs`).
std::optional<std::string> set_account_limit_key(std::string_view key, const boost::json::value& v,
                                                 AccountLimitKnobs& knobs);
void report_account_limit(const AccountLimitKnobs& knobs, boost::json::object& out);

}  // namespace emulator
