// Dropping a connection the way a failing server or network does, for both of the emulator's
// HTTPS layers (the API and the storage endpoint). Header-only; Beast is already theirs.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>

namespace emulator {

// SO_LINGER 0 makes close() send RST instead of FIN: the client sees ECONNRESET mid-exchange,
// with no TLS close_notify and no HTTP answer.
inline void reset_connection(boost::beast::tcp_stream& stream) {
  boost::beast::error_code ignored;
  stream.socket().set_option(boost::asio::socket_base::linger(true, 0), ignored);
  stream.close();
}

}  // namespace emulator
