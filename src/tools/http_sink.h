// An embedded HTTP/1.1 server on Boost.Beast that records what it receives and answers as scripted.
// Used by tests (ThreadedHttpSink) and by the ops tool `heraldctl sink` (run_sink_command).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace herald::tools {

namespace detail {
struct SinkState;
}  // namespace detail

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, names as received
  std::string body;
  uint64_t connection = 0;  // 1-based number of the TCP connection it came on (keep-alive checks)

  // Case-insensitive; the first value, "" if absent.
  std::string header(std::string_view name) const;
};

struct SinkOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;          // 0 = pick a free port
  std::vector<int> statuses;  // answers for the first N requests, in order; afterwards default_status
  int default_status = 200;
  std::string response_body = "{\"ok\":true}";
  std::vector<std::pair<std::string, std::string>> response_headers;  // added to every answer
  std::chrono::milliseconds delay{0};  // wait before answering (async timer, never blocks the loop)
  bool hang = false;                   // accept, read, never answer (for timeout tests)
  bool garbage = false;                // answer with non-HTTP bytes then close
};

// Runs on a caller-provided io_context. Not thread-safe except where noted: call the rest (and the
// destructor) on the io thread, or while no thread runs the io_context.
class HttpSink {
 public:
  // Binds and listens immediately; throws std::runtime_error on a bad address or bind failure.
  HttpSink(boost::asio::io_context& io, SinkOptions options);
  ~HttpSink();  // stop()s
  HttpSink(const HttpSink&) = delete;
  HttpSink& operator=(const HttpSink&) = delete;

  uint16_t port() const;  // thread-safe
  // Called on the io thread once per request after it was answered (or, for hang, read; for garbage,
  // after the garbage went out). status_answered is 0 when no HTTP answer was given.
  void on_request(std::function<void(const ReceivedRequest&, int status_answered)> cb);  // thread-safe
  // Requests are recorded before they are answered, so a client that got its answer sees them here.
  std::vector<ReceivedRequest> requests() const;                              // thread-safe copy
  size_t request_count() const;                                               // thread-safe
  bool wait_for_requests(size_t n, std::chrono::milliseconds timeout) const;  // thread-safe
  // Closes the listener and every connection; pending answers are dropped.
  void stop();

 private:
  std::shared_ptr<detail::SinkState> state_;
};

// Owns its own io_context and thread; for tests.
class ThreadedHttpSink {
 public:
  explicit ThreadedHttpSink(SinkOptions options = {});
  ~ThreadedHttpSink();  // stops and joins
  ThreadedHttpSink(const ThreadedHttpSink&) = delete;
  ThreadedHttpSink& operator=(const ThreadedHttpSink&) = delete;

  uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:PORT"
  std::vector<ReceivedRequest> requests() const;
  size_t request_count() const;
  // As HttpSink::on_request; the callback runs on the sink's thread.
  void on_request(std::function<void(const ReceivedRequest&, int status_answered)> cb);
  // Blocks on a condition variable until at least n requests arrived or the timeout passed.
  bool wait_for_requests(size_t n, std::chrono::milliseconds timeout) const;

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<HttpSink> sink_;
  std::string host_;
  std::thread thread_;
};

// Implements `heraldctl sink --listen HOST:PORT [--status N] [--statuses 503,200] [--delay MS]
// [--max-requests N]`; args are the arguments after "sink". Prints one JSON object per received request
// to stdout (method, target, headers, body — parsed as JSON when it is JSON, else a string — and the
// status answered), one flushed line each, and "listening on HOST:PORT" to stderr at start. Runs until
// SIGINT/SIGTERM or --max-requests is reached. Returns the exit code: 0; 1 if it cannot listen; 2 on
// bad arguments, with a message naming the bad argument.
int run_sink_command(const std::vector<std::string>& args);
// Same, writing to `out`/`err`; `on_listening` runs once the sink listens and the signal handlers
// are installed (tests use it instead of waiting for the stderr line).
int run_sink_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     const std::function<void(uint16_t port)>& on_listening = {});

}  // namespace herald::tools
