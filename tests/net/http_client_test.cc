#include "net/http_client.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/tls_certs.h"
#include "tools/http_sink.h"

namespace herald::net {
namespace {

using namespace std::chrono_literals;
using tools::ReceivedRequest;
using tools::SinkOptions;
using tools::ThreadedHttpSink;

constexpr auto kBound = 10s;  // upper bound for any single test loop; never a pass condition

std::string find_header(const std::vector<std::pair<std::string, std::string>>& headers,
                        std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return value;
    }
  }
  return "<absent>";
}

bool has_header(const ReceivedRequest& request, std::string_view name) {
  return find_header(request.headers, name) != "<absent>";
}

class HttpClientTest : public ::testing::Test {
 protected:
  HttpRequest request(const ThreadedHttpSink& sink, std::string method, std::string path = "/") {
    HttpRequest r;
    r.method = std::move(method);
    r.url = sink.url() + path;
    return r;
  }

  // Sends one request on a fresh client and runs the loop until its callback fired.
  HttpResponse perform(HttpRequest r) {
    HttpClient client(io_);
    std::optional<HttpResponse> result;
    client.send(std::move(r), [&](HttpResponse response) {
      result = std::move(response);
      io_.stop();
    });
    run();
    EXPECT_TRUE(result.has_value()) << "no completion within the bound";
    return result.value_or(HttpResponse{});
  }

  void run() {
    io_.restart();
    io_.run_for(kBound);
  }

  boost::asio::io_context io_;
};

TEST_F(HttpClientTest, PostWithHeadersAndBodyArrivesIntact) {
  ThreadedHttpSink sink;
  HttpRequest r = request(sink, "POST", "/hooks/abc?x=1&y=%20z");
  r.headers = {{"Content-Type", "application/json"}, {"X-Herald-Id", "evt-42"}, {"X-Empty", ""}};
  r.body = R"({"title":"disk full","severity":"critical"})";

  HttpResponse response = perform(r);
  EXPECT_EQ(response.transport_error, 0) << response.error;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"ok":true})");
  EXPECT_FALSE(response.truncated);
  EXPECT_EQ(response.error, "");
  EXPECT_GT(response.elapsed.count(), 0);

  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), 1u);
  const ReceivedRequest& got = requests[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/hooks/abc?x=1&y=%20z");
  EXPECT_EQ(got.body, r.body);
  EXPECT_EQ(got.header("Content-Type"), "application/json");
  EXPECT_EQ(got.header("X-Herald-Id"), "evt-42");
  EXPECT_EQ(got.header("Content-Length"), std::to_string(r.body.size()));
  EXPECT_TRUE(has_header(got, "X-Empty"));
  EXPECT_EQ(got.header("X-Empty"), "");
  EXPECT_FALSE(has_header(got, "Expect"));
}

// Bodies on both sides of the size from which curl would ask for
// "100 Continue" (and wait a second for it): none of them asks.
TEST_F(HttpClientTest, NoBodyWaitsForAContinue) {
  ThreadedHttpSink sink;
  for (size_t size :
       {size_t{1024}, size_t{1025}, size_t{(1 << 20) - 1}, size_t{1 << 20}, size_t{(1 << 20) + 1}}) {
    HttpRequest r = request(sink, "POST", "/big");
    r.headers = {{"Content-Type", "text/plain"}};
    r.body.assign(size, 'x');
    HttpResponse response = perform(std::move(r));
    EXPECT_EQ(response.status, 200) << size << ": " << response.error;
    auto got = sink.requests();
    ASSERT_FALSE(got.empty());
    EXPECT_FALSE(has_header(got.back(), "Expect")) << size << " bytes";
    EXPECT_EQ(got.back().body.size(), size);
  }
  EXPECT_EQ(sink.request_count(), 5u);
}

TEST_F(HttpClientTest, ReportsResponseHeadersAsReceived) {
  ThreadedHttpSink sink;
  HttpResponse response = perform(request(sink, "GET"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(find_header(response.headers, "Content-Type"), "application/json");
  EXPECT_EQ(find_header(response.headers, "Server"), "herald-sink");
  EXPECT_EQ(find_header(response.headers, "Content-Length"), "11");
  bool exact_case = false;
  for (const auto& [name, value] : response.headers) exact_case |= name == "Server";
  EXPECT_TRUE(exact_case);
}

TEST_F(HttpClientTest, KeepsOnlyTheResponseHeadersAskedFor) {
  SinkOptions options;
  options.response_headers = {{"Retry-After", "7"}, {"X-Other", "x"}};
  ThreadedHttpSink sink(options);
  HttpRequest r = request(sink, "GET");
  r.response_headers = std::make_shared<const std::vector<std::string>>(1, "retry-after");
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 200);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].first, "Retry-After");  // as received, though asked in another case
  EXPECT_EQ(response.headers[0].second, "7");
  EXPECT_EQ(retry_after(response, std::chrono::system_clock::now()), std::chrono::seconds(7));
}

TEST_F(HttpClientTest, PutPatchDeleteGetAndHeadVerbs) {
  ThreadedHttpSink sink;
  struct Case {
    std::string method;
    std::string body;
  };
  const std::vector<Case> cases = {{"PUT", "put-body"},
                                   {"PATCH", "patch-body"},
                                   {"DELETE", "delete-body"},
                                   {"DELETE", ""},
                                   {"PUT", ""},
                                   {"GET", ""},
                                   {"HEAD", ""},
                                   {"OPTIONS", ""}};
  for (const Case& c : cases) {
    HttpRequest r = request(sink, c.method, "/v/" + c.method);
    r.body = c.body;
    r.headers = {{"Content-Type", "text/plain"}};
    HttpResponse response = perform(r);
    EXPECT_EQ(response.transport_error, 0) << c.method << ": " << response.error;
    EXPECT_EQ(response.status, 200) << c.method;
    EXPECT_EQ(response.body, c.method == "HEAD" ? "" : R"({"ok":true})") << c.method;
  }
  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(requests[i].method, cases[i].method);
    EXPECT_EQ(requests[i].target, "/v/" + cases[i].method);
    EXPECT_EQ(requests[i].body, cases[i].body) << cases[i].method;
  }
  // An empty PUT still says how long its (empty) body is.
  EXPECT_EQ(requests[4].header("Content-Length"), "0");
}

// Easy handles are kept configured between requests of the same kind: one
// client sending requests of every kind in turn must send each exactly as
// asked, with nothing left over from the one before (a method, a body, a
// header, credentials).
TEST_F(HttpClientTest, EveryRequestGoesOutAsAskedWhateverCameBefore) {
  ThreadedHttpSink sink;
  struct Case {
    std::string method;
    std::string body;
    bool auth = false;
    std::string custom;  // value of X-Custom, "" for none
  };
  const std::vector<Case> cases = {
      {"POST", "one", true, "a"}, {"POST", "two", false, ""},  {"POST", "three", false, "c"},
      {"PUT", "put", false, ""},  {"POST", "four", false, ""}, {"HEAD", "", false, ""},
      {"GET", "", false, ""},     {"DELETE", "", true, ""},    {"POST", "", false, ""},
      {"POST", "five", true, ""}, {"POST", "six", true, "f"},  {"GET", "", false, ""},
  };
  HttpClient client(io_);
  std::vector<HttpResponse> responses;
  std::function<void()> send_next = [&] {
    const Case& c = cases[responses.size()];
    HttpRequest r = request(sink, c.method, "/r/" + std::to_string(responses.size()));
    r.body = c.body;
    if (c.auth) r.basic_auth = std::make_pair(std::string("user"), "pw" + std::to_string(responses.size()));
    if (!c.custom.empty()) r.headers = {{"X-Custom", c.custom}};
    client.send(std::move(r), [&](HttpResponse response) {
      responses.push_back(std::move(response));
      if (responses.size() == cases.size()) return io_.stop();
      send_next();
    });
  };
  send_next();
  run();
  ASSERT_EQ(responses.size(), cases.size());
  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE("request " + std::to_string(i) + " " + c.method);
    EXPECT_EQ(responses[i].status, 200) << responses[i].error;
    EXPECT_EQ(responses[i].body, c.method == "HEAD" ? "" : R"({"ok":true})");
    EXPECT_EQ(requests[i].method, c.method);
    EXPECT_EQ(requests[i].target, "/r/" + std::to_string(i));
    EXPECT_EQ(requests[i].body, c.body);
    EXPECT_EQ(find_header(requests[i].headers, "X-Custom"), c.custom.empty() ? "<absent>" : c.custom);
    if (c.auth) {
      // "user:pw<i>": a password left from an earlier request would show.
      const std::map<size_t, std::string> expected = {
          {0, "dXNlcjpwdzA="}, {7, "dXNlcjpwdzc="}, {9, "dXNlcjpwdzk="}, {10, "dXNlcjpwdzEw"}};
      EXPECT_EQ(requests[i].header("Authorization"), "Basic " + expected.at(i));
    } else {
      EXPECT_FALSE(has_header(requests[i], "Authorization"));
    }
    EXPECT_EQ(requests[i].connection, requests[0].connection);  // one keep-alive connection throughout
  }
}

TEST_F(HttpClientTest, ScriptedUnavailableThenOkWithResendFromCallback) {
  SinkOptions options;
  options.statuses = {503};
  ThreadedHttpSink sink(options);
  HttpClient client(io_);
  std::vector<long> statuses;
  HttpRequest r = request(sink, "POST", "/retry");
  r.body = "attempt";
  std::function<void(HttpResponse)> on_done = [&](HttpResponse response) {
    EXPECT_EQ(response.transport_error, 0) << response.error;
    statuses.push_back(response.status);
    if (response.status == 503) {
      client.send(r, on_done);  // re-entrant send from inside a completion
      EXPECT_EQ(client.in_flight(), 1u);
    } else {
      io_.stop();
    }
  };
  client.send(r, on_done);
  run();
  EXPECT_EQ(statuses, (std::vector<long>{503, 200}));
  EXPECT_EQ(sink.request_count(), 2u);
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST_F(HttpClientTest, SequentialRequestsReuseTheConnection) {
  ThreadedHttpSink sink;
  HttpClient client(io_);
  int remaining = 3;
  std::function<void(HttpResponse)> next = [&](HttpResponse response) {
    EXPECT_EQ(response.status, 200);
    if (--remaining == 0) return io_.stop();
    client.send(request(sink, "POST"), next);
  };
  client.send(request(sink, "POST"), next);
  run();
  EXPECT_EQ(remaining, 0);
  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].connection, requests[0].connection);
  EXPECT_EQ(requests[2].connection, requests[0].connection);
}

// Sets (or, with nullptr, removes) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A proxy the environment names carries the requests, as curl's own lookup
// would have it (the client reads the variables once, when it is made).
TEST_F(HttpClientTest, UsesTheProxyTheEnvironmentNames) {
  ThreadedHttpSink target;
  ThreadedHttpSink proxy;
  ScopedEnv no_proxy("no_proxy", nullptr), no_proxy_upper("NO_PROXY", nullptr);
  ScopedEnv http_proxy("http_proxy", proxy.url().c_str());
  HttpResponse response = perform(request(target, "POST", "/via-proxy"));
  EXPECT_EQ(response.status, 200);
  auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, target.url() + "/via-proxy");  // the absolute form a proxy gets
  EXPECT_TRUE(target.requests().empty());
}

size_t open_descriptors() {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                           std::filesystem::directory_iterator()));
}

// Sockets stay registered with the event loop while their connection idles
// between requests, and leave it when curl closes them: connections closed
// after every answer, and an idle one the server dropped, neither leak a
// descriptor nor keep the next request from going out.
TEST_F(HttpClientTest, ClosedConnectionsLeaveNoDescriptorBehind) {
  {
    ThreadedHttpSink warm;
    EXPECT_EQ(perform(request(warm, "POST")).status, 200);  // libcurl's first use opens files of its own
  }
  const size_t before = open_descriptors();
  {
    SinkOptions closing;
    closing.close_after_answer = true;
    ThreadedHttpSink closer(closing);
    std::optional<ThreadedHttpSink> keeper(std::in_place);
    const uint16_t keeper_port = keeper->port();
    HttpClient client(io_);
    int remaining = 10;
    bool restarted = false;
    std::function<void(HttpResponse)> next = [&](HttpResponse response) {
      EXPECT_EQ(response.status, 200) << response.error;
      if (--remaining == 0) return io_.stop();
      if (remaining == 5 && !restarted) {
        // The server goes away while curl keeps the connection idle in its cache; a new one
        // answers on the same port.
        restarted = true;
        keeper.reset();
        SinkOptions again;
        again.port = keeper_port;
        keeper.emplace(again);
      }
      client.send(request(remaining % 2 == 0 ? closer : *keeper, "POST"), next);
    };
    client.send(request(*keeper, "POST"), next);
    run();
    EXPECT_EQ(remaining, 0);
    EXPECT_EQ(closer.request_count(), 4u);
    auto kept = keeper->requests();
    ASSERT_EQ(kept.size(), 3u);  // the restarted server's: one connection again
    EXPECT_EQ(kept[1].connection, kept[0].connection);
    EXPECT_EQ(kept[2].connection, kept[0].connection);
    auto closed = closer.requests();
    std::set<decltype(closed[0].connection)> connections;
    for (const auto& r : closed) connections.insert(r.connection);
    EXPECT_EQ(connections.size(), closed.size());  // one connection per request
  }
  EXPECT_EQ(open_descriptors(), before);
}

std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// curl's sockets are watched level-triggered. An idle keep-alive connection the
// server closes stays readable for good: the client must stop watching it
// rather than wake up for it again and again, and still send afterwards.
TEST_F(HttpClientTest, AnIdleConnectionTheServerClosedDoesNotKeepTheLoopBusy) {
  HttpClient client(io_);
  {
    ThreadedHttpSink gone;
    HttpRequest r = request(gone, "POST");
    std::optional<HttpResponse> first;
    client.send(std::move(r), [&](HttpResponse response) {
      first = std::move(response);
      io_.stop();
    });
    run();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->status, 200);
  }  // the server closes the connection curl keeps in its cache
  const auto cpu_before = thread_cpu_time();
  io_.restart();
  io_.run_for(500ms);
  const auto busy = thread_cpu_time() - cpu_before;
  // A loop spinning on the closed socket would use about all of the 500 ms.
  EXPECT_LT(busy, 150ms) << "the loop kept waking up for a socket nobody wants";

  ThreadedHttpSink next;
  std::optional<HttpResponse> second;
  client.send(request(next, "POST"), [&](HttpResponse response) {
    second = std::move(response);
    io_.stop();
  });
  run();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200) << second->error;
}

TEST_F(HttpClientTest, HundredConcurrentRequestsAllComplete) {
  ThreadedHttpSink sink;
  HttpClient client(io_);
  constexpr int kCount = 100;
  int done = 0;
  int ok = 0;
  for (int i = 0; i < kCount; ++i) {
    HttpRequest r = request(sink, "POST", "/n/" + std::to_string(i));
    r.body = "body-" + std::to_string(i);
    client.send(std::move(r), [&](HttpResponse response) {
      ok += response.status == 200 && response.transport_error == 0;
      if (++done == kCount) io_.stop();
    });
  }
  EXPECT_EQ(client.in_flight(), static_cast<size_t>(kCount));
  run();
  EXPECT_EQ(done, kCount);
  EXPECT_EQ(ok, kCount);
  EXPECT_EQ(client.in_flight(), 0u);
  EXPECT_EQ(sink.request_count(), static_cast<size_t>(kCount));
  std::set<std::string> bodies;
  for (const auto& got : sink.requests()) {
    EXPECT_EQ(got.target, "/n/" + got.body.substr(5));
    bodies.insert(got.body);
  }
  EXPECT_EQ(bodies.size(), static_cast<size_t>(kCount));
}

TEST_F(HttpClientTest, TruncatesResponseBodyAtMaxResponseBytes) {
  SinkOptions options;
  options.response_body = std::string(100000, 'x');
  ThreadedHttpSink sink(options);
  HttpRequest r = request(sink, "GET");
  r.max_response_bytes = 100;
  HttpResponse truncated = perform(r);
  EXPECT_EQ(truncated.transport_error, 0) << truncated.error;
  EXPECT_EQ(truncated.status, 200);
  EXPECT_EQ(truncated.body, std::string(100, 'x'));
  EXPECT_TRUE(truncated.truncated);

  r.max_response_bytes = 100000;
  HttpResponse whole = perform(r);
  EXPECT_EQ(whole.body.size(), 100000u);
  EXPECT_FALSE(whole.truncated);
}

TEST_F(HttpClientTest, LargeRequestBodyArrivesIntact) {
  ThreadedHttpSink sink;
  HttpRequest r = request(sink, "POST", "/big");
  r.body.resize(3 * 1024 * 1024);
  for (size_t i = 0; i < r.body.size(); ++i) r.body[i] = static_cast<char>('A' + i % 23);
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 200) << response.error;
  ASSERT_EQ(sink.request_count(), 1u);
  EXPECT_EQ(sink.requests()[0].body, r.body);
}

TEST_F(HttpClientTest, ResolvesHostNames) {
  // Name resolution runs on curl's resolver thread and reports back through a socket we must watch.
  ThreadedHttpSink sink;
  HttpRequest r;
  r.url = "http://localhost:" + std::to_string(sink.port()) + "/named";
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(sink.request_count(), 1u);
}

TEST_F(HttpClientTest, ConnectionRefusedIsTransportError) {
  uint16_t port = 0;
  {
    boost::asio::io_context scratch;
    boost::asio::ip::tcp::acceptor acceptor(scratch, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = acceptor.local_endpoint().port();
  }  // closed: nobody listens there now
  HttpRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.transport_error, CURLE_COULDNT_CONNECT);
  EXPECT_FALSE(response.error.empty());
}

TEST_F(HttpClientTest, HangingServerTimesOut) {
  SinkOptions options;
  options.hang = true;
  ThreadedHttpSink sink(options);
  HttpRequest r = request(sink, "POST");
  r.connection.timeout = 300ms;
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.transport_error, CURLE_OPERATION_TIMEDOUT);
  EXPECT_FALSE(response.error.empty());
  EXPECT_GE(response.elapsed, 300ms);
  EXPECT_EQ(sink.request_count(), 1u);
}

TEST_F(HttpClientTest, DelayedAnswerWithinTimeoutSucceeds) {
  SinkOptions options;
  options.delay = 200ms;
  ThreadedHttpSink sink(options);
  HttpRequest r = request(sink, "POST");
  r.connection.timeout = 5s;
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_GE(response.elapsed, 200ms);
}

TEST_F(HttpClientTest, GarbageAnswerIsTransportError) {
  SinkOptions options;
  options.garbage = true;
  ThreadedHttpSink sink(options);
  HttpResponse response = perform(request(sink, "POST"));
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.transport_error, 0);
  EXPECT_FALSE(response.error.empty());
}

TEST_F(HttpClientTest, RejectsHeadersWithCrOrLfWithoutSending) {
  ThreadedHttpSink sink;
  HttpClient client(io_);
  std::vector<HttpResponse> responses;
  const std::vector<std::pair<std::string, std::string>> bad = {{"X-Ok", "a\r\nInjected: 1"},
                                                                {"X-Ok", "a\nb"},
                                                                {"X-Bad\r\nName", "v"},
                                                                {"X Bad", "v"},
                                                                {"X-Ok", std::string("a\0b", 3)},
                                                                {"X-Bad\x80", "v"},
                                                                {"", "v"}};
  for (const auto& header : bad) {
    HttpRequest r = request(sink, "POST");
    r.headers = {header};
    client.send(std::move(r), [&](HttpResponse response) {
      responses.push_back(std::move(response));
      if (responses.size() == bad.size()) io_.stop();
    });
  }
  EXPECT_TRUE(responses.empty()) << "callbacks must never run inside send()";
  run();
  ASSERT_EQ(responses.size(), bad.size());
  for (const HttpResponse& response : responses) {
    EXPECT_EQ(response.status, 0);
    EXPECT_EQ(response.transport_error, CURLE_BAD_FUNCTION_ARGUMENT);
    EXPECT_NE(response.error.find("header"), std::string::npos) << response.error;
  }
  EXPECT_NE(responses[0].error.find("CR or LF"), std::string::npos);
  EXPECT_NE(responses[4].error.find("NUL"), std::string::npos);
  EXPECT_EQ(sink.request_count(), 0u);
}

TEST_F(HttpClientTest, SendsHeaderNamesMadeOfEveryTokenCharacter) {
  ThreadedHttpSink sink;
  HttpRequest r = request(sink, "POST");
  r.headers = {{"X-a0_Z9!#$%&'*+.^`|~", "v"}};
  HttpResponse response = perform(std::move(r));
  EXPECT_EQ(response.status, 200) << response.error;
  ASSERT_EQ(sink.request_count(), 1u);
  EXPECT_EQ(sink.requests()[0].header("X-a0_Z9!#$%&'*+.^`|~"), "v");
}

TEST_F(HttpClientTest, RejectsInvalidMethod) {
  ThreadedHttpSink sink;
  HttpResponse response = perform(request(sink, "GET / HTTP/1.1\r\nX:"));
  EXPECT_EQ(response.transport_error, CURLE_BAD_FUNCTION_ARGUMENT);
  EXPECT_EQ(sink.request_count(), 0u);
}

TEST_F(HttpClientTest, SendsBasicAuth) {
  ThreadedHttpSink sink;
  HttpRequest r = request(sink, "POST");
  r.basic_auth = std::make_pair(std::string("user"), std::string("p@ss:word"));
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 200);
  ASSERT_EQ(sink.request_count(), 1u);
  EXPECT_EQ(sink.requests()[0].header("Authorization"), "Basic dXNlcjpwQHNzOndvcmQ=");
}

TEST_F(HttpClientTest, OnlyHttpAndHttpsAreAllowed) {
  for (std::string url : {"ftp://127.0.0.1:1/x", "file:///etc/hostname", "gopher://127.0.0.1:1/"}) {
    HttpRequest r;
    r.url = url;
    HttpResponse response = perform(r);
    EXPECT_EQ(response.transport_error, CURLE_UNSUPPORTED_PROTOCOL) << url << ": " << response.error;
    EXPECT_EQ(response.status, 0);
  }
}

TEST_F(HttpClientTest, HttpsToPlainServerFailsInTls) {
  ThreadedHttpSink sink;
  HttpRequest r;
  r.url = "https://127.0.0.1:" + std::to_string(sink.port()) + "/";
  r.connection.tls_verify = false;
  r.connection.timeout = 5s;
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.transport_error, 0);
  EXPECT_NE(response.transport_error, CURLE_UNSUPPORTED_PROTOCOL);
}

TEST_F(HttpClientTest, DestroyingClientWithTransfersInFlightSkipsCallbacks) {
  SinkOptions options;
  options.hang = true;
  ThreadedHttpSink sink(options);
  std::atomic<int> arrived{0};
  sink.on_request([&](const ReceivedRequest&, int) {
    // Runs on the sink's thread; posting to another io_context is thread-safe.
    if (++arrived == 5) boost::asio::post(io_, [this] { io_.stop(); });
  });
  int callbacks = 0;
  auto client = std::make_unique<HttpClient>(io_);
  for (int i = 0; i < 5; ++i) client->send(request(sink, "POST"), [&](HttpResponse) { ++callbacks; });
  HttpRequest rejected = request(sink, "POST");
  rejected.headers = {{"X", "a\nb"}};
  run();
  ASSERT_EQ(arrived.load(), 5);
  client->send(std::move(rejected), [&](HttpResponse) { ++callbacks; });  // its completion is posted
  EXPECT_EQ(client->in_flight(), 6u);
  client.reset();  // sockets and the curl timer still have waits pending here
  io_.restart();
  io_.run_for(200ms);  // lets the aborted waits and the posted completion run; none may call back
  EXPECT_EQ(callbacks, 0);
}

TEST_F(HttpClientTest, DestroyingClientBeforeTheLoopEverRuns) {
  ThreadedHttpSink sink;
  int callbacks = 0;
  {
    HttpClient client(io_);
    client.send(request(sink, "POST"), [&](HttpResponse) { ++callbacks; });
    HttpRequest bad = request(sink, "POST");
    bad.headers = {{"X", "\r"}};
    client.send(std::move(bad), [&](HttpResponse) { ++callbacks; });
  }
  io_.restart();
  io_.run_for(100ms);
  EXPECT_EQ(callbacks, 0);
}

TEST_F(HttpClientTest, CallbackMayDestroyTheClient) {
  SinkOptions options;
  options.statuses = {200};
  options.delay = 0ms;
  ThreadedHttpSink sink(options);
  SinkOptions slow_options;
  slow_options.hang = true;
  ThreadedHttpSink slow(slow_options);

  auto client = std::make_unique<HttpClient>(io_);
  int callbacks = 0;
  client->send(request(slow, "POST"), [&](HttpResponse) { ++callbacks; });
  client->send(request(sink, "POST"), [&](HttpResponse response) {
    ++callbacks;
    EXPECT_EQ(response.status, 200);
    client.reset();  // inside our own completion, with another transfer still running
    boost::asio::post(io_, [this] { io_.stop(); });
  });
  run();
  EXPECT_EQ(client, nullptr);
  EXPECT_EQ(callbacks, 1);
}

// ---- HTTPS against the sink's real TLS server ----

SinkOptions self_signed_server() {
  SinkOptions options;
  options.tls_cert_file = test::tls_files().self_signed_cert;
  options.tls_key_file = test::tls_files().self_signed_key;
  return options;
}

SinkOptions ca_signed_server() {
  SinkOptions options;
  options.tls_cert_file = test::tls_files().server_cert;
  options.tls_key_file = test::tls_files().server_key;
  return options;
}

SinkOptions mutual_tls_server() {
  SinkOptions options = ca_signed_server();
  options.tls_client_ca_file = test::tls_files().client_ca_cert;
  return options;
}

TEST_F(HttpClientTest, SelfSignedServerIsRefusedByDefaultAsTls) {
  ThreadedHttpSink sink(self_signed_server());
  HttpResponse response = perform(request(sink, "POST"));
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.transport_error, CURLE_PEER_FAILED_VERIFICATION) << response.error;
  EXPECT_STREQ(transport_error_class(response.transport_error), "tls");
  EXPECT_EQ(sink.request_count(), 0u);  // nothing was sent before the certificate was checked
}

TEST_F(HttpClientTest, SelfSignedServerIsAcceptedWhenNamedAsCaFile) {
  ThreadedHttpSink sink(self_signed_server());
  HttpRequest r = request(sink, "POST", "/pinned");
  r.connection.ca_file = test::tls_files().self_signed_cert;
  r.body = "over tls";
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 200) << response.error;
  ASSERT_EQ(sink.request_count(), 1u);
  EXPECT_EQ(sink.requests()[0].body, "over tls");
  EXPECT_EQ(sink.requests()[0].target, "/pinned");
}

TEST_F(HttpClientTest, CaSignedServerIsAcceptedWithTheCaFileByAddressAndByName) {
  ThreadedHttpSink sink(ca_signed_server());
  for (std::string host : {"127.0.0.1", "localhost"}) {
    HttpRequest r;
    r.url = "https://" + host + ":" + std::to_string(sink.port()) + "/chain";
    r.connection.ca_file = test::tls_files().ca_cert;
    HttpResponse response = perform(r);
    EXPECT_EQ(response.status, 200) << host << ": " << response.error;
  }
  EXPECT_EQ(sink.request_count(), 2u);
}

TEST_F(HttpClientTest, WrongCaFileIsRefusedAsTls) {
  ThreadedHttpSink sink(ca_signed_server());
  HttpRequest r = request(sink, "GET");
  r.connection.ca_file = test::tls_files().client_ca_cert;  // a CA, but not the one that signed the server
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 0);
  EXPECT_STREQ(transport_error_class(response.transport_error), "tls") << response.error;
}

TEST_F(HttpClientTest, SelfSignedServerIsAcceptedWithoutVerification) {
  ThreadedHttpSink sink(self_signed_server());
  HttpRequest r = request(sink, "PUT", "/unchecked");
  r.connection.tls_verify = false;
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.body, "{\"ok\":true}");
  EXPECT_EQ(sink.request_count(), 1u);
}

TEST_F(HttpClientTest, MutualTlsWithoutClientCertificateFailsAsTls) {
  ThreadedHttpSink sink(mutual_tls_server());
  HttpRequest r = request(sink, "POST");
  r.connection.ca_file = test::tls_files().ca_cert;
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.transport_error, 0);
  // Under TLS 1.3 the refusal is an alert after the handshake, seen by curl as a receive error.
  EXPECT_STREQ(transport_error_class(response), "tls") << response.error;
  EXPECT_EQ(sink.request_count(), 0u);
}

TEST(TransportErrorClass, OnlyAReceivedTlsAlertMakesAReceiveErrorTls) {
  HttpResponse alert;
  alert.transport_error = CURLE_RECV_ERROR;
  alert.error = "OpenSSL SSL_read: error:0A00045C:SSL routines::tlsv13 alert certificate required, errno 0";
  EXPECT_STREQ(transport_error_class(alert), "tls");
  HttpResponse reset;
  reset.transport_error = CURLE_RECV_ERROR;
  reset.error = "OpenSSL SSL_read: Connection reset by peer, errno 104";
  EXPECT_STREQ(transport_error_class(reset), "protocol");
  HttpResponse timeout;
  timeout.transport_error = CURLE_OPERATION_TIMEDOUT;
  timeout.error = "alert of some kind";  // the text only refines receive and send errors
  EXPECT_STREQ(transport_error_class(timeout), "timeout");
  HttpResponse garbage;
  garbage.transport_error = CURLE_UNSUPPORTED_PROTOCOL;
  garbage.error = "Received HTTP/0.9 when not allowed";
  EXPECT_STREQ(transport_error_class(garbage), "protocol");
  HttpResponse scheme;
  scheme.transport_error = CURLE_UNSUPPORTED_PROTOCOL;
  scheme.error = "Protocol \"gopher\" not supported";
  EXPECT_STREQ(transport_error_class(scheme), "other");
}

TEST_F(HttpClientTest, MutualTlsWithClientCertificateSucceedsAndTheServerSeesItsName) {
  ThreadedHttpSink sink(mutual_tls_server());
  HttpRequest r = request(sink, "POST", "/mtls");
  r.connection.ca_file = test::tls_files().ca_cert;
  r.connection.client_cert = test::tls_files().client_cert;
  r.connection.client_key = test::tls_files().client_key;
  HttpResponse response = perform(r);
  EXPECT_EQ(response.status, 200) << response.error;
  ASSERT_EQ(sink.request_count(), 1u);
  EXPECT_EQ(sink.requests()[0].client_subject, test::kTlsClientCommonName);
}

TEST_F(HttpClientTest, HttpsConnectionIsReusedAndLargeBodiesTruncate) {
  SinkOptions options = ca_signed_server();
  options.response_body_size = 3 * 1024 * 1024;  // generated, streamed in pieces over TLS
  ThreadedHttpSink sink(options);
  HttpClient client(io_);
  std::vector<HttpResponse> responses;
  std::function<void()> send_one = [&] {
    HttpRequest r = request(sink, "GET");
    r.connection.ca_file = test::tls_files().ca_cert;
    r.max_response_bytes = 1000;
    client.send(std::move(r), [&](HttpResponse response) {
      responses.push_back(std::move(response));
      if (responses.size() < 2) return send_one();
      io_.stop();
    });
  };
  send_one();
  run();
  ASSERT_EQ(responses.size(), 2u);
  for (const HttpResponse& response : responses) {
    EXPECT_EQ(response.status, 200) << response.error;
    EXPECT_EQ(response.body, std::string(1000, 'x'));
    EXPECT_TRUE(response.truncated);
  }
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].connection, reqs[1].connection);  // the whole body was drained: keep-alive held
}

}  // namespace
}  // namespace herald::net
