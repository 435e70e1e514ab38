// Role: a fake Transport for unit tests of the token cache and the API client. It records
// every call, answers from a script the test sets, and can park calls until the test lets
// them go, so races (many callers during one exchange, a late 401) are staged step by step
// on an io_context that is only polled: no sockets, no sleeping.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>
#include <list>
#include <vector>

#include "api/transport.hpp"

namespace submitd::testing {

class ScriptedTransport final : public api::Transport {
 public:
  explicit ScriptedTransport(boost::asio::io_context& io) : io_(io) {}

  std::function<api::HttpResult(const api::HttpCall&)> answer;
  bool park = false;  // when set, calls wait for release_parked()
  std::vector<api::HttpCall> calls;

  boost::asio::awaitable<api::HttpResult> send(const api::HttpCall& call) override {
    calls.push_back(call);
    if (park) {
      boost::asio::steady_timer gate(io_, std::chrono::steady_clock::time_point::max());
      auto it = parked_.insert(parked_.end(), &gate);
      co_await gate.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      parked_.erase(it);
    }
    co_return answer(call);
  }

  std::size_t parked() const { return parked_.size(); }
  void release_parked() {
    for (auto* g : parked_) g->cancel();
  }
  std::size_t count(api::Endpoint e) const {
    std::size_t n = 0;
    for (const auto& c : calls) n += c.endpoint == e;
    return n;
  }

 private:
  boost::asio::io_context& io_;
  std::list<boost::asio::steady_timer*> parked_;
};

// Runs everything that is ready, without waiting for time to pass.
inline void settle(boost::asio::io_context& io) {
  io.restart();
  while (io.poll() > 0) {
  }
}

inline api::HttpResult http(int status, std::string body = "{}") {
  api::HttpResult r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

inline api::HttpResult grant(const std::string& token, int seconds) {
  return http(200, R"({"token":")" + token + R"(","expiresIn":")" + std::to_string(seconds) + R"("})");
}

}  // namespace submitd::testing
