#include "support/cdp_key_file.hpp"

#include <openssl/pem.h>

#include <fstream>
#include <stdexcept>

namespace tickwire::testing {
namespace {

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

PkeyPtr generate_key(const std::string& type, const std::string& curve) {
  EVP_PKEY* key = nullptr;
  if (type == "EC") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve.c_str());
  } else if (type == "RSA") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
  } else {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, type.c_str());
  }
  if (key == nullptr) throw std::runtime_error("OpenSSL could not generate a " + type + " " + curve + " key");
  return PkeyPtr(key, &EVP_PKEY_free);
}

std::string private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
  const int ok = EVP_PKEY_is_a(key, "EC")
                     ? PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                     : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  if (ok != 1) throw std::runtime_error("OpenSSL could not write the private key");
  return bio_text(bio.get());
}

std::string public_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (PEM_write_bio_PUBKEY(bio.get(), key) != 1) throw std::runtime_error("OpenSSL could not write the public key");
  return bio_text(bio.get());
}

std::string cdp_key_json(const std::string& name, const std::string& pem) {
  std::string escaped;
  for (const char c : pem) escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
  return "{\n  \"name\": \"" + name + "\",\n  \"privateKey\": \"" + escaped + "\"\n}\n";
}

std::filesystem::path write_key_file(const std::filesystem::path& path, const std::string& json) {
  std::ofstream(path) << json;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
  return path;
}

}  // namespace tickwire::testing
