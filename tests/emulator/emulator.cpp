// Emulator: request routing, fault injection and authentication. The job endpoints are in
// customer_api.cpp and the test hooks in test_hooks.cpp.
#include "emulator.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>

#include "api_errors.hpp"
#include "request_validation.hpp"

namespace emulator {

namespace json = boost::json;

namespace {
std::string normalise_customer_path(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  while (!p.empty() && p.back() == '/') p.pop_back();
  return "/v1/" + p;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
// The token of an Authorization header. ByteNite's examples send the raw token; the "Bearer "
// form is tolerated too.
std::string_view bearer_token(std::string_view authorization) {
  std::string_view token = trim(authorization);
  if (iequals_prefix(token, "bearer ")) token = trim(token.substr(7));
  return token;
}

}  // namespace

Emulator::Emulator(EmulatorSettings settings, const Clock& clock)
    : clock_(clock),
      customer_prefix_(normalise_customer_path(settings.customer_path)),
      job_duration_ms_(settings.job_duration.count()),
      result_bytes_(settings.result_bytes),
      tokens_(std::move(settings.api_keys), settings.token_lifetime),
      faults_(settings.faults, settings.seed),
      limits_(settings.account_limit) {}

ApiResponse Emulator::handle(const ApiRequest& request) {
  std::string_view path = request.target;
  std::string_view query;
  if (auto q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }

  if (path.starts_with("/_emulator/")) return route_hook(request, path);
  if (!path.starts_with("/v1/")) return rpc_status(404, grpc_code::not_found, "Not Found");

  ledger_.add(Ledger::Count::requests);
  const FaultDecision fault = faults_.decide(request.method, path);
  ApiResponse r;
  switch (fault.before) {
    case FaultDecision::Before::reset:
      ledger_.add(Ledger::Count::resets_before);
      r.disposition = Disposition::reset_before;
      return r;
    case FaultDecision::Before::status:
      ledger_.add(fault.status == 503   ? Ledger::Count::injected_503
                  : fault.status == 429 ? Ledger::Count::injected_429
                                        : Ledger::Count::injected_other);
      r = generic(fault.status, "injected fault",
                  "bytenite-emulator answered this request with an injected error; "
                  "nothing was done, retry later");
      r.retry_after_s = fault.retry_after_s;
      break;
    case FaultDecision::Before::none:
      r = route_api(request, path, query);
      if (fault.reset_after) {
        ledger_.add(Ledger::Count::resets_after);
        r.disposition = Disposition::reset_after_work;
      }
      break;
  }
  r.delay += fault.latency;  // on top of the account limit's knee, if any
  // A 103 goes out only ahead of an answer that is sent (a reset sends nothing).
  r.interim_103 = fault.interim_103 && r.disposition == Disposition::respond;
  if (r.interim_103) ledger_.add(Ledger::Count::interim_103);
  return r;
}

ApiResponse Emulator::route_api(const ApiRequest& request, std::string_view path,
                                std::string_view query) {
  if (path == "/v1/auth/access_token") {
    if (request.method != "POST")
      return rpc_status(405, grpc_code::unimplemented, "Method Not Allowed");
    return exchange_token(request);
  }
  const std::string_view prefix = customer_prefix_;
  if (path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/')) {
    // Authentication comes before routing, as in a gateway with an auth middleware.
    if (auto denied = check_token(request.authorization)) return std::move(*denied);
    std::chrono::milliseconds knee{0};
    if (auto refused = check_account_limit(request, path, knee)) return std::move(*refused);
    ApiResponse r = route_customer(request, path.substr(prefix.size()), query);
    r.delay = knee;
    return r;
  }
  return rpc_status(404, grpc_code::not_found, "Not Found");
}

ApiResponse Emulator::exchange_token(const ApiRequest& request) {
  json::error_code ec;
  json::value v = json::parse(request.body, ec);
  if (ec || !v.is_object()) {
    ledger_.add(Ledger::Count::token_rejections);
    return generic(400, "malformed request body",
                   "the body must be a JSON object like {\"apiKey\":\"...\"}");
  }
  const auto* key = v.get_object().if_contains("apiKey");
  if (!key || !key->is_string() || key->get_string().empty()) {
    ledger_.add(Ledger::Count::token_rejections);
    return generic(401, "missing API key", "the body must carry a non-empty \"apiKey\"");
  }
  const auto& k = key->get_string();
  auto issued = tokens_.exchange(std::string_view(k.data(), k.size()), clock_.now());
  if (!issued) {
    ledger_.add(Ledger::Count::token_rejections);
    // The key itself is never echoed: error messages end up in logs.
    return generic(401, "invalid API key", "the API key is unknown, expired or revoked");
  }
  ledger_.add(Ledger::Count::token_exchanges);
  json::object o;
  o["token"] = issued->token;
  o["expiresIn"] = std::to_string(issued->lifetime.count());  // int64 as a string
  o["scope"] = "customer";
  return {200, json::serialize(o)};
}

std::optional<ApiResponse> Emulator::check_account_limit(const ApiRequest& request, std::string_view path,
                                                         std::chrono::milliseconds& delay) {
  const std::string_view token = bearer_token(request.authorization);
  const bool is_run = request.method == "POST" && path.ends_with("/run");
  AccountDecision d = limits_.admit(tokens_.account_of(token).value_or(0), is_run, clock_.now());
  if (!d.refused) {
    delay = d.delay;
    return std::nullopt;
  }
  ledger_.add(Ledger::Count::account_429);
  ApiResponse r = generic(429, "rate limit exceeded",
                          "too many requests for this account; slow down and retry later");
  r.retry_after_s = d.retry_after_s;
  return r;
}

std::optional<ApiResponse> Emulator::check_token(std::string_view authorization) {
  const std::string_view token = bearer_token(authorization);
  switch (tokens_.check(token, clock_.now())) {
    case TokenCheck::valid:
      return std::nullopt;
    case TokenCheck::missing:
      ledger_.add(Ledger::Count::unauthorized);
      return generic(401, "missing access token",
                     "send the token from POST /v1/auth/access_token in the Authorization "
                     "header");
    case TokenCheck::unknown:
      ledger_.add(Ledger::Count::unauthorized);
      return generic(401, "invalid access token",
                     "the token is not one this server issued; exchange the API key again");
    case TokenCheck::expired:
      ledger_.add(Ledger::Count::unauthorized);
      return generic(401, "access token expired",
                     "exchange the API key again at POST /v1/auth/access_token");
  }
  return std::nullopt;
}

ApiResponse Emulator::route_customer(const ApiRequest& request, std::string_view rest,
                                     std::string_view query) {
  // rest: "/jobs", "/jobs/{id}" or "/jobs/{id}/{action}"
  std::string_view segs[4];
  std::size_t n = 0;
  while (!rest.empty() && n < 4) {
    if (rest.front() != '/') break;
    rest.remove_prefix(1);
    const auto slash = rest.find('/');
    segs[n++] = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  }
  const std::string_view m = request.method;
  auto not_allowed = [] { return rpc_status(405, grpc_code::unimplemented, "Method Not Allowed"); };
  if (!rest.empty() || n == 0 || segs[0] != "jobs")
    return rpc_status(404, grpc_code::not_found, "Not Found");

  if (n == 1) {
    if (m == "POST") return create_job(request.body);
    if (m == "GET") return list_jobs(query);
    return not_allowed();
  }
  if (segs[1].empty()) return rpc_status(404, grpc_code::not_found, "Not Found");
  // Job ids are compared case-insensitively (stored lower-case), as UUIDs are.
  const std::string id = to_lower(segs[1]);
  if (n == 2) {
    if (m == "GET") return get_job(id);
    if (m == "DELETE") return delete_job(id);
    return not_allowed();
  }
  if (n != 3) return rpc_status(404, grpc_code::not_found, "Not Found");
  const std::string_view action = segs[2];
  if (action == "datasource")
    return m == "PATCH" ? patch_data_source(id, request.body) : not_allowed();
  if (action == "params") return m == "PATCH" ? patch_params(id, request.body) : not_allowed();
  if (action == "run") return m == "POST" ? run_job(id, request.body) : not_allowed();
  if (action == "abort") return m == "POST" ? abort_job(id) : not_allowed();
  if (action == "results") return m == "GET" ? job_results(id) : not_allowed();
  if (action == "uploadcompleted") return m == "PATCH" ? upload_completed(id) : not_allowed();
  return rpc_status(404, grpc_code::not_found, "Not Found");
}

Emulator::Body Emulator::parse_object(std::string_view body, bool allow_empty) const {
  Body out;
  if (allow_empty && trim(body).empty()) {
    out.object.emplace();
    return out;
  }
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    out.error =
        rpc_status(400, grpc_code::invalid_argument, "malformed JSON body: " + ec.message());
    return out;
  }
  if (!v.is_object()) {
    out.error =
        rpc_status(400, grpc_code::invalid_argument, "the request body must be a JSON object");
    return out;
  }
  out.object.emplace(std::move(v.get_object()));
  return out;
}

ApiResponse Emulator::generic(int status, std::string_view message, std::string_view description) {
  return generic_error(status, ids_.hex(8), message, description);
}

}  // namespace emulator
