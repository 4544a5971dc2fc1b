// End to end over HTTPS: the real heraldd program and the real rest plugin (dlopen'd) against the
// sink's real TLS server on 127.0.0.1, with certificates made at test time. Outcomes are read from
// the state database heraldd wrote, as heraldctl would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/daemon.h"
#include "state/state_store.h"
#include "support/daemon_fixture.h"
#include "support/daemon_process.h"
#include "support/tls_certs.h"
#include "tools/http_sink.h"

namespace herald {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

tools::SinkOptions self_signed_server() {
  tools::SinkOptions options;
  options.tls_cert_file = test::tls_files().self_signed_cert;
  options.tls_key_file = test::tls_files().self_signed_key;
  return options;
}

tools::SinkOptions ca_signed_server() {
  tools::SinkOptions options;
  options.tls_cert_file = test::tls_files().server_cert;
  options.tls_key_file = test::tls_files().server_key;
  return options;
}

std::string key(const std::string& name, const std::string& value) { return name + " = \"" + value + "\"\n"; }

std::string trust_ca() { return key("ca_file", test::tls_files().ca_cert); }

std::string client_identity() {
  return key("client_cert", test::tls_files().client_cert) + key("client_key", test::tls_files().client_key);
}

class DaemonTlsTest : public ::testing::Test {
 protected:
  // A scenario whose endpoint "pacs" points at `url` (with `endpoint_keys` added), retrying after
  // `slot`, and one outbox event waiting for it.
  void prepare(const std::string& url, const std::string& endpoint_keys, const std::string& slot = "1h",
               const std::string& timeout = "5s") {
    test::Scenario s;
    s.sink_url = url;
    s.retry_schedule = {slot};
    config_ = test::write_scenario(dir_, s);
    base_toml_ = test::read_file(config_);
    base_url_ = url;
    configure(url, endpoint_keys, timeout);
    test::append_event(dir_.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       R"({"PersonID":"tls-1"})");
  }

  // Rewrites the endpoint: its URL, its timeout and extra keys; the rest of the scenario stays.
  void configure(const std::string& url, const std::string& endpoint_keys,
                 const std::string& timeout = "5s") {
    std::string toml = base_toml_;
    toml.replace(toml.find(base_url_), base_url_.size(), url);
    const std::string timeout_line = "timeout = \"5s\"\n";
    toml.replace(toml.find(timeout_line), timeout_line.size(), key("timeout", timeout) + endpoint_keys);
    test::write_file(config_, toml);
  }

  // heraldd --drain: everything due is attempted once, then it exits.
  test::ProcessResult drain() {
    auto r = test::run_process(std::string(HERALDD_PATH) + " --config " + config_ + " --drain", 60);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r;
  }

  state::StateStore store() {
    auto st = state::StateStore::open(dir_.file("state.db"));
    if (!st) throw std::runtime_error(st.error().message);
    return std::move(st.value());
  }

  state::NotificationRow notification() {
    auto rows = store().list(std::nullopt, 10);
    EXPECT_TRUE(rows && rows->size() == 1u);
    return rows && !rows->empty() ? rows->front() : state::NotificationRow{};
  }

  std::vector<state::AttemptRow> attempts() { return store().attempts(notification().id).value(); }

  test::TempDir dir_;
  std::string config_;
  std::string base_toml_;
  std::string base_url_;
};

TEST_F(DaemonTlsTest, SelfSignedServerIsRefusedAsTlsUntilItsCertificateIsTrusted) {
  tools::ThreadedHttpSink sink(self_signed_server());
  prepare(sink.url(), "");
  auto refused = drain();
  EXPECT_THAT(refused.output, HasSubstr("attempt 1 failed"));
  auto row = notification();
  EXPECT_EQ(row.state, state::State::Waiting);  // owed a retry, not given up
  auto first = attempts();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].outcome, "retry");
  EXPECT_EQ(first[0].error_class, "tls");
  EXPECT_FALSE(first[0].http_status.has_value());
  EXPECT_FALSE(first[0].error.empty());
  EXPECT_EQ(sink.request_count(), 0u);  // nothing left Herald before the certificate was checked

  // The operator trusts that very certificate (ca_file) and asks for the retry now.
  configure(sink.url(), key("ca_file", test::tls_files().self_signed_cert));
  auto retry = test::run_process(std::string(HERALDCTL_PATH) + " -c " + config_ + " retry 1");
  ASSERT_EQ(retry.exit_code, 0) << retry.output;
  drain();
  EXPECT_EQ(notification().state, state::State::Delivered);
  auto all = attempts();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].outcome, "delivered");
  EXPECT_EQ(all[1].http_status, 200);
  ASSERT_EQ(sink.request_count(), 1u);
  EXPECT_EQ(sink.requests()[0].target, "/api/people/tls-1/added");
}

TEST_F(DaemonTlsTest, ServerSignedByTheConfiguredCaIsDeliveredByName) {
  tools::ThreadedHttpSink sink(ca_signed_server());
  // By host name: the certificate's DNS name is checked, not only its address.
  prepare("https://localhost:" + std::to_string(sink.port()), trust_ca());
  drain();
  EXPECT_EQ(notification().state, state::State::Delivered);
  EXPECT_EQ(sink.request_count(), 1u);
}

TEST_F(DaemonTlsTest, VerificationOffDeliversAndIsWarnedAboutAtStart) {
  tools::ThreadedHttpSink sink(self_signed_server());
  prepare(sink.url(), "tls_verify = false\n");
  auto r = drain();
  EXPECT_THAT(r.output, HasSubstr("endpoint 'pacs': TLS verification is OFF"));
  EXPECT_EQ(notification().state, state::State::Delivered);
  EXPECT_EQ(sink.request_count(), 1u);
}

TEST_F(DaemonTlsTest, MutualTlsDeliversWithTheClientCertificate) {
  tools::SinkOptions options = ca_signed_server();
  options.tls_client_ca_file = test::tls_files().client_ca_cert;
  tools::ThreadedHttpSink sink(options);
  prepare(sink.url(), trust_ca() + client_identity());
  drain();
  EXPECT_EQ(notification().state, state::State::Delivered);
  ASSERT_EQ(sink.request_count(), 1u);
  EXPECT_EQ(sink.requests()[0].client_subject, test::kTlsClientCommonName);
}

TEST_F(DaemonTlsTest, MutualTlsWithoutClientCertificateIsATlsFailure) {
  tools::SinkOptions options = ca_signed_server();
  options.tls_client_ca_file = test::tls_files().client_ca_cert;
  tools::ThreadedHttpSink sink(options);
  prepare(sink.url(), trust_ca());
  drain();
  EXPECT_EQ(notification().state, state::State::Waiting);
  auto all = attempts();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].error_class, "tls") << all[0].error;
  EXPECT_EQ(sink.request_count(), 0u);
}

TEST_F(DaemonTlsTest, SilentServerHitsTheEndpointTimeoutAndTheRetryIsDelivered) {
  tools::SinkOptions silent = ca_signed_server();
  silent.hang = true;
  auto server = std::make_unique<tools::ThreadedHttpSink>(silent);
  const std::string url = server->url();
  prepare(url, trust_ca(), "200ms", "300ms");
  drain();
  EXPECT_EQ(server->request_count(), 1u);  // the request was sent and read, never answered
  auto row = notification();
  EXPECT_EQ(row.state, state::State::Waiting);
  auto first = attempts();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].outcome, "retry");
  EXPECT_EQ(first[0].error_class, "timeout");
  EXPECT_GE(first[0].finished_at - first[0].started_at, 300);   // it waited the endpoint's timeout ...
  EXPECT_LT(first[0].finished_at - first[0].started_at, 5000);  // ... not the scenario's 5s

  // The endpoint recovers: a server that answers, at the same address (a waiting notification keeps
  // the request rendered for its first attempt). The scheduled retry goes through.
  tools::SinkOptions recovered = ca_signed_server();
  recovered.port = server->port();
  server.reset();
  server = std::make_unique<tools::ThreadedHttpSink>(recovered);
  ASSERT_TRUE(test::wait_until([&] { return daemon::now_ms() >= row.next_attempt_at; }));
  drain();
  EXPECT_EQ(notification().state, state::State::Delivered);
  auto all = attempts();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].outcome, "delivered");
  EXPECT_EQ(all[1].http_status, 200);
  EXPECT_EQ(server->request_count(), 1u);
}

// Runs heraldd (not --drain: it must still be alive to be measured) until it reports the delivery;
// returns its peak resident memory in KiB. The state database is left alone meanwhile: heraldd
// creates it at start.
long delivered_peak_rss_kib(const std::string& config, const std::string& dir) {
  test::DaemonProcess heraldd(config, dir + "/heraldd.log", {test::asan_options_without_quarantine()});
  const bool done =
      test::wait_until([&] { return heraldd.log().find(") delivered: HTTP 200") != std::string::npos; }, 60s);
  EXPECT_TRUE(done) << heraldd.log();
  const long peak = heraldd.peak_rss_kib().value_or(-1);
  EXPECT_GT(peak, 0) << "heraldd exited early:\n" << heraldd.log();
  EXPECT_EQ(heraldd.stop(), 0) << heraldd.log();
  return peak;
}

TEST_F(DaemonTlsTest, HugeAnswerIsTruncatedAndNeverHeldInMemory) {
  constexpr uint64_t kHuge = 64ull * 1024 * 1024;
  auto measure = [&](uint64_t body_size, std::vector<state::AttemptRow>& seen) {
    tools::SinkOptions options = ca_signed_server();
    options.response_body_size = body_size;
    tools::ThreadedHttpSink sink(options);
    std::atomic<int> answered{0};
    sink.on_request([&](const tools::ReceivedRequest&, int status) {
      if (status == 200) ++answered;  // runs once the whole body was written to heraldd
    });
    test::TempDir dir;
    test::Scenario s;
    s.sink_url = sink.url();
    std::string config = test::write_scenario(dir, s);
    std::string toml = test::read_file(config);
    toml.insert(toml.find("[daemon]\n") + 9, "max_response_bytes = 1000\n");
    toml.insert(toml.find("timeout = \"5s\"\n"), trust_ca());
    test::write_file(config, toml);
    test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       R"({"PersonID":"big"})");
    const long peak = delivered_peak_rss_kib(config, dir.path());
    EXPECT_EQ(answered.load(), 1);
    auto st = state::StateStore::open(dir.file("state.db"));
    if (st) seen = st->attempts(st->list(std::nullopt, 1)->front().id).value();
    return peak;
  };
  std::vector<state::AttemptRow> small_attempts, huge_attempts;
  const long small_peak = measure(100, small_attempts);
  const long huge_peak = measure(kHuge, huge_attempts);

  ASSERT_EQ(huge_attempts.size(), 1u);
  EXPECT_EQ(huge_attempts[0].outcome, "delivered");
  EXPECT_EQ(huge_attempts[0].response, std::string(1000, 'x'));  // [daemon] max_response_bytes
  ASSERT_EQ(small_attempts.size(), 1u);
  EXPECT_EQ(small_attempts[0].response, std::string(100, 'x'));
  // 64 MiB went through heraldd; its peak memory grew by far less than that.
  EXPECT_LT(huge_peak - small_peak, static_cast<long>(kHuge / 1024 / 8))
      << "small body: " << small_peak << " KiB, 64 MiB body: " << huge_peak << " KiB";
}

}  // namespace
}  // namespace herald
