#include "support/test_ca.hpp"

#include <fstream>
#include <stdexcept>

#include "support/node_ws_server.hpp"
#include "support/subprocess.hpp"

namespace tickwire::testing {

namespace {

// openssl: runs `openssl args...` with stderr folded into the captured
// output, so a failure names openssl's own reason.
void openssl(std::vector<std::string> args) {
  const std::string binary = find_on_path("openssl");
  if (binary.empty()) throw std::runtime_error("openssl is not on PATH");
  std::vector<std::string> argv{"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", binary};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string command = "openssl";
  for (const auto& a : args) command += " " + a;
  const CommandResult r = run_command(std::move(argv));
  if (r.exit_code != 0) {
    throw std::runtime_error(command + ": exit " + std::to_string(r.exit_code) + ":\n" + r.out);
  }
}

}  // namespace

std::string openssl_missing() { return find_on_path("openssl").empty() ? "openssl is not on PATH" : ""; }

TestCa::TestCa(std::filesystem::path dir)
    : dir_(std::move(dir)), cert_(dir_ / "ca.pem"), key_(dir_ / "ca.key") {
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
           key_.string(), "-out", cert_.string(), "-days", "2", "-subj", "/CN=tickwire test CA", "-addext",
           "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
}

TestCa::Issued TestCa::issue(const std::string& name, const std::vector<std::string>& sans) const {
  const Issued out{dir_ / (name + ".pem"), dir_ / (name + ".key")};
  const auto csr = dir_ / (name + ".csr");
  const auto ext = dir_ / (name + ".ext");
  std::string san;
  for (const auto& s : sans) san += (san.empty() ? "" : ",") + s;
  std::ofstream(ext) << "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                     << "extendedKeyUsage=serverAuth\nsubjectAltName=" << san << "\n";
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
           out.key.string(), "-out", csr.string(), "-subj", "/CN=" + name});
  openssl({"x509", "-req", "-in", csr.string(), "-CA", cert_.string(), "-CAkey", key_.string(), "-CAcreateserial",
           "-out", out.cert.string(), "-days", "2", "-extfile", ext.string()});
  return out;
}

}  // namespace tickwire::testing
