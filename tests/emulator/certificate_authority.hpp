// CertificateAuthority: makes a throwaway TLS chain in memory with the OpenSSL 3 API: a
// self-signed CA (CA:TRUE) and a server certificate it signs for DNS:<hostname> and
// IP:127.0.0.1. Clients trust the CA file (like curl --cacert), so tests exercise real peer
// and host-name verification: it succeeds with ca.pem and fails without it.
#pragma once

#include <string>

namespace emulator {

struct TlsMaterial {
  std::string ca_pem;          // give this to clients
  std::string cert_chain_pem;  // server certificate followed by the CA
  std::string key_pem;         // server private key (PKCS#8 PEM)
};

// Throws std::runtime_error with OpenSSL's reason when something fails.
TlsMaterial make_throwaway_chain(const std::string& hostname);

}  // namespace emulator
