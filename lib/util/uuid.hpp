// Role: UUIDs as the daemon uses them: a random v4 for the per-installation namespace, and
// name-based v5 (SHA-1) for jobIds, so a request's jobId is a pure function of its claim id
// and line and a retry or crash recovery always sends the same one.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace submitd {

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};

  // Canonical lower-case 8-4-4-4-12 form.
  std::string str() const;
  static std::optional<Uuid> parse(std::string_view text);
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

Uuid uuid_v4_random();
Uuid uuid_v5(const Uuid& name_space, std::string_view name);

}  // namespace submitd
