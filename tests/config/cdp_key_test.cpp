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
              ::testing::EndsWith("expected a JSON object with the strings \"name\" and \"privateKey\" (a CDP API "
                                  "key file)"));
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
              ::testing::HasSubstr("\"privateKey\": expected an unencrypted PEM private key"));
  const auto p384 = testing::generate_key("EC", "P-384");
  EXPECT_THAT(error_of(key_file("p384.json", testing::cdp_key_json(kName, testing::private_key_pem(p384.get())))),
              ::testing::EndsWith("\"privateKey\": expected an ECDSA P-256 key (ES256), got an EC key on secp384r1"));
  const auto rsa = testing::generate_key("RSA");
  EXPECT_THAT(error_of(key_file("rsa.json", testing::cdp_key_json(kName, testing::private_key_pem(rsa.get())))),
              ::testing::EndsWith("\"privateKey\": expected an ECDSA P-256 key (ES256), got key type RSA"));
  const auto ed25519 = testing::generate_key("ED25519");
  EXPECT_THAT(
      error_of(key_file("ed25519.json", testing::cdp_key_json(kName, testing::private_key_pem(ed25519.get())))),
      ::testing::EndsWith("\"privateKey\": expected an ECDSA P-256 key (ES256), got key type ED25519"));
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
