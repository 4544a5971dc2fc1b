// The admin listener: a small HTTP/1.1 server on heraldd's event loop for
// Prometheus scrapes (GET /metrics) and health checks (GET /healthz).
// One request per connection; every read and write is asynchronous.
//
// Threading: construct, use and destroy on the thread that runs the io_context.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/result.h"

namespace herald::admin {

struct AdminHandlers {
  // Called with the exposition text, or why it cannot be produced (answered
  // 500), on the io_context's thread; the handler may answer later, so that
  // reading the state database never holds up the loop.
  using MetricsReply = std::function<void(Result<std::string>)>;
  std::function<void(MetricsReply)> metrics;
  // Healthy, or the reason it is not (answered 503).
  std::function<Status()> health;
};

class AdminServer {
 public:
  // Binds and listens on host:port (an IP address; port 0 picks a free
  // port). The error names the address.
  static Result<std::unique_ptr<AdminServer>> start(boost::asio::io_context& io, const std::string& host,
                                                    uint16_t port, AdminHandlers handlers);
  ~AdminServer();  // stop()s
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  uint16_t port() const;
  // Closes the listener and every connection; the handlers are not called again.
  void stop();

  struct State;

 private:
  explicit AdminServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace herald::admin
