// waiting_for (../shared/CONTRACTS.md §2): exactly the fields of each kind,
// clear errors for a malformed wait, and the run's soonest-of-nodes.
#include "engine/waiting_for.h"

#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <stdexcept>
#include <vector>

namespace steadfast::engine {
namespace {

constexpr std::int64_t kAt = 1764669600000;  // 2025-12-02T10:00:00.000Z
const char* const kAtText = "2025-12-02T10:00:00.000Z";

WaitingFor wait(WaitKind kind, std::optional<std::int64_t> until = std::nullopt) {
  WaitingFor w;
  w.kind = kind;
  w.until = until;
  return w;
}

TEST(WaitingFor, NotWaitingIsNull) { EXPECT_TRUE(waiting_for_json(std::nullopt).is_null()); }

struct Row {
  const char* name;
  WaitingFor wait;
  Json expected;
};

WaitingFor with(WaitingFor w, std::string WaitingFor::*field, std::string value) {
  w.*field = std::move(value);
  return w;
}

const std::vector<Row> kRows = {
    {"retry", wait(WaitKind::retry, kAt), {{"kind", "retry"}, {"until", kAtText}}},
    {"sleep", wait(WaitKind::sleep, kAt), {{"kind", "sleep"}, {"until", kAtText}}},
    {"scheduled", wait(WaitKind::scheduled, kAt), {{"kind", "scheduled"}, {"until", kAtText}}},
    {"signal_with_timeout", with(wait(WaitKind::signal, kAt), &WaitingFor::signal, "approved"),
     {{"kind", "signal"}, {"until", kAtText}, {"signal", "approved"}}},
    {"signal_forever", with(wait(WaitKind::signal), &WaitingFor::signal, "approved"),
     {{"kind", "signal"}, {"until", nullptr}, {"signal", "approved"}}},
    {"child", with(wait(WaitKind::child), &WaitingFor::run_id, "01JABC"),
     {{"kind", "child"}, {"until", nullptr}, {"run_id", "01JABC"}}},
    {"limiter_keyed",
     with(with(wait(WaitKind::limiter, kAt), &WaitingFor::limiter, "llm-tenant"), &WaitingFor::key, "acme"),
     {{"kind", "limiter"}, {"until", kAtText}, {"limiter", "llm-tenant"}, {"key", "acme"}}},
    {"limiter_global", with(wait(WaitKind::limiter, kAt), &WaitingFor::limiter, "llm"),
     {{"kind", "limiter"}, {"until", kAtText}, {"limiter", "llm"}}},
    {"fairness", with(with(wait(WaitKind::fairness), &WaitingFor::key, "acme"), &WaitingFor::queue, "py"),
     {{"kind", "fairness"}, {"until", nullptr}, {"key", "acme"}, {"queue", "py"}}},
    {"max_parallel", wait(WaitKind::max_parallel), {{"kind", "max_parallel"}, {"until", nullptr}}},
    {"queue_paused", with(wait(WaitKind::queue_paused, kAt), &WaitingFor::queue, "py"),
     {{"kind", "queue_paused"}, {"until", kAtText}, {"queue", "py"}}},
    {"no_worker", with(wait(WaitKind::no_worker), &WaitingFor::queue, "py"),
     {{"kind", "no_worker"}, {"until", nullptr}, {"queue", "py"}}},
    {"needs", wait(WaitKind::needs), {{"kind", "needs"}, {"until", nullptr}}},
};

void PrintTo(const Row& r, std::ostream* os) { *os << r.name; }

class WaitingForKinds : public ::testing::TestWithParam<Row> {};

TEST_P(WaitingForKinds, HasExactlyTheFieldsOfItsKind) {
  EXPECT_EQ(waiting_for_json(GetParam().wait), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Table, WaitingForKinds, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<Row>& param_info) { return std::string(param_info.param.name); });

TEST(WaitingFor, EveryKindHasARowAndRoundTripsItsName) {
  std::set<std::string> kinds;
  for (const Row& r : kRows) kinds.insert(std::string(to_string(r.wait.kind)));
  EXPECT_EQ(kinds.size(), 11u);
  for (const std::string& k : kinds) EXPECT_EQ(to_string(*parse_wait_kind(k)), k);
  EXPECT_EQ(parse_wait_kind("Retry"), std::nullopt);
}

void expect_refused(const WaitingFor& w, const std::string& message) {
  try {
    (void)waiting_for_json(w);
    ADD_FAILURE() << "no error; expected: " << message;
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
}

TEST(WaitingFor, RefusesMissingOrForeignFields) {
  expect_refused(wait(WaitKind::retry), "waiting_for of kind retry needs an 'until'");
  expect_refused(wait(WaitKind::signal), "waiting_for of kind signal needs a non-empty 'signal'");
  expect_refused(wait(WaitKind::child), "waiting_for of kind child needs a non-empty 'run_id'");
  expect_refused(with(wait(WaitKind::fairness), &WaitingFor::key, "acme"),
                 "waiting_for of kind fairness needs a non-empty 'queue'");
  expect_refused(with(wait(WaitKind::retry, kAt), &WaitingFor::queue, "py"),
                 "waiting_for of kind retry has no field 'queue'");
  expect_refused(with(wait(WaitKind::needs), &WaitingFor::signal, "s"),
                 "waiting_for of kind needs has no field 'signal'");
}

TEST(Soonest, PicksTheEarliestUntilThenTheFirstWithout) {
  using W = std::optional<WaitingFor>;
  EXPECT_EQ(soonest(std::vector<W>{}), std::nullopt);
  EXPECT_EQ(soonest(std::vector<W>{std::nullopt, std::nullopt}), std::nullopt);

  const std::vector<W> nodes = {std::nullopt, wait(WaitKind::needs), wait(WaitKind::retry, kAt + 5),
                                wait(WaitKind::sleep, kAt + 1), wait(WaitKind::scheduled, kAt + 1)};
  const auto s = soonest(nodes);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, WaitKind::sleep);  // earliest; the tie goes to the first
  EXPECT_EQ(*s->until, kAt + 1);

  const auto untimed = soonest(std::vector<W>{wait(WaitKind::needs), wait(WaitKind::max_parallel)});
  ASSERT_TRUE(untimed);
  EXPECT_EQ(untimed->kind, WaitKind::needs);
}

}  // namespace
}  // namespace steadfast::engine
