#include "net/curl_multi.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <boost/asio/post.hpp>
#include <cerrno>
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

namespace {

// Ready sockets read from the epoll set at a time, and batches handled before other work gets a turn.
constexpr int kEventsPerBatch = 64;
constexpr int kBatchesPerTurn = 4;

uint32_t epoll_events(int curl_want) {
  return ((curl_want & CURL_POLL_IN) ? EPOLLIN : 0u) | ((curl_want & CURL_POLL_OUT) ? EPOLLOUT : 0u);
}

}  // namespace

CurlMultiDriver::CurlMultiDriver(boost::asio::io_context& io)
    : io_(io), timer_(io), epoll_(io), life_(std::make_shared<char>(0)) {
  ensure_curl_global_init();
  // Level-triggered like the poll() curl is written for: curl does not always read until EAGAIN,
  // and asio's own reactor is edge-triggered and would not report what is left.
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::runtime_error("epoll_create1 failed");
  epoll_.assign(fd);
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
  for (auto& [easy, transfer] : transfers_) curl_multi_remove_handle(multi_, easy);
  transfers_.clear();
  timer_.cancel();
  epoll_.cancel();
  // Closes the cached connections through on_close_socket, which still finds the epoll set open.
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
    Socket& s = self->socket(fd);
    if (what == CURL_POLL_REMOVE) {
      // Idle, not closed: a keep-alive connection stays in the set for its next request, which saves
      // two epoll_ctl calls per request. Should it stir meanwhile (the peer closing it), it leaves
      // the set then (dispatch_ready).
      s.want = 0;
      return 0;
    }
    s.want = static_cast<uint8_t>(what & (CURL_POLL_IN | CURL_POLL_OUT));
    const uint32_t events = epoll_events(s.want);
    if (!s.registered || s.watched != events) self->update_registration(fd, s, events);
    // curl fails the transfers instead of leaving them unwatched.
    return s.registered && s.watched == events ? 0 : -1;
  } catch (...) {
    return -1;  // never let an exception cross the C library
  }
}

int CurlMultiDriver::on_close_socket(void* clientp, curl_socket_t fd) {
  // Out of the epoll set before the fd number can be handed out again.
  auto* self = static_cast<CurlMultiDriver*>(clientp);
  if (static_cast<size_t>(fd) < self->sockets_.size()) {
    Socket& s = self->sockets_[static_cast<size_t>(fd)];
    if (s.registered) self->unregister(fd, s);
    s.want = 0;
  }
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

CurlMultiDriver::Socket& CurlMultiDriver::socket(curl_socket_t fd) {
  const auto index = static_cast<size_t>(fd);
  if (index >= sockets_.size()) sockets_.resize(index + 1);
  return sockets_[index];
}

void CurlMultiDriver::update_registration(curl_socket_t fd, Socket& s, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  const int epfd = epoll_.native_handle();
  int rc = ::epoll_ctl(epfd, s.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
  // The set and our table disagree only if an fd was closed behind curl's back and its number reused.
  if (rc != 0 && errno == ENOENT) rc = ::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  if (rc != 0 && errno == EEXIST) rc = ::epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
  s.registered = rc == 0;
  s.watched = rc == 0 ? static_cast<uint8_t>(events) : 0;
  if (rc == 0) arm();
}

void CurlMultiDriver::unregister(curl_socket_t fd, Socket& s) {
  ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
  s.registered = false;
  s.watched = 0;
}

void CurlMultiDriver::arm() {
  if (armed_) return;
  armed_ = true;
  epoll_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [this, alive = std::weak_ptr<char>(life_)](const boost::system::error_code& ec) {
                      if (alive.expired()) return;
                      armed_ = false;
                      // Cancelled, or the set itself failed: transfers then end by their timeouts.
                      if (ec) return;
                      on_epoll_ready();
                    });
}

void CurlMultiDriver::on_epoll_ready() {
  // Armed again first: asio reports the set's readiness as an edge, and one arriving while no wait is
  // queued would be lost.
  arm();
  dispatch_ready();
}

void CurlMultiDriver::dispatch_ready() {
  std::weak_ptr<char> alive = life_;
  std::array<epoll_event, kEventsPerBatch> events;
  for (int batch = 0; batch < kBatchesPerTurn; ++batch) {
    // A socket curl left readable is listed again here, but raises no new edge for asio: keep asking
    // until the set has nothing ready.
    const int n = ::epoll_wait(epoll_.native_handle(), events.data(), kEventsPerBatch, 0);
    if (n <= 0) return;
    for (int i = 0; i < n; ++i) {
      const curl_socket_t fd = events[i].data.fd;
      const uint32_t ev = events[i].events;
      if (static_cast<size_t>(fd) >= sockets_.size()) continue;
      Socket& s = sockets_[static_cast<size_t>(fd)];
      if (!s.registered) continue;  // closed by an earlier socket_action of this batch
      if (s.want == 0) {
        // An idle keep-alive connection stirred, most likely closed by the peer: curl finds out when
        // it next picks the connection, so stop watching instead of waking up for it again and again.
        unregister(fd, s);
        continue;
      }
      int bits = 0;
      if ((s.want & CURL_POLL_IN) && (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))) bits |= CURL_CSELECT_IN;
      if ((s.want & CURL_POLL_OUT) && (ev & (EPOLLOUT | EPOLLHUP))) bits |= CURL_CSELECT_OUT;
      if (ev & EPOLLERR) bits |= CURL_CSELECT_ERR;
      if (bits == 0) bits = (s.want & CURL_POLL_IN) ? CURL_CSELECT_IN : CURL_CSELECT_OUT;
      socket_action(fd, bits);
      if (alive.expired()) return;  // a completion destroyed the driver
    }
  }
  // Still busy: let the rest of the loop have a turn, then carry on.
  boost::asio::post(io_, [this, alive] {
    if (!alive.expired()) dispatch_ready();
  });
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
