// Test hooks under /_emulator/: the ledger, run-time knobs, scripted faults and reset.
// They need no token, are never faulted or delayed, and answer loopback peers only, because
// they can rewrite the emulator's behaviour.
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>

#include "api_errors.hpp"
#include "emulator.hpp"
#include "request_validation.hpp"

namespace emulator {

namespace json = boost::json;

namespace {

ApiResponse hook_error(int status, std::string_view message) {
  json::object o;
  o["error"] = message;
  return {status, json::serialize(o)};
}

std::optional<double> as_probability(const json::value& v) {
  double d = 0;
  if (v.is_double())
    d = v.get_double();
  else if (v.is_int64())
    d = static_cast<double>(v.get_int64());
  else if (v.is_uint64())
    d = static_cast<double>(v.get_uint64());
  else
    return std::nullopt;
  if (!std::isfinite(d) || d < 0.0 || d > 1.0) return std::nullopt;
  return d;
}

}  // namespace

ApiResponse Emulator::route_hook(const ApiRequest& request, std::string_view path) {
  if (!request.from_loopback) return hook_error(403, "test hooks answer loopback clients only");
  const std::string_view m = request.method;
  if (path == "/_emulator/ledger" && m == "GET") return ledger_report(true);
  if (path == "/_emulator/ledger/summary" && m == "GET") return ledger_report(false);
  if (path == "/_emulator/config" && m == "GET") return config_report();
  if (path == "/_emulator/config" && m == "POST") return configure(request.body);
  if (path == "/_emulator/reset" && m == "POST") return reset();
  if (path == "/_emulator/fail-next" && m == "POST") return script_fault(request.body);
  // DELETE, or POST .../clear for clients that only POST.
  if ((path == "/_emulator/fail-next" && m == "DELETE") || (path == "/_emulator/fail-next/clear" && m == "POST")) {
    faults_.clear_scripted();
    return script_fault("");
  }
  if (path == "/_emulator/health" && m == "GET") return {200, R"({"ok":true})"};
  return hook_error(404, "unknown test hook");
}

ApiResponse Emulator::ledger_report(bool with_jobs) {
  json::object out = ledger_.summary_json(jobs_.ledger_size());
  if (with_jobs) {
    const auto entries = jobs_.ledger_entries(clock_.now());
    json::array jobs;
    jobs.reserve(entries.size());
    for (const LedgerEntry& e : entries) {
      json::object j = job_counters_json(e.counters);
      j["id"] = e.id;
      j["templateId"] = e.template_id;
      j["name"] = e.name;
      j["state"] = job_state_name(e.state);
      j["deleted"] = e.deleted;
      j["dataSourceSet"] = e.data_source_set;
      j["paramsSet"] = e.params_set;
      j["testJob"] = e.test_job;
      if (e.upload_bytes) {
        j["uploadBytes"] = *e.upload_bytes;
        j["uploadSha256"] = e.upload_sha256;
      }
      jobs.push_back(std::move(j));
    }
    out["jobs"] = std::move(jobs);
  }
  return {200, json::serialize(out)};
}

ApiResponse Emulator::config_report() {
  const FaultKnobs k = faults_.knobs();
  json::object o;
  o["fail503"] = k.fail_503;
  o["fail429"] = k.fail_429;
  o["resetBefore"] = k.reset_before;
  o["resetAfter"] = k.reset_after;
  o["retryAfterS"] = k.retry_after_s;
  o["latencyMs"] = k.latency_ms;
  o["interim103"] = k.interim_103;
  o["storageFail503"] = k.storage_fail_503;
  o["storageResetBefore"] = k.storage_reset_before;
  o["storageResetMidBody"] = k.storage_reset_mid_body;
  o["storageSlowBody"] = k.storage_slow_body;
  o["storageSlowBodyMs"] = k.storage_slow_body_ms;
  o["tokenLifetimeS"] = tokens_.lifetime().count();
  o["jobDurationMs"] = job_duration_ms_.load();
  o["resultBytes"] = result_bytes_.load();
  o["scriptedFaultsPending"] = faults_.scripted_pending();
  report_account_limit(limits_.knobs(), o);
  return {200, json::serialize(o)};
}

ApiResponse Emulator::configure(std::string_view body_text) {
  Body body = parse_object(body_text, false);
  if (body.error) return hook_error(400, "the body must be a JSON object");
  // Validate everything first, then apply, so a typo changes nothing.
  FaultKnobs k = faults_.knobs();
  AccountLimitKnobs limit = limits_.knobs();
  std::optional<std::int64_t> lifetime, duration;
  std::optional<std::vector<std::string>> api_keys;
  for (const auto& kv : *body.object) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key == "apiKeys") {
      // Key rotation: the keys accepted from now on (never echoed back: they are secrets).
      if (!v.is_array() || v.get_array().empty()) return hook_error(400, "apiKeys must be a non-empty array of strings");
      api_keys.emplace();
      for (const auto& item : v.get_array()) {
        if (!item.is_string() || item.get_string().empty()) return hook_error(400, "apiKeys must be a non-empty array of strings");
        api_keys->emplace_back(item.get_string());
      }
      continue;
    }
    if (auto problem = set_account_limit_key(key, v, limit)) {
      if (!problem->empty()) return hook_error(400, *problem);
      continue;
    }
    double* probability = key == "fail503"       ? &k.fail_503
                          : key == "fail429"     ? &k.fail_429
                          : key == "resetBefore" ? &k.reset_before
                          : key == "resetAfter"  ? &k.reset_after
                          : key == "interim103"  ? &k.interim_103
                          : key == "storageFail503"  ? &k.storage_fail_503
                          : key == "storageResetBefore"  ? &k.storage_reset_before
                          : key == "storageResetMidBody"  ? &k.storage_reset_mid_body
                          : key == "storageSlowBody"  ? &k.storage_slow_body
                                                 : nullptr;
    if (probability) {
      auto p = as_probability(v);
      if (!p) return hook_error(400, std::string(key) + " must be a number in [0, 1]");
      *probability = *p;
      continue;
    }
    auto n = as_int64(v);
    if (key == "storageSlowBodyMs") {
      if (!n || *n < 0 || *n > 60'000) return hook_error(400, "storageSlowBodyMs must be an integer in [0, 60000]");
      k.storage_slow_body_ms = static_cast<int>(*n);
    } else if (key == "latencyMs" || key == "retryAfterS") {
      if (!n || *n < 0 || *n > 3'600'000)
        return hook_error(400, std::string(key) + " must be a non-negative integer");
      (key == "latencyMs" ? k.latency_ms : k.retry_after_s) = static_cast<int>(*n);
    } else if (key == "tokenLifetimeS") {
      if (!n || *n < 1) return hook_error(400, "tokenLifetimeS must be an integer >= 1");
      lifetime = n;
    } else if (key == "resultBytes") {
      if (!n || *n < 0 || *n > (std::int64_t{1} << 40)) return hook_error(400, "resultBytes must be an integer in [0, 2^40]");
      result_bytes_.store(*n);
    } else if (key == "jobDurationMs") {
      if (!n || *n < 0) return hook_error(400, "jobDurationMs must be an integer >= 0");
      duration = n;
    } else {
      return hook_error(400, "unknown config key \"" + std::string(key) +
                                 "\" (known: fail503, fail429, resetBefore, resetAfter, "
                                 "retryAfterS, latencyMs, interim103, storageFail503, storageResetBefore, "
                                 "storageResetMidBody, storageSlowBody, storageSlowBodyMs, resultBytes, tokenLifetimeS, jobDurationMs, apiKeys, "
                                 "rateLimitPerSecond, rateLimitBurst, runLimitPerSecond, rateLimitRetryAfter, knee, "
                                 "kneeMaxDelayMs)");
    }
  }
  faults_.set_knobs(k);
  limits_.set_knobs(limit);
  if (lifetime) tokens_.set_lifetime(std::chrono::seconds{*lifetime});
  if (api_keys) tokens_.set_api_keys(std::move(*api_keys));
  if (duration) job_duration_ms_.store(*duration);
  return config_report();
}

ApiResponse Emulator::script_fault(std::string_view body_text) {
  if (!body_text.empty()) {
    Body body = parse_object(body_text, false);
    if (body.error) return hook_error(400, "the body must be a JSON object");
    const json::object& o = *body.object;
    ScriptedFault f;
    if (const auto* action = o.if_contains("action")) {
      if (!action->is_string()) return hook_error(400, "action must be a string");
      const auto& a = action->get_string();
      if (a == "reset-before")
        f.kind = ScriptedFault::Kind::reset_before;
      else if (a == "reset-after")
        f.kind = ScriptedFault::Kind::reset_after;
      else if (a == "status")
        f.kind = ScriptedFault::Kind::status;
      else if (a == "reset-mid-body")
        f.kind = ScriptedFault::Kind::reset_mid_body;
      else
        return hook_error(400, "action must be status, reset-before, reset-after or reset-mid-body");
    }
    if (const auto* s = o.if_contains("status")) {
      auto n = as_int64(*s);
      if (!n || *n < 400 || *n > 599)
        return hook_error(400, "status must be an HTTP error status (400-599)");
      f.status = static_cast<int>(*n);
    }
    if (const auto* c = o.if_contains("count")) {
      auto n = as_int64(*c);
      if (!n || *n < 1 || *n > 1'000'000) return hook_error(400, "count must be >= 1");
      f.count = static_cast<int>(*n);
    }
    if (const auto* r = o.if_contains("retryAfterS")) {
      auto n = as_int64(*r);
      if (!n || *n < 0) return hook_error(400, "retryAfterS must be >= 0");
      f.retry_after_s = static_cast<int>(*n);
    }
    for (auto [key, field] :
         {std::pair{"method", &f.method}, std::pair{"path", &f.path_contains}}) {
      if (const auto* v = o.if_contains(key)) {
        if (!v->is_string()) return hook_error(400, std::string(key) + " must be a string");
        *field = std::string(v->get_string());
      }
    }
    faults_.add_scripted(std::move(f));
  }
  json::object out;
  out["pending"] = faults_.scripted_pending();
  return {200, json::serialize(out)};
}

ApiResponse Emulator::reset() {
  jobs_.clear();
  ledger_.reset();
  limits_.reset();  // full buckets again, so the next test does not inherit a throttled account
  faults_.clear_scripted();
  return {200, R"({"ok":true})"};
}

}  // namespace emulator
