// Drives one libcurl multi handle from a boost::asio::io_context: curl's sockets are watched with
// asio descriptors and its timeout with a steady_timer. Protocol-agnostic, so HTTP and (later)
// SMTP transfers share the same loop and connection cache.
//
// Threading: not thread-safe. Construct, use and destroy on the thread that runs the io_context.
#pragma once

#include <curl/curl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

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
  struct Socket;
  struct Transfer {
    // Order matters: the easy handle is cleaned up before `done` (which may own what curl points at).
    Completion done;
    CurlEasy easy;
  };

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* userp, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* userp);
  static int on_close_socket(void* clientp, curl_socket_t fd);

  void watch(const std::shared_ptr<Socket>& sock, int direction);
  void on_ready(const std::shared_ptr<Socket>& sock, int direction, bool error);
  void forget_socket(curl_socket_t fd);
  void socket_action(curl_socket_t fd, int ev_bitmask);
  void drain_completions();

  boost::asio::io_context& io_;
  CURLM* multi_ = nullptr;
  boost::asio::steady_timer timer_;
  uint64_t timer_generation_ = 0;
  std::map<curl_socket_t, std::shared_ptr<Socket>> sockets_;
  std::map<CURL*, Transfer> transfers_;
  size_t pending_failures_ = 0;
  // Expires when the driver dies; queued handlers check it before touching `this`.
  std::shared_ptr<char> life_;
};

}  // namespace herald::net
