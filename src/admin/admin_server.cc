#include "admin/admin_server.h"

#include <array>
#include <chrono>
#include <map>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace herald::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// A scrape or probe is a short GET: anything larger is not one.
constexpr uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr uint64_t kMaxBodyBytes = 1024;
// A client that stalls mid-request must not hold a connection for ever.
constexpr std::chrono::seconds kIoTimeout{10};
constexpr std::chrono::seconds kLinger{2};

class Session;

}  // namespace

struct AdminServer::State : std::enable_shared_from_this<AdminServer::State> {
  State(asio::io_context& io, AdminHandlers h) : acceptor(io), handlers(std::move(h)) {}

  tcp::acceptor acceptor;
  AdminHandlers handlers;
  uint16_t port = 0;
  bool stopped = false;
  uint64_t next_id = 0;
  std::map<uint64_t, std::weak_ptr<Session>> sessions;

  void accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<AdminServer::State> state, tcp::socket socket, uint64_t id)
      : state_(std::move(state)), stream_(std::move(socket)), id_(id) {}

  void start() {
    parser_.header_limit(kMaxHeaderBytes);
    parser_.body_limit(kMaxBodyBytes);
    stream_.expires_after(kIoTimeout);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    state_->sessions.erase(id_);
  }

 private:
  void on_read(beast::error_code ec) {
    if (state_->stopped) return close();
    if (ec == http::error::header_limit || ec == http::error::body_limit) {
      return answer(http::status::payload_too_large, "request too large\n", 11);
    }
    if (ec) return close();
    const auto& req = parser_.get();
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));  // Prometheus may add parameters
    if (target != "/metrics" && target != "/healthz") return answer(http::status::not_found, "not found\n");
    if (req.method() != http::verb::get) {
      return answer(http::status::method_not_allowed, "only GET is allowed\n");
    }
    if (target == "/metrics") {
      return state_->handlers.metrics([self = shared_from_this()](Result<std::string> text) {
        if (self->state_->stopped) return self->close();
        if (!text) return self->answer(http::status::internal_server_error, text.error().message + "\n");
        self->answer(http::status::ok, std::move(text.value()), 11,
                     "text/plain; version=0.0.4; charset=utf-8");
      });
    }
    auto health = state_->handlers.health();
    if (!health) return answer(http::status::service_unavailable, health.error().message + "\n");
    answer(http::status::ok, "ok\n");
  }

  void answer(http::status status, std::string body, unsigned version = 0,
              const char* content_type = "text/plain; charset=utf-8") {
    response_.result(status);
    response_.version(version ? version : parser_.get().version());
    response_.set(http::field::server, "herald");
    response_.set(http::field::content_type, content_type);
    if (status == http::status::method_not_allowed) response_.set(http::field::allow, "GET");
    response_.keep_alive(false);  // one request per connection
    response_.body() = std::move(body);
    response_.prepare_payload();
    stream_.expires_after(kIoTimeout);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->linger();
    });
  }

  // Half-closes and reads what the client still sends until it closes: closing
  // with unread bytes (a refused oversized request) would reset the
  // connection and could discard the answer before the client reads it.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kLinger);  // once: a trickling client cannot extend it
    drain();
  }
  void drain() {
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || self->state_->stopped) return self->close();
                              self->drain();
                            });
  }

  std::shared_ptr<AdminServer::State> state_;
  beast::tcp_stream stream_;
  std::array<char, 4096> scratch_{};
  uint64_t id_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

void AdminServer::State::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->stopped || ec == asio::error::operation_aborted) return;
    if (!ec) {
      const uint64_t id = ++self->next_id;
      auto session = std::make_shared<Session>(self, std::move(socket), id);
      self->sessions.emplace(id, session);
      session->start();
    }
    // Other accept errors (out of descriptors) drop that one connection only.
    self->accept();
  });
}

Result<std::unique_ptr<AdminServer>> AdminServer::start(asio::io_context& io, const std::string& host,
                                                        uint16_t port, AdminHandlers handlers) {
  const bool v6 = host.find(':') != std::string::npos;
  const std::string where = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return Error{"admin listener: '" + host + "' is not an IP address"};
  auto state = std::make_shared<State>(io, std::move(handlers));
  const tcp::endpoint endpoint(address, port);
  auto fail = [&](const char* what) {
    return Error{"admin listener: cannot " + std::string(what) + " " + where + ": " + ec.message()};
  };
  state->acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("configure");
  state->acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  state->port = state->acceptor.local_endpoint(ec).port();
  if (ec) return fail("query");
  state->accept();
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(state)));
}

AdminServer::~AdminServer() { stop(); }

uint16_t AdminServer::port() const { return state_->port; }

void AdminServer::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  boost::system::error_code ec;
  state_->acceptor.close(ec);
  // The handlers point into the daemon, which may be gone once stop() returns.
  state_->handlers = {};
  auto open = std::move(state_->sessions);
  state_->sessions.clear();
  for (auto& [id, weak] : open) {
    if (auto s = weak.lock()) s->close();
  }
}

}  // namespace herald::admin
