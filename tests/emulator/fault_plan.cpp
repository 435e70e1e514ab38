// FaultPlan implementation. A probability of 0 consumes no random draw, so turning one knob
// on does not change the sequence another knob sees under the same --seed.
#include "fault_plan.hpp"

namespace emulator {

FaultPlan::FaultPlan(FaultKnobs knobs, std::optional<std::uint64_t> seed)
    : knobs_(knobs), random_(seed) {}

bool FaultPlan::draw(double probability) {
  if (probability <= 0.0) return false;
  if (probability >= 1.0) return true;
  return random_.uniform01() < probability;
}

bool FaultPlan::take_scripted(std::string_view method, std::string_view path, FaultDecision& d) {
  for (auto it = scripted_.begin(); it != scripted_.end(); ++it) {
    if (!it->method.empty() && it->method != method) continue;
    if (!it->path_contains.empty() && path.find(it->path_contains) == std::string_view::npos)
      continue;
    switch (it->kind) {
      case ScriptedFault::Kind::status:
        d.before = FaultDecision::Before::status;
        d.status = it->status;
        d.retry_after_s = it->retry_after_s;
        if (!d.retry_after_s && it->status == 429) d.retry_after_s = knobs_.retry_after_s;
        break;
      case ScriptedFault::Kind::reset_before:
        d.before = FaultDecision::Before::reset;
        break;
      case ScriptedFault::Kind::reset_after:
        d.reset_after = true;
        break;
      case ScriptedFault::Kind::reset_mid_body:
        d.reset_mid_body = true;
        break;
    }
    if (--it->count <= 0) scripted_.erase(it);
    return true;
  }
  return false;
}

FaultDecision FaultPlan::decide_storage(std::string_view method, std::string_view path) {
  FaultDecision d;
  std::lock_guard lock(mutex_);
  if (take_scripted(method, path, d)) return d;
  if (draw(knobs_.storage_reset_before)) {
    d.before = FaultDecision::Before::reset;
  } else if (draw(knobs_.storage_fail_503)) {
    d.before = FaultDecision::Before::status;
    d.status = 503;
  } else if (draw(knobs_.storage_reset_mid_body)) {
    d.reset_mid_body = true;
  }
  if (draw(knobs_.storage_slow_body)) d.slow_body = std::chrono::milliseconds{knobs_.storage_slow_body_ms};
  return d;
}

FaultDecision FaultPlan::decide(std::string_view method, std::string_view path) {
  FaultDecision d;
  std::lock_guard lock(mutex_);
  d.latency = std::chrono::milliseconds{knobs_.latency_ms};
  if (take_scripted(method, path, d)) return d;

  d.interim_103 = draw(knobs_.interim_103);
  if (draw(knobs_.reset_before)) {
    d.before = FaultDecision::Before::reset;
  } else if (draw(knobs_.fail_503)) {
    d.before = FaultDecision::Before::status;
    d.status = 503;
  } else if (draw(knobs_.fail_429)) {
    d.before = FaultDecision::Before::status;
    d.status = 429;
    d.retry_after_s = knobs_.retry_after_s;
  } else if (draw(knobs_.reset_after)) {
    d.reset_after = true;
  }
  return d;
}

FaultKnobs FaultPlan::knobs() const {
  std::lock_guard lock(mutex_);
  return knobs_;
}

void FaultPlan::set_knobs(const FaultKnobs& knobs) {
  std::lock_guard lock(mutex_);
  knobs_ = knobs;
}

void FaultPlan::add_scripted(ScriptedFault fault) {
  std::lock_guard lock(mutex_);
  scripted_.push_back(std::move(fault));
}

void FaultPlan::clear_scripted() {
  std::lock_guard lock(mutex_);
  scripted_.clear();
}

std::size_t FaultPlan::scripted_pending() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& f : scripted_) n += static_cast<std::size_t>(f.count);
  return n;
}

}  // namespace emulator
