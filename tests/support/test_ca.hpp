// TestCa: a throwaway certificate authority for one test, made with the
// openssl CLI (EC P-256 keys, valid for two days) in a directory the caller
// owns. It issues server certificates for the host names and addresses a
// test needs, so TLS verification can be checked both ways.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tickwire::testing {

class TestCa {
 public:
  // A server certificate and its private key (PEM files).
  struct Issued {
    std::filesystem::path cert;
    std::filesystem::path key;
  };

  // Creates the CA's key and self-signed certificate in `dir`. Throws
  // std::runtime_error with openssl's output if it fails.
  explicit TestCa(std::filesystem::path dir);

  // cert: the CA certificate, what a client's ca_file must name to trust it.
  const std::filesystem::path& cert() const { return cert_; }
  // issue: a serverAuth certificate with CN `name` and subjectAltName `sans`
  // (e.g. {"DNS:localhost", "IP:127.0.0.1"}), signed by this CA; files are
  // named after `name`. Throws std::runtime_error with openssl's output.
  Issued issue(const std::string& name, const std::vector<std::string>& sans) const;

 private:
  std::filesystem::path dir_;
  std::filesystem::path cert_;
  std::filesystem::path key_;
};

// openssl_missing: "openssl is not on PATH", or "" if it is.
std::string openssl_missing();

}  // namespace tickwire::testing
