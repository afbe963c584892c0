// expect_peer_name: makes OpenSSL itself check that the server certificate
// names `host` (a DNS name, or an IP address against the IP SANs), so a
// mismatch fails the handshake with X509_V_ERR_HOSTNAME_MISMATCH / _IP_ADDRESS_
// MISMATCH, which verify_failure() can name. (Asio's host_name_verification
// callback fails with an unspecified error instead.)
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <string>

namespace tickwire::connector::detail {

inline bool expect_peer_name(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1) return true;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set1_host(ssl, host.c_str()) == 1;
}

// verify_failure: OpenSSL's reason the peer's certificate was refused, or ""
// when verification did not fail.
inline std::string verify_failure(const SSL* ssl) {
  const long result = SSL_get_verify_result(ssl);
  return result == X509_V_OK ? std::string() : std::string(X509_verify_cert_error_string(result));
}

}  // namespace tickwire::connector::detail
