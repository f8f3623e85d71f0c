// Secrets stay secret in every form an echoing server may write them (issue
// 13 item 6): the report's secret `sekrit-MARK/12345+z=` and a numeric PIN
// are sent by http steps (in the query, a header and the body: the query
// comes early in the echo, so a 400's 512-byte excerpt holds it) to a server that echoes the request back escaped as
// PHP does ("\/"), with every character as \uXXXX, percent-encoded, and with
// the PIN as a JSON number — answered 400 (the error, the dead letter) and 200
// (the output, as JSON and as text/plain). Then every form of the mark is
// searched for in GET /v1/runs/{id}, /v1/dlq, `steadfast status --json`, the
// worker and serve logs and the whole Redis keyspace.
#include <cstdlib>

#include "security/security_fixture.h"
#include "support/fake_http_server.h"

namespace steadfast::test {
namespace {

constexpr const char* kSecret = "sekrit-MARK/12345+z=";
constexpr const char* kPin = "84736251";
// What would show the mark or the PIN in any of the forms above.
constexpr const char* kTraces[] = {"MARK", "\\u004D\\u0041\\u0052\\u004b", "\\u004d\\u0041\\u0052\\u004b",
                                   "%4D%41%52%4B", "84736251", "\\u0038\\u0034\\u0037\\u0033",
                                   "%38%34%37%33"};

class SecretForms : public SecurityTest {
 protected:
  void TearDown() override {
    SecurityTest::TearDown();
    ::unsetenv("SF_TEST_SECRET");
    ::unsetenv("SF_TEST_PIN");
    ::unsetenv("SF_TEST_BASE");
  }
};

std::string workflows_yaml(const std::vector<std::string>& forms) {
  std::string out = "workflows:\n";
  for (const std::string& form : forms) {
    for (const char* status : {"400", "200"}) {
      out += "  " + form + "-" + status + ":\n    steps:\n      - name: call\n        kind: http\n" +
             "        with:\n          method: POST\n          url: \"${SF_TEST_BASE}/" + form + "/" + status +
             "?k=${SF_TEST_SECRET}\"\n          headers: {Authorization: \"Bearer ${SF_TEST_SECRET}\"}\n" +
             "          body: {key: \"${SF_TEST_SECRET}\", pin: \"${SF_TEST_PIN}\"}\n" +
             "          timeout: 5s\n        retry: {max_attempts: 1}\n";
    }
  }
  return out;
}

TEST_F(SecretForms, EscapedUrlEncodedAndNumericEchoesAreRedactedEverywhere) {
  const std::vector<std::string> forms = {"json_slash", "json_slash_text", "json_ascii", "url", "numbers"};
  Json routes = Json::object();
  for (const std::string& form : forms) {
    for (int status : {400, 200}) {
      Json response = {{"status", status}, {"echo", true},
                       {"echo_as", form == "json_slash_text" ? "json_slash" : form}};
      if (form == "json_slash_text") response["headers"] = {{"Content-Type", "text/plain"}};
      routes["/" + form + "/" + std::to_string(status)] = {{"responses", Json::array({response})}};
    }
  }
  FakeHttpServer server(Json{{"routes", routes}});
  ASSERT_EQ(::setenv("SF_TEST_SECRET", kSecret, 1), 0);
  ASSERT_EQ(::setenv("SF_TEST_PIN", kPin, 1), 0);
  ASSERT_EQ(::setenv("SF_TEST_BASE", server.url().c_str(), 1), 0);
  const std::string workflows = write_file("workflows.yaml", workflows_yaml(forms));
  start_worker("w1", workflows);
  const Serve serve = start_serve(workflows);

  std::map<std::string, std::string> runs;
  for (const std::string& form : forms) {
    for (const char* status : {"400", "200"}) {
      const std::string wf = form + "-" + status;
      const auto r = post_json(serve.port, "/v1/workflows/" + wf + "/runs", {{"input", Json::object()}});
      ASSERT_EQ(r.status, 202) << r.body;
      runs[wf] = r.json()["run_id"];
    }
  }
  std::map<std::string, std::string> places;
  for (const auto& [wf, id] : runs) {
    const auto r = http(serve.port, "GET", "/v1/runs/" + id + "?wait=20s", {}, {}, 25s);
    const Json status = r.json();
    const bool ok = wf.ends_with("-200");
    EXPECT_EQ(status["status"], ok ? "completed" : "failed") << wf << ": " << r.body;
    // Not vacuous: the echo is there, with the secret masked.
    if (ok) {
      EXPECT_NE(status["steps"][0]["output"].dump().find("***"), std::string::npos) << wf << ": " << r.body;
    } else {
      EXPECT_NE(status["steps"][0].value("error", "").find("***"), std::string::npos) << wf << ": " << r.body;
    }
    places["GET /v1/runs/{id} " + wf] = r.body;
    places["steadfast status --json " + wf] = cli({"status", id, "--json"}).out;
  }
  // Not vacuous: the server saw the secret and the PIN in every request.
  const Json requests = server.stats()["requests"];
  ASSERT_EQ(requests.size(), runs.size());
  for (const Json& req : requests) {
    EXPECT_EQ(req["headers"].value("Authorization", ""), std::string("Bearer ") + kSecret);
    EXPECT_EQ(req["body"].value("pin", ""), kPin);
  }
  places["GET /v1/dlq"] = http(serve.port, "GET", "/v1/dlq").body;
  places["steadfast dlq list --json"] = cli({"dlq", "list", "--json"}).out;
  places["logs of the worker and serve"] = all_logs();
  places["the whole Redis keyspace"] = keyspace_text();
  for (const auto& [where, text] : places) {
    EXPECT_FALSE(text.empty()) << where;
    for (const char* trace : kTraces) {
      const auto at = text.find(trace);
      EXPECT_EQ(at, std::string::npos) << "'" << trace << "' found in " << where << ":\n"
                                       << text.substr(at > 200 && at != std::string::npos ? at - 200 : 0, 500);
    }
  }
}

}  // namespace
}  // namespace steadfast::test
