#include "net/http_client.h"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "net/curl_multi.h"

namespace herald::net {

namespace {

// Idle easy handles kept for reuse; connections themselves live in the multi handle's cache. As many
// as the default max_in_flight: with 16, a burst of completions at 64 in flight let handles go that
// the next sends made again, curl_easy_init and every option, for one request in eight.
constexpr size_t kMaxIdleHandles = 64;

// Whether the environment names a proxy, or hosts to reach without one, for a protocol heraldd speaks.
// curl looks these up at every request (a scan of the environment each), and the environment does not
// change while heraldd runs.
bool proxy_in_environment() {
  for (const char* name :
       {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "smtp_proxy", "SMTP_PROXY", "smtps_proxy",
        "SMTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

// The body size from which curl asks for "100 Continue" by itself, then waits
// up to a second for it: 1 MiB since curl 7.69, 1 KiB before. An empty
// "Expect:" line turns that off; below the size it would be one more line
// for curl to check at every request.
size_t curl_expect_threshold() {
  static const size_t threshold =
      curl_version_info(CURLVERSION_NOW)->version_num >= 0x074500 ? size_t{1024 * 1024} : size_t{1024};
  return threshold;
}

// RFC 9110 tchar, one lookup per character (the set is searched for every
// header name of every request).
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool is_token(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return kTokenChars[static_cast<unsigned char>(c)]; });
}

// Two memchr passes: find_first_of searched a set of two per character.
bool has_line_break(std::string_view s) {
  return std::memchr(s.data(), '\r', s.size()) != nullptr || std::memchr(s.data(), '\n', s.size()) != nullptr;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Header injection guard: curl would put a CR/LF-bearing value on the wire as extra header lines.
std::string validate(const HttpRequest& request) {
  if (request.is_mail()) {
    // CR/LF in an envelope address would let it smuggle SMTP commands.
    if (request.mail_from.empty() || request.mail_recipients.empty())
      return "mail without sender or recipients";
    if (has_line_break(request.mail_from)) return "mail sender contains CR or LF";
    for (const auto& rcpt : request.mail_recipients) {
      if (has_line_break(rcpt)) return "mail recipient contains CR or LF";
    }
    return {};
  }
  if (!is_token(request.method)) return "invalid HTTP method";
  for (const auto& [name, value] : request.headers) {
    if (has_line_break(name)) return "header name contains CR or LF";
    if (!is_token(name)) return "invalid header name '" + name + "'";
    if (has_line_break(value)) return "value of header '" + name + "' contains CR or LF";
    if (value.find('\0') != std::string::npos) return "value of header '" + name + "' contains NUL";
  }
  return {};
}

bool has_header(const HttpRequest& request, std::string_view name) {
  return std::any_of(request.headers.begin(), request.headers.end(),
                     [&](const auto& header) { return iequals(header.first, name); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// What a request sets once on an easy handle: every option except those that point into the request
// (see Transfer::configure). Empty for mail, whose handles are always reset.
std::string profile_of(const HttpRequest& r) {
  if (r.is_mail()) return {};
  std::string p;
  p.reserve(64 + r.method.size() + r.connection.ca_file.size() + r.connection.client_cert.size() +
            r.connection.client_key.size());
  // NUL-separated: none of these may contain one (curl takes them as C strings).
  for (const std::string* field :
       {&r.method, &r.connection.ca_file, &r.connection.client_cert, &r.connection.client_key}) {
    p += *field;
    p += '\0';
  }
  p += r.connection.tls_verify ? '1' : '0';
  p += r.body.empty() ? '0' : '1';
  p += std::to_string(r.connection.timeout.count());
  p += '\0';
  p += std::to_string(r.connection.connect_timeout.count());
  if (r.basic_auth) {
    p += '\0';
    p += r.basic_auth->first;
    p += '\0';
    p += r.basic_auth->second;
  }
  return p;
}

}  // namespace

struct HttpClient::EasyPool {
  struct Idle {
    CurlEasy easy;
    std::string profile;  // what the handle is configured for
  };
  std::vector<Idle> idle;

  // A handle last used with the same profile keeps its options (`configured`); another one is reset.
  CurlEasy acquire(const std::string& profile, bool& configured) {
    configured = false;
    if (idle.empty()) return CurlEasy(curl_easy_init());
    auto match = idle.end();
    if (!profile.empty()) {
      // The handle released last is the likeliest match: one endpoint's requests follow each other.
      match =
          idle.back().profile == profile
              ? idle.end() - 1
              : std::find_if(idle.begin(), idle.end(), [&](const Idle& i) { return i.profile == profile; });
    }
    if (match == idle.end()) match = idle.end() - 1;
    CurlEasy easy = std::move(match->easy);
    configured = !profile.empty() && match->profile == profile;
    idle.erase(match);
    if (!configured) curl_easy_reset(easy.get());
    return easy;
  }

  void release(CurlEasy easy, std::string profile) {
    if (!easy) return;
    if (profile.empty()) {
      // Reset now, not on reuse: the handle must not keep pointers into a freed Transfer.
      curl_easy_reset(easy.get());
    } else {
      // Kept configured; what points into the finished transfer is set again before the next one.
      // Meanwhile the buffers curl could write to and the header list it could read go; the body
      // pointer stays (curl reads it only during a transfer, and unsetting it would turn the handle
      // into a POST).
      curl_easy_setopt(easy.get(), CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
      curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
      curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, static_cast<void*>(nullptr));
      curl_easy_setopt(easy.get(), CURLOPT_HEADERDATA, static_cast<void*>(nullptr));
    }
    if (idle.size() < kMaxIdleHandles) idle.push_back({std::move(easy), std::move(profile)});
  }
};

struct HttpClient::Transfer {
  HttpRequest request;
  Callback done;
  std::chrono::steady_clock::time_point started;
  // The header lines, each ended by '\0', and the list curl reads built on
  // them: two allocations per request where curl_slist_append makes two per
  // line. curl only reads the list, and only during the transfer.
  std::string header_text;
  std::vector<curl_slist> header_list;
  curl_slist* recipient_list = nullptr;
  size_t upload_offset = 0;  // how much of a mail body curl has read
  char error_buffer[CURL_ERROR_SIZE] = {};
  HttpResponse response;
  bool last_header_kept = false;  // whether a folded continuation line belongs to a kept header

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() { curl_slist_free_all(recipient_list); }

  std::string error_text(CURLcode code) const {
    return error_buffer[0] != '\0' ? std::string(error_buffer) : std::string(curl_easy_strerror(code));
  }

  static size_t on_body(char* data, size_t size, size_t count, void* userp) {
    auto* self = static_cast<Transfer*>(userp);
    const size_t length = size * count;
    std::string& body = self->response.body;
    const size_t limit = self->request.max_response_bytes;
    const size_t keep = body.size() < limit ? std::min(length, limit - body.size()) : 0;
    try {
      body.append(data, keep);
    } catch (...) {
      return 0;  // CURLE_WRITE_ERROR; exceptions must not cross curl
    }
    // Keep draining the rest so the connection stays usable for keep-alive.
    if (keep < length) self->response.truncated = true;
    return length;
  }

  bool wants_header(std::string_view name) const {
    if (!request.response_headers) return true;
    const auto& wanted = *request.response_headers;
    return std::any_of(wanted.begin(), wanted.end(), [&](const std::string& w) {
      return w.size() == name.size() && strncasecmp(w.data(), name.data(), name.size()) == 0;
    });
  }

  static size_t on_header(char* data, size_t size, size_t count, void* userp) {
    auto* self = static_cast<Transfer*>(userp);
    const size_t length = size * count;
    std::string_view line(data, length);
    auto& headers = self->response.headers;
    try {
      if (line.starts_with("HTTP/")) {
        headers.clear();  // a new response begins (after 100 Continue, say): keep only the last
        self->last_header_kept = false;
      } else if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
        if (self->last_header_kept) {  // obsolete line folding
          headers.back().second += ' ';
          headers.back().second += trim(line);
        }
      } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
        const std::string_view name = line.substr(0, colon);
        self->last_header_kept = self->wants_header(name);
        if (self->last_header_kept)
          headers.emplace_back(std::string(name), std::string(trim(line.substr(colon + 1))));
      } else {
        self->last_header_kept = false;
      }
    } catch (...) {
      return 0;
    }
    return length;
  }

  static size_t on_read(char* buffer, size_t size, size_t count, void* userp) {
    auto* self = static_cast<Transfer*>(userp);
    const std::string& body = self->request.body;
    size_t n = std::min(size * count, body.size() - self->upload_offset);
    std::memcpy(buffer, body.data() + self->upload_offset, n);
    self->upload_offset += n;
    return n;
  }

  // curl hands every SMTP reply line to the header callback. The last one is the server's word on
  // the message ("250 2.0.0 Ok: queued as ...", or why it refused it), unless it is the answer to
  // QUIT when curl closes the connection after a failure.
  static size_t on_mail_reply(char* data, size_t size, size_t count, void* userp) {
    auto* self = static_cast<Transfer*>(userp);
    const size_t length = size * count;
    std::string_view line = trim(std::string_view(data, length));
    if (line.starts_with("221")) return length;
    try {
      self->response.body.assign(line.substr(0, self->request.max_response_bytes));
    } catch (...) {
      return 0;
    }
    return length;
  }

  CURLcode configure_mail(CURL* easy) {
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value);
    };
    const HttpRequest& r = request;
    set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    set(CURLOPT_MAIL_FROM, ("<" + r.mail_from + ">").c_str());
    for (const auto& rcpt : r.mail_recipients) {
      curl_slist* appended = curl_slist_append(recipient_list, ("<" + rcpt + ">").c_str());
      if (appended == nullptr) return CURLE_OUT_OF_MEMORY;
      recipient_list = appended;
    }
    set(CURLOPT_MAIL_RCPT, recipient_list);
    set(CURLOPT_UPLOAD, 1L);
    set(CURLOPT_READFUNCTION, &Transfer::on_read);
    set(CURLOPT_READDATA, static_cast<void*>(this));
    set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    set(CURLOPT_HEADERFUNCTION, &Transfer::on_mail_reply);
    set(CURLOPT_HEADERDATA, static_cast<void*>(this));
    if (r.require_tls) set(CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (r.basic_auth) {
      set(CURLOPT_USERNAME, r.basic_auth->first.c_str());
      set(CURLOPT_PASSWORD, r.basic_auth->second.c_str());
    }
    return rc;
  }

  // Sets every option of the request, or, on a handle already configured for its profile, only
  // those that point into this transfer.
  CURLcode configure(CURL* easy, bool configured, bool proxy_from_environment) {
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value);
    };
    const HttpRequest& r = request;
    set(CURLOPT_ERRORBUFFER, error_buffer);
    if (!configured) {
      set(CURLOPT_NOSIGNAL, 1L);  // signals are process-wide; timeouts come from the multi loop anyway
      set(CURLOPT_TIMEOUT_MS, static_cast<long>(r.connection.timeout.count()));
      set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connection.connect_timeout.count()));
      set(CURLOPT_SSL_VERIFYPEER, r.connection.tls_verify ? 1L : 0L);
      set(CURLOPT_SSL_VERIFYHOST, r.connection.tls_verify ? 2L : 0L);
      if (!r.connection.ca_file.empty()) set(CURLOPT_CAINFO, r.connection.ca_file.c_str());
      if (!r.connection.client_cert.empty()) set(CURLOPT_SSLCERT, r.connection.client_cert.c_str());
      if (!r.connection.client_key.empty()) set(CURLOPT_SSLKEY, r.connection.client_key.c_str());
      if (!proxy_from_environment) {
        // No proxy, said once: curl then skips its lookups in the environment.
        set(CURLOPT_PROXY, "");
        set(CURLOPT_NOPROXY, "");
      }
    }
    set(CURLOPT_URL, r.url.c_str());
    if (rc != CURLE_OK) return rc;
    if (r.is_mail()) return configure_mail(easy);

    bool send_body = !r.body.empty();
    if (r.method == "HEAD") send_body = false;
    if (r.method == "POST" || r.method == "PUT" || r.method == "PATCH") send_body = true;
    if (!configured) {
      set(CURLOPT_PROTOCOLS_STR, "http,https");
      set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
      set(CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is an answer for the caller to judge
      set(CURLOPT_WRITEFUNCTION, &Transfer::on_body);
      set(CURLOPT_HEADERFUNCTION, &Transfer::on_header);
      if (r.basic_auth) {
        set(CURLOPT_HTTPAUTH, static_cast<unsigned long>(CURLAUTH_BASIC));
        set(CURLOPT_USERNAME, r.basic_auth->first.c_str());
        set(CURLOPT_PASSWORD, r.basic_auth->second.c_str());
      }
      if (r.method == "GET" && r.body.empty()) {
        set(CURLOPT_HTTPGET, 1L);
      } else if (r.method == "HEAD") {
        set(CURLOPT_NOBODY, 1L);  // as a custom request curl would wait for a body that never comes
      } else if (r.method != "POST") {
        set(CURLOPT_CUSTOMREQUEST, r.method.c_str());
      }
    }
    set(CURLOPT_WRITEDATA, static_cast<void*>(this));
    set(CURLOPT_HEADERDATA, static_cast<void*>(this));
    if (send_body) {
      // POSTFIELDS is not copied by curl; `request` outlives the transfer.
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      set(CURLOPT_POSTFIELDS, r.body.data());
    }

    // Sized first: the list points into the text, which must not move.
    size_t bytes = sizeof "Content-Type:" + sizeof "Expect:";
    for (const auto& [name, value] : r.headers) bytes += name.size() + value.size() + 3;
    header_text.reserve(bytes);
    header_list.reserve(r.headers.size() + 2);
    for (const auto& [name, value] : r.headers) {
      // "Name:" would make curl drop the header; "Name;" is curl's spelling of an empty value.
      add_header_line(name, value.empty() ? ";" : ": ", value);
    }
    // No silent application/x-www-form-urlencoded for bodies the caller did not label.
    if (send_body && !has_header(r, "Content-Type")) add_header_line("Content-Type:");
    if (send_body && r.body.size() >= curl_expect_threshold() && !has_header(r, "Expect")) {
      add_header_line("Expect:");
    }
    set(CURLOPT_HTTPHEADER, header_list.empty() ? nullptr : header_list.data());
    return rc;
  }

  void add_header_line(std::string_view name, std::string_view separator = {}, std::string_view value = {}) {
    char* line = header_text.data() + header_text.size();
    header_text.append(name).append(separator).append(value) += '\0';
    if (!header_list.empty()) header_list.back().next = &header_list.back() + 1;
    header_list.push_back({line, nullptr});
  }
};

HttpClient::HttpClient(boost::asio::io_context& io)
    : io_(io),
      proxy_from_environment_(proxy_in_environment()),
      pool_(std::make_unique<EasyPool>()),
      life_(std::make_shared<char>(0)),
      driver_(std::make_unique<CurlMultiDriver>(io)) {}

HttpClient::~HttpClient() {
  life_.reset();
  // Drops unfinished transfers together with their callbacks, which are not called.
  driver_.reset();
}

void HttpClient::send(HttpRequest request, Callback done) {
  auto transfer = std::make_shared<Transfer>();
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  transfer->started = std::chrono::steady_clock::now();
  ++in_flight_;

  if (std::string problem = validate(transfer->request); !problem.empty()) {
    fail_later(std::move(transfer), CURLE_BAD_FUNCTION_ARGUMENT, std::move(problem));
    return;
  }
  std::string profile = profile_of(transfer->request);
  bool configured = false;
  CurlEasy easy = pool_->acquire(profile, configured);
  if (!easy) {
    fail_later(std::move(transfer), CURLE_FAILED_INIT, "curl_easy_init failed");
    return;
  }
  if (CURLcode rc = transfer->configure(easy.get(), configured, proxy_from_environment_); rc != CURLE_OK) {
    pool_->release(std::move(easy), {});
    std::string error = transfer->error_text(rc);
    fail_later(std::move(transfer), rc, std::move(error));
    return;
  }
  driver_->add(std::move(easy),
               [this, transfer, profile = std::move(profile)](CurlEasy easy, CURLcode result) mutable {
                 HttpResponse response = std::move(transfer->response);
                 response.transport_error = result;
                 if (result != CURLE_OK) response.error = transfer->error_text(result);
                 if (easy) curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &response.status);
                 pool_->release(std::move(easy), std::move(profile));
                 finish(transfer, std::move(response));
               });
}

void HttpClient::fail_later(std::shared_ptr<Transfer> transfer, int code, std::string error) {
  boost::asio::post(io_, [this, alive = std::weak_ptr<char>(life_), transfer = std::move(transfer), code,
                          error = std::move(error)]() mutable {
    if (alive.expired()) return;
    HttpResponse response;
    response.transport_error = code;
    response.error = std::move(error);
    finish(transfer, std::move(response));
  });
}

void HttpClient::finish(const std::shared_ptr<Transfer>& transfer, HttpResponse response) {
  response.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                           transfer->started);
  Callback done = std::move(transfer->done);
  --in_flight_;
  // Last statement: the callback may send() again or destroy this client.
  if (done) done(std::move(response));
}

const char* transport_error_class(int curl_code) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_OK:
      return "";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "dns";
    case CURLE_COULDNT_CONNECT:
      return "connect";
    case CURLE_OPERATION_TIMEDOUT:
      return "timeout";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_USE_SSL_FAILED:
      return "tls";
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
      return "auth";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return "protocol";
    default:
      return "other";
  }
}

const char* transport_error_class(const HttpResponse& response) {
  const auto code = static_cast<CURLcode>(response.transport_error);
  // OpenSSL names received alerts "tlsv13 alert certificate required", "sslv3 alert bad certificate"...
  if ((code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR) &&
      response.error.find(" alert ") != std::string::npos) {
    return "tls";
  }
  // Bytes that are not an HTTP status line look like HTTP/0.9 to curl, which it refuses with the
  // same code as an unknown URL scheme: the server answered garbage.
  if (code == CURLE_UNSUPPORTED_PROTOCOL && response.error.find("HTTP/0.9") != std::string::npos) {
    return "protocol";
  }
  return transport_error_class(response.transport_error);
}

std::optional<std::chrono::seconds> retry_after(const HttpResponse& response,
                                                std::chrono::system_clock::time_point now) {
  for (const auto& [name, value] : response.headers) {
    if (strcasecmp(name.c_str(), "Retry-After") != 0) continue;
    std::string_view v = value;
    if (!v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (v.size() > 9) return std::chrono::seconds(999'999'999);
      return std::chrono::seconds(std::stoll(std::string(v)));
    }
    // An HTTP date; curl parses the formats RFC 9110 allows.
    time_t at = curl_getdate(value.c_str(), nullptr);
    if (at < 0) return std::nullopt;
    auto delta = std::chrono::system_clock::from_time_t(at) - now;
    return std::chrono::duration_cast<std::chrono::seconds>(std::max(delta, decltype(delta)::zero()));
  }
  return std::nullopt;
}

}  // namespace herald::net
