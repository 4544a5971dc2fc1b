// OAuth2 client-credentials tokens for endpoints with auth.type = "oauth2" (RFC 6749 section 4.4).
// One cache per daemon: a token is reused until shortly before it expires, at most one token
// request is in flight per credential set, and callers queue behind it. Requests go through the
// daemon's HttpClient, so they never block the event loop.
//
// Threading: like HttpClient, use on the io thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "net/http_client.h"

namespace herald::net {

struct OAuth2Credentials {
  std::string token_url;
  std::string client_id;
  std::string client_secret;
  std::string scopes;                 // space-separated, may be empty
  std::string client_auth = "basic";  // basic: HTTP basic; post: client_id/client_secret form fields
  // Transport settings for the token endpoint (usually the endpoint's own).
  ConnectionSettings connection;
};

class OAuth2Tokens {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit OAuth2Tokens(HttpClient& http, Clock clock = std::chrono::steady_clock::now);

  using Callback = std::function<void(Result<std::string> access_token)>;
  // Calls `done` with a valid token: at once (before returning) when one is cached, else once the
  // token request in flight for these credentials completes. Errors are transient.
  void get(const OAuth2Credentials& credentials, Callback done);
  // The server refused `token` (HTTP 401): the next get() asks for a new one, unless another caller
  // already replaced it.
  void invalidate(const OAuth2Credentials& credentials, const std::string& token);

  // Token requests sent so far (for tests and metrics).
  uint64_t requests_sent() const { return requests_sent_; }

 private:
  struct Entry {
    std::string token;
    std::chrono::steady_clock::time_point refresh_at{};
    bool fetching = false;
    std::vector<Callback> waiting;
  };
  static std::string key_of(const OAuth2Credentials& c);
  void fetch(const std::string& key, const OAuth2Credentials& credentials);

  HttpClient& http_;
  Clock clock_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  uint64_t requests_sent_ = 0;
};

// Parses a token endpoint's answer; exposed for tests. `lifetime` gets expires_in (default one hour
// when the server omits it).
Result<std::string> parse_token_response(const HttpResponse& response, std::chrono::seconds& lifetime);

}  // namespace herald::net
