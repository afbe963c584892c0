// CdpKey: a Coinbase Developer Platform API key read from its key file, in
// either form the CDP portal hands out:
//   ECDSA    {"name":"organizations/../apiKeys/..","privateKey":"-----BEGIN EC
//            PRIVATE KEY-----\n.."}                       signs ES256 tokens
//   Ed25519  {"id":"<key id>","privateKey":"<base64 of the 32-byte seed and
//            the 32-byte public key>"}                     signs EdDSA tokens
// (Ed25519 is the portal's default algorithm). The config loader reads it once
// to validate a feed's key_file; the Coinbase JWT signer reads it to sign.
// The private key never leaves OpenSSL's key object, and no message names it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY (<openssl/types.h>)

namespace tickwire::config {

// CdpAlgorithm: the JWS algorithm a key signs with ("alg" in the header).
enum class CdpAlgorithm { kEs256, kEdDsa };

struct CdpKey {
  // name: the key's name ("name", or "id" in an Ed25519 key file), the JWT's
  // "kid" and "sub": printable ASCII without '"' or '\', so it is written
  // into JSON as it is.
  std::string name;
  // key: the private key, ECDSA P-256 or Ed25519 (never null in a returned CdpKey).
  std::shared_ptr<evp_pkey_st> key;
  CdpAlgorithm algorithm = CdpAlgorithm::kEs256;
};

// read_cdp_key: the key in `path`. The file must be a regular file that only
// its owner may read or write (mode 0600 or 0400, as ssh wants of a private
// key), at most 64 KiB of JSON with the strings "name" (or "id") and
// "privateKey". The latter is an unencrypted PEM private key ("EC PRIVATE KEY"
// or PKCS#8 "PRIVATE KEY") on the P-256 curve or of type Ed25519, or the
// base64 text of an Ed25519 seed followed by its public key (64 bytes; the
// public half must be the seed's). An error is InvalidArgument "<path>: <what
// is wrong>".
absl::StatusOr<CdpKey> read_cdp_key(const std::filesystem::path& path);

}  // namespace tickwire::config
