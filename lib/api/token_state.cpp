// Role: the shared-token decisions (see token_state.hpp).
#include "api/token_state.hpp"

#include <algorithm>

namespace submitd::api {

TokenState::Action TokenState::decide(MonoTime now) const {
  bool usable = !token_.empty() && now < hard_deadline_;
  if (!usable) {
    if (refreshing_) return Action::wait;
    if (refused_until_ && now < *refused_until_) return Action::refused;
    return Action::refresh;
  }
  if (now >= soft_deadline_ && !refreshing_) return Action::use_and_refresh;
  return Action::use;
}

void TokenState::refresh_succeeded(std::string token, std::chrono::seconds lifetime, MonoTime now) {
  using std::chrono::milliseconds;
  // For short lifetimes keep the margins to a fraction of the life (hard 1/10, soft 1/4).
  // A server promising more than a day is trusted for a day: beyond that the arithmetic on
  // the deadlines could overflow, and refreshing daily costs nothing.
  milliseconds life = std::min<milliseconds>(lifetime, std::chrono::hours(24));
  milliseconds hard = std::min<milliseconds>(timing_.hard_margin, life / 10);
  milliseconds soft = std::max(hard, std::min<milliseconds>(timing_.soft_margin, life / 4));
  token_ = std::move(token);
  hard_deadline_ = now + life - hard;
  soft_deadline_ = now + life - soft;
  refreshing_ = false;
  refused_until_.reset();
}

void TokenState::key_refused(MonoTime now) {
  refreshing_ = false;
  refused_until_ = now + timing_.key_refused_hold;
}

bool TokenState::rejected(std::string_view token) {
  if (token_.empty() || token != token_) return false;
  token_.clear();
  return true;
}

}  // namespace submitd::api
