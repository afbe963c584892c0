// The Coinbase JWT signer (venues/coinbase/jwt.cpp) and the signed control
// protocol, checked two ways: here with OpenSSL (the claims decoded, the
// r || s signature verified against the public key) and by an independent
// peer, tests/peers/coinbase_jwt.mjs, which verifies with Node's own crypto;
// end to end, that peer is the websocket server `tickwire run` subscribes to.
// Keys are made per test (tests/support/cdp_key_file.hpp).
#include "tickwire/connector/venues/coinbase/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <signal.h>
#include <simdjson.h>

#include <chrono>
#include <fstream>
#include <set>
#include <vector>

#include "support/cdp_key_file.hpp"
#include "support/node_ws_server.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "support/text_file.hpp"
#include "tickwire/connector/venue.hpp"

namespace tickwire {
namespace {

using connector::venues::coinbase::base64url;
using connector::venues::coinbase::JwtSigner;

constexpr const char* kKeyName = "organizations/0f7c1e2a-test/apiKeys/5b9d-test";

std::string script() { return std::string(TICKWIRE_SOURCE_DIR) + "/tests/peers/coinbase_jwt.mjs"; }

// base64url_decode: the bytes of unpadded base64url `text` (as OpenSSL's
// standard-alphabet decoder reads them once padded).
std::string base64url_decode(std::string text) {
  for (char& c : text) c = c == '-' ? '+' : c == '_' ? '/' : c;
  const std::size_t unpadded = text.size();
  text.append((4 - unpadded % 4) % 4, '=');
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  EXPECT_GE(n, 0) << "not base64url: " << text;
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n) - (text.size() - unpadded));
  return out;
}

struct Token {
  std::string signing_input, header, payload, signature;
};

Token split(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  EXPECT_NE(second, std::string::npos) << token;
  EXPECT_EQ(token.find('.', second + 1), std::string::npos) << token;
  return {token.substr(0, second), base64url_decode(token.substr(0, first)),
          base64url_decode(token.substr(first + 1, second - first - 1)), base64url_decode(token.substr(second + 1))};
}

// verifies: whether the 64-byte r || s `signature` over `data` verifies with `key` (ES256).
bool verifies(EVP_PKEY* key, const std::string& data, const std::string& signature) {
  if (signature.size() != 64) return false;
  const auto* rs = reinterpret_cast<const unsigned char*>(signature.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(rs, 32, nullptr), BN_bin2bn(rs + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_size = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = der_size > 0 && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_size),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

// verifies_eddsa: whether the 64-byte Ed25519 `signature` over `data` verifies with `key`.
bool verifies_eddsa(EVP_PKEY* key, const std::string& data, const std::string& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = signature.size() == 64 && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// expect_signature_holds: `t`'s 64-byte signature verifies with `key` (by
// `verify`), and the check can fail: not over another payload, nor with `other`.
template <typename Verify>
void expect_signature_holds(Verify verify, EVP_PKEY* key, EVP_PKEY* other, const Token& t) {
  ASSERT_EQ(t.signature.size(), 64u);
  EXPECT_TRUE(verify(key, t.signing_input, t.signature));
  std::string forged = t.signing_input;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify(key, forged, t.signature));
  EXPECT_FALSE(verify(other, t.signing_input, t.signature));
}

std::vector<std::string> keys_of(simdjson::dom::object o) {
  std::vector<std::string> keys;
  for (auto field : o) keys.emplace_back(field.key);
  return keys;
}

class CoinbaseJwt : public ::testing::Test {
 protected:
  CoinbaseJwt() {
    key_file_ = testing::write_key_file(dir_ / "cdp_api_key.json",
                                        testing::cdp_key_json(kKeyName, testing::private_key_pem(key_.get())));
    std::ofstream(dir_ / "public.pem") << testing::public_key_pem(key_.get());
  }

  JwtSigner signer() {
    auto signer = JwtSigner::load(key_file_);
    EXPECT_TRUE(signer.ok()) << signer.status();
    return *std::move(signer);
  }

  // node_verdicts: the peer's verdict line for each token.
  std::vector<std::string> node_verdicts(const std::vector<std::string>& tokens) {
    std::vector<std::string> argv{testing::find_on_path("node"), script(), "verify", "--public-key",
                                  (dir_ / "public.pem").string()};
    argv.insert(argv.end(), tokens.begin(), tokens.end());
    const auto run = testing::run_command(argv);
    EXPECT_EQ(run.exit_code, 0) << run.out;
    return testing::lines_of(run.out);
  }

  testing::TempDir dir_{"tickwire-coinbase-jwt"};
  testing::PkeyPtr key_ = testing::generate_key("EC", "P-256");
  std::filesystem::path key_file_;
  simdjson::dom::parser parser_;
};

TEST(CoinbaseJwtBase64url, EncodesRfc4648VectorsInTheUrlAlphabetWithoutPadding) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foob"), "Zm9vYg");
  EXPECT_EQ(base64url("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url(std::string("\xfb\xff\xbf", 3)), "-_-_");
}

TEST_F(CoinbaseJwt, ATokenCarriesTheCdpClaimsAndAnR_SSignatureThePublicKeyVerifies) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
  auto token = signer().sign(now + std::chrono::milliseconds(999));
  ASSERT_TRUE(token.ok()) << token.status();
  const Token t = split(*token);

  simdjson::dom::object header = parser_.parse(t.header).get_object().value();
  EXPECT_EQ(keys_of(header), (std::vector<std::string>{"alg", "kid", "nonce", "typ"})) << t.header;
  EXPECT_EQ(std::string_view(header["alg"].get_string().value()), "ES256");
  EXPECT_EQ(std::string_view(header["kid"].get_string().value()), kKeyName);
  EXPECT_EQ(std::string_view(header["typ"].get_string().value()), "JWT");
  const std::string_view nonce = header["nonce"].get_string().value();
  EXPECT_EQ(nonce.size(), 32u);
  EXPECT_EQ(nonce.find_first_not_of("0123456789abcdef"), std::string_view::npos) << nonce;

  simdjson::dom::object payload = parser_.parse(t.payload).get_object().value();
  EXPECT_EQ(keys_of(payload), (std::vector<std::string>{"iss", "nbf", "exp", "sub"})) << "no uri claim: " << t.payload;
  EXPECT_EQ(std::string_view(payload["iss"].get_string().value()), "cdp");
  EXPECT_EQ(std::string_view(payload["sub"].get_string().value()), kKeyName);
  EXPECT_EQ(payload["nbf"].get_uint64().value(), 1'790'000'000u);
  EXPECT_EQ(payload["exp"].get_uint64().value(), 1'790'000'120u);

  expect_signature_holds(verifies, key_.get(), testing::generate_key("EC", "P-256").get(), t);
}

TEST_F(CoinbaseJwt, TwoTokensOfTheSameSecondDifferInTheirNonce) {
  const JwtSigner s = signer();
  const auto now = std::chrono::system_clock::now();
  auto a = s.sign(now);
  auto b = s.sign(now);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  const auto nonce = [&](const std::string& token) {
    return std::string(parser_.parse(split(token).header).get_object()["nonce"].get_string().value());
  };
  EXPECT_NE(nonce(*a), nonce(*b));
  EXPECT_TRUE(verifies(key_.get(), split(*b).signing_input, split(*b).signature));
}

TEST_F(CoinbaseJwt, NodesOwnCryptoVerifiesTheTokensAndRefusesATamperedOne) {
  if (testing::find_on_path("node").empty()) GTEST_SKIP() << "node is not on PATH";
  const JwtSigner s = signer();
  std::vector<std::string> tokens;
  for (int i = 0; i < 3; ++i) tokens.push_back(s.sign().value());
  std::string tampered = tokens[0];
  const auto dot = tampered.find('.');
  tampered[dot + 1] = tampered[dot + 1] == 'e' ? 'f' : 'e';  // the payload's first character
  tokens.push_back(tampered);
  const auto verdicts = node_verdicts(tokens);
  ASSERT_EQ(verdicts.size(), 4u);
  std::set<std::string> nonces;
  for (std::size_t i = 0; i < 3; ++i) {
    simdjson::dom::object v = parser_.parse(verdicts[i]).get_object().value();
    EXPECT_TRUE(v["ok"].get_bool().value()) << verdicts[i];
    EXPECT_EQ(std::string_view(v["header"]["kid"].get_string().value()), kKeyName);
    EXPECT_EQ(std::string_view(v["payload"]["sub"].get_string().value()), kKeyName);
    EXPECT_EQ(v["payload"]["exp"].get_int64().value() - v["payload"]["nbf"].get_int64().value(), 120);
    nonces.insert(std::string(v["header"]["nonce"].get_string().value()));
  }
  EXPECT_EQ(nonces.size(), 3u);
  simdjson::dom::object refused = parser_.parse(verdicts[3]).get_object().value();
  EXPECT_FALSE(refused["ok"].get_bool().value()) << verdicts[3];
}

// An Ed25519 key (the CDP portal's default) signs EdDSA tokens (RFC 8037):
// the same claims, "alg":"EdDSA", Ed25519's 64-byte signature.
TEST_F(CoinbaseJwt, AnEd25519KeySignsEdDsaTokensItsPublicKeyVerifiesOpenSslAndNodeAlike) {
  const auto ed25519 = testing::generate_key("ED25519");
  const auto path = testing::write_key_file(dir_ / "ed25519.json",
                                            testing::ed25519_key_json("5b9d-id", testing::ed25519_base64(ed25519.get())));
  auto signer = JwtSigner::load(path);
  ASSERT_TRUE(signer.ok()) << signer.status();
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
  auto token = signer->sign(now);
  ASSERT_TRUE(token.ok()) << token.status();
  const Token t = split(*token);
  simdjson::dom::object header = parser_.parse(t.header).get_object().value();
  EXPECT_EQ(keys_of(header), (std::vector<std::string>{"alg", "kid", "nonce", "typ"})) << t.header;
  EXPECT_EQ(std::string_view(header["alg"].get_string().value()), "EdDSA");
  EXPECT_EQ(std::string_view(header["kid"].get_string().value()), "5b9d-id");
  simdjson::dom::object payload = parser_.parse(t.payload).get_object().value();
  EXPECT_EQ(keys_of(payload), (std::vector<std::string>{"iss", "nbf", "exp", "sub"})) << t.payload;
  EXPECT_EQ(std::string_view(payload["sub"].get_string().value()), "5b9d-id");
  EXPECT_EQ(payload["exp"].get_uint64().value(), 1'790'000'120u);

  expect_signature_holds(verifies_eddsa, ed25519.get(), testing::generate_key("ED25519").get(), t);

  if (testing::find_on_path("node").empty()) GTEST_SKIP() << "node is not on PATH";
  std::ofstream(dir_ / "ed25519.pem") << testing::public_key_pem(ed25519.get());
  const auto run = [&](const std::filesystem::path& public_key, const std::vector<std::string>& tokens) {
    std::vector<std::string> argv{testing::find_on_path("node"), script(), "verify", "--public-key",
                                  public_key.string()};
    argv.insert(argv.end(), tokens.begin(), tokens.end());
    const auto result = testing::run_command(argv);
    EXPECT_EQ(result.exit_code, 0) << result.out;
    return testing::lines_of(result.out);
  };
  const auto verdicts = run(dir_ / "ed25519.pem", {*token, signer->sign().value()});
  ASSERT_EQ(verdicts.size(), 2u);
  for (const auto& verdict : verdicts) {
    EXPECT_TRUE(parser_.parse(verdict).get_object()["ok"].get_bool().value()) << verdict;
  }
  // The peer holds alg to the key: an EdDSA token is refused by a P-256 key.
  const auto refused = run(dir_ / "public.pem", {*token});
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_FALSE(parser_.parse(refused[0]).get_object()["ok"].get_bool().value()) << refused[0];
}

TEST_F(CoinbaseJwt, TheControlProtocolSignsEverySubscribeAndUnsubscribeWhenTheFeedHasAKey) {
  const connector::VenueAdapter* venue = connector::find_venue("coinbase");
  ASSERT_NE(venue, nullptr);
  config::FeedConfig feed;
  feed.exchange = "coinbase";
  auto unsigned_control = venue->make_control_for(feed);
  ASSERT_TRUE(unsigned_control.ok()) << unsigned_control.status();
  const std::vector<std::string> streams{venue->stream_name("BTC-USD", "level2")};
  EXPECT_EQ((*unsigned_control)->subscribe_message(streams, 1),
            R"({"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"})");

  feed.key_file = key_file_.string();
  auto control = venue->make_control_for(feed);
  ASSERT_TRUE(control.ok()) << control.status();
  std::set<std::string> tokens;
  for (const std::string& message :
       {(*control)->subscribe_message(streams, 1), (*control)->unsubscribe_message(streams, 2),
        (*control)->subscribe_message(streams, 3)}) {
    simdjson::dom::object o = parser_.parse(message).get_object().value();
    EXPECT_EQ(keys_of(o), (std::vector<std::string>{"type", "product_ids", "channel", "jwt"})) << message;
    EXPECT_EQ(std::string_view(o["channel"].get_string().value()), "level2");
    const std::string jwt(o["jwt"].get_string().value());
    const Token t = split(jwt);
    EXPECT_TRUE(verifies(key_.get(), t.signing_input, t.signature)) << message;
    tokens.insert(jwt);
  }
  EXPECT_EQ(tokens.size(), 3u) << "a new token for every message";

  feed.key_file = (dir_ / "absent.json").string();
  auto missing = venue->make_control_for(feed);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("absent.json: cannot read the CDP key file"), std::string::npos)
      << missing.status();
}

TEST_F(CoinbaseJwt, EverySubscribeTickwireRunSendsCarriesAFreshTokenNodeVerifies) {
  if (const std::string missing = testing::node_ws_missing(); !missing.empty()) {
    GTEST_SKIP() << "Node's ws server cannot run: " << missing;
  }
  testing::Subprocess server({testing::find_on_path("node"), script(), "serve", "--public-key",
                              (dir_ / "public.pem").string()},
                             (dir_ / "server.log").string());
  const std::string port = server.read_line().value_or("");
  ASSERT_FALSE(port.empty()) << testing::read_text(dir_ / "server.log");
  std::ofstream(dir_ / "cb.toml") << "env = \"test\"\n[[feeds]]\nname = \"cb\"\nexchange = \"coinbase\"\n"
                                  << "url = \"ws://127.0.0.1:" << port << "/\"\nsymbols = [\"BTC-USD\"]\n"
                                  << "channels = [\"market_trades\", \"ticker\"]\nkey_file = \"cdp_api_key.json\"\n"
                                  << "[journal]\ndir = \"" << (dir_ / "data").string() << "\"\nfsync = \"none\"\n"
                                  << "ring_bytes = \"1MiB\"\nsegment_bytes = \"4MiB\"\n[metrics]\nlisten = \"\"\n";
  const auto log_path = dir_ / "connector.log";
  testing::Subprocess connector({TICKWIRE_BINARY, "run", "-c", (dir_ / "cb.toml").string(), "--no-status"},
                                log_path.string());
  // heartbeats (on every connection), then one message per (channel, product).
  const std::vector<std::string> expected{"heartbeats", "market_trades", "ticker"};
  std::set<std::string> nonces;
  for (const std::string& channel : expected) {
    const auto line = server.read_line();
    ASSERT_TRUE(line.has_value()) << "no subscribe for " << channel << "; connector log:\n"
                                  << testing::read_text(log_path);
    simdjson::dom::object e = parser_.parse(*line).get_object().value();
    EXPECT_EQ(std::string_view(e["type"].get_string().value()), "subscribe") << *line;
    EXPECT_EQ(std::string_view(e["channel"].get_string().value()), channel) << *line;
    simdjson::dom::object verdict;
    ASSERT_EQ(e["jwt"].get_object().get(verdict), simdjson::SUCCESS) << "no jwt: " << *line;
    EXPECT_TRUE(verdict["ok"].get_bool().value()) << *line;
    EXPECT_EQ(std::string_view(verdict["header"]["kid"].get_string().value()), kKeyName);
    EXPECT_EQ(std::string_view(verdict["payload"]["iss"].get_string().value()), "cdp");
    nonces.insert(std::string(verdict["header"]["nonce"].get_string().value()));
  }
  EXPECT_EQ(nonces.size(), expected.size());
  connector.kill(SIGTERM);
  const auto status = connector.wait(std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value());
  const std::string log = testing::read_text(log_path);
  EXPECT_EQ(log.find("BEGIN EC PRIVATE KEY"), std::string::npos) << "the private key was logged";
  EXPECT_EQ(log.find("without a JWT"), std::string::npos) << log;
}

}  // namespace
}  // namespace tickwire
