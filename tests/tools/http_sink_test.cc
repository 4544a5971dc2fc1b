#include "tools/http_sink.h"

#include <curl/curl.h>
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
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "support/tls_certs.h"

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

// ---- TLS ----

SinkOptions tls_options() {
  SinkOptions options;
  options.tls_cert_file = test::tls_files().server_cert;
  options.tls_key_file = test::tls_files().server_key;
  return options;
}

// One request through Herald's own client (curl), trusting the test CA, on a private loop.
net::HttpResponse fetch(net::HttpRequest request) {
  asio::io_context io;
  net::HttpClient client(io);
  std::optional<net::HttpResponse> result;
  if (request.connection.ca_file.empty()) request.connection.ca_file = test::tls_files().ca_cert;
  client.send(std::move(request), [&](net::HttpResponse response) {
    result = std::move(response);
    io.stop();
  });
  io.run_for(10s);
  EXPECT_TRUE(result.has_value()) << "no completion within the bound";
  return result.value_or(net::HttpResponse{});
}

net::HttpRequest https_request(uint16_t port, std::string target) {
  net::HttpRequest request;
  request.url = "https://127.0.0.1:" + std::to_string(port) + target;
  return request;
}

TEST(HttpSinkTlsTest, AnswersHttpsWithScriptedStatusesAndHeaders) {
  SinkOptions options = tls_options();
  options.statuses = {503};
  options.response_headers = {{"Retry-After", "7"}};
  ThreadedHttpSink sink(options);
  EXPECT_EQ(sink.url(), "https://127.0.0.1:" + std::to_string(sink.port()));

  net::HttpRequest first = https_request(sink.port(), "/a");
  first.body = "one";
  net::HttpResponse unavailable = fetch(first);
  EXPECT_EQ(unavailable.status, 503) << unavailable.error;
  net::HttpResponse ok = fetch(https_request(sink.port(), "/b"));
  EXPECT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(ok.body, "{\"ok\":true}");
  bool retry_after = false;
  for (const auto& [name, value] : ok.headers) retry_after |= name == "Retry-After" && value == "7";
  EXPECT_TRUE(retry_after);

  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/a");
  EXPECT_EQ(reqs[0].body, "one");
  EXPECT_EQ(reqs[1].target, "/b");
  EXPECT_EQ(reqs[0].client_subject, "");  // no client certificate asked for
}

TEST(HttpSinkTlsTest, PlainHttpClientGetsNoAnswerFromTheTlsSink) {
  ThreadedHttpSink sink(tls_options());
  net::HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(sink.port()) + "/";
  net::HttpResponse response = fetch(request);
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.transport_error, 0);
  EXPECT_EQ(sink.request_count(), 0u);
}

TEST(HttpSinkTlsTest, MutualTlsRefusesClientsWithoutACertificateFromItsCa) {
  SinkOptions options = tls_options();
  options.tls_client_ca_file = test::tls_files().client_ca_cert;
  ThreadedHttpSink sink(options);

  net::HttpResponse anonymous = fetch(https_request(sink.port(), "/anonymous"));
  EXPECT_EQ(anonymous.status, 0);
  EXPECT_NE(anonymous.transport_error, 0);

  net::HttpRequest stranger = https_request(sink.port(), "/stranger");
  stranger.connection.client_cert = test::tls_files().self_signed_cert;  // not signed by the client CA
  stranger.connection.client_key = test::tls_files().self_signed_key;
  net::HttpResponse refused = fetch(stranger);
  EXPECT_EQ(refused.status, 0);
  EXPECT_NE(refused.transport_error, 0);
  EXPECT_EQ(sink.request_count(), 0u);

  net::HttpRequest known = https_request(sink.port(), "/known");
  known.connection.client_cert = test::tls_files().client_cert;
  known.connection.client_key = test::tls_files().client_key;
  net::HttpResponse accepted = fetch(known);
  EXPECT_EQ(accepted.status, 200) << accepted.error;
  ASSERT_EQ(sink.request_count(), 1u);
  EXPECT_EQ(sink.requests()[0].target, "/known");
  EXPECT_EQ(sink.requests()[0].client_subject, test::kTlsClientCommonName);
}

TEST(HttpSinkTlsTest, HangAndGarbageWorkOverTls) {
  SinkOptions hang = tls_options();
  hang.hang = true;
  ThreadedHttpSink hanging(hang);
  net::HttpRequest request = https_request(hanging.port(), "/");
  request.connection.timeout = 300ms;
  net::HttpResponse timed_out = fetch(request);
  EXPECT_EQ(timed_out.transport_error, CURLE_OPERATION_TIMEDOUT) << timed_out.error;
  EXPECT_EQ(hanging.request_count(), 1u);  // read over TLS, never answered

  SinkOptions garbage = tls_options();
  garbage.garbage = true;
  ThreadedHttpSink garbled(garbage);
  net::HttpResponse nonsense = fetch(https_request(garbled.port(), "/"));
  EXPECT_EQ(nonsense.status, 0);
  EXPECT_NE(nonsense.transport_error, 0);
  // The TLS layer worked; what came through it was not HTTP.
  EXPECT_STRNE(net::transport_error_class(nonsense), "tls") << nonsense.error;
  EXPECT_EQ(garbled.request_count(), 1u);
}

TEST(HttpSinkTlsTest, UnusableTlsFilesThrow) {
  asio::io_context io;
  SinkOptions no_key = tls_options();
  no_key.tls_key_file.clear();
  EXPECT_THROW(HttpSink(io, no_key), std::runtime_error);
  SinkOptions missing = tls_options();
  missing.tls_cert_file = "/nonexistent/cert.pem";
  try {
    HttpSink sink(io, missing);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cert.pem"), std::string::npos) << e.what();
  }
  SinkOptions key_as_ca = tls_options();
  key_as_ca.tls_client_ca_file = test::tls_files().server_key;  // not a certificate
  EXPECT_THROW(HttpSink(io, key_as_ca), std::runtime_error);
}

TEST(HttpSinkTest, GeneratedBodyIsStreamedWithItsLength) {
  SinkOptions options;
  options.response_body_size = 5 * 1024 * 1024 + 3;  // not a multiple of the piece size
  ThreadedHttpSink sink(options);
  BlockingClient client(sink.port());
  http::request<http::empty_body> head(http::verb::head, "/", 11);
  http::write(client.socket(), head);
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // a HEAD answer announces the length, no body follows
  http::read(client.socket(), client.buffer(), parser);
  EXPECT_EQ(parser.get()[http::field::content_length], std::to_string(options.response_body_size));
  auto get = client.roundtrip(http::verb::get, "/");
  EXPECT_EQ(get.result_int(), 200);
  EXPECT_EQ(get.body().size(), options.response_body_size);
  EXPECT_EQ(get.body().find_first_not_of('x'), std::string::npos);
  // The connection is still usable afterwards.
  EXPECT_EQ(client.roundtrip(http::verb::get, "/again").body().size(), options.response_body_size);
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].connection, reqs[2].connection);
}

TEST(RunSinkCommandTest, TlsArgumentsMustComeTogether) {
  const std::vector<std::vector<std::string>> cases = {
      {"--tls-cert", test::tls_files().server_cert},
      {"--tls-key", test::tls_files().server_key},
      {"--tls-client-ca", test::tls_files().client_ca_cert},
      {"--tls-cert="},
  };
  for (const auto& args : cases) {
    std::ostringstream out, err;
    EXPECT_EQ(run_sink_command(args, out, err), 2) << args[0];
    EXPECT_NE(err.str().find("--tls-"), std::string::npos) << err.str();
  }
  std::ostringstream out, err;
  EXPECT_EQ(run_sink_command({"--help"}, out, err), 0);
  EXPECT_NE(out.str().find("--tls-client-ca"), std::string::npos);
}

TEST(RunSinkCommandTest, ServesMutualTlsAndPrintsTheClientSubject) {
  std::ostringstream out, err;
  std::promise<uint16_t> listening;
  auto port_future = listening.get_future();
  int rc = -1;
  std::thread command([&] {
    rc = run_sink_command(
        {"--listen", "127.0.0.1:0", "--max-requests", "1", "--tls-cert", test::tls_files().server_cert,
         "--tls-key", test::tls_files().server_key, "--tls-client-ca", test::tls_files().client_ca_cert},
        out, err, [&](uint16_t port) { listening.set_value(port); });
  });
  if (port_future.wait_for(10s) != std::future_status::ready) {
    command.join();
    FAIL() << "sink did not start: " << err.str();
  }
  net::HttpRequest request = https_request(port_future.get(), "/hello");
  request.connection.client_cert = test::tls_files().client_cert;
  request.connection.client_key = test::tls_files().client_key;
  net::HttpResponse response = fetch(request);
  EXPECT_EQ(response.status, 200) << response.error;
  command.join();  // --max-requests 1: it stops after printing the request
  EXPECT_EQ(rc, 0);
  auto printed = nlohmann::json::parse(out.str());
  EXPECT_EQ(printed["target"], "/hello");
  EXPECT_EQ(printed["client_subject"], test::kTlsClientCommonName);
}

}  // namespace
}  // namespace herald::tools
