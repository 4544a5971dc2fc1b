#include "tools/http_sink.h"

#include <strings.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace herald::tools {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr uint64_t kMaxBodyBytes = 64ull * 1024 * 1024;
constexpr uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr std::string_view kGarbage = "this is not HTTP at all\r\n\r\n";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string to_string(beast::string_view s) { return std::string(s.data(), s.size()); }

asio::ip::address parse_address(const std::string& host) {
  if (host == "localhost") return asio::ip::address_v4::loopback();
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("http sink: invalid listen address '" + host + "'");
  return address;
}

}  // namespace

std::string ReceivedRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

namespace detail {
// What SinkState needs from a connection, whatever stream it runs on.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close() = 0;
};
}  // namespace detail

struct detail::SinkState : std::enable_shared_from_this<SinkState> {
  SinkState(asio::io_context& io, SinkOptions opts)
      : io(io), options(std::move(opts)), acceptor(io), retry(io) {}

  asio::io_context& io;
  const SinkOptions options;
  std::optional<asio::ssl::context> tls;  // set when the sink speaks HTTPS
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  uint16_t port = 0;

  // io thread only.
  bool stopped = false;
  uint64_t connections = 0;
  size_t answered = 0;
  std::map<uint64_t, std::weak_ptr<SessionBase>> sessions;

  // Shared with other threads.
  mutable std::mutex mutex;
  mutable std::condition_variable arrived;
  std::vector<ReceivedRequest> received;
  std::function<void(const ReceivedRequest&, int)> callback;

  int next_status() {
    const size_t index = answered++;
    return index < options.statuses.size() ? options.statuses[index] : options.default_status;
  }

  void record(const ReceivedRequest& request) {
    {
      std::lock_guard lock(mutex);
      received.push_back(request);
    }
    arrived.notify_all();
  }

  void notify(const ReceivedRequest& request, int status) {
    if (stopped) return;
    std::function<void(const ReceivedRequest&, int)> cb;
    {
      std::lock_guard lock(mutex);
      cb = callback;
    }
    if (cb) cb(request, status);
  }

  void accept();
  void stop();
};

namespace {

using TlsStream = asio::ssl::stream<tcp::socket>;

// The subject CN of the certificate the peer presented (and the handshake verified); "" if none.
std::string peer_common_name(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return {};
  std::array<char, 256> name{};
  const int length =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name.data(), name.size());
  X509_free(cert);
  return length > 0 ? std::string(name.data(), static_cast<size_t>(length)) : std::string();
}

// Shared by every connection that streams a generated body (response_body_size).
const std::string& filler() {
  static const std::string chunk(64 * 1024, 'x');
  return chunk;
}

// One connection, plain (tcp::socket) or TLS (TlsStream); requests are handled one at a time
// (pipelined ones wait in the buffer).
template <typename Stream>
class SinkSession : public detail::SessionBase, public std::enable_shared_from_this<SinkSession<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  SinkSession(std::shared_ptr<detail::SinkState> state, tcp::socket socket, uint64_t id)
      : state_(std::move(state)), stream_(make_stream(std::move(socket))), timer_(state_->io), id_(id) {}

  void start() {
    if constexpr (kTls) {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close();  // e.g. no or an untrusted client certificate
                                self->client_subject_ = peer_common_name(self->stream_.native_handle());
                                self->read_next();
                              });
    } else {
      read_next();
    }
  }

  void close() override {
    boost::system::error_code ec;
    socket().shutdown(tcp::socket::shutdown_both, ec);
    socket().close(ec);
    timer_.cancel();
    state_->sessions.erase(id_);
  }

 private:
  Stream make_stream(tcp::socket socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *state_->tls);
    } else {
      return socket;
    }
  }

  tcp::socket& socket() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  void read_next() {
    if (state_->stopped) return close();
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    parser_->header_limit(kMaxHeaderBytes);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return close();
    // Clients such as curl hold large bodies back until they hear "100 Continue".
    if (iequals(to_string(parser_->get()[http::field::expect]), "100-continue")) {
      auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                        parser_->get().version());
      http::async_write(stream_, *interim,
                        [self = this->shared_from_this(), interim](beast::error_code ec, size_t) {
                          if (ec) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_request(ec); });
  }

  void on_request(beast::error_code ec) {
    if (ec || state_->stopped) return close();
    http::request<http::string_body> request = parser_->release();
    current_ = ReceivedRequest{};
    current_.method = to_string(request.method_string());
    current_.target = to_string(request.target());
    for (const auto& field : request) {
      current_.headers.emplace_back(to_string(field.name_string()), to_string(field.value()));
    }
    current_.body = std::move(request.body());
    current_.connection = id_;
    current_.client_subject = client_subject_;
    const SinkOptions& options = state_->options;
    const int status = options.hang || options.garbage ? 0 : state_->next_status();
    state_->record(current_);

    if (options.hang) {
      state_->notify(current_, 0);
      return discard_until_eof();
    }
    if (options.garbage) return send_garbage();
    prepare_response(request, status);
    if (options.delay.count() > 0) {
      timer_.expires_after(options.delay);
      timer_.async_wait([self = this->shared_from_this(), status](beast::error_code ec) {
        if (ec || self->state_->stopped) return;  // aborted: close() already ran
        self->write_response(status);
      });
      return;
    }
    write_response(status);
  }

  void prepare_response(const http::request<http::string_body>& request, int status) {
    const SinkOptions& options = state_->options;
    const uint64_t body_size =
        options.response_body_size > 0 ? options.response_body_size : options.response_body.size();
    response_ = http::response<http::string_body>{};
    response_.result(static_cast<unsigned>(status));
    response_.version(request.version());
    response_.set(http::field::server, "herald-sink");
    response_.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : options.response_headers) response_.set(name, value);
    response_.keep_alive(request.keep_alive() && !options.close_after_answer);
    generated_left_ = 0;
    const unsigned code = static_cast<unsigned>(status);
    if (code < 200 || code == 204 || code == 304) {
      response_.prepare_payload();  // these must not carry a body
    } else if (request.method() == http::verb::head) {
      response_.content_length(body_size);
    } else if (options.response_body_size > 0) {
      response_.content_length(body_size);  // the body follows the header in write_generated
      generated_left_ = body_size;
    } else {
      response_.body() = options.response_body;
      response_.prepare_payload();
    }
  }

  void write_response(int status) {
    if (generated_left_ > 0) {
      serializer_.emplace(response_);
      http::async_write_header(stream_, *serializer_,
                               [self = this->shared_from_this(), status](beast::error_code ec, size_t) {
                                 if (ec) return self->answered(ec, status);
                                 self->write_generated(status);
                               });
      return;
    }
    http::async_write(stream_, response_,
                      [self = this->shared_from_this(), status](beast::error_code ec, size_t) {
                        self->answered(ec, status);
                      });
  }

  void write_generated(int status) {
    const size_t piece = static_cast<size_t>(std::min<uint64_t>(generated_left_, filler().size()));
    asio::async_write(stream_, asio::buffer(filler().data(), piece),
                      [self = this->shared_from_this(), status, piece](beast::error_code ec, size_t) {
                        if (ec) return self->answered(ec, status);
                        self->generated_left_ -= piece;
                        if (self->generated_left_ > 0) return self->write_generated(status);
                        self->answered(ec, status);
                      });
  }

  void answered(beast::error_code ec, int status) {
    state_->notify(current_, status);
    if (ec || response_.need_eof()) return close();
    read_next();
  }

  void send_garbage() {
    asio::async_write(stream_, asio::buffer(kGarbage.data(), kGarbage.size()),
                      [self = this->shared_from_this()](beast::error_code, size_t) {
                        self->state_->notify(self->current_, 0);
                        self->close();
                      });
  }

  // For hang: keep the connection open without answering until the peer gives up.
  void discard_until_eof() {
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || self->state_->stopped) return self->close();
                              self->discard_until_eof();
                            });
  }

  std::shared_ptr<detail::SinkState> state_;
  Stream stream_;
  asio::steady_timer timer_;
  uint64_t id_;
  std::string client_subject_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
  uint64_t generated_left_ = 0;
  ReceivedRequest current_;
  std::array<char, 4096> scratch_{};
};

template <typename Stream>
void start_session(const std::shared_ptr<detail::SinkState>& state, tcp::socket socket, uint64_t id) {
  auto session = std::make_shared<SinkSession<Stream>>(state, std::move(socket), id);
  state->sessions.emplace(id, session);
  session->start();
}

// Throws std::runtime_error naming the file that could not be used.
asio::ssl::context make_tls_context(const SinkOptions& options) {
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    throw std::runtime_error("http sink: tls_cert_file and tls_key_file go together");
  }
  asio::ssl::context context(asio::ssl::context::tls_server);
  context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3);
  auto use = [](const std::string& file, auto&& load) {
    boost::system::error_code ec;
    load(ec);
    if (ec) throw std::runtime_error("http sink: cannot use '" + file + "': " + ec.message());
  };
  use(options.tls_cert_file,
      [&](boost::system::error_code& ec) { context.use_certificate_chain_file(options.tls_cert_file, ec); });
  use(options.tls_key_file, [&](boost::system::error_code& ec) {
    context.use_private_key_file(options.tls_key_file, asio::ssl::context::pem, ec);
  });
  if (!options.tls_client_ca_file.empty()) {
    use(options.tls_client_ca_file,
        [&](boost::system::error_code& ec) { context.load_verify_file(options.tls_client_ca_file, ec); });
    context.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    // OpenSSL refuses to resume sessions of verified clients without a session id context.
    static constexpr unsigned char kContext[] = "herald-sink";
    SSL_CTX_set_session_id_context(context.native_handle(), kContext, sizeof kContext - 1);
  }
  return context;
}

}  // namespace

void detail::SinkState::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors and the like: retry later instead of spinning.
      self->retry.expires_after(std::chrono::milliseconds(50));
      self->retry.async_wait([self](beast::error_code wait_ec) {
        if (!wait_ec && !self->stopped) self->accept();
      });
      return;
    }
    // Answers go out at once instead of waiting for the client's delayed ACK.
    beast::error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    const uint64_t id = ++self->connections;
    if (self->tls) {
      start_session<TlsStream>(self, std::move(socket), id);
    } else {
      start_session<tcp::socket>(self, std::move(socket), id);
    }
    self->accept();
  });
}

void detail::SinkState::stop() {
  if (stopped) return;
  stopped = true;
  boost::system::error_code ec;
  acceptor.close(ec);
  retry.cancel();
  auto open = std::move(sessions);
  sessions.clear();
  for (auto& [id, weak] : open) {
    if (auto session = weak.lock()) session->close();
  }
}

HttpSink::HttpSink(asio::io_context& io, SinkOptions options)
    : state_(std::make_shared<detail::SinkState>(io, std::move(options))) {
  auto valid = [](int status) { return status >= 100 && status <= 999; };
  if (!valid(state_->options.default_status) ||
      !std::all_of(state_->options.statuses.begin(), state_->options.statuses.end(), valid)) {
    throw std::runtime_error("http sink: statuses must be between 100 and 999");
  }
  const SinkOptions& o = state_->options;
  if (!o.tls_cert_file.empty() || !o.tls_key_file.empty() || !o.tls_client_ca_file.empty()) {
    state_->tls.emplace(make_tls_context(o));
  }
  const tcp::endpoint endpoint(parse_address(state_->options.host), state_->options.port);
  boost::system::error_code ec;
  auto fail = [&](const char* what) {
    throw std::runtime_error("http sink: cannot " + std::string(what) + " " + state_->options.host + ":" +
                             std::to_string(state_->options.port) + ": " + ec.message());
  };
  state_->acceptor.open(endpoint.protocol(), ec);
  if (ec) fail("open socket for");
  state_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) fail("configure");
  state_->acceptor.bind(endpoint, ec);
  if (ec) fail("bind");
  state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail("listen on");
  state_->port = state_->acceptor.local_endpoint(ec).port();
  if (ec) fail("query");
  state_->accept();
}

HttpSink::~HttpSink() { stop(); }

uint16_t HttpSink::port() const { return state_->port; }

void HttpSink::on_request(std::function<void(const ReceivedRequest&, int)> cb) {
  std::lock_guard lock(state_->mutex);
  state_->callback = std::move(cb);
}

std::vector<ReceivedRequest> HttpSink::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->received;
}

size_t HttpSink::request_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->received.size();
}

bool HttpSink::wait_for_requests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->arrived.wait_for(lock, timeout, [&] { return state_->received.size() >= n; });
}

void HttpSink::stop() { state_->stop(); }

ThreadedHttpSink::ThreadedHttpSink(SinkOptions options)
    : work_(asio::make_work_guard(io_)),
      sink_(std::make_unique<HttpSink>(io_, options)),
      host_(options.host),
      tls_(!options.tls_cert_file.empty()),
      thread_([this] { io_.run(); }) {}

ThreadedHttpSink::~ThreadedHttpSink() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
  sink_.reset();  // the loop no longer runs, so closing from this thread is safe
}

uint16_t ThreadedHttpSink::port() const { return sink_->port(); }

std::string ThreadedHttpSink::url() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return std::string(tls_ ? "https://" : "http://") + (v6 ? "[" + host_ + "]" : host_) + ":" +
         std::to_string(port());
}

std::vector<ReceivedRequest> ThreadedHttpSink::requests() const { return sink_->requests(); }

size_t ThreadedHttpSink::request_count() const { return sink_->request_count(); }

void ThreadedHttpSink::on_request(std::function<void(const ReceivedRequest&, int)> cb) {
  sink_->on_request(std::move(cb));
}

bool ThreadedHttpSink::wait_for_requests(size_t n, std::chrono::milliseconds timeout) const {
  return sink_->wait_for_requests(n, timeout);
}

// ---- heraldctl sink ----

namespace {

constexpr std::string_view kUsage =
    "usage: heraldctl sink [--listen HOST:PORT] [--status N] [--statuses N,N,...] [--delay MS]\n"
    "                      [--max-requests N] [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]\n"
    "  --listen HOST:PORT   address to listen on (default 127.0.0.1:0, a free port)\n"
    "  --status N           answer every request with N (default 200)\n"
    "  --statuses N,N,...   answers for the first requests, in order; then --status\n"
    "  --delay MS           wait MS milliseconds before answering\n"
    "  --max-requests N     exit after N requests\n"
    "  --tls-cert PEM       speak HTTPS with this certificate (chain) ...\n"
    "  --tls-key PEM        ... and its private key\n"
    "  --tls-client-ca PEM  require a client certificate signed by this CA (mutual TLS)\n";

template <typename Int>
std::optional<Int> parse_int(std::string_view text, Int min, Int max) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

std::optional<int> parse_status(std::string_view text) { return parse_int<int>(text, 100, 599); }

bool parse_listen(const std::string& value, SinkOptions& options) {
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = value.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = parse_int<uint16_t>(std::string_view(value).substr(colon + 1), 0, 65535);
  if (!port) return false;
  try {
    parse_address(host);
  } catch (const std::exception&) {
    return false;
  }
  options.host = std::move(host);
  options.port = *port;
  return true;
}

nlohmann::json to_json(const ReceivedRequest& request, int status) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : request.headers) {
    auto it = headers.find(name);
    if (it == headers.end()) {
      headers[name] = value;
    } else {
      *it = it->get<std::string>() + ", " + value;  // repeated fields fold as RFC 9110 allows
    }
  }
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) body = request.body;
  nlohmann::json line = {{"method", request.method},
                         {"target", request.target},
                         {"headers", std::move(headers)},
                         {"body", std::move(body)},
                         {"status", status}};
  if (!request.client_subject.empty()) line["client_subject"] = request.client_subject;
  return line;
}

}  // namespace

int run_sink_command(const std::vector<std::string>& args) {
  return run_sink_command(args, std::cout, std::cerr);
}

int run_sink_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     const std::function<void(uint16_t port)>& on_listening) {
  SinkOptions options;
  size_t max_requests = 0;
  std::optional<int> status;

  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> value;
    if (name.starts_with("--") && name.find('=') != std::string::npos) {
      value = name.substr(name.find('=') + 1);
      name.resize(name.find('='));
    }
    if (name == "-h" || name == "--help") {
      out << kUsage;
      return 0;
    }
    if (name != "--listen" && name != "--status" && name != "--statuses" && name != "--delay" &&
        name != "--max-requests" && name != "--tls-cert" && name != "--tls-key" &&
        name != "--tls-client-ca") {
      err << "heraldctl sink: unknown argument '" << args[i] << "'\n" << kUsage;
      return 2;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        err << "heraldctl sink: missing value for " << name << "\n" << kUsage;
        return 2;
      }
      value = args[++i];
    }
    bool ok = true;
    if (name == "--listen") {
      ok = parse_listen(*value, options);
    } else if (name == "--status") {
      status = parse_status(*value);
      ok = status.has_value();
    } else if (name == "--statuses") {
      options.statuses.clear();
      std::string_view rest = *value;
      while (ok) {
        const size_t comma = rest.find(',');
        auto code = parse_status(rest.substr(0, comma));
        ok = code.has_value();
        if (ok) options.statuses.push_back(*code);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (name == "--delay") {
      auto ms = parse_int<int64_t>(*value, 0, 24LL * 3600 * 1000);
      ok = ms.has_value();
      if (ok) options.delay = std::chrono::milliseconds(*ms);
    } else if (name == "--max-requests") {
      auto n = parse_int<size_t>(*value, 1, SIZE_MAX);
      ok = n.has_value();
      if (ok) max_requests = *n;
    } else if (name == "--tls-cert" || name == "--tls-key" || name == "--tls-client-ca") {
      ok = !value->empty();
      std::string& file = name == "--tls-cert"  ? options.tls_cert_file
                          : name == "--tls-key" ? options.tls_key_file
                                                : options.tls_client_ca_file;
      file = *value;
    }
    if (!ok) {
      err << "heraldctl sink: invalid value for " << name << ": '" << *value << "'\n";
      return 2;
    }
  }
  if (status) options.default_status = *status;
  if (options.tls_cert_file.empty() != options.tls_key_file.empty() ||
      (!options.tls_client_ca_file.empty() && options.tls_cert_file.empty())) {
    err << "heraldctl sink: --tls-cert and --tls-key go together; --tls-client-ca needs both\n" << kUsage;
    return 2;
  }

  asio::io_context io;
  std::unique_ptr<HttpSink> sink;
  try {
    sink = std::make_unique<HttpSink>(io, options);
  } catch (const std::exception& e) {
    err << "heraldctl sink: " << e.what() << "\n";
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  auto finish = [&] {
    boost::system::error_code ec;
    signals.cancel(ec);
    sink->stop();
    io.stop();
  };
  size_t printed = 0;
  sink->on_request([&](const ReceivedRequest& request, int answered) {
    if (max_requests != 0 && printed >= max_requests) return;
    out << to_json(request, answered).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n'
        << std::flush;
    ++printed;
    if (max_requests != 0 && printed >= max_requests) finish();
  });
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) finish();
  });

  const bool v6 = options.host.find(':') != std::string::npos;
  err << "listening on " << (v6 ? "[" + options.host + "]" : options.host) << ":" << sink->port()
      << std::endl;
  if (on_listening) on_listening(sink->port());
  io.run();
  sink.reset();
  return 0;
}

}  // namespace herald::tools
