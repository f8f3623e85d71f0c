// The shared run filter (CONTRACTS.md §3): what each input parses to, and the
// error each bad input gets.
#include "engine/run_filter.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace steadfast::engine {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

RunFilter with(auto fill) {
  RunFilter f;
  fill(f);
  return f;
}

TEST(RunFilter, ParsesEachField) {
  struct Case {
    Pairs in;
    RunFilter want;
  };
  const std::vector<Case> cases = {
      {{}, RunFilter{}},
      {{{"workflow", "wf-1"}}, with([](RunFilter& f) { f.workflow = "wf-1"; })},
      {{{"status", "failed"}}, with([](RunFilter& f) { f.status = "failed"; })},
      {{{"meta.customer", "acme"}, {"meta.a.b", "x"}},
       with([](RunFilter& f) { f.meta = {{"customer", "acme"}, {"a.b", "x"}}; })},
      {{{"created_after", "1970-01-01T00:00:01Z"}}, with([](RunFilter& f) { f.created_after_ms = 1000; })},
      {{{"created_before", "2026-12-02T10:00:00.123Z"}},
       with([](RunFilter& f) { f.created_before_ms = 1796205600123; })},
      {{{"created_before", "2026-12-02T11:30:00.5+01:30"}},
       with([](RunFilter& f) { f.created_before_ms = 1796205600500; })},
      {{{"created_after", "2024-02-29T00:00:00Z"}, {"created_before", "2024-03-01T00:00:00Z"}},
       with([](RunFilter& f) {
         f.created_after_ms = 1709164800000;
         f.created_before_ms = 1709251200000;
       })},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parse_run_filter(c.in), c.want) << (c.in.empty() ? "(none)" : c.in[0].first + "=" + c.in[0].second);
  }
  EXPECT_TRUE(parse_run_filter(Pairs{}).empty());
  EXPECT_FALSE(parse_run_filter(Pairs{{"workflow", "w"}}).empty());
}

TEST(RunFilter, LiveMatchesEveryStatusButTheEnded) {
  const std::vector<std::tuple<std::string, std::string, bool>> cases = {
      {"", "completed", true},        {"queued", "queued", true},    {"queued", "running", false},
      {"live", "scheduled", true},    {"live", "queued", true},      {"live", "running", true},
      {"live", "retrying", true},     {"live", "waiting", true},     {"live", "completed", false},
      {"live", "failed", false},      {"live", "cancelled", false},  {"failed", "failed", true},
  };
  for (const auto& [wanted, status, passes] : cases) {
    EXPECT_EQ(status_matches(wanted, status), passes) << "filter '" << wanted << "', run " << status;
  }
  EXPECT_EQ(parse_run_filter({{"status", "live"}}).status, "live");
}

TEST(RunFilter, RefusesBadInputNamingTheField) {
  const std::vector<std::pair<Pairs, std::string>> cases = {
      {{{"flavour", "x"}}, "filter: unknown field 'flavour'"},
      {{{"workflow", "a b"}}, "filter: workflow must match"},
      {{{"workflow", ""}}, "filter: workflow must not be empty"},
      {{{"workflow", "a"}, {"workflow", "b"}}, "filter: workflow given twice"},
      {{{"status", "done"}}, "filter: status must be one of"},
      {{{"meta.bad key", "x"}}, "filter: metadata key 'bad key'"},
      {{{"meta.k", std::string(257, 'v')}}, "filter: metadata value of k exceeds 256 bytes"},
      {{{"created_after", "yesterday"}}, "created_after must be an RFC 3339 timestamp"},
      {{{"created_after", "2026-02-30T00:00:00Z"}}, "created_after must be an RFC 3339 timestamp"},
      {{{"created_before", "2026-12-02T10:00:00"}}, "created_before must be an RFC 3339 timestamp"},
      {{{"created_before", "2026-12-02T10:00:00Zjunk"}}, "created_before must be an RFC 3339 timestamp"},
      {{{"created_after", "2026-12-02T10:00:00Z"}, {"created_before", "2026-12-02T10:00:00Z"}},
       "created_after must be earlier than created_before"},
  };
  for (const auto& [in, want] : cases) {
    try {
      (void)parse_run_filter(in);
      ADD_FAILURE() << "accepted " << in[0].first << "=" << in[0].second;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what() << "\n  wanted: " << want;
    }
  }
}

TEST(RunFilter, ParsesAJsonObjectLeavingOtherMembersAlone) {
  const Json body = Json::parse(
      R"({"workflow": "wf", "meta": {"customer": "acme"}, "created_after": "1970-01-01T00:00:00.001Z", "confirm": true})");
  const RunFilter f = run_filter_from_json(body);
  EXPECT_EQ(f.workflow, "wf");
  EXPECT_EQ(f.meta, (std::map<std::string, std::string>{{"customer", "acme"}}));
  EXPECT_EQ(f.created_after_ms, 1);
  EXPECT_THROW((void)run_filter_from_json(Json::parse(R"({"workflow": 3})")), std::invalid_argument);
  EXPECT_THROW((void)run_filter_from_json(Json::parse(R"({"meta": ["a"]})")), std::invalid_argument);
  EXPECT_THROW((void)run_filter_from_json(Json::parse(R"({"meta": {"k": 1}})")), std::invalid_argument);
}

}  // namespace
}  // namespace steadfast::engine
