// Role: the API's health as the last call found it, for systemd's STATUS= line and the
// control socket's /v1/status. The API counts as answering when it sent any HTTP status below
// 500: a refused request still proves it is up. Otherwise the trouble is named by what the
// last call got ("HTTP 503") or which transport failure stopped it ("timeout").
#pragma once

#include <string>

#include "api/http_call.hpp"

namespace submitd::api {

class ApiHealth {
 public:
  // Every finished call, token exchanges included (the pool's observer).
  void observe(const HttpResult& result);
  bool answering() const { return answering_; }
  // Why the API is not answering; empty while it answers.
  std::string trouble() const;

 private:
  bool answering_ = false;
  std::string trouble_ = "no call yet";  // before the first call the API is not known to answer
};

}  // namespace submitd::api
