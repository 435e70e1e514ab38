// HttpsServer facade: serves an Emulator over HTTPS/1.1 with keep-alive. The only place that
// uses Asio, Beast and Asio's SSL, kept behind this Asio-free header so one translation unit
// pays their compile cost.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "emulator.hpp"

namespace emulator {

struct ServerSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  int threads = 2;
  std::string cert_chain_pem;
  std::string key_pem;
  std::chrono::seconds idle_timeout{60};  // an idle keep-alive connection is closed after this
};

// Listens, calls on_listening(port) once the socket accepts connections, then serves until
// SIGTERM or SIGINT arrives and returns. Throws std::runtime_error if it cannot listen or the
// certificate/key are unusable.
void serve_https(const ServerSettings& settings, Emulator& emulator,
                 const std::function<void(std::uint16_t port)>& on_listening);

}  // namespace emulator
