#include "net/oauth2_tokens.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace herald::net {
namespace {

using ::testing::HasSubstr;

HttpResponse answer(long status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(OAuth2TokenResponse, ReadsTokenAndLifetime) {
  std::chrono::seconds lifetime{0};
  auto t = parse_token_response(
      answer(200, R"({"access_token":"abc","token_type":"bearer","expires_in":120})"), lifetime);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t.value(), "abc");
  EXPECT_EQ(lifetime.count(), 120);
  // expires_in as a string, as some servers send it; absent means an hour.
  ASSERT_TRUE(parse_token_response(answer(200, R"({"access_token":"x","expires_in":"30"})"), lifetime));
  EXPECT_EQ(lifetime.count(), 30);
  ASSERT_TRUE(parse_token_response(answer(200, R"({"access_token":"x"})"), lifetime));
  EXPECT_EQ(lifetime.count(), 3600);
}

TEST(OAuth2TokenResponse, RefusesWhatCannotBeUsedAsATransientError) {
  std::chrono::seconds lifetime{0};
  struct Case {
    HttpResponse response;
    const char* why;
  };
  HttpResponse down;
  down.transport_error = 7;  // CURLE_COULDNT_CONNECT
  down.error = "Connection refused";
  for (const auto& c : std::vector<Case>{
           {answer(401, R"({"error":"invalid_client"})"), "HTTP 401: invalid_client"},
           {answer(200, "not json"), "without an access_token"},
           {answer(200, R"({"token_type":"Bearer"})"), "without an access_token"},
           {answer(200, R"({"access_token":"a\r\nX-Evil: 1"})"), "line break"},
           {answer(200, R"({"access_token":"a","token_type":"mac"})"), "'mac' token"},
           {down, "connect error"},
       }) {
    auto t = parse_token_response(c.response, lifetime);
    ASSERT_FALSE(t) << c.why;
    EXPECT_TRUE(t.error().transient);
    EXPECT_THAT(t.error().message, HasSubstr(c.why));
  }
}

}  // namespace
}  // namespace herald::net
