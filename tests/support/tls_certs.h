// Test certificates, made with the OpenSSL C API at test time (nothing checked in that could expire):
// a CA and a server certificate it signed, a self-signed server certificate, and a client CA with a
// client certificate it signed. Server certificates name IP:127.0.0.1 and DNS:localhost.
#pragma once

#include <string>

namespace herald::test {

// The client certificate's subject CN, which a mutual-TLS server reports.
inline constexpr const char* kTlsClientCommonName = "herald-test-client";

// Paths of PEM files.
struct TlsFiles {
  std::string ca_cert;  // trust anchor for server_cert
  std::string server_cert;
  std::string server_key;
  std::string self_signed_cert;  // trusted by nobody unless named as a CA file itself
  std::string self_signed_key;
  std::string client_ca_cert;  // the CA a mutual-TLS server requires
  std::string client_cert;
  std::string client_key;
};

// Generated once per test process (thread-safe) into a private folder removed at exit; throws
// std::runtime_error if OpenSSL fails.
const TlsFiles& tls_files();

}  // namespace herald::test
