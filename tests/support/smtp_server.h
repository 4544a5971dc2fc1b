// A real SMTP server for tests: tests/support/smtp_server.py (aiosmtpd) run
// by /usr/bin/python3 on 127.0.0.1, stopped in the destructor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_env.h"

namespace herald::test {

struct SmtpServerOptions {
  bool starttls = false;            // offer STARTTLS with a fresh self-signed certificate for 127.0.0.1
  bool require_starttls = false;    // refuse MAIL before STARTTLS
  bool implicit_tls = false;        // TLS from the first byte (smtps://)
  std::string user, password;       // when set, AUTH PLAIN/LOGIN is required (after TLS)
  std::vector<std::string> reject;  // recipients answered with 550
};

// Parses a raw RFC 5322 message with Python's email package (an independent
// reader): {"subject", "headers": {name: decoded value}, "header_names": [..],
// "body" (decoded text, LF line ends), "from", "to"}.
nlohmann::json decode_mail(const std::string& raw);

class SmtpServer {
 public:
  // Starts the server and waits (bounded) until it listens; throws on failure.
  explicit SmtpServer(SmtpServerOptions options = {});
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  int port() const { return port_; }
  // The certificate to trust (an endpoint's ca_file); "" without TLS.
  const std::string& ca_file() const { return ca_file_; }

  // Every message received so far: {mail_from, rcpt_tos, data, user, tls,
  // subject, headers, body}, the last three decoded by Python's email package.
  std::vector<nlohmann::json> messages() const;
  // Waits until at least n messages arrived or the time is up.
  std::vector<nlohmann::json> wait_for(size_t n,
                                       std::chrono::milliseconds limit = std::chrono::seconds(15)) const;

 private:
  void stop();

  TempDir dir_;
  std::string ca_file_;
  std::string out_file_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int port_ = 0;
};

}  // namespace herald::test
