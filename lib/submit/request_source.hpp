// Role: the seam between where requests come from and the machinery that submits them. A
// RequestSource (the spool directory, the control socket; a message stream next) finds or
// receives work, claims it under a claim id and hands it to the Intake. Every request of a
// claimed input has a stable identity, "<claim id>:<line>" (spool/request_identity.hpp), so
// its jobId survives a crash; a source needs to know nothing else of what happens next.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>

#include "spool/claim.hpp"
#include "util/clock.hpp"

namespace submitd::submit {

class Intake {
 public:
  virtual ~Intake() = default;
  // Inputs that may be started now; a source keeps the rest where they are.
  virtual std::size_t room() const = 0;
  // Starts working a claimed input (its claim is durable: requests may be journaled now).
  virtual void start(spool::ClaimedFile input) = 0;
  // Inputs being worked now, and when the longest-waiting of them was dropped: with what a
  // source still holds, the backlog a person sees.
  virtual std::size_t working() const = 0;
  virtual std::optional<WallTime> oldest_drop() const = 0;
};

class RequestSource {
 public:
  virtual ~RequestSource() = default;
  // Finds and hands over work until stop() (a source that only receives returns at once).
  virtual boost::asio::awaitable<void> run() = 0;
  virtual void stop() = 0;
};

}  // namespace submitd::submit
