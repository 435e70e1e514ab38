// Throwaway CA and server certificate. EC P-256 keys: generated in about a millisecond, so
// every emulator start gets fresh ones and no key material is kept anywhere.
#include "certificate_authority.hpp"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace emulator {

namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

[[noreturn]] void fail(const char* what) {
  char buf[256] = "unknown error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  throw std::runtime_error(std::string("certificate generation: ") + what + ": " + buf);
}

void check(int ok, const char* what) {
  if (ok != 1) fail(what);
}

KeyPtr make_key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("EC key generation");
  return key;
}

void set_name(X509_NAME* name, const std::string& common_name) {
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("bytenite-emulator"), -1,
                                   -1, 0),
        "subject O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0),
        "subject CN");
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) fail("X.509 extension");
  check(X509_add_ext(cert, ext.get(), -1), "add extension");
}

CertPtr new_cert(EVP_PKEY* key, const std::string& common_name, long valid_days) {
  CertPtr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "version");
  // A random 127-bit serial, as RFC 5280 asks for unpredictable serials.
  BnPtr serial(BN_new());
  if (!serial) fail("BN_new");
  check(BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "serial");
  if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) fail("serial");
  // Backdated an hour so a client whose clock is slightly behind still accepts it.
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600)) fail("notBefore");
  if (!X509_gmtime_adj(X509_getm_notAfter(cert.get()), valid_days * 24 * 3600)) fail("notAfter");
  check(X509_set_pubkey(cert.get(), key), "public key");
  set_name(X509_get_subject_name(cert.get()), common_name);
  return cert;
}

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_X509(bio.get(), cert), "PEM certificate");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), "PEM key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

bool is_ip_literal(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

TlsMaterial make_throwaway_chain(const std::string& hostname) {
  KeyPtr ca_key = make_key();
  CertPtr ca = new_cert(ca_key.get(), "bytenite-emulator throwaway CA", 30);
  check(X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())), "CA issuer");
  add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) <= 0) fail("sign CA");

  KeyPtr key = make_key();
  CertPtr leaf = new_cert(key.get(), hostname, 30);
  check(X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca.get())), "issuer");
  add_ext(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(leaf.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_ext(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  add_ext(leaf.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_ext(leaf.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  std::string san = (is_ip_literal(hostname) ? "IP:" : "DNS:") + hostname;
  if (hostname != "127.0.0.1") san += ",IP:127.0.0.1";
  add_ext(leaf.get(), ca.get(), NID_subject_alt_name, san);
  if (X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) <= 0) fail("sign server certificate");

  TlsMaterial out;
  out.ca_pem = to_pem(ca.get());
  out.cert_chain_pem = to_pem(leaf.get()) + out.ca_pem;
  out.key_pem = to_pem(key.get());
  return out;
}

}  // namespace emulator
