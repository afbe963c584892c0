// JwtSigner: the JSON Web Tokens Coinbase Advanced Trade takes in a
// websocket subscribe ("jwt"), signed with a CDP API key (config/cdp_key.hpp)
// loaded once: ES256 with an ECDSA P-256 key, EdDSA with an Ed25519 key. Each
// token is new: a random nonce and nbf = now, exp = now + 120 s (Coinbase
// wants a fresh one per message). One sign() is one signature, tens of
// microseconds: a subscribe's cost, never a tick's.
//
//   header  {"alg":"ES256"|"EdDSA","kid":<name>,"nonce":<32 hex digits>,"typ":"JWT"}
//   payload {"iss":"cdp","nbf":<now>,"exp":<now + 120>,"sub":<name>}
//   token   base64url(header) "." base64url(payload) "." base64url(signature)
//
// The signature is 64 bytes either way: ES256's r || s, or Ed25519's own.
//
// The websocket token has no "uri" claim (REST tokens do). Const and safe to
// share between threads (OpenSSL's signing and random generator are).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tickwire/config/cdp_key.hpp"

namespace tickwire::connector::venues::coinbase {

class JwtSigner {
 public:
  // kLifetime: exp - nbf; Coinbase's tokens live two minutes.
  static constexpr std::chrono::seconds kLifetime{120};

  // load: the key in `key_file` (config::read_cdp_key, whose error it returns).
  static absl::StatusOr<JwtSigner> load(const std::filesystem::path& key_file);
  explicit JwtSigner(config::CdpKey key) : key_(std::move(key)) {}

  // sign: a new token valid from `now` (whole seconds since the epoch) for
  // kLifetime; an error names what failed (the random nonce, the signature).
  absl::StatusOr<std::string> sign(std::chrono::system_clock::time_point now) const;
  absl::StatusOr<std::string> sign() const { return sign(std::chrono::system_clock::now()); }

  // key_name: the token's "kid" and "sub".
  const std::string& key_name() const { return key_.name; }

 private:
  config::CdpKey key_;
};

// base64url: `bytes` in the URL-safe base64 alphabet without padding (RFC 4648 §5).
std::string base64url(std::string_view bytes);

}  // namespace tickwire::connector::venues::coinbase
