#include "net/curl_multi.h"

#include <poll.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace herald::net {

void ensure_curl_global_init() {
  static std::once_flag once;
  // A failure here surfaces later as curl_easy_init/curl_multi_init returning null.
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One per socket curl asked us to watch, registered with the reactor until curl closes the socket
// (on_close_socket): a keep-alive connection that goes idle between requests (CURL_POLL_REMOVE)
// keeps its registration, which saves two epoll_ctl calls and an allocation per request. Shared
// with queued handlers so that a socket closed while a wait is pending only flips `closed` and the
// stale handler does nothing.
struct CurlMultiDriver::Socket {
  Socket(boost::asio::io_context& io, curl_socket_t fd) : fd(fd), descriptor(io) {}

  curl_socket_t fd;
  boost::asio::posix::stream_descriptor descriptor;
  int want = 0;  // CURL_POLL_IN / CURL_POLL_OUT bits curl currently wants
  bool read_armed = false;
  bool write_armed = false;
  // Set when curl forgets the socket or the driver dies; after that nobody may touch the driver.
  bool closed = false;

  void close() {
    closed = true;
    want = 0;
    // curl owns the fd and closes it itself: hand it back instead of closing. This also deregisters
    // it from the reactor (so a recycled fd number is clean) and aborts pending waits.
    if (descriptor.is_open()) descriptor.release();
  }
};

CurlMultiDriver::CurlMultiDriver(boost::asio::io_context& io)
    : io_(io), timer_(io), life_(std::make_shared<char>(0)) {
  ensure_curl_global_init();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMultiDriver::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMultiDriver::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // curl's default cache (4 x the transfers added) is small when many endpoints share the handle: a
  // busy endpoint would push out another's idle keep-alive connections.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 512L);
}

CurlMultiDriver::~CurlMultiDriver() {
  life_.reset();
  // From here on curl must not call back into a half-destroyed object.
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, static_cast<curl_socket_callback>(nullptr));
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, static_cast<curl_multi_timer_callback>(nullptr));
  // Release descriptors before curl closes the fds, so asio never sees a closed or recycled fd.
  for (auto& [fd, sock] : sockets_) sock->close();
  sockets_.clear();
  for (auto& [easy, transfer] : transfers_) curl_multi_remove_handle(multi_, easy);
  transfers_.clear();
  timer_.cancel();
  curl_multi_cleanup(multi_);
}

void CurlMultiDriver::add(CurlEasy easy, Completion done) {
  CURL* raw = easy.get();
  if (raw != nullptr) {
    // The connection this transfer opens keeps the callback for its whole life.
    curl_easy_setopt(raw, CURLOPT_CLOSESOCKETFUNCTION, &CurlMultiDriver::on_close_socket);
    curl_easy_setopt(raw, CURLOPT_CLOSESOCKETDATA, this);
  }
  CURLMcode rc = raw != nullptr ? curl_multi_add_handle(multi_, raw) : CURLM_BAD_EASY_HANDLE;
  if (rc != CURLM_OK) {
    // Still complete asynchronously: callers rely on `done` never running inside add().
    ++pending_failures_;
    boost::asio::post(io_, [this, alive = std::weak_ptr<char>(life_), easy = std::move(easy),
                            done = std::move(done)]() mutable {
      if (alive.expired()) return;
      --pending_failures_;
      done(std::move(easy), CURLE_FAILED_INIT);
    });
    return;
  }
  // curl_multi_add_handle only arms a 0 ms timeout; the transfer really starts from the timer handler.
  transfers_.emplace(raw, Transfer{std::move(done), std::move(easy)});
}

int CurlMultiDriver::on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* userp, void* /*socketp*/) {
  auto* self = static_cast<CurlMultiDriver*>(userp);
  try {
    if (what == CURL_POLL_REMOVE) {
      // Idle, not closed: the registration stays for the connection's next request.
      if (auto it = self->sockets_.find(fd); it != self->sockets_.end()) it->second->want = 0;
      return 0;
    }
    std::shared_ptr<Socket> sock;
    if (auto it = self->sockets_.find(fd); it != self->sockets_.end()) {
      sock = it->second;
    } else {
      sock = std::make_shared<Socket>(self->io_, fd);
      boost::system::error_code ec;
      sock->descriptor.assign(fd, ec);
      if (ec) return -1;  // curl fails the transfers instead of leaving them unwatched
      self->sockets_.emplace(fd, sock);
    }
    sock->want = what & (CURL_POLL_IN | CURL_POLL_OUT);
    // A direction curl no longer wants keeps its pending wait: when it fires, curl gets one harmless
    // extra notification, which is cheaper and safer than cancelling (cancel aborts both directions).
    if (sock->want & CURL_POLL_IN) self->watch(sock, CURL_POLL_IN);
    if (sock->want & CURL_POLL_OUT) self->watch(sock, CURL_POLL_OUT);
    return 0;
  } catch (...) {
    return -1;  // never let an exception cross the C library
  }
}

int CurlMultiDriver::on_close_socket(void* clientp, curl_socket_t fd) {
  // Out of the reactor before the fd number can be handed out again.
  static_cast<CurlMultiDriver*>(clientp)->forget_socket(fd);
  return ::close(fd);
}

int CurlMultiDriver::on_timer(CURLM* /*multi*/, long timeout_ms, void* userp) {
  auto* self = static_cast<CurlMultiDriver*>(userp);
  try {
    // A handler of an older deadline may already be queued (cancel cannot recall it); the generation
    // tells it apart.
    const uint64_t generation = ++self->timer_generation_;
    if (timeout_ms < 0) {
      self->timer_.cancel();
      return 0;
    }
    // Even 0 ms goes through the loop: curl forbids calling socket_action from inside its callbacks.
    // A post costs less than re-arming the timer (which also queues the cancelled wait); a wait of
    // an older deadline that still fires is told apart by its generation.
    if (timeout_ms == 0) {
      boost::asio::post(self->io_, [self, generation, alive = std::weak_ptr<char>(self->life_)] {
        if (alive.expired() || generation != self->timer_generation_) return;
        self->socket_action(CURL_SOCKET_TIMEOUT, 0);
      });
      return 0;
    }
    self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    self->timer_.async_wait(
        [self, generation, alive = std::weak_ptr<char>(self->life_)](const boost::system::error_code& ec) {
          if (ec || alive.expired() || generation != self->timer_generation_) return;
          self->socket_action(CURL_SOCKET_TIMEOUT, 0);
        });
    return 0;
  } catch (...) {
    return -1;
  }
}

void CurlMultiDriver::watch(const std::shared_ptr<Socket>& sock, int direction) {
  bool& armed = direction == CURL_POLL_IN ? sock->read_armed : sock->write_armed;
  if (armed) return;
  armed = true;
  // Asio's epoll reactor is edge-triggered and its waits are not speculative: readiness that arrived
  // while no wait was queued would never be reported. curl assumes level-triggered poll() semantics
  // (it does not always read until EAGAIN), so look at the current state first.
  pollfd pfd{sock->fd, static_cast<short>(direction == CURL_POLL_IN ? POLLIN : POLLOUT), 0};
  if (::poll(&pfd, 1, 0) > 0) {
    const bool error = (pfd.revents & (POLLERR | POLLNVAL)) != 0;
    boost::asio::post(io_, [this, sock, direction, error] { on_ready(sock, direction, error); });
    return;
  }
  auto type = direction == CURL_POLL_IN ? boost::asio::posix::stream_descriptor::wait_read
                                        : boost::asio::posix::stream_descriptor::wait_write;
  sock->descriptor.async_wait(type, [this, sock, direction](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted) {
      (direction == CURL_POLL_IN ? sock->read_armed : sock->write_armed) = false;
      return;
    }
    on_ready(sock, direction, static_cast<bool>(ec));
  });
}

void CurlMultiDriver::on_ready(const std::shared_ptr<Socket>& sock, int direction, bool error) {
  (direction == CURL_POLL_IN ? sock->read_armed : sock->write_armed) = false;
  // Closed means curl closed the socket or the driver is gone: `this` must not be touched.
  if (sock->closed) return;
  // A wait left from before the connection went idle (or curl turned to the other direction):
  // curl does not want to hear about it.
  if ((sock->want & direction) == 0) return;
  int bits = direction == CURL_POLL_IN ? CURL_CSELECT_IN : CURL_CSELECT_OUT;
  if (error) bits |= CURL_CSELECT_ERR;
  socket_action(sock->fd, bits);
  // socket_action may have removed the socket or, through a completion, destroyed the driver.
  if (sock->closed) return;
  if (sock->want & direction) watch(sock, direction);
}

void CurlMultiDriver::forget_socket(curl_socket_t fd) {
  auto it = sockets_.find(fd);
  if (it == sockets_.end()) return;
  std::shared_ptr<Socket> sock = std::move(it->second);
  sockets_.erase(it);
  sock->close();
}

void CurlMultiDriver::socket_action(curl_socket_t fd, int ev_bitmask) {
  int running = 0;
  // CURLM_BAD_SOCKET for a socket curl already forgot is harmless; anything else fails the affected
  // transfers through curl_multi_info_read.
  curl_multi_socket_action(multi_, fd, ev_bitmask, &running);
  drain_completions();
}

void CurlMultiDriver::drain_completions() {
  std::weak_ptr<char> alive = life_;
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    // msg is invalidated by curl_multi_remove_handle: copy first.
    CURL* easy = msg->easy_handle;
    const CURLcode result = msg->data.result;
    curl_multi_remove_handle(multi_, easy);
    auto node = transfers_.extract(easy);
    if (node.empty()) continue;
    Transfer& transfer = node.mapped();
    // The completion may add transfers (fine: we are outside every curl call) or destroy the driver.
    transfer.done(std::move(transfer.easy), result);
    if (alive.expired()) return;
  }
}

}  // namespace herald::net
