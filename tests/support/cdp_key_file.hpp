// Throwaway CDP API keys for one test: a key pair made with OpenSSL's EVP
// keygen (P-256, or another type to be refused), written as Coinbase's key
// file ({"name","privateKey"} JSON, mode 0600) with its public key beside it
// (PEM) for verifiers. Nothing is kept after the test's TempDir goes.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <filesystem>
#include <memory>
#include <string>

namespace tickwire::testing {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

// generate_key: a new key, `type` "EC" with `curve` ("P-256", "P-384"),
// "RSA" (2048 bits) or "ED25519"; throws std::runtime_error if OpenSSL fails.
PkeyPtr generate_key(const std::string& type, const std::string& curve = {});

// private_key_pem: the key as PEM, "EC PRIVATE KEY" (SEC1) for an EC key as
// Coinbase writes it, PKCS#8 "PRIVATE KEY" for the others.
std::string private_key_pem(EVP_PKEY* key);
// public_key_pem: the public half as "PUBLIC KEY" PEM.
std::string public_key_pem(EVP_PKEY* key);

// write_key_file: `json` into `path` with mode 0600; returns `path`.
std::filesystem::path write_key_file(const std::filesystem::path& path, const std::string& json);
// cdp_key_json: {"name":<name>,"privateKey":<pem>}, the PEM's newlines escaped.
std::string cdp_key_json(const std::string& name, const std::string& pem);
// ed25519_base64: an Ed25519 key as the CDP portal writes it, the base64 of
// its 32-byte seed followed by its 32-byte public key.
std::string ed25519_base64(EVP_PKEY* key);
// base64: `bytes` in standard base64 with padding.
std::string base64(const std::string& bytes);
// ed25519_key_json: {"id":<id>,"privateKey":<secret>}, the portal's Ed25519 key file.
std::string ed25519_key_json(const std::string& id, const std::string& secret);

}  // namespace tickwire::testing
