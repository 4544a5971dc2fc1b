#include "tools/http_sink.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace herald::tools {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

tcp::endpoint loopback(uint16_t port) { return {asio::ip::make_address("127.0.0.1"), port}; }

// A blocking keep-alive client: independent of herald::net so the sink is tested on its own.
class BlockingClient {
 public:
  explicit BlockingClient(uint16_t port) : socket_(io_) { socket_.connect(loopback(port)); }

  http::response<http::string_body> roundtrip(http::verb verb, const std::string& target,
                                              std::string body = {},
                                              std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::request<http::string_body> request(verb, target, 11);
    request.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = std::move(body);
    request.prepare_payload();
    http::write(socket_, request);
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

  tcp::socket& socket() { return socket_; }
  beast::flat_buffer& buffer() { return buffer_; }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

TEST(HttpSinkTest, RecordsRequestAndAnswersWithDefaults) {
  ThreadedHttpSink sink;
  ASSERT_NE(sink.port(), 0);
  EXPECT_EQ(sink.url(), "http://127.0.0.1:" + std::to_string(sink.port()));

  BlockingClient client(sink.port());
  auto response = client.roundtrip(http::verb::post, "/hook?a=1", R"({"k":"v"})",
                                   {{"Content-Type", "application/json"}, {"X-Herald-Id", "abc"}});
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), R"({"ok":true})");
  EXPECT_EQ(response[http::field::content_type], "application/json");

  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/hook?a=1");
  EXPECT_EQ(requests[0].body, R"({"k":"v"})");
  EXPECT_EQ(requests[0].header("x-herald-id"), "abc");
  EXPECT_EQ(requests[0].header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(requests[0].header("X-Missing"), "");
  EXPECT_EQ(sink.request_count(), 1u);
}

TEST(HttpSinkTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  ThreadedHttpSink sink;
  BlockingClient client(sink.port());
  for (int i = 0; i < 3; ++i) {
    auto response =
        client.roundtrip(http::verb::put, "/item/" + std::to_string(i), "body" + std::to_string(i));
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_TRUE(response.keep_alive());
  }
  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(requests[i].target, "/item/" + std::to_string(i));
    EXPECT_EQ(requests[i].body, "body" + std::to_string(i));
    EXPECT_EQ(requests[i].connection, requests[0].connection);
  }

  BlockingClient second(sink.port());
  second.roundtrip(http::verb::get, "/other");
  ASSERT_EQ(sink.request_count(), 4u);
  EXPECT_NE(sink.requests()[3].connection, requests[0].connection);
}

TEST(HttpSinkTest, ScriptedStatusesThenDefault) {
  SinkOptions options;
  options.statuses = {503, 500};
  options.default_status = 202;
  options.response_body = "done";
  ThreadedHttpSink sink(options);
  BlockingClient client(sink.port());
  EXPECT_EQ(client.roundtrip(http::verb::post, "/", "1").result_int(), 503);
  EXPECT_EQ(client.roundtrip(http::verb::post, "/", "2").result_int(), 500);
  auto third = client.roundtrip(http::verb::post, "/", "3");
  EXPECT_EQ(third.result_int(), 202);
  EXPECT_EQ(third.body(), "done");
  EXPECT_EQ(client.roundtrip(http::verb::post, "/", "4").result_int(), 202);
}

TEST(HttpSinkTest, NoContentAndHeadAnswersCarryNoBody) {
  SinkOptions options;
  options.statuses = {204};
  ThreadedHttpSink sink(options);
  BlockingClient client(sink.port());
  auto no_content = client.roundtrip(http::verb::post, "/", "x");
  EXPECT_EQ(no_content.result_int(), 204);
  EXPECT_EQ(no_content.body(), "");

  // HEAD: the length is announced but no body follows; the connection stays usable.
  http::request<http::empty_body> head(http::verb::head, "/", 11);
  http::write(client.socket(), head);
  http::response_parser<http::empty_body> parser;
  parser.skip(true);
  http::read(client.socket(), client.buffer(), parser);
  EXPECT_EQ(parser.get().result_int(), 200);
  EXPECT_EQ(parser.get()[http::field::content_length], "11");
  EXPECT_EQ(client.roundtrip(http::verb::get, "/after").result_int(), 200);
}

TEST(HttpSinkTest, AcceptsMultiMegabyteBodies) {
  ThreadedHttpSink sink;
  BlockingClient client(sink.port());
  std::string body(4 * 1024 * 1024, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  EXPECT_EQ(client.roundtrip(http::verb::post, "/big", body).result_int(), 200);
  ASSERT_EQ(sink.request_count(), 1u);
  EXPECT_EQ(sink.requests()[0].body, body);
}

TEST(HttpSinkTest, AnswersExpectContinue) {
  ThreadedHttpSink sink;
  BlockingClient client(sink.port());
  const std::string head =
      "POST /continue HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
  asio::write(client.socket(), asio::buffer(head));
  std::string interim;
  asio::read_until(client.socket(), asio::dynamic_buffer(interim), "\r\n\r\n");
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
  asio::write(client.socket(), asio::buffer(std::string("hello")));
  http::response<http::string_body> response;
  http::read(client.socket(), client.buffer(), response);
  EXPECT_EQ(response.result_int(), 200);
  ASSERT_EQ(sink.request_count(), 1u);
  EXPECT_EQ(sink.requests()[0].body, "hello");
}

TEST(HttpSinkTest, DelayedAnswerArrivesAfterDelay) {
  SinkOptions options;
  options.delay = 200ms;
  ThreadedHttpSink sink(options);
  BlockingClient client(sink.port());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.roundtrip(http::verb::post, "/", "x").result_int(), 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
}

TEST(HttpSinkTest, HangReadsButNeverAnswers) {
  SinkOptions options;
  options.hang = true;
  ThreadedHttpSink sink(options);

  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(loopback(sink.port()));
  http::request<http::string_body> request(http::verb::post, "/", 11);
  request.body() = "payload";
  request.prepare_payload();
  http::write(stream, request);
  ASSERT_TRUE(sink.wait_for_requests(1, 10s));
  EXPECT_EQ(sink.requests()[0].body, "payload");

  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  beast::error_code result;
  stream.expires_after(300ms);
  http::async_read(stream, buffer, response, [&](beast::error_code ec, size_t) { result = ec; });
  io.run();
  EXPECT_EQ(result, beast::error::timeout);
}

TEST(HttpSinkTest, GarbageAnswerIsNotHttp) {
  SinkOptions options;
  options.garbage = true;
  ThreadedHttpSink sink(options);
  BlockingClient client(sink.port());
  asio::write(client.socket(), asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string answer;
  beast::error_code ec;
  asio::read(client.socket(), asio::dynamic_buffer(answer), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_FALSE(answer.empty());
  EXPECT_NE(answer.rfind("HTTP/", 0), 0u);
  EXPECT_EQ(sink.request_count(), 1u);
}

TEST(HttpSinkTest, CallbackReportsAnsweredStatusOnCallerLoop) {
  asio::io_context io;
  SinkOptions options;
  options.statuses = {429};
  HttpSink sink(io, options);
  std::vector<std::pair<std::string, int>> seen;
  sink.on_request([&](const ReceivedRequest& request, int status) {
    seen.emplace_back(request.target, status);
    if (seen.size() == 2) {
      sink.stop();
      io.stop();
    }
  });
  const uint16_t port = sink.port();
  std::thread client_thread([port] {
    BlockingClient client(port);
    client.roundtrip(http::verb::post, "/first", "1");
    client.roundtrip(http::verb::post, "/second", "2");
  });
  io.run_for(10s);
  client_thread.join();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("/first"), 429));
  EXPECT_EQ(seen[1], std::make_pair(std::string("/second"), 200));
}

TEST(HttpSinkTest, BindFailureThrows) {
  asio::io_context io;
  HttpSink first(io, {});
  SinkOptions same;
  same.port = first.port();
  EXPECT_THROW(HttpSink(io, same), std::runtime_error);
  SinkOptions bad_host;
  bad_host.host = "not an address";
  EXPECT_THROW(HttpSink(io, bad_host), std::runtime_error);
  SinkOptions bad_status;
  bad_status.statuses = {42};
  EXPECT_THROW(HttpSink(io, bad_status), std::runtime_error);
}

TEST(HttpSinkTest, WaitForRequestsTimesOutWithoutRequests) {
  ThreadedHttpSink sink;
  EXPECT_FALSE(sink.wait_for_requests(1, 50ms));
  EXPECT_TRUE(sink.wait_for_requests(0, 50ms));
}

TEST(RunSinkCommandTest, BadArgumentsReturnTwoAndNameTheArgument) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--bogus"}, "--bogus"},
      {{"--listen"}, "--listen"},
      {{"--listen", "no-port-here"}, "no-port-here"},
      {{"--listen", "127.0.0.1:99999"}, "127.0.0.1:99999"},
      {{"--listen", "not-an-ip:80"}, "not-an-ip:80"},
      {{"--status", "abc"}, "--status"},
      {{"--status", "42"}, "--status"},
      {{"--statuses", "503,x"}, "503,x"},
      {{"--statuses", "503,"}, "--statuses"},
      {{"--delay", "-5"}, "--delay"},
      {{"--max-requests", "0"}, "--max-requests"},
      {{"--max-requests=many"}, "--max-requests"},
  };
  for (const auto& [args, needle] : cases) {
    std::ostringstream out, err;
    EXPECT_EQ(run_sink_command(args, out, err), 2) << args[0];
    EXPECT_NE(err.str().find(needle), std::string::npos) << err.str();
    EXPECT_EQ(out.str(), "");
  }
}

TEST(RunSinkCommandTest, HelpReturnsZero) {
  std::ostringstream out, err;
  EXPECT_EQ(run_sink_command({"--help"}, out, err), 0);
  EXPECT_NE(out.str().find("--max-requests"), std::string::npos);
}

TEST(RunSinkCommandTest, BindFailureReturnsOne) {
  asio::io_context io;
  HttpSink occupied(io, {});
  std::ostringstream out, err;
  EXPECT_EQ(run_sink_command({"--listen", "127.0.0.1:" + std::to_string(occupied.port())}, out, err), 1);
  EXPECT_NE(err.str().find("bind"), std::string::npos) << err.str();
}

TEST(RunSinkCommandTest, PrintsOneJsonLinePerRequestAndStopsAtMaxRequests) {
  std::ostringstream out, err;
  std::promise<uint16_t> listening;
  auto port_future = listening.get_future();
  int rc = -1;
  std::thread command([&] {
    rc = run_sink_command({"--listen", "127.0.0.1:0", "--statuses", "503", "--max-requests=2"}, out, err,
                          [&](uint16_t port) { listening.set_value(port); });
  });
  if (port_future.wait_for(10s) != std::future_status::ready) {
    command.join();
    FAIL() << "sink did not start: " << err.str();
  }
  const uint16_t port = port_future.get();
  {
    BlockingClient client(port);
    EXPECT_EQ(
        client.roundtrip(http::verb::post, "/json", R"({"n":1})", {{"Content-Type", "application/json"}})
            .result_int(),
        503);
    EXPECT_EQ(client.roundtrip(http::verb::patch, "/text", "plain words").result_int(), 200);
  }
  command.join();
  EXPECT_EQ(rc, 0);
  EXPECT_NE(err.str().find("listening on 127.0.0.1:" + std::to_string(port)), std::string::npos) << err.str();

  std::istringstream lines(out.str());
  std::vector<nlohmann::json> printed;
  for (std::string line; std::getline(lines, line);) printed.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(printed.size(), 2u) << out.str();
  EXPECT_EQ(printed[0]["method"], "POST");
  EXPECT_EQ(printed[0]["target"], "/json");
  EXPECT_EQ(printed[0]["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(printed[0]["body"], nlohmann::json({{"n", 1}}));
  EXPECT_EQ(printed[0]["status"], 503);
  EXPECT_EQ(printed[1]["method"], "PATCH");
  EXPECT_EQ(printed[1]["body"], "plain words");
  EXPECT_EQ(printed[1]["status"], 200);
}

TEST(RunSinkCommandTest, StopsOnSigterm) {
  std::ostringstream out, err;
  std::promise<void> listening;
  auto ready = listening.get_future();
  std::atomic<int> rc{-1};
  std::thread command([&] {
    rc = run_sink_command({"--listen", "127.0.0.1:0"}, out, err, [&](uint16_t) { listening.set_value(); });
  });
  if (ready.wait_for(10s) != std::future_status::ready) {
    command.join();
    FAIL() << "sink did not start: " << err.str();
  }
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  command.join();
  EXPECT_EQ(rc.load(), 0);
}

}  // namespace
}  // namespace herald::tools
