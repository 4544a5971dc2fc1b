#include "net/oauth2_tokens.h"

#include <curl/curl.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

namespace herald::net {

namespace {

std::string form_encode(const std::string& value) {
  char* escaped = curl_easy_escape(nullptr, value.data(), static_cast<int>(value.size()));
  if (!escaped) return {};
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

// Refresh this long before expiry so that a token never expires on the wire: a tenth of its
// lifetime, at most a minute.
std::chrono::seconds refresh_margin(std::chrono::seconds lifetime) {
  return std::min<std::chrono::seconds>(std::chrono::seconds(60), lifetime / 10);
}

}  // namespace

Result<std::string> parse_token_response(const HttpResponse& response, std::chrono::seconds& lifetime) {
  if (response.transport_error != 0) {
    return Error::temporary(std::string("token endpoint: ") +
                            transport_error_class(response.transport_error) + " error: " + response.error);
  }
  if (response.status < 200 || response.status >= 300) {
    // The error body (RFC 6749 5.2) names the problem, e.g. invalid_client; it carries no secret.
    auto j = nlohmann::json::parse(response.body, nullptr, false);
    std::string why = j.is_object() && j.contains("error") && j["error"].is_string()
                          ? ": " + j["error"].get<std::string>()
                          : "";
    return Error::temporary("token endpoint answered HTTP " + std::to_string(response.status) + why);
  }
  auto j = nlohmann::json::parse(response.body, nullptr, false);
  if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string() ||
      j["access_token"].get<std::string>().empty()) {
    return Error::temporary("token endpoint answered without an access_token");
  }
  std::string token = j["access_token"].get<std::string>();
  if (token.find_first_of("\r\n") != std::string::npos) {
    return Error::temporary("token endpoint answered an access_token with a line break");
  }
  if (j.contains("token_type") && j["token_type"].is_string()) {
    std::string type = j["token_type"].get<std::string>();
    std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
    if (type != "bearer")
      return Error::temporary("token endpoint issued a '" + type + "' token, not a bearer token");
  }
  lifetime = std::chrono::seconds(3600);
  if (j.contains("expires_in")) {
    const auto& e = j["expires_in"];
    // Some servers send the number as a string.
    long long seconds = e.is_number_integer() ? e.get<long long>()
                        : e.is_string()       ? std::atoll(e.get<std::string>().c_str())
                                              : 3600;
    lifetime = std::chrono::seconds(std::max<long long>(seconds, 0));
  }
  return token;
}

OAuth2Tokens::OAuth2Tokens(HttpClient& http, Clock clock) : http_(http), clock_(std::move(clock)) {}

std::string OAuth2Tokens::key_of(const OAuth2Credentials& c) {
  return c.token_url + '\n' + c.client_id + '\n' + c.client_secret + '\n' + c.scopes + '\n' + c.client_auth;
}

void OAuth2Tokens::get(const OAuth2Credentials& credentials, Callback done) {
  std::string key = key_of(credentials);
  auto& slot = entries_[key];
  if (!slot) slot = std::make_shared<Entry>();
  if (!slot->token.empty() && clock_() < slot->refresh_at) {
    done(slot->token);
    return;
  }
  slot->waiting.push_back(std::move(done));
  if (!slot->fetching) fetch(key, credentials);
}

void OAuth2Tokens::invalidate(const OAuth2Credentials& credentials, const std::string& token) {
  auto it = entries_.find(key_of(credentials));
  if (it != entries_.end() && it->second->token == token) it->second->token.clear();
}

void OAuth2Tokens::fetch(const std::string& key, const OAuth2Credentials& c) {
  std::shared_ptr<Entry> entry = entries_[key];
  entry->fetching = true;
  entry->token.clear();
  HttpRequest req;
  req.method = "POST";
  req.url = c.token_url;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = "grant_type=client_credentials";
  if (!c.scopes.empty()) req.body += "&scope=" + form_encode(c.scopes);
  if (c.client_auth == "post") {
    req.body += "&client_id=" + form_encode(c.client_id) + "&client_secret=" + form_encode(c.client_secret);
  } else {
    // RFC 6749 2.3.1: both parts are form-encoded before they go into the basic credentials.
    req.basic_auth.emplace(form_encode(c.client_id), form_encode(c.client_secret));
  }
  req.connection = c.connection;
  ++requests_sent_;
  std::string url = c.token_url;
  http_.send(std::move(req), [this, entry, url](HttpResponse response) {
    std::chrono::seconds lifetime{0};
    auto token = parse_token_response(response, lifetime);
    entry->fetching = false;
    if (token) {
      entry->token = token.value();
      entry->refresh_at = clock_() + lifetime - refresh_margin(lifetime);
      spdlog::debug("oauth2: new access token from {}, valid for {} s", url, lifetime.count());
    } else {
      spdlog::warn("oauth2: {}: {}", url, token.error().message);
    }
    // Callbacks may call get() again; they see the new state.
    auto waiting = std::move(entry->waiting);
    entry->waiting.clear();
    for (auto& cb : waiting) cb(token);
  });
}

}  // namespace herald::net
