// Drives one libcurl multi handle from a boost::asio::io_context. curl's sockets sit in an epoll set
// of the driver's own, level-triggered as curl expects, and only that set's descriptor is watched by
// asio; curl's timeout is a steady_timer. Protocol-agnostic, so HTTP and SMTP transfers share the
// same loop and connection cache.
//
// Threading: not thread-safe. Construct, use and destroy on the thread that runs the io_context.
#pragma once

#include <curl/curl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace herald::net {

// Process-wide curl_global_init, done once; every user of libcurl calls this before curl_easy_init.
void ensure_curl_global_init();

struct CurlEasyDeleter {
  void operator()(CURL* easy) const noexcept { curl_easy_cleanup(easy); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

class CurlMultiDriver {
 public:
  // Gets the easy handle back (removed from the multi handle, ready for curl_easy_reset and reuse)
  // and the transfer's result.
  using Completion = std::function<void(CurlEasy easy, CURLcode result)>;

  explicit CurlMultiDriver(boost::asio::io_context& io);
  // Removes unfinished transfers without running their completions and frees their easy handles.
  // Safe while socket waits or the timer are pending, and from inside a completion.
  ~CurlMultiDriver();
  CurlMultiDriver(const CurlMultiDriver&) = delete;
  CurlMultiDriver& operator=(const CurlMultiDriver&) = delete;

  // Starts a fully configured transfer. Never blocks and never runs `done` before returning: `done`
  // runs later on the io thread exactly once, unless the driver is destroyed first. If curl refuses
  // the handle, `done` gets CURLE_FAILED_INIT.
  void add(CurlEasy easy, Completion done);

  // Transfers added and not completed yet.
  size_t active() const { return transfers_.size() + pending_failures_; }

  boost::asio::io_context& context() { return io_; }
  // For multi-wide options (connection limits and the like); do not replace the socket/timer callbacks.
  CURLM* multi() const { return multi_; }

 private:
  struct Transfer {
    // Order matters: the easy handle is cleaned up before `done` (which may own what curl points at).
    Completion done;
    CurlEasy easy;
  };

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* userp, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* userp);
  static int on_close_socket(void* clientp, curl_socket_t fd);

  // What curl wants of a socket and what the epoll set watches for it (EPOLLIN/EPOLLOUT bits);
  // `registered` false means the socket is not in the set.
  struct Socket {
    uint8_t want = 0;
    uint8_t watched = 0;
    bool registered = false;
  };

  Socket& socket(curl_socket_t fd);
  void update_registration(curl_socket_t fd, Socket& s, uint32_t events);
  void unregister(curl_socket_t fd, Socket& s);
  void arm();
  void on_epoll_ready();
  // Hands what the epoll set has ready to curl until nothing is left.
  void dispatch_ready();
  void socket_action(curl_socket_t fd, int ev_bitmask);
  void drain_completions();

  boost::asio::io_context& io_;
  CURLM* multi_ = nullptr;
  boost::asio::steady_timer timer_;
  uint64_t timer_generation_ = 0;
  // The epoll set of curl's sockets; asio watches it for readability.
  boost::asio::posix::stream_descriptor epoll_;
  bool armed_ = false;           // a wait on epoll_ is queued
  std::vector<Socket> sockets_;  // indexed by fd
  std::map<CURL*, Transfer> transfers_;
  size_t pending_failures_ = 0;
  // Expires when the driver dies; queued handlers check it before touching `this`.
  std::shared_ptr<char> life_;
};

}  // namespace herald::net
