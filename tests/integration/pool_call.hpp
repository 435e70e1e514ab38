// Role: one HttpsPool call run to completion on an io_context, for the pool's integration
// tests (direct and through a proxy): a list call without a token, which the emulator
// answers with 401, i.e. an answer, so what is tested is the transport, not the API.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

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
  io.run();
  return done.get();
}

}  // namespace submitd::testing
