// Command-line parsing: "--name value" and "--name=value" forms, every value range-checked.
#include "command_line.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <type_traits>

namespace emulator {

namespace {

template <class T>
bool parse_number(const std::string& s, T& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

bool parse_probability(const std::string& s, double& out) {
  // std::from_chars for double is in libstdc++ 11+, but stay portable to older libc++.
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(out) && out >= 0.0 &&
         out <= 1.0;
}

bool parse_listen(const std::string& s, std::string& host, std::uint16_t& port) {
  std::string h, p;
  if (!s.empty() && s.front() == '[') {  // [::1]:8443
    const auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    h = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    h = s.substr(0, colon);
    p = s.substr(colon + 1);
  }
  if (h.empty() || !parse_number(p, port)) return false;
  host = h;
  return true;
}

using Setter = std::function<bool(const std::string&)>;
// flag -> (setter, what the value should be)
using Options = std::map<std::string, std::pair<Setter, const char*>>;

// The account limit's flags (AccountLimitKnobs), kept together as one feature.
void add_account_limit_options(Options& options, AccountLimitKnobs& k) {
  auto add = [&options](const char* flag, Setter set, const char* expected) {
    options.emplace(flag, std::pair{std::move(set), expected});
  };
  // A value >= 0, and when not 0 at least `min`: a burst in (0, 1) would never hold a whole
  // token and so refuse every call.
  auto number = [](double& field, double min) {
    return Setter([&field, min](const std::string& v) {
      double n = 0;
      if (!parse_number(v, n) || n < 0 || (n > 0 && n < min) || n > 10'000'000) return false;
      field = n;
      return true;
    });
  };
  add("--rate-limit", number(k.calls_per_second, 0), "calls per second >= 0");
  add("--rate-limit-per-second", number(k.calls_per_second, 0), "calls per second >= 0");
  add("--rate-limit-burst", number(k.burst, 1), "0 (the default) or a number of calls >= 1");
  add("--run-limit", number(k.runs_per_second, 0), "runs per second >= 0");
  add("--run-limit-per-second", number(k.runs_per_second, 0), "runs per second >= 0");
  add(
      "--rate-limit-retry-after",
      [&k](const std::string& v) {
        if (v != "true" && v != "false") return false;
        k.retry_after = v == "true";
        return true;
      },
      "true or false");
  add(
      "--knee", [&k](const std::string& v) { return parse_probability(v, k.knee); },
      "a share in [0, 1]");
  add(
      "--knee-max-delay-ms",
      [&k](const std::string& v) {
        long long n = 0;
        if (!parse_number(v, n) || n < 0 || n > 3'600'000) return false;
        k.knee_max_delay_ms = n;
        return true;
      },
      "milliseconds from 0 to 3600000");
}

}  // namespace

std::string usage() {
  return R"(usage: bytenite-emulator [options]
A local stand-in for the ByteNite REST API over TLS (tests, demo, benchmarks).

  --listen HOST:PORT        address to listen on (default 127.0.0.1:0, 0 = any free port)
  --threads N               I/O threads (default 2)
  --cert-dir DIR            where the generated ca.pem is written (default: a new temp dir)
  --hostname NAME           DNS name in the generated server certificate (default localhost)
  --cert FILE --key FILE    serve this PEM certificate chain and key instead
  --api-key KEY             accepted API key (repeatable; default demo-key)
  --api-key-file FILE       accepted API keys, one per line
  --customer-path SEG       customer API path segment (default customer: /v1/customer)
  --job-duration-ms N       run-to-end time of a job (default 2000)
  --token-lifetime-s N      access token lifetime (default 3600)
  --result-bytes N          size of each result of a completed job (default 1024), served on
                            the storage endpoint with bytes that depend on the job and name
  --fail-503 P              probability of answering 503 (no work done)
  --fail-429 P              probability of answering 429 + Retry-After (no work done)
  --retry-after-s N         Retry-After value for 429 answers (default 1)
  --reset-before P          probability of dropping the connection before doing the work
  --reset-after P           probability of doing the work, then dropping the connection
  --latency-ms N            delay added to every API answer
  --interim-103 P           probability of a "103 Early Hints" interim answer first
  --storage-port N          port of the storage endpoint (tempUrl uploads; default 0: any free)
  --storage-fail-503 P      storage: probability of answering a PUT 503 before its body
  --storage-reset-before P  storage: probability of dropping a PUT before its body
  --storage-reset-mid-body P  storage: probability of dropping a PUT half way through its body
  --storage-slow-body P     storage: probability of reading a PUT's body slowly
  --storage-slow-body-ms N  storage: the pause per read of a slow body (default 5)
  --rate-limit N            account limit: API calls per second per API key (default 0: none);
                            beyond it 429 (token exchanges are not limited).
                            Also spelled --rate-limit-per-second
  --rate-limit-burst N      calls at once after a quiet time, 0 or >= 1
                            (default 0: a tenth of a second's worth, at least 1)
  --run-limit N             a separate limit for runs per second per API key (default 0: none).
                            Also spelled --run-limit-per-second
  --rate-limit-retry-after B  true (default): a 429 of the limit carries Retry-After; false: not
  --knee F                  share of the limit past which answers slow down (default 0.8)
  --knee-max-delay-ms N     the added delay at the limit (default 0: no slowdown)
  --idle-timeout-s N        close a keep-alive connection idle this long (default 60)
  --seed N                  seed for fault draws (replayable runs)
  --ready-file PATH         write {"port","caFile","pid"} here once listening
  --quiet                   no informational messages on stderr
  --help                    this text
)";
}

ParsedCommandLine parse_command_line(const std::vector<std::string>& args) {
  CommandLine o;
  auto fail = [](std::string message) { return ParsedCommandLine{std::nullopt, message}; };

  auto integer = [](auto& field, long long min, long long max) {
    return Setter([&field, min, max](const std::string& v) {
      long long n = 0;
      if (!parse_number(v, n) || n < min || n > max) return false;
      field = static_cast<std::remove_reference_t<decltype(field)>>(n);
      return true;
    });
  };
  auto text = [](std::string& field) {
    return Setter([&field](const std::string& v) {
      field = v;
      return !v.empty();
    });
  };
  auto probability = [](double& field) {
    return Setter([&field](const std::string& v) { return parse_probability(v, field); });
  };

  Options with_value{
      {"--listen",
       {[&o](const std::string& v) { return parse_listen(v, o.listen_host, o.listen_port); },
        "HOST:PORT, e.g. 127.0.0.1:0"}},
      {"--threads", {integer(o.threads, 1, 256), "an integer from 1 to 256"}},
      {"--cert-dir", {text(o.cert_dir), "a directory"}},
      {"--cert", {text(o.cert_file), "a PEM file"}},
      {"--key", {text(o.key_file), "a PEM file"}},
      {"--hostname", {text(o.hostname), "a host name"}},
      {"--api-key",
       {[&o](const std::string& v) {
          o.api_keys.push_back(v);
          return !v.empty();
        },
        "a non-empty key"}},
      {"--api-key-file", {text(o.api_key_file), "a file"}},
      {"--customer-path",
       {[&o](const std::string& v) {
          std::string p = v;
          while (!p.empty() && p.front() == '/') p.erase(p.begin());
          while (!p.empty() && p.back() == '/') p.pop_back();
          o.customer_path = p;
          return !p.empty() && p.find_first_of("?# ") == std::string::npos;
        },
        "a path segment such as customer or computing"}},
      {"--job-duration-ms", {integer(o.job_duration_ms, 0, 86'400'000), "milliseconds >= 0"}},
      {"--result-bytes", {integer(o.result_bytes, 0, 1LL << 40), "bytes in [0, 2^40]"}},
      {"--token-lifetime-s", {integer(o.token_lifetime_s, 1, 31'536'000), "seconds >= 1"}},
      {"--fail-503", {probability(o.faults.fail_503), "a probability in [0, 1]"}},
      {"--fail-429", {probability(o.faults.fail_429), "a probability in [0, 1]"}},
      {"--retry-after-s", {integer(o.faults.retry_after_s, 0, 86'400), "seconds >= 0"}},
      {"--reset-before", {probability(o.faults.reset_before), "a probability in [0, 1]"}},
      {"--reset-after", {probability(o.faults.reset_after), "a probability in [0, 1]"}},
      {"--latency-ms", {integer(o.faults.latency_ms, 0, 3'600'000), "milliseconds >= 0"}},
      {"--interim-103", {probability(o.faults.interim_103), "a probability in [0, 1]"}},
      {"--storage-port", {integer(o.storage_port, 0, 65535), "a port number (0: any free port)"}},
      {"--storage-fail-503", {probability(o.faults.storage_fail_503), "a probability in [0, 1]"}},
      {"--storage-reset-before", {probability(o.faults.storage_reset_before), "a probability in [0, 1]"}},
      {"--storage-reset-mid-body", {probability(o.faults.storage_reset_mid_body), "a probability in [0, 1]"}},
      {"--storage-slow-body", {probability(o.faults.storage_slow_body), "a probability in [0, 1]"}},
      {"--storage-slow-body-ms", {integer(o.faults.storage_slow_body_ms, 0, 60'000), "milliseconds in [0, 60000]"}},
      {"--idle-timeout-s", {integer(o.idle_timeout_s, 1, 86'400), "seconds >= 1"}},
      {"--seed",
       {[&o](const std::string& v) {
          std::uint64_t n = 0;
          if (!parse_number(v, n)) return false;
          o.seed = n;
          return true;
        },
        "an unsigned integer"}},
      {"--ready-file", {text(o.ready_file), "a file path"}},
  };
  add_account_limit_options(with_value, o.account_limit);

  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> value;
    if (auto eq = name.find('='); name.starts_with("--") && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (name == "--quiet" || name == "--help" || name == "-h") {
      if (value) return fail(name + " takes no value");
      (name == "--quiet" ? o.quiet : o.help) = true;
      continue;
    }
    auto it = with_value.find(name);
    if (it == with_value.end()) return fail("unknown option " + name + " (see --help)");
    if (!value) {
      if (i + 1 >= args.size()) return fail(name + " needs a value: " + it->second.second);
      value = args[++i];
    }
    if (!it->second.first(*value))
      return fail(name + " " + (name == "--api-key" ? std::string("<hidden>") : *value) +
                  ": expected " + it->second.second);
  }
  if (o.cert_file.empty() != o.key_file.empty())
    return fail("--cert and --key must be given together");
  return {std::move(o), {}};
}

}  // namespace emulator
