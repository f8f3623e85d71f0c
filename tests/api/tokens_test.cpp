// Bearer tokens (hashed, roles) and the Prometheus exposition writer.
#include <gtest/gtest.h>

#include "api/metrics.h"
#include "api/tokens.h"

namespace steadfast::api {
namespace {

// As `printf %s TOKEN | sha256sum` prints them.
const std::string kS3cretHex = "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0";
const std::string kAdm1nHex = "8f8145e0f8d63c646e48f5a0377007c2193fce8c87399b5d9a59dec43b4cb45b";

std::string sha_line(const std::string& hex, const std::string& rest) { return "sha256:" + hex + " " + rest; }

TEST(TokensTest, ParsesRolesNamesAndComments) {
  const std::string text = "# tokens\n\n" + sha_line(std::string(64, 'a'), "submit ci") + "\n" +
                           sha_line(std::string(64, 'B'), "admin") + "\n";
  const Tokens t = Tokens::parse(text, "tokens.txt");
  EXPECT_TRUE(t.enabled());
  EXPECT_EQ(t.size(), 2u);
}

TEST(TokensTest, MalformedLinesNameFileAndLine) {
  const auto error_of = [](const std::string& text) {
    try {
      (void)Tokens::parse(text, "tokens.txt");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("\nplain-token submit\n").rfind("tokens.txt:2: ", 0), 0u) << error_of("\nplain-token submit\n");
  EXPECT_NE(error_of("sha256:abc submit").find("64 hex digits"), std::string::npos);
  EXPECT_NE(error_of(sha_line(std::string(63, 'a') + "g", "submit")).find("hex digit"), std::string::npos);
  EXPECT_NE(error_of(sha_line(std::string(64, 'a'), "root")).find("unknown role"), std::string::npos);
  EXPECT_NE(error_of(sha_line(std::string(64, 'a'), "submit") + "\n" + sha_line(std::string(64, 'A'), "admin"))
                .find("duplicate"),
            std::string::npos);
  EXPECT_NE(error_of(sha_line(std::string(64, 'a'), "submit a b")).find("expected"), std::string::npos);
}

TEST(TokensTest, AuthenticatesByHashAndRole) {
  const Tokens t = Tokens::parse(sha_line(kS3cretHex, "submit ci") + "\n" + sha_line(kAdm1nHex, "admin"), "t");
  const auto ci = t.authenticate("Bearer s3cret");
  ASSERT_TRUE(ci);
  EXPECT_EQ(ci->role, Role::submit);
  EXPECT_EQ(ci->name, "ci");
  const auto admin = t.authenticate("bearer   adm1n ");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->role, Role::admin);
  EXPECT_FALSE(t.authenticate(std::nullopt));
  EXPECT_FALSE(t.authenticate("Bearer "));
  EXPECT_FALSE(t.authenticate("Basic czNjcmV0"));
  EXPECT_FALSE(t.authenticate("Bearer s3cre"));
  EXPECT_FALSE(t.authenticate("Bearer " + kS3cretHex));  // the hash is not the token
}

TEST(TokensTest, ALineCarriesASubmitRateAndALiveRunCap) {
  const Tokens t = Tokens::parse(sha_line(kS3cretHex, "submit ci rate=50/s max_live=10000") + "\n" +
                                     sha_line(kAdm1nHex, "admin rate=30/m"),
                                 "t");
  const auto ci = t.authenticate("Bearer s3cret");
  ASSERT_TRUE(ci);
  EXPECT_EQ(ci->name, "ci");
  EXPECT_EQ(ci->quota.per_minute, 3000);
  EXPECT_EQ(ci->quota.burst, 50);  // a second's worth
  EXPECT_EQ(ci->quota.max_live, 10000);
  EXPECT_EQ(ci->id, kS3cretHex.substr(0, 16));
  const auto admin = t.authenticate("Bearer adm1n");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->name, "");
  EXPECT_EQ(admin->quota.per_minute, 30);
  EXPECT_EQ(admin->quota.burst, 1);
  EXPECT_EQ(admin->quota.max_live, 0);
  EXPECT_TRUE(admin->quota.any());
  // No quota: no bound.
  const Tokens plain = Tokens::parse(sha_line(kS3cretHex, "submit"), "t");
  EXPECT_FALSE(plain.authenticate("Bearer s3cret")->quota.any());
}

TEST(TokensTest, MalformedQuotasNameWhatIsWrong) {
  const auto error_of = [](const std::string& rest) {
    try {
      (void)Tokens::parse(sha_line(std::string(64, 'a'), rest), "tokens.txt");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("submit ci rate=50"), "tokens.txt:1: rate must be <n>/s or <n>/m with n a whole number >= 1, got '50'");
  EXPECT_NE(error_of("submit rate=0/s").find("rate must be"), std::string::npos);
  EXPECT_NE(error_of("submit rate=5/h").find("rate must be"), std::string::npos);
  EXPECT_NE(error_of("submit rate=-1/s").find("rate must be"), std::string::npos);
  EXPECT_EQ(error_of("submit max_live=lots"), "tokens.txt:1: max_live must be a whole number >= 1, got 'lots'");
  EXPECT_NE(error_of("submit max_live=0").find("max_live must be"), std::string::npos);
  EXPECT_EQ(error_of("submit ci burst=3"), "tokens.txt:1: unknown option 'burst' (rate=<n>/s, max_live=<n>)");
  EXPECT_NE(error_of("submit rate=1/s ci").find("the name comes right after the role"), std::string::npos);
}

TEST(TokensTest, RolesAllow) {
  EXPECT_TRUE(allows(Role::submit, Access::read));
  EXPECT_TRUE(allows(Role::submit, Access::submit));
  EXPECT_FALSE(allows(Role::submit, Access::admin));
  EXPECT_TRUE(allows(Role::admin, Access::admin));
}

TEST(ExpositionTest, EscapesLabelValuesAndHelp) {
  Exposition e;
  e.family("x_total", "counter", "a \\ b\nc");
  e.sample("x_total", {{"workflow", "a\"b\\c\nd"}}, 3);
  e.sample("x_total", 0.5);
  EXPECT_EQ(e.text(),
            "# HELP x_total a \\\\ b\\nc\n# TYPE x_total counter\n"
            "x_total{workflow=\"a\\\"b\\\\c\\nd\"} 3\nx_total 0.5\n");
}

TEST(HttpMetricsTest, HistogramIsCumulativeWithInf) {
  HttpMetrics m;
  m.observe("/healthz", "GET", 200, 0.0001);
  m.observe("/healthz", "GET", 200, 0.3);
  m.observe("/healthz", "GET", 200, 100);
  Exposition e;
  m.render(e);
  const std::string& t = e.text();
  EXPECT_NE(t.find("steadfast_http_requests_total{route=\"/healthz\",method=\"GET\",code=\"200\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("steadfast_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.0005\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("steadfast_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.5\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("steadfast_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("steadfast_http_request_duration_seconds_count{route=\"/healthz\"} 3\n"), std::string::npos) << t;
}

}  // namespace
}  // namespace steadfast::api
