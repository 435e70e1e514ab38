// Role: one HttpsPool call run to completion on an io_context, for the pool's integration
// tests (direct and through a proxy): a list call without a token, which the emulator
// answers with 401, i.e. an answer, so what is tested is the transport, not the API. And
// running the pool's io_context until a condition holds, to see what the pool does between
// calls (it notices an idle connection closing only while its io_context runs).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "api/https_pool.hpp"

namespace submitd::testing {

inline api::HttpResult run_pool_call(boost::asio::io_context& io, api::HttpsPool& pool, api::Method method,
                                     bool replay_safe) {
  api::HttpCall c;
  c.endpoint = api::Endpoint::list;
  c.method = method;
  c.target = "/v1/customer/jobs";
  c.body = method == api::Method::get ? "" : "{}";
  c.replay_safe = replay_safe;
  io.restart();
  // `c` outlives the call: send() reads it until the future is ready.
  auto done = boost::asio::co_spawn(io, pool.send(c), boost::asio::use_future);
  // Until the call is over, not until the io_context runs dry: the pool keeps a wait on every
  // idle connection, so with a connection open it never does.
  while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.run_one() == 0) {
      ADD_FAILURE() << "the io_context ran out of work before the call ended";
      return {};
    }
  }
  return done.get();
}

// Runs `io` until `done()` holds (true) or `timeout` passes (false).
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  io.restart();
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.run_one_for(std::chrono::milliseconds(20)) == 0 && io.stopped()) {
      // Nothing left to run here: what `done` waits for can only come from elsewhere.
      io.restart();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return true;
}

}  // namespace submitd::testing
