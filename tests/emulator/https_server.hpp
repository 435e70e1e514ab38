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
  std::uint16_t storage_port = 0;  // the storage endpoint (tempUrl uploads); 0: any free port
  int threads = 2;
  std::string cert_chain_pem;
  std::string key_pem;
  std::chrono::seconds idle_timeout{60};  // an idle keep-alive connection is closed after this
};

// Listens (the API, and the storage endpoint on a port of its own, with the same
// certificate), calls on_listening(port, storage_port) once both accept connections, then
// serves until SIGTERM or SIGINT arrives and returns. Throws std::runtime_error if it cannot
// listen or the certificate/key are unusable.
void serve_https(const ServerSettings& settings, Emulator& emulator,
                 const std::function<void(std::uint16_t port, std::uint16_t storage_port)>& on_listening);

}  // namespace emulator
