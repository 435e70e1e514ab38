// The throwaway chain verifies with its CA (peer and host name) and fails without it.
#include "certificate_authority.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace emulator {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using Cert = std::unique_ptr<X509, X509Free>;

Cert parse_first(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Cert c(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return c;
}

// Verifies `leaf` against `trusted` (may be null: no trust anchors) for `host`.
bool verifies(X509* leaf, X509* trusted, const char* host, const char* ip = nullptr) {
  X509_STORE* store = X509_STORE_new();
  if (trusted) X509_STORE_add_cert(store, trusted);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (host) X509_VERIFY_PARAM_set1_host(param, host, 0);
  if (ip) X509_VERIFY_PARAM_set1_ip_asc(param, ip);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

TEST(CertificateAuthority, ChainVerifiesWithItsCaOnly) {
  TlsMaterial tls = make_throwaway_chain("localhost");
  Cert ca = parse_first(tls.ca_pem);
  Cert leaf = parse_first(tls.cert_chain_pem);
  ASSERT_TRUE(ca);
  ASSERT_TRUE(leaf);
  EXPECT_NE(X509_check_ca(ca.get()), 0);
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);

  EXPECT_TRUE(verifies(leaf.get(), ca.get(), "localhost"));
  EXPECT_TRUE(verifies(leaf.get(), ca.get(), nullptr, "127.0.0.1"));
  EXPECT_FALSE(verifies(leaf.get(), ca.get(), "wrong.example"));
  EXPECT_FALSE(verifies(leaf.get(), nullptr, "localhost"));

  TlsMaterial other = make_throwaway_chain("localhost");
  Cert other_ca = parse_first(other.ca_pem);
  EXPECT_FALSE(verifies(leaf.get(), other_ca.get(), "localhost"));
  EXPECT_NE(tls.key_pem.find("PRIVATE KEY"), std::string::npos);
}

TEST(CertificateAuthority, HostnameOptionSetsTheDnsName) {
  TlsMaterial tls = make_throwaway_chain("wrong.example");
  Cert ca = parse_first(tls.ca_pem);
  Cert leaf = parse_first(tls.cert_chain_pem);
  EXPECT_TRUE(verifies(leaf.get(), ca.get(), "wrong.example"));
  EXPECT_FALSE(verifies(leaf.get(), ca.get(), "localhost"));
}

}  // namespace
}  // namespace emulator
