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

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string ed25519_base64(EVP_PKEY* key) {
  std::string seed(32, '\0'), pub(32, '\0');
  std::size_t seed_size = seed.size(), pub_size = pub.size();
  if (EVP_PKEY_get_raw_private_key(key, reinterpret_cast<unsigned char*>(seed.data()), &seed_size) != 1 ||
      EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(pub.data()), &pub_size) != 1 ||
      seed_size != 32 || pub_size != 32) {
    throw std::runtime_error("OpenSSL could not give the Ed25519 key's raw halves");
  }
  return base64(seed + pub);
}

std::string ed25519_key_json(const std::string& id, const std::string& secret) {
  return "{\n   \"id\": \"" + id + "\",\n   \"privateKey\": \"" + secret + "\"\n}";
}

std::filesystem::path write_key_file(const std::filesystem::path& path, const std::string& json) {
  std::ofstream(path) << json;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
  return path;
}

}  // namespace tickwire::testing
