#include "support/tls_certs.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "support/test_env.h"

namespace herald::test {

namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("tls_certs: ") + what + " failed");
}

// P-256: quick to generate, accepted by every TLS 1.2/1.3 peer.
Key new_key() {
  Key key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  check(key != nullptr, "EC key generation");
  return key;
}

struct Issuer {
  X509* cert;     // nullptr: self-signed
  EVP_PKEY* key;  // signs; the subject's own key when self-signed
};

Cert new_cert(const char* common_name, EVP_PKEY* key, Issuer issuer,
              const std::vector<std::pair<int, const char*>>& extensions) {
  static long serial = 0;  // distinct per certificate within a process; each process has new keys
  Cert cert(X509_new(), &X509_free);
  check(cert != nullptr, "X509_new");
  X509* x = cert.get();
  check(X509_set_version(x, 2) == 1, "X509_set_version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial) == 1, "serial");
  // An hour of slack either side of now absorbs clock differences between processes.
  check(X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(x), 7L * 24 * 3600) != nullptr, "notAfter");
  check(X509_set_pubkey(x, key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x);
  auto add = [&](const char* field, const char* value) {
    check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC, reinterpret_cast<const unsigned char*>(value),
                                     -1, -1, 0) == 1,
          "subject name");
  };
  add("O", "Herald tests");
  add("CN", common_name);
  check(X509_set_issuer_name(x, issuer.cert != nullptr ? X509_get_subject_name(issuer.cert) : name) == 1,
        "issuer name");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer.cert != nullptr ? issuer.cert : x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, value);
    const int added = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    check(added == 1, "X509_add_ext");
  }
  check(X509_sign(x, issuer.key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

Cert new_ca(const char* common_name, EVP_PKEY* key) {
  return new_cert(common_name, key, {nullptr, key},
                  {{NID_basic_constraints, "critical,CA:TRUE"},
                   {NID_key_usage, "critical,keyCertSign,cRLSign"},
                   {NID_subject_key_identifier, "hash"}});
}

Cert new_leaf(const char* common_name, EVP_PKEY* key, Issuer issuer, const char* extended_usage,
              const char* alt_names) {
  std::vector<std::pair<int, const char*>> extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                                                         {NID_key_usage, "critical,digitalSignature"},
                                                         {NID_ext_key_usage, extended_usage},
                                                         {NID_subject_key_identifier, "hash"}};
  if (issuer.cert != nullptr) extensions.emplace_back(NID_authority_key_identifier, "keyid:always");
  if (alt_names != nullptr) extensions.emplace_back(NID_subject_alt_name, alt_names);
  return new_cert(common_name, key, issuer, extensions);
}

void write_pem(const std::string& path, X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "w"), &BIO_free);
  check(bio != nullptr && PEM_write_bio_X509(bio.get(), cert) == 1, "writing a certificate");
}

void write_pem(const std::string& path, EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "w"), &BIO_free);
  check(
      bio != nullptr && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
      "writing a key");
}

constexpr const char* kServerNames = "IP:127.0.0.1,DNS:localhost";

struct Generated {
  TempDir dir;
  TlsFiles files;

  Generated() {
    files.ca_cert = dir.file("ca.pem");
    files.server_cert = dir.file("server.pem");
    files.server_key = dir.file("server.key");
    files.self_signed_cert = dir.file("self-signed.pem");
    files.self_signed_key = dir.file("self-signed.key");
    files.client_ca_cert = dir.file("client-ca.pem");
    files.client_cert = dir.file("client.pem");
    files.client_key = dir.file("client.key");

    Key ca_key = new_key();
    Cert ca = new_ca("Herald test CA", ca_key.get());
    Key server_key = new_key();
    Cert server =
        new_leaf("127.0.0.1", server_key.get(), {ca.get(), ca_key.get()}, "serverAuth", kServerNames);
    Key self_key = new_key();
    Cert self =
        new_leaf("herald self-signed", self_key.get(), {nullptr, self_key.get()}, "serverAuth", kServerNames);
    Key client_ca_key = new_key();
    Cert client_ca = new_ca("Herald test client CA", client_ca_key.get());
    Key client_key = new_key();
    Cert client = new_leaf(kTlsClientCommonName, client_key.get(), {client_ca.get(), client_ca_key.get()},
                           "clientAuth", nullptr);

    write_pem(files.ca_cert, ca.get());
    write_pem(files.server_cert, server.get());
    write_pem(files.server_key, server_key.get());
    write_pem(files.self_signed_cert, self.get());
    write_pem(files.self_signed_key, self_key.get());
    write_pem(files.client_ca_cert, client_ca.get());
    write_pem(files.client_cert, client.get());
    write_pem(files.client_key, client_key.get());
  }
};

}  // namespace

const TlsFiles& tls_files() {
  static const Generated generated;
  return generated.files;
}

}  // namespace herald::test
