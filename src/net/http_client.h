// Non-blocking HTTP and SMTP client: every request is a libcurl easy transfer on one shared multi
// handle, driven by the caller's boost::asio::io_context (see net/curl_multi.h). Connections are
// kept alive and reused across requests to the same host.
//
// Threading: not thread-safe. Construct, send and destroy on the thread that runs the io_context;
// callbacks run there too. in_flight() may be read from any thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/connection_settings.h"

namespace herald::net {

class CurlMultiDriver;

struct HttpRequest {
  // Any token verb, case-sensitive. POST/PUT/PATCH always send a body (Content-Length: 0 when empty),
  // HEAD never does, other verbs send `body` when it is not empty.
  std::string method = "POST";
  std::string url;  // http:// or https://; smtp:// or smtps:// for mail
  // Sent as given; an empty value is sent as an empty header. Names and values containing CR or LF
  // make the request fail with CURLE_BAD_FUNCTION_ARGUMENT. Without a Content-Type header a body is
  // sent without one (curl's form-urlencoded default is suppressed).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  ConnectionSettings connection;
  std::optional<std::pair<std::string, std::string>> basic_auth;  // user, password
  // Keep at most this many body bytes; the rest is read and discarded and `truncated` is set.
  size_t max_response_bytes = 65536;
  // The response headers to keep, by name (any case); null keeps them all. A caller that reads one
  // header spares a string pair for each of the others on every response. Shared: one list serves
  // every request.
  std::shared_ptr<const std::vector<std::string>> response_headers;

  // Mail: with an smtp(s):// url, `body` is the whole RFC 5322 message, sent to `mail_recipients`
  // from `mail_from`; basic_auth becomes SMTP AUTH; method and headers are ignored.
  std::string mail_from;
  std::vector<std::string> mail_recipients;
  bool require_tls = false;  // STARTTLS, failing when the server does not offer it

  bool is_mail() const { return url.rfind("smtp://", 0) == 0 || url.rfind("smtps://", 0) == 0; }
};

struct HttpResponse {
  long status = 0;          // HTTP status, or the last SMTP reply code; 0 when none
  int transport_error = 0;  // CURLcode, 0 = none
  std::string error;        // curl error buffer text when transport_error != 0
  std::string body;         // for mail: the server's last reply line
  bool truncated = false;
  std::vector<std::pair<std::string, std::string>> headers;  // of the last response, names as received
  std::chrono::microseconds elapsed{0};                      // from send() to completion
};

// What kind of failure a transport error is, for operators and metrics:
// "dns", "connect", "tls", "timeout", "protocol" (garbage or a reset), "other".
const char* transport_error_class(int curl_code);
// The same, refined by curl's error text: under TLS 1.3 a server refuses a client certificate (or its
// absence) only after the handshake, so its alert arrives as a receive error; that is "tls" too.
const char* transport_error_class(const HttpResponse& response);

// The delay a Retry-After header asks for (delta-seconds or an HTTP date),
// relative to now; nullopt when absent or unreadable.
std::optional<std::chrono::seconds> retry_after(const HttpResponse& response,
                                                std::chrono::system_clock::time_point now);

class HttpClient {
 public:
  explicit HttpClient(boost::asio::io_context& io);
  // Aborts in-flight transfers WITHOUT calling their callbacks; safe while waits are pending and from
  // inside a callback.
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  using Callback = std::function<void(HttpResponse)>;
  // Never blocks. `done` is always invoked later on the io thread (never inside send), exactly once,
  // unless the client is destroyed first. It may call send() again or destroy the client.
  void send(HttpRequest request, Callback done);
  // Requests sent whose callback has not run yet.
  size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  struct Transfer;

  void fail_later(std::shared_ptr<Transfer> transfer, int code, std::string error);
  void finish(const std::shared_ptr<Transfer>& transfer, HttpResponse response);

  boost::asio::io_context& io_;
  // The environment's proxy variables, read once: when none is set, requests say "no proxy" to curl.
  const bool proxy_from_environment_;
  std::atomic<size_t> in_flight_{0};
  struct EasyPool;
  std::unique_ptr<EasyPool> pool_;
  // Expires when the client dies; posted completions check it before touching `this`.
  std::shared_ptr<char> life_;
  // Last member: destroyed first, dropping unfinished transfers before the pool and the rest go.
  std::unique_ptr<CurlMultiDriver> driver_;
};

}  // namespace herald::net
