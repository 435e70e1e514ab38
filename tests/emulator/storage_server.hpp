// The storage endpoint's HTTPS sessions (storage_server.cpp): for https_server.cpp alone,
// which accepts their connections on a port of their own.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>

#include "emulator.hpp"

namespace emulator {

// Serves one accepted connection (already on its strand) until it closes.
void start_storage_session(boost::asio::ip::tcp::socket&& socket, boost::asio::ssl::context& tls, Emulator& emulator,
                           std::chrono::seconds idle_timeout);

}  // namespace emulator
