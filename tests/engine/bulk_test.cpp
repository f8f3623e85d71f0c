#include "engine/bulk.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace steadfast::engine {
namespace {

TEST(BulkRequestTest, ParsesTheActionAndTheSharedFilter) {
  const BulkRequest r = parse_bulk_request(Json::parse(
      R"({"action": "cancel", "filter": {"workflow": "w", "status": "running", "meta": {"customer": "acme"},
          "created_after": "2026-12-02T10:00:00Z"}})"));
  EXPECT_EQ(r.action, BulkAction::cancel);
  EXPECT_EQ(r.filter.workflow, "w");
  EXPECT_EQ(r.filter.status, "running");
  EXPECT_EQ(r.filter.meta.at("customer"), "acme");
  EXPECT_EQ(r.filter.created_after_ms, 1'796'205'600'000);
  EXPECT_FALSE(r.filter.created_before_ms);

  const BulkRequest all = parse_bulk_request(Json::parse(R"({"action": "replay"})"));
  EXPECT_EQ(all.action, BulkAction::replay);
  EXPECT_TRUE(all.filter.empty());
  EXPECT_EQ(parse_bulk_request(Json::parse(R"({"action": "replay", "filter": {"status": "failed"}})")).filter.status,
            "failed");
}

TEST(BulkRequestTest, RefusesWhatItCannotDoNamingTheMember) {
  struct Case {
    const char* body;
    const char* names;  // a part of the error message
  };
  const std::vector<Case> cases = {
      {R"([])", "must be a JSON object"},
      {R"({})", "action is required"},
      {R"({"action": "delete"})", "action must be"},
      {R"({"action": 1})", "action must be"},
      {R"({"action": "cancel", "limit": 5})", "unknown member 'limit'"},
      {R"({"action": "cancel", "filter": []})", "filter must be an object"},
      {R"({"action": "cancel", "filter": {"queue": "q"}})", "filter: unknown member 'queue'"},
      {R"({"action": "cancel", "filter": {"status": "sleeping"}})", "status"},
      {R"({"action": "cancel", "filter": {"workflow": 3}})", "workflow must be a string"},
      {R"({"action": "cancel", "filter": {"created_after": "yesterday"}})", "created_after"},
      {R"({"action": "replay", "filter": {"status": "running"}})", "failed runs only"},
      {R"({"action": "cancel"})", "a cancel needs at least one condition"},
      {R"({"action": "cancel", "filter": {}})", "a cancel needs at least one condition"},
  };
  for (const Case& c : cases) {
    try {
      (void)parse_bulk_request(Json::parse(c.body));
      ADD_FAILURE() << c.body << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.names), std::string::npos) << c.body << ": " << e.what();
    }
  }
}

TEST(BulkWalkFilterTest, ReplayWalksFailedRunsAndNoJobSeesRunsMadeAfterIt) {
  BulkRequest cancel{BulkAction::cancel, {}};  // (parse_bulk_request wants a condition; the walk does not care)
  RunFilter f = bulk_walk_filter(cancel, 5000);
  EXPECT_EQ(f.status, "");
  EXPECT_EQ(f.created_before_ms, 5001);  // exclusive: a run of ms 5000 is in

  cancel.filter.created_before_ms = 3000;  // an earlier bound of the user's stays
  EXPECT_EQ(bulk_walk_filter(cancel, 5000).created_before_ms, 3000);
  cancel.filter.created_before_ms = 9000;  // a later one is cut to the job's creation
  EXPECT_EQ(bulk_walk_filter(cancel, 5000).created_before_ms, 5001);

  BulkRequest replay{BulkAction::replay, {}};
  replay.filter.workflow = "w";
  f = bulk_walk_filter(replay, 5000);
  EXPECT_EQ(f.status, "failed");
  EXPECT_EQ(f.workflow, "w");
}

TEST(BulkOutcomeTest, CancelAnswers) {
  EXPECT_EQ(cancel_outcome("cancelled"), BulkOutcome::succeeded);
  EXPECT_EQ(cancel_outcome("cancelling"), BulkOutcome::succeeded);
  EXPECT_EQ(cancel_outcome("terminal:completed"), BulkOutcome::skipped);
  EXPECT_EQ(cancel_outcome("terminal:cancelled"), BulkOutcome::skipped);
  EXPECT_EQ(cancel_outcome("missing"), BulkOutcome::skipped);
  EXPECT_THROW((void)cancel_outcome("maybe"), std::invalid_argument);
}

TEST(BulkOutcomeTest, ReplayRefusalsThatMeanNothingIsLeftToDo) {
  EXPECT_TRUE(replay_refusal_is_skip("run 01J is not in the dead-letter queue"));
  EXPECT_TRUE(replay_refusal_is_skip("ERR run 01J is queued, not failed"));
  EXPECT_TRUE(replay_refusal_is_skip("run 01J no longer exists"));
  EXPECT_TRUE(replay_refusal_is_skip("ERR no dead-letter entry 1-1"));
  EXPECT_FALSE(replay_refusal_is_skip("Connection refused"));
  EXPECT_FALSE(replay_refusal_is_skip("LOADING Redis is loading the dataset in memory"));
}

TEST(RunFilterJsonTest, AFilterReadsBackAsItWasWritten) {
  const RunFilter f = run_filter_from_json(Json::parse(
      R"({"workflow": "w", "status": "failed", "meta": {"a": "1", "b": "2"},
          "created_after": "2026-12-02T10:00:00.250Z", "created_before": "2026-12-03T00:00:00Z"})"));
  const Json j = run_filter_to_json(f);
  EXPECT_EQ(j["created_after"], "2026-12-02T10:00:00.250Z");
  EXPECT_EQ(run_filter_from_json(j), f);
  EXPECT_EQ(run_filter_to_json(RunFilter{}), Json::object());
}

}  // namespace
}  // namespace steadfast::engine
