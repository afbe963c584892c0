// A Coinbase feed's key_file (config/src/cdp_key.cpp): a good CDP key file
// loads and resolves like ca_file; every bad one is a configuration error at
// the key's line naming the file and what is wrong with it, and none quotes
// the private key.
#include "tickwire/config/cdp_key.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <fstream>
#include <string>

#include "support/cdp_key_file.hpp"
#include "support/temp_dir.hpp"
#include "tickwire/config/config.hpp"

namespace tickwire::config {
namespace {

constexpr const char* kName = "organizations/org-1/apiKeys/key-1";

// coinbase_config: one Coinbase feed whose key_file (line 6) is `key_file`.
std::string coinbase_config(const std::string& key_file) {
  return "[[feeds]]\n"                                      // 1
         "name = \"cb\"\n"                                  // 2
         "exchange = \"coinbase\"\n"                        // 3
         "url = \"wss://advanced-trade-ws.coinbase.com\"\n"  // 4
         "symbols = [\"BTC-USD\"]\n"                         // 5
         "key_file = \"" + key_file + "\"\n";               // 6
}

class CdpKeyFile : public ::testing::Test {
 protected:
  // key_file: a key file named `name` in the test's directory holding `json`.
  std::string key_file(const std::string& name, const std::string& json) {
    return testing::write_key_file(dir_ / name, json).string();
  }
  std::string good_key_file() {
    return key_file("good.json", testing::cdp_key_json(kName, testing::private_key_pem(p256_.get())));
  }

  // error_of: the load error of a Coinbase feed with `path` as its key_file;
  // it must be at the key's line and never quote a private key.
  std::string error_of(const std::string& path) {
    auto config = load_string(coinbase_config(path), "test.toml");
    EXPECT_FALSE(config.ok()) << "loaded with key_file " << path;
    if (config.ok()) return {};
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(config.status().message());
    EXPECT_THAT(message, ::testing::StartsWith("test.toml:6: feeds[0].key_file: " + path + ": "));
    EXPECT_THAT(message, ::testing::Not(::testing::HasSubstr("BEGIN")));
    return message;
  }

  testing::TempDir dir_{"tickwire-cdp-key"};
  testing::PkeyPtr p256_ = testing::generate_key("EC", "P-256");
};

TEST_F(CdpKeyFile, AP256KeyFileLoadsAndIsPrintedAndReadBack) {
  const std::string path = good_key_file();
  auto config = load_string(coinbase_config(path), "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->feeds[0].key_file, path);
  const std::string printed = to_toml(*config);
  EXPECT_NE(printed.find("key_file = '" + path + "'"), std::string::npos) << printed;
  auto again = load_string(printed, "printed.toml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->feeds[0].key_file, path);

  auto key = read_cdp_key(path);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->name, kName);
  ASSERT_NE(key->key, nullptr);
  EXPECT_EQ(EVP_PKEY_eq(key->key.get(), p256_.get()), 1);
}

TEST_F(CdpKeyFile, APkcs8PemOfAP256KeyIsAcceptedToo) {
  testing::PkeyPtr key = testing::generate_key("EC", "P-256");
  const testing::BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  const std::string pem(data, static_cast<std::size_t>(BIO_get_mem_data(bio.get(), &data)));
  ASSERT_THAT(pem, ::testing::StartsWith("-----BEGIN PRIVATE KEY-----"));
  EXPECT_TRUE(read_cdp_key(key_file("pkcs8.json", testing::cdp_key_json(kName, pem))).ok());
}

TEST_F(CdpKeyFile, ARelativeKeyFileResolvesAgainstTheConfigFilesDirectory) {
  good_key_file();
  std::ofstream(dir_ / "c.toml") << coinbase_config("good.json");
  auto config = load_file(dir_ / "c.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->feeds[0].key_file, (dir_ / "good.json").string());
}

TEST_F(CdpKeyFile, AMissingOrUnreadableFileIsAnErrorNamingIt) {
  EXPECT_THAT(error_of((dir_ / "absent.json").string()),
              ::testing::EndsWith("cannot read the CDP key file: No such file or directory"));
  EXPECT_THAT(error_of(dir_.path().string()), ::testing::EndsWith("not a file (expected a CDP API key file)"));
}

TEST_F(CdpKeyFile, AKeyFileOthersCanReadIsRefused) {
  const std::string path = good_key_file();
  std::filesystem::permissions(path, std::filesystem::perms::group_read | std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  EXPECT_THAT(error_of(path), ::testing::HasSubstr("mode 0644 lets others than its owner at the private key: "
                                                   "expected 0600 or 0400 (chmod 600 " + path + ")"));
  std::filesystem::permissions(path, std::filesystem::perms::others_read, std::filesystem::perm_options::remove);
  EXPECT_THAT(error_of(path), ::testing::HasSubstr("mode 0640"));
}

TEST_F(CdpKeyFile, AFileThatIsNotACdpKeyIsRefusedSayingWhy) {
  EXPECT_THAT(error_of(key_file("text.json", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n")),
              ::testing::HasSubstr("not JSON"));
  EXPECT_THAT(error_of(key_file("array.json", "[1, 2]")),
              ::testing::EndsWith("expected a JSON object with the strings \"name\" (or \"id\") and \"privateKey\" "
                                  "(a CDP API key file)"));
  EXPECT_THAT(error_of(key_file("nokey.json", R"({"name":"organizations/o/apiKeys/k"})")),
              ::testing::HasSubstr("\"privateKey\" (a CDP API key file)"));
  const std::string pem = testing::private_key_pem(p256_.get());
  EXPECT_THAT(error_of(key_file("quote.json", testing::cdp_key_json("a\\\"b", pem))),
              ::testing::HasSubstr("\"name\": expected the key's name"));
  EXPECT_THAT(error_of(key_file("empty.json", testing::cdp_key_json("", pem))),
              ::testing::HasSubstr("\"name\": expected the key's name"));
}

TEST_F(CdpKeyFile, APrivateKeyThatIsNotAP256PemKeyIsRefusedSayingWhatItIs) {
  EXPECT_THAT(error_of(key_file("garbage.json", testing::cdp_key_json(kName, "-----BEGIN EC PRIVATE KEY-----\\nnot "
                                                                               "base64 at all\\n-----END EC PRIVATE "
                                                                               "KEY-----\\n"))),
              ::testing::HasSubstr("\"privateKey\": expected an unencrypted PEM private key"));
  EXPECT_THAT(error_of(key_file("secret.json", testing::cdp_key_json(kName, "c2VjcmV0"))),
              ::testing::EndsWith("\"privateKey\": expected an unencrypted PEM private key (\"EC PRIVATE KEY\" or "
                                  "\"PRIVATE KEY\") or the base64 text of an Ed25519 key (64 bytes: the seed, then "
                                  "the public key), got base64 of 6 bytes"));
  EXPECT_THAT(error_of(key_file("words.json", testing::cdp_key_json(kName, "not a key at all"))),
              ::testing::EndsWith("or the base64 text of an Ed25519 key, got 16 characters that are neither"));
  const auto p384 = testing::generate_key("EC", "P-384");
  EXPECT_THAT(error_of(key_file("p384.json", testing::cdp_key_json(kName, testing::private_key_pem(p384.get())))),
              ::testing::EndsWith("\"privateKey\": expected an ECDSA P-256 key (ES256) or an Ed25519 key (EdDSA), got an EC key on "
                          "secp384r1"));
  const auto rsa = testing::generate_key("RSA");
  EXPECT_THAT(error_of(key_file("rsa.json", testing::cdp_key_json(kName, testing::private_key_pem(rsa.get())))),
              ::testing::EndsWith("\"privateKey\": expected an ECDSA P-256 key (ES256) or an Ed25519 key (EdDSA), got key type "
                          "RSA"));
}

// The portal's Ed25519 key file: {"id","privateKey"} with the base64 of the
// seed and then the public key. RFC 8032's first test key (section 7.1) is
// one whose public half is known, so the check does not rest on OpenSSL alone.
TEST_F(CdpKeyFile, AnEd25519KeyInThePortalsBase64FormLoadsAsAnEdDsaKey) {
  const std::string seed_hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
  const std::string public_hex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  const std::string hex = seed_hex + public_hex;
  std::string raw;
  for (std::size_t i = 0; i < hex.size(); i += 2) raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  const std::string path = key_file("ed25519.json", testing::ed25519_key_json("5b9d-key-id", testing::base64(raw)));
  auto config = load_string(coinbase_config(path), "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();

  auto key = read_cdp_key(path);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->name, "5b9d-key-id");
  EXPECT_EQ(key->algorithm, CdpAlgorithm::kEdDsa);
  unsigned char pub[32] = {};
  std::size_t pub_size = sizeof pub;
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(key->key.get(), pub, &pub_size), 1);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(pub), pub_size), raw.substr(32));

  // A key OpenSSL makes, in the same form, is the same key once read.
  const auto made = testing::generate_key("ED25519");
  auto again = read_cdp_key(key_file("made.json", testing::ed25519_key_json("k", testing::ed25519_base64(made.get()))));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(EVP_PKEY_eq(again->key.get(), made.get()), 1);
  EXPECT_EQ(again->algorithm, CdpAlgorithm::kEdDsa);
}

TEST_F(CdpKeyFile, AnEd25519KeyAsPkcs8PemLoadsAsAnEdDsaKeyAndAP256OneAsEs256) {
  const auto ed25519 = testing::generate_key("ED25519");
  auto key = read_cdp_key(key_file("ed.json", testing::cdp_key_json(kName, testing::private_key_pem(ed25519.get()))));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->algorithm, CdpAlgorithm::kEdDsa);
  EXPECT_EQ(EVP_PKEY_eq(key->key.get(), ed25519.get()), 1);
  auto p256 = read_cdp_key(good_key_file());
  ASSERT_TRUE(p256.ok()) << p256.status();
  EXPECT_EQ(p256->algorithm, CdpAlgorithm::kEs256);
}

TEST_F(CdpKeyFile, AnEd25519KeyWhosePublicHalfIsNotItsSeedsIsRefused) {
  const auto a = testing::generate_key("ED25519");
  const auto b = testing::generate_key("ED25519");
  const std::string a_raw = testing::ed25519_base64(a.get());
  const std::string b_raw = testing::ed25519_base64(b.get());
  // a's seed followed by b's public key.
  std::string seed(32, '\0'), pub(32, '\0');
  std::size_t seed_size = 32, pub_size = 32;
  ASSERT_EQ(EVP_PKEY_get_raw_private_key(a.get(), reinterpret_cast<unsigned char*>(seed.data()), &seed_size), 1);
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(b.get(), reinterpret_cast<unsigned char*>(pub.data()), &pub_size), 1);
  const std::string joined = testing::base64(seed + pub);
  EXPECT_NE(joined, a_raw);
  EXPECT_NE(joined, b_raw);
  EXPECT_THAT(error_of(key_file("joined.json", testing::ed25519_key_json("k", joined))),
              ::testing::EndsWith("\"privateKey\": an Ed25519 key whose last 32 bytes are not the public key of its "
                                  "first 32 (the seed): the key is damaged or two keys were joined"));
  // Without "name" or "id" it is not a key file.
  EXPECT_THAT(error_of(key_file("anonymous.json", "{\"privateKey\":\"" + a_raw + "\"}")),
              ::testing::HasSubstr("expected a JSON object with the strings \"name\" (or \"id\") and \"privateKey\""));
}

TEST_F(CdpKeyFile, AnEncryptedPemIsRefusedWithoutAskingForAPassphrase) {
  const testing::BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
  static char passphrase[] = "passphrase";
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), p256_.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr, passphrase), 1);
  char* data = nullptr;
  const std::string pem(data, static_cast<std::size_t>(BIO_get_mem_data(bio.get(), &data)));
  ASSERT_THAT(pem, ::testing::StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  EXPECT_THAT(error_of(key_file("encrypted.json", testing::cdp_key_json(kName, pem))),
              ::testing::HasSubstr("\"privateKey\": expected an unencrypted PEM private key"));
}

TEST_F(CdpKeyFile, AKeyFileOnAFeedOfAnotherExchangeIsAnError) {
  const std::string path = good_key_file();
  auto config = load_string("[[feeds]]\nname = \"b\"\nexchange = \"binance\"\nurl = \"sim://\"\n"
                            "symbols = [\"BTCUSDT\"]\nkey_file = \"" + path + "\"\n",
                            "test.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "test.toml:6: feeds[0].key_file: expected no key_file with exchange \"binance\" (only \"coinbase\" signs "
            "its subscriptions with a key), got \"" + path + "\"");
}

}  // namespace
}  // namespace tickwire::config
