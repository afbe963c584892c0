// read_cdp_key: the file checked through its open descriptor (type, mode,
// size), its JSON read with simdjson, its PEM with OpenSSL (no passphrase
// prompt: an encrypted key is refused), the key's type and curve checked; an
// Ed25519 key in the portal's base64 form is decoded and its public half
// checked against the one its seed gives.
// The buffers that held the key's text are cleansed before they are freed.
#include "tickwire/config/cdp_key.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace tickwire::config {
namespace {

// A CDP key file is a few hundred bytes; anything much larger is another file.
constexpr std::size_t kMaxKeyFileBytes = 64u << 10;

absl::Status key_error(const std::filesystem::path& path, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", path.string(), what));
}

// openssl_reason: OpenSSL's reason for the last failure ("no start line"),
// with its error queue cleared.
std::string openssl_reason() {
  const unsigned long error = ERR_peek_last_error();
  const char* reason = error != 0 ? ERR_reason_error_string(error) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? std::string(reason) : std::string("no reason given");
}

// Cleansed: wipes `bytes` when it goes out of scope (the file text and the
// PEM hold the private key).
struct Cleansed {
  void* bytes;
  std::size_t size;
  ~Cleansed() { OPENSSL_cleanse(bytes, size); }
};

// read_file: the file's bytes after checking it is a regular file of at most
// kMaxKeyFileBytes that no one but its owner may read or write.
absl::StatusOr<simdjson::padded_string> read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return key_error(path, fmt::format("cannot read the CDP key file: {}", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return key_error(path, fmt::format("cannot stat: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) return key_error(path, "not a file (expected a CDP API key file)");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return key_error(path, fmt::format("mode {:04o} lets others than its owner at the private key: expected 0600 or "
                                       "0400 (chmod 600 {})",
                                       st.st_mode & 07777, path.string()));
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size > kMaxKeyFileBytes) {
    return key_error(path, fmt::format("expected a CDP API key file (a JSON object of a few hundred bytes), got {} "
                                       "bytes",
                                       size));
  }
  simdjson::padded_string text(size);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, text.data() + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      OPENSSL_cleanse(text.data(), size);
      return key_error(path, fmt::format("cannot read the CDP key file: {}",
                                         n < 0 ? std::strerror(errno) : "it shrank while being read"));
    }
    got += static_cast<std::size_t>(n);
  }
  return text;
}

// is_plain_name: printable ASCII without '"' or '\', so the name goes into
// the JWT's JSON unescaped.
bool is_plain_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
}

// kKeyTypes: what a key may be, for error messages.
constexpr std::string_view kKeyTypes = "an ECDSA P-256 key (ES256) or an Ed25519 key (EdDSA)";

// algorithm_of: the algorithm `key` signs with, or why it is neither an
// ECDSA key on P-256 nor an Ed25519 key.
absl::StatusOr<CdpAlgorithm> algorithm_of(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519")) return CdpAlgorithm::kEdDsa;
  if (!EVP_PKEY_is_a(key, "EC")) {
    const char* type = EVP_PKEY_get0_type_name(key);
    return absl::InvalidArgumentError(
        fmt::format("expected {}, got key type {}", kKeyTypes, type != nullptr ? type : "unknown"));
  }
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(fmt::format("expected {}, got an EC key without a named curve", kKeyTypes));
  }
  const std::string_view curve(group, length);
  if (curve != "prime256v1" && curve != "P-256") {
    return absl::InvalidArgumentError(fmt::format("expected {}, got an EC key on {}", kKeyTypes, curve));
  }
  return CdpAlgorithm::kEs256;
}

constexpr std::size_t kEd25519Half = 32;  // seed, then public key

// base64_bytes: the bytes of standard base64 `text` (padding allowed), or
// nullopt if it is not base64. The decoded bytes hold key material: the
// caller cleanses them.
std::optional<std::string> base64_bytes(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > 4 * 1024) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),  // Safety: bytes viewed as bytes
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  // EVP_DecodeBlock counts the padding's zero bytes: drop one per '='.
  std::size_t size = static_cast<std::size_t>(n);
  for (auto it = text.rbegin(); it != text.rend() && *it == '=' && size > 0; ++it) --size;
  out.resize(size);
  return out;
}

// ed25519_from_base64: the Ed25519 key of the portal's base64 form (seed ||
// public key), or why it is not one.
absl::StatusOr<std::shared_ptr<EVP_PKEY>> ed25519_from_base64(std::string_view text) {
  auto bytes = base64_bytes(text);
  if (!bytes) {
    return absl::InvalidArgumentError(fmt::format(
        "expected an unencrypted PEM private key (\"EC PRIVATE KEY\" or \"PRIVATE KEY\") or the base64 text of an "
        "Ed25519 key, got {} characters that are neither",
        text.size()));
  }
  const Cleansed wipe_bytes{bytes->data(), bytes->size()};
  if (bytes->size() != 2 * kEd25519Half) {
    return absl::InvalidArgumentError(
        fmt::format("expected an unencrypted PEM private key (\"EC PRIVATE KEY\" or \"PRIVATE KEY\") or the base64 "
                    "text of an Ed25519 key (64 bytes: the seed, then the public key), got base64 of {} bytes",
                    bytes->size()));
  }
  const auto* raw = reinterpret_cast<const unsigned char*>(bytes->data());  // Safety: bytes viewed as bytes
  std::shared_ptr<EVP_PKEY> key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, raw, kEd25519Half),
                                &EVP_PKEY_free);
  if (key == nullptr) {
    return absl::InvalidArgumentError(fmt::format("an Ed25519 seed OpenSSL refuses: {}", openssl_reason()));
  }
  unsigned char derived[kEd25519Half] = {};
  std::size_t derived_size = sizeof derived;
  if (EVP_PKEY_get_raw_public_key(key.get(), derived, &derived_size) != 1 || derived_size != kEd25519Half) {
    return absl::InvalidArgumentError(fmt::format("the Ed25519 public key: {}", openssl_reason()));
  }
  if (CRYPTO_memcmp(derived, raw + kEd25519Half, kEd25519Half) != 0) {
    return absl::InvalidArgumentError(
        "an Ed25519 key whose last 32 bytes are not the public key of its first 32 (the seed): the key is damaged "
        "or two keys were joined");
  }
  return key;
}

}  // namespace

absl::StatusOr<CdpKey> read_cdp_key(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text.ok()) return text.status();
  const Cleansed wipe_text{text->data(), text->size()};
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (const auto error = parser.parse(*text).get(doc); error != simdjson::SUCCESS) {
    return key_error(path, fmt::format("not JSON ({}): expected a CDP API key file", simdjson::error_message(error)));
  }
  std::string_view name, pem;
  const bool has_name = doc["name"].get_string().get(name) == simdjson::SUCCESS ||
                        doc["id"].get_string().get(name) == simdjson::SUCCESS;
  if (!has_name || doc["privateKey"].get_string().get(pem) != simdjson::SUCCESS) {
    return key_error(path, "expected a JSON object with the strings \"name\" (or \"id\") and \"privateKey\" (a CDP "
                           "API key file)");
  }
  if (!is_plain_name(name)) {
    return key_error(path, "\"name\": expected the key's name (\"organizations/{org}/apiKeys/{key}\" or the key id), "
                           "printable ASCII without '\"' or '\\'");
  }
  std::string pem_copy(pem);  // the BIO reads it; the parser's copy goes with the parser
  const Cleansed wipe_pem{pem_copy.data(), pem_copy.size()};
  if (pem_copy.find("-----BEGIN") == std::string::npos) {
    // No PEM armour: the portal's Ed25519 form, base64 of seed || public key.
    auto key = ed25519_from_base64(pem_copy);
    if (!key.ok()) return key_error(path, fmt::format("\"privateKey\": {}", std::string(key.status().message())));
    return CdpKey{std::string(name), *std::move(key), CdpAlgorithm::kEdDsa};
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem_copy.data(), static_cast<int>(pem_copy.size())),
                                                &BIO_free);
  if (bio == nullptr) return key_error(path, fmt::format("\"privateKey\": {}", openssl_reason()));
  // A callback that gives no passphrase: OpenSSL's default would prompt on the terminal.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
  std::shared_ptr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr), &EVP_PKEY_free);
  if (key == nullptr) {
    return key_error(path, fmt::format("\"privateKey\": expected an unencrypted PEM private key (\"EC PRIVATE KEY\" "
                                       "or \"PRIVATE KEY\"), OpenSSL: {}",
                                       openssl_reason()));
  }
  const auto algorithm = algorithm_of(key.get());
  if (!algorithm.ok()) {
    return key_error(path, fmt::format("\"privateKey\": {}", std::string(algorithm.status().message())));
  }
  return CdpKey{std::string(name), std::move(key), *algorithm};
}

}  // namespace tickwire::config
