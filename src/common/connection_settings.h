// How a request reaches its server: the timeouts and TLS settings an
// endpoint gives its deliveries and its OAuth2 token requests alike.
#pragma once

#include <chrono>
#include <string>

namespace herald {

struct ConnectionSettings {
  std::chrono::milliseconds timeout{30'000};  // the whole transfer
  std::chrono::milliseconds connect_timeout{10'000};
  bool tls_verify = true;   // false: neither the server's certificate nor its name is checked
  std::string ca_file;      // PEM certificates to trust instead of the system's
  std::string client_cert;  // mutual TLS: a PEM certificate ...
  std::string client_key;   // ... and its private key
};

}  // namespace herald
