// CdpKey: a Coinbase Developer Platform API key read from its key file, the
// JSON {"name":"organizations/../apiKeys/..","privateKey":"-----BEGIN EC
// PRIVATE KEY-----\n.."} Coinbase hands out. The config loader reads it once
// to validate a feed's key_file; the Coinbase JWT signer reads it to sign.
// The private key never leaves OpenSSL's key object, and no message names it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY (<openssl/types.h>)

namespace tickwire::config {

struct CdpKey {
  // name: the key's name, the JWT's "kid" and "sub": printable ASCII without
  // '"' or '\', so it is written into JSON as it is.
  std::string name;
  // key: the ECDSA P-256 private key (never null in a returned CdpKey).
  std::shared_ptr<evp_pkey_st> key;
};

// read_cdp_key: the key in `path`. The file must be a regular file that only
// its owner may read or write (mode 0600 or 0400, as ssh wants of a private
// key), at most 64 KiB of JSON with the strings "name" and "privateKey", the
// latter an unencrypted PEM private key ("EC PRIVATE KEY" or PKCS#8 "PRIVATE
// KEY") on the P-256 curve. An error is InvalidArgument "<path>: <what is
// wrong>".
absl::StatusOr<CdpKey> read_cdp_key(const std::filesystem::path& path);

}  // namespace tickwire::config
