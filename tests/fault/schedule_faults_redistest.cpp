// Cron schedules under process faults (issue 15, item 6): several `steadfast
// worker` processes run the scheduler at once and one is SIGKILLed halfway;
// every tick of a schedule firing each second makes exactly one run.
#include <set>

#include "fault/fault_fixture.h"

namespace steadfast::test {
namespace {

class ScheduleFaults : public FaultTest {
 protected:
  // The ticks (metadata "tick", RFC 3339) of the schedule's runs, one entry per run.
  std::vector<std::string> ticks_of_runs(const std::string& schedule) {
    const store::KeySpace keys(prefix());
    const redis::Reply ids = redis().call({"ZRANGE", keys.index_meta(keys.schedule_partition(schedule), "schedule",
                                                                     schedule), "0", "-1"});
    std::vector<std::string> ticks;
    for (const redis::Reply& id : ids.elements()) {
      const redis::Reply metadata = redis().call({"HGET", keys.run(id.str()), "metadata"});
      ticks.push_back(Json::parse(metadata.str()).at("tick").get<std::string>());
    }
    return ticks;
  }
};

// A workflows file with the schedule "every-second" of a one-step workflow;
// `options` goes after its cron (", catch_up: all").
std::string every_second(const std::string& options) {
  return "workflows:\n  tick:\n    steps:\n      - {name: a, kind: noop}\n"
         "schedules:\n  every-second: {workflow: tick, cron: \"* * * * * *\"" + options + "}\n";
}

// "2026-12-03T14:48:11.000Z" -> seconds of the day (the test spans < a day).
long long second_of(const std::string& rfc3339) {
  return std::stoll(rfc3339.substr(11, 2)) * 3600 + std::stoll(rfc3339.substr(14, 2)) * 60 +
         std::stoll(rfc3339.substr(17, 2));
}

TEST_F(ScheduleFaults, EveryTickMakesOneRunWithThreeSchedulersOneKilledHalfway) {
  // catch_up all: a scheduler held up for more than a second (a loaded CI
  // machine) still fires every tick, so any gap is a lost tick.
  const std::string file = write_workflows(every_second(", catch_up: all"));
  ChildProcess& w1 = start_worker("w1", file);
  ChildProcess& w2 = start_worker("w2", file);
  ChildProcess& w3 = start_worker("w3", file);
  std::this_thread::sleep_for(5s);
  w2.kill_and_reap();
  EXPECT_EQ(w2.exit_code(), 128 + SIGKILL);
  std::this_thread::sleep_for(5s);
  w1.kill_and_reap();
  w3.kill_and_reap();

  const std::vector<std::string> ticks = ticks_of_runs("every-second");
  const std::set<std::string> distinct(ticks.begin(), ticks.end());
  EXPECT_EQ(distinct.size(), ticks.size()) << "a tick started two runs";
  ASSERT_GE(distinct.size(), 8u) << "about ten ticks in ten seconds";
  const long long first = second_of(*distinct.begin());
  const long long last = second_of(*distinct.rbegin());
  EXPECT_EQ(last - first + 1, static_cast<long long>(distinct.size()))
      << "a tick between " << *distinct.begin() << " and " << *distinct.rbegin() << " made no run";
  int fired_by = 0;
  for (ChildProcess* w : {&w1, &w2, &w3}) fired_by += w->count_in_log("started run") > 0 ? 1 : 0;
  std::cout << "ticks fired: " << distinct.size() << ", by " << fired_by << " of the 3 schedulers\n";

  // Every run is whole and reached by the workers' queue: the doctor finds nothing to repair.
  CommandResult doc = doctor();
  EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
}

// Pausing is kept in Redis: a paused schedule stays paused across a restart of
// every scheduler, and fires again after resume.
TEST_F(ScheduleFaults, APauseSurvivesARestartOfEveryScheduler) {
  const std::string file = write_workflows(every_second(""));
  ChildProcess& w1 = start_worker("w1", file);
  ASSERT_TRUE(eventually([&] { return !ticks_of_runs("every-second").empty(); }, 5s, 50ms));
  CommandResult paused = cli({"schedules", "pause", "every-second"});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_EQ(paused.out, "paused every-second\n");
  w1.kill_and_reap();
  const std::size_t before = ticks_of_runs("every-second").size();

  start_worker("w2", file);
  std::this_thread::sleep_for(2500ms);  // two ticks and more pass while paused
  EXPECT_EQ(ticks_of_runs("every-second").size(), before) << "a paused schedule fired";
  CommandResult listed = cli({"schedules", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(Json::parse(listed.out)["paused"], true) << listed.out;

  CommandResult resumed = cli({"schedules", "resume", "every-second"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(eventually([&] { return ticks_of_runs("every-second").size() > before; }, 5s, 50ms))
      << "no tick after resume";
}

}  // namespace
}  // namespace steadfast::test
