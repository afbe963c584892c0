// JwtSigner: the header and payload written with fmt (the key name is plain
// ASCII without '"' or '\', read_cdp_key checked it), then signed with EVP's
// digest-sign: ES256 over SHA-256, the DER ECDSA signature OpenSSL gives
// turned into JWS's fixed 64 bytes, r || s, each big-endian and zero-padded
// to 32; EdDSA (RFC 8037) as Ed25519's own 64 bytes (no digest: Ed25519
// hashes the message itself).
#include "tickwire/connector/venues/coinbase/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <memory>

#include <fmt/format.h>

namespace tickwire::connector::venues::coinbase {
namespace {

constexpr std::size_t kNonceBytes = 16;
constexpr int kCoordinateBytes = 32;  // P-256: r and s are 256-bit numbers

absl::Status openssl_error(std::string_view what) {
  const unsigned long error = ERR_peek_last_error();
  const char* reason = error != 0 ? ERR_reason_error_string(error) : nullptr;
  ERR_clear_error();
  return absl::InternalError(fmt::format("JWT: {} failed (OpenSSL: {})", what,
                                         reason != nullptr ? reason : "no reason given"));
}

// p1363: the DER ECDSA-Sig-Value `der` as r || s.
absl::StatusOr<std::string> p1363(const unsigned char* der, std::size_t size) {
  const unsigned char* in = der;
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(size)),
                                                          &ECDSA_SIG_free);
  if (sig == nullptr) return openssl_error("reading the DER signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::array<unsigned char, 2 * kCoordinateBytes> out{};
  if (BN_bn2binpad(r, out.data(), kCoordinateBytes) != kCoordinateBytes ||
      BN_bn2binpad(s, out.data() + kCoordinateBytes, kCoordinateBytes) != kCoordinateBytes) {
    return openssl_error("writing r || s");
  }
  return std::string(out.begin(), out.end());
}

}  // namespace

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    const std::uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

absl::StatusOr<JwtSigner> JwtSigner::load(const std::filesystem::path& key_file) {
  auto key = config::read_cdp_key(key_file);
  if (!key.ok()) return key.status();
  return JwtSigner(*std::move(key));
}

absl::StatusOr<std::string> JwtSigner::sign(std::chrono::system_clock::time_point now) const {
  std::array<unsigned char, kNonceBytes> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) return openssl_error("drawing the nonce");
  const auto nbf = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto exp = nbf + kLifetime.count();
  const bool eddsa = key_.algorithm == config::CdpAlgorithm::kEdDsa;
  std::string token = base64url(fmt::format(R"({{"alg":"{}","kid":"{}","nonce":"{:02x}","typ":"JWT"}})",
                                            eddsa ? "EdDSA" : "ES256", key_.name, fmt::join(nonce, "")));
  token += '.';
  token += base64url(fmt::format(R"({{"iss":"cdp","nbf":{},"exp":{},"sub":"{}"}})", nbf, exp, key_.name));

  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, eddsa ? nullptr : EVP_sha256(), nullptr, key_.key.get()) != 1) {
    return openssl_error(eddsa ? "starting the EdDSA signature" : "starting the ES256 signature");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(token.data());  // Safety: bytes viewed as bytes
  std::size_t size = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &size, data, token.size()) != 1) return openssl_error("sizing the signature");
  std::string raw(size, '\0');
  auto* raw_bytes = reinterpret_cast<unsigned char*>(raw.data());  // Safety: bytes viewed as bytes
  if (EVP_DigestSign(ctx.get(), raw_bytes, &size, data, token.size()) != 1) return openssl_error("signing");
  raw.resize(size);
  absl::StatusOr<std::string> signature = eddsa ? absl::StatusOr<std::string>(std::move(raw)) : p1363(raw_bytes, size);
  if (!signature.ok()) return signature.status();
  token += '.';
  token += base64url(*signature);
  return token;
}

}  // namespace tickwire::connector::venues::coinbase
