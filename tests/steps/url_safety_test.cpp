// The pure parts of the http step's request-forgery defences: URL templates
// (steps/url_template.h: what each value becomes where it lands, the origin
// a template names, dot segments) and the address ranges a URL from the run
// may not reach (steps/address_policy.h). Tables; no network.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "steps/address_policy.h"
#include "steps/url_template.h"

namespace steadfast::steps {
namespace {

std::optional<std::string> env(const std::string& name) {
  if (name == "DOCS_URL") return std::string("https://docs.example.com");
  if (name == "API") return std::string("https://api.example.com/v1/");
  return std::nullopt;
}

RenderedUrl render(const std::string& text, const Json& input) {
  static const std::map<std::string, Json> outputs{{"fetch", Json{{"next", "https://evil.example/x"}}}};
  const engine::TemplateContext context(input, outputs, env);
  engine::Redactor secrets;
  return UrlTemplate::parse(text).render(context, secrets);
}

std::string render_error(const std::string& text, const Json& input) {
  try {
    const RenderedUrl r = render(text, input);
    ADD_FAILURE() << text << " rendered " << r.url;
  } catch (const engine::TemplateRenderError& e) {
    return e.what();
  }
  return {};
}

struct EncodingCase {
  std::string name;
  std::string url;
  Json value;  // input.v
  std::string expected;
  bool trusted;
};

TEST(UrlTemplate, ValuesAreEncodedForThePartTheyLandIn) {
  const std::vector<EncodingCase> cases = {
      {"path segment", "https://h.example/docs/{{input.v}}", "a b/c", "https://h.example/docs/a%20b%2Fc", true},
      {"path walk from the report", "${DOCS_URL}/docs/{{input.v}}", "../internal/admin?dump=1#",
       "https://docs.example.com/docs/..%2Finternal%2Fadmin%3Fdump%3D1%23", true},
      {"query value", "https://h.example/s?q={{input.v}}&n=1", "x&admin=1#frag",
       "https://h.example/s?q=x%26admin%3D1%23frag&n=1", true},
      {"fragment", "https://h.example/p#{{input.v}}", "a b", "https://h.example/p#a%20b", true},
      {"unreserved kept", "https://h.example/{{input.v}}", "AZaz09-._~", "https://h.example/AZaz09-._~", true},
      {"utf-8 bytes", "https://h.example/{{input.v}}", "é", "https://h.example/%C3%A9", true},
      {"number as JSON", "https://h.example/n/{{input.v}}", 17, "https://h.example/n/17", true},
      {"object as JSON", "https://h.example/n/{{input.v}}", Json{{"a", 1}}, "https://h.example/n/%7B%22a%22%3A1%7D",
       true},
      {"raw opts out", "https://h.example/{{raw(input.v)}}", "a/b?c=1", "https://h.example/a/b?c=1", true},
      {"urlencode not encoded twice", "https://h.example/?q={{urlencode(input.v)}}", "a b",
       "https://h.example/?q=a%20b", true},
      {"env prefix with a path", "${API}items/{{input.v}}", "1/2", "https://api.example.com/v1/items/1%2F2", true},
      {"whole URL from the run", "{{input.v}}", "http://10.0.0.1/x?y=1", "http://10.0.0.1/x?y=1", false},
      {"host from the run", "https://{{input.v}}/x", "internal.example", "https://internal.example/x", false},
      {"earlier output", "{{steps.fetch.output.next}}", nullptr, "https://evil.example/x", false},
      {"no template", "https://h.example/fixed", nullptr, "https://h.example/fixed", true},
  };
  for (const EncodingCase& c : cases) {
    SCOPED_TRACE(c.name);
    const RenderedUrl r = render(c.url, Json{{"v", c.value}});
    EXPECT_EQ(r.url, c.expected);
    EXPECT_EQ(r.trusted_origin, c.trusted);
  }
}

TEST(UrlTemplate, AValueCannotChangeTheOriginTheTemplateNames) {
  // The report's second case: a value right after the host, `@` moving it.
  EXPECT_NE(render_error("${DOCS_URL}{{input.v}}", {{"v", "@localhost:58581/stolen"}})
                .find("differ from those the template names ('https://docs.example.com:443')"),
            std::string::npos);
  // Extending the host name.
  EXPECT_NE(render_error("https://api.example.com{{input.v}}/x", {{"v", ".evil.example"}}).find("differ"),
            std::string::npos);
  // raw() is still held to the named origin.
  EXPECT_NE(render_error("https://api.example.com{{raw(input.v)}}", {{"v", "@evil.example/"}}).find("differ"),
            std::string::npos);
  EXPECT_EQ(render("https://api.example.com/{{raw(input.v)}}", {{"v", "/@evil.example/"}}).url,
            "https://api.example.com//@evil.example/");  // a path: the host is kept
  EXPECT_NE(render_error("http://h.example:8080{{raw(input.v)}}", {{"v", ":9090/x"}}).find("differ"),
            std::string::npos);
  // A value after the host that stays a path is fine.
  EXPECT_EQ(render("${DOCS_URL}{{raw(input.v)}}", {{"v", "/docs/a"}}).url, "https://docs.example.com/docs/a");
}

TEST(UrlTemplate, DotSegmentsFromValuesAreRefused) {
  for (const std::string v : {"..", ".", "%2e%2E"}) {
    SCOPED_TRACE(v);
    // "%2e" itself is encoded to "%252e": only a literal-looking value can walk.
    const std::string url = "https://h.example/docs/{{input.v}}/x";
    if (v.starts_with("%")) {
      EXPECT_EQ(render(url, {{"v", v}}).url, "https://h.example/docs/%252e%252E/x");
    } else {
      EXPECT_NE(render_error(url, {{"v", v}}).find("'.' or '..' segment"), std::string::npos);
    }
  }
  EXPECT_NE(render_error("https://h.example/{{input.a}}{{input.b}}", {{"a", "."}, {"b", "."}}).find("segment"),
            std::string::npos);
  // Not a segment of its own: fine.
  EXPECT_EQ(render("https://h.example/{{input.v}}", {{"v", "report..pdf"}}).url, "https://h.example/report..pdf");
}

TEST(UrlTemplate, OriginAsCurlReadsIt) {
  EXPECT_EQ(url_origin("HTTPS://Docs.Example.com/x"), "https://docs.example.com:443");
  EXPECT_EQ(url_origin("http://h.example:8080"), "http://h.example:8080");
  EXPECT_EQ(url_origin("not a url"), "");
  EXPECT_EQ(url_host("http://[::1]:80/"), "[::1]");
}

TEST(AddressPolicy, RestrictedRanges) {
  const std::map<std::string, std::string> restricted = {
      {"127.0.0.1", "loopback"},
      {"127.255.0.9", "loopback"},
      {"10.1.2.3", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"169.254.169.254", "link-local (cloud metadata)"},
      {"100.64.0.1", "shared (carrier-grade NAT)"},
      {"0.0.0.0", "unspecified"},
      {"224.0.0.1", "multicast"},
      {"255.255.255.255", "reserved"},
      {"::1", "loopback"},
      {"::", "unspecified"},
      {"fe80::1", "link-local"},
      {"fd00::1", "unique-local"},
      {"fc00::1", "unique-local"},
      {"ff02::1", "multicast"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:169.254.169.254", "link-local (cloud metadata)"},
      {"64:ff9b::10.0.0.1", "private"},
      {"2002:7f00:1::", "loopback"},
      {"::127.0.0.1", "loopback"},
  };
  for (const auto& [text, why] : restricted) {
    SCOPED_TRACE(text);
    const auto a = IpAddress::parse(text);
    ASSERT_TRUE(a);
    EXPECT_EQ(restricted_range(*a), why);
  }
  for (const std::string text : {"8.8.8.8", "172.32.0.1", "192.169.0.1", "100.128.0.1", "2606:4700::1111",
                                 "::ffff:8.8.8.8"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(restricted_range(*IpAddress::parse(text)), std::nullopt);
  }
}

TEST(AddressPolicy, AllowListsAndTheRedisHost) {
  AddressPolicy policy;
  policy.allow.push_back(AllowEntry::parse("10.0.0.0/8"));
  policy.allow.push_back(AllowEntry::parse("Internal.Example"));
  policy.redis.push_back(*IpAddress::parse("203.0.113.7"));
  EXPECT_EQ(policy.refusal(*IpAddress::parse("10.9.9.9")), std::nullopt);
  EXPECT_EQ(policy.refusal(*IpAddress::parse("::ffff:10.9.9.9")), std::nullopt);
  EXPECT_EQ(policy.refusal(*IpAddress::parse("11.0.0.1")), std::nullopt);
  EXPECT_EQ(policy.refusal(*IpAddress::parse("192.168.0.1")), "private address");
  EXPECT_EQ(policy.refusal(*IpAddress::parse("203.0.113.7")), "the Redis server's address");
  EXPECT_EQ(policy.refusal(*IpAddress::parse("::ffff:203.0.113.7")), "the Redis server's address");
  EXPECT_EQ(policy.refusal(*IpAddress::parse("64:ff9b::203.0.113.7")), "the Redis server's address");
  policy.allow.push_back(AllowEntry::parse("203.0.113.0/24"));
  EXPECT_EQ(policy.refusal(*IpAddress::parse("203.0.113.7")), "the Redis server's address");
  EXPECT_EQ(policy.refusal(*IpAddress::parse("203.0.113.8")), std::nullopt);
  policy.allow.push_back(AllowEntry::parse("203.0.113.7"));
  EXPECT_EQ(policy.refusal(*IpAddress::parse("203.0.113.7")), std::nullopt);
  EXPECT_TRUE(policy.allows_host("internal.example"));
  EXPECT_FALSE(policy.allows_host("other.example"));

  EXPECT_TRUE(AllowEntry::parse("127.0.0.1").range->contains(*IpAddress::parse("127.0.0.1")));
  EXPECT_FALSE(AllowEntry::parse("127.0.0.1").range->contains(*IpAddress::parse("127.0.0.2")));
  EXPECT_TRUE(AllowEntry::parse("fd00::/8").range->contains(*IpAddress::parse("fd12::1")));
  for (const std::string bad : {"", "10.0.0.0/33", "http://x", "a b", "::1/129", "*"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW((void)AllowEntry::parse(bad), std::invalid_argument);
  }
}

}  // namespace
}  // namespace steadfast::steps
