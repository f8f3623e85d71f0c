// What the notifier writes where others read it: the webhook URL in its log
// lines (issue 12 item 4) and the Slack text of an alert (issue 13 item 7).
// Pure functions, no Redis.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "worker/notifier.h"

namespace steadfast::worker {
namespace {

// The log shows where alerts go, never the credentials in the URL: user
// info, Slack's secret path, a token in the query or fragment.
TEST(WebhookForLogs, ShowsOnlySchemeHostAndPort) {
  EXPECT_EQ(webhook_for_logs("https://hooks.slack.com/services/T000/B000/XXXX"), "https://hooks.slack.com/…");
  EXPECT_EQ(webhook_for_logs("https://user:pw@alerts.example:8443/hook?token=SECRET#frag"),
            "https://alerts.example:8443/…");
  EXPECT_EQ(webhook_for_logs("http://user:pw@alerts.example?token=SECRET"), "http://alerts.example/…");
  EXPECT_EQ(webhook_for_logs("http://127.0.0.1:9/x"), "http://127.0.0.1:9/…");
}

TEST(WebhookForLogs, NeverShowsAnyPartOfTheSecrets) {
  for (const char* url : {"https://u:SECRET@h/p?token=SECRET", "https://u:SECRET@h?token=SECRET",
                          "https://u:SEC/RET@h/x", "https://SECRET@h", "http://h/#SECRET",
                          "not a url SECRET", "https://u:SECRET@", "https://u:SE@CRET@h/"}) {
    const std::string shown = webhook_for_logs(url);
    EXPECT_EQ(shown.find("SEC"), std::string::npos) << url << " -> " << shown;
    EXPECT_EQ(shown.find("RET"), std::string::npos) << url << " -> " << shown;
    EXPECT_EQ(shown.find("token"), std::string::npos) << url << " -> " << shown;
  }
}

TEST(SlackEscape, EscapesAmpersandAndAngleBrackets) {
  EXPECT_EQ(slack_escape("<!channel> a & b <http://evil.example|Click>"),
            "&lt;!channel&gt; a &amp; b &lt;http://evil.example|Click&gt;");
  EXPECT_EQ(slack_escape("&amp;"), "&amp;amp;");
  EXPECT_EQ(slack_escape("plain text"), "plain text");
}

// The security review's input, echoed in a 400 body into the run's error:
// it reaches the alert's text escaped (no mention, no disguised link), and
// the `error` field as it was.
TEST(AlertJson, TextCannotMentionOrDisguiseALink) {
  const std::string error = "http POST 'http://x/': status 400: '<!channel> URGENT: <http://evil.example/replay|Click here>'";
  const auto j = nlohmann::json::parse(alert_json("1-0", "01ABC", "wf", "call", "3", error));
  const std::string text = j["text"];
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
  EXPECT_EQ(text.find('>'), std::string::npos) << text;
  EXPECT_NE(text.find("&lt;!channel&gt; URGENT: &lt;http://evil.example/replay|Click here&gt;"), std::string::npos)
      << text;
  EXPECT_EQ(j["error"], error);
  EXPECT_EQ(j["run"], "01ABC");
  EXPECT_EQ(j["attempts"], 3);
}

}  // namespace
}  // namespace steadfast::worker
