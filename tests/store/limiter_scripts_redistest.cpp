// The limiter scripts' bounds against one run (issue 13 item 4), through
// store::Limiter on a real Redis (and a one-node cluster): a reconciliation
// never leaves the bucket deeper than one bucket in debt, and a pause is cut
// to the limiter's max_pause; admissions and waits are counted per minute.
// Several limiters at once (issue 16 item 1): all admit or nothing is taken
// from any; a keyed limiter's instances are independent, named by the key's
// hash, expire once idle, and share the limiter's pause.
#include "store/limiter.h"

#include "store/explorer_view.h"
#include "store/store_test.h"

namespace steadfast::store::testing {
namespace {

class StoreLimiter : public StoreTest {
 protected:
  double field(const Limiter& l, const std::string& name) {
    const Reply r = cmd({"HGET", keys_.limit(l.spec().name), name});
    return r.is_nil() ? 0.0 : std::stod(std::string(r.str()));
  }
  // Admission through `l` alone (its own instance, or key's).
  Limiter::Admission acquire(const Limiter& l, std::int64_t cost, const std::string& holder,
                             std::chrono::milliseconds hold, const std::string& key = {}) {
    const LimitRequest r{&l, l.instance(key), cost};
    return run(acquire_all(*client_, std::span<const LimitRequest>(&r, 1), holder, hold));
  }
  double redis_now_ms() {
    const Reply t = cmd({"TIME"});
    return std::stod(std::string(t[0].str())) * 1000 + std::stod(std::string(t[1].str())) / 1000;
  }
};

TEST_F(StoreLimiter, ReconciledDebtStopsAtOneBucket) {
  LimitSpec spec;
  spec.name = "llm";
  spec.tokens_per_minute = 60000;
  spec.token_burst = 1000;
  Limiter l(*client_, keys_, spec);
  const Limiter::Admission a = acquire(l, 100, "h1", std::chrono::milliseconds(0));
  ASSERT_TRUE(a.admitted);
  // The output claims a million tokens used (an estimate of 100).
  run(l.release(l.instance({}), "h1", 100 - 1000000));
  EXPECT_GE(field(l, "tokens"), -1000.0);
  EXPECT_LT(field(l, "tokens"), -990.0);  // in debt by one bucket (refilled by a few ms at most)
  // The next admission of 100 waits for 1100 tokens at 1000 per second: about 1.1 s, not 16 minutes.
  const Limiter::Admission next = acquire(l, 100, "h2", std::chrono::milliseconds(0));
  EXPECT_FALSE(next.admitted);
  EXPECT_EQ(next.reason, "tokens");
  EXPECT_LE(next.wait.count(), 1100);
}

TEST_F(StoreLimiter, PauseIsCutToMaxPause) {
  LimitSpec spec;
  spec.name = "api";
  spec.requests_per_minute = 60;
  spec.max_pause = std::chrono::milliseconds(2000);
  Limiter l(*client_, keys_, spec);
  EXPECT_EQ(l.capped_pause(std::chrono::hours(24)), std::chrono::milliseconds(2000));
  EXPECT_EQ(l.capped_pause(std::chrono::milliseconds(500)), std::chrono::milliseconds(500));
  run(l.pause(l.instance({}), std::chrono::hours(24)));
  const double left = field(l, "paused_until") - redis_now_ms();
  EXPECT_GT(left, 1000.0);
  EXPECT_LE(left, 2000.0);
  const Limiter::Admission a = acquire(l, 0, "h", std::chrono::milliseconds(0));
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.reason, "paused");
  EXPECT_LE(a.wait.count(), 2000);
}

// The counts GET /v1/limiters shows: totals, and the two newest minutes,
// rolled by the first call of a minute. The minute before is written by hand
// (no sleeps); a call that straddles a minute boundary is detected and the
// check done for the minute it landed in.
TEST_F(StoreLimiter, AdmissionsAndWaitsAreCountedInTotalAndPerMinute) {
  LimitSpec spec;
  spec.name = "llm";
  spec.concurrency = 1;
  Limiter l(*client_, keys_, spec);
  const std::string key = keys_.limit("llm");
  ASSERT_TRUE(acquire(l, 0, "h1", std::chrono::milliseconds(60000)).admitted);
  EXPECT_FALSE(acquire(l, 0, "h2", std::chrono::milliseconds(60000)).admitted);  // the slot is held
  EXPECT_FALSE(acquire(l, 0, "h3", std::chrono::milliseconds(60000)).admitted);
  EXPECT_EQ(field(l, "admitted"), 1.0);
  EXPECT_EQ(field(l, "waits"), 2.0);
  const auto minute = static_cast<long long>(field(l, "recent_minute"));
  if (minute == static_cast<long long>(redis_now_ms()) / 60000) {  // no boundary crossed since the first call
    EXPECT_EQ(field(l, "recent_admitted"), 1.0);
    EXPECT_EQ(field(l, "recent_waits"), 2.0);
    EXPECT_EQ(field(l, "previous_admitted"), 0.0);  // the minute before was not counted
  }

  // As if those were counted in the minute before this one: the next call rolls them over.
  const long long now_minute = static_cast<long long>(redis_now_ms()) / 60000;
  expect_ok(cmd({"HSET", key, "recent_minute", std::to_string(now_minute - 1), "recent_admitted", "7", "recent_waits", "3"}));
  EXPECT_FALSE(acquire(l, 0, "h4", std::chrono::milliseconds(60000)).admitted);
  const auto rolled = static_cast<long long>(field(l, "recent_minute"));
  if (rolled == now_minute) {
    EXPECT_EQ(field(l, "recent_admitted"), 0.0);
    EXPECT_EQ(field(l, "recent_waits"), 1.0);
    EXPECT_EQ(field(l, "previous_admitted"), 7.0);
    EXPECT_EQ(field(l, "previous_waits"), 3.0);
  } else {  // the call landed in the next minute: the hand-written one is two minutes old, not carried
    EXPECT_EQ(field(l, "previous_admitted"), 0.0);
  }
  // Counted long ago: nothing is carried over.
  expect_ok(cmd({"HSET", key, "recent_minute", std::to_string(now_minute - 5), "recent_admitted", "7", "recent_waits", "3"}));
  EXPECT_FALSE(acquire(l, 0, "h5", std::chrono::milliseconds(60000)).admitted);
  EXPECT_EQ(field(l, "previous_admitted"), 0.0);
  EXPECT_EQ(field(l, "previous_waits"), 0.0);
  EXPECT_EQ(field(l, "recent_waits"), 1.0);
  EXPECT_EQ(field(l, "waits"), 4.0);  // totals are never rolled
  EXPECT_EQ(field(l, "admitted"), 1.0);
}

TEST_F(StoreLimiter, SeveralLimitersAdmitTogetherOrNothingIsTakenFromAny) {
  LimitSpec provider;
  provider.name = "llm";
  provider.requests_per_minute = 600;
  provider.burst = 10;
  provider.tokens_per_minute = 60000;
  LimitSpec tenant;
  tenant.name = "llm-tenant";
  tenant.concurrency = 1;
  const Limiter global(*client_, keys_, provider);
  const Limiter per_tenant(*client_, keys_, tenant);
  const std::vector<LimitRequest> both{{&global, global.instance({}), 500}, {&per_tenant, per_tenant.instance("acme"), 0}};
  ASSERT_TRUE(run(acquire_all(*client_, both, "h1", std::chrono::milliseconds(60000))).admitted);
  const double tokens = field(global, "tokens");
  const double tat = field(global, "tat");
  EXPECT_EQ(field(global, "admitted"), 1.0);

  // acme's one slot is held: the provider's limiter would admit, but gives nothing.
  const Limiter::Admission refused = run(acquire_all(*client_, both, "h2", std::chrono::milliseconds(60000)));
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.reason, "concurrency");
  EXPECT_EQ(refused.which, 1u) << "the tenant's limiter refused";
  EXPECT_EQ(field(global, "tokens"), tokens) << "no tokens taken";
  EXPECT_EQ(field(global, "tat"), tat) << "no request taken";
  EXPECT_EQ(field(global, "admitted"), 1.0);
  EXPECT_EQ(field(global, "waits"), 0.0) << "a wait is counted where it comes from";
  EXPECT_EQ(cmd({"ZCARD", keys_.limit_instance_holders("llm-tenant", "acme")}).as_integer(), 1);

  // Another tenant goes through at once: its own instance.
  const std::vector<LimitRequest> other{{&global, global.instance({}), 500},
                                        {&per_tenant, per_tenant.instance("globex"), 0}};
  EXPECT_TRUE(run(acquire_all(*client_, other, "h3", std::chrono::milliseconds(60000))).admitted);
  EXPECT_EQ(field(global, "admitted"), 2.0);
}

TEST_F(StoreLimiter, AKeysInstanceIsNamedByItsHashAndExpiresOnceIdle) {
  LimitSpec spec;
  spec.name = "tenant";
  spec.concurrency = 2;
  spec.tokens_per_minute = 6000;
  const Limiter l(*client_, keys_, spec);
  const std::string hostile = "acme}:{evil\nkey";
  const Limiter::Instance at = l.instance(hostile);
  EXPECT_EQ(at.state.find("acme"), std::string::npos) << at.state;
  EXPECT_EQ(at.state.rfind(keys_.limit("tenant") + ":k:", 0), 0u) << "under the limiter's own tag: " << at.state;
  ASSERT_TRUE(acquire(l, 10, "h1", std::chrono::milliseconds(5000), hostile).admitted);
  const std::chrono::milliseconds idle = l.idle_expiry(at, std::chrono::milliseconds(5000));
  EXPECT_GE(idle, std::chrono::milliseconds(60000));
  for (const std::string& k : {at.state, at.holders}) {
    const long long ttl = cmd({"PTTL", k}).as_integer();
    EXPECT_GT(ttl, 0) << k << " must expire once idle";
    EXPECT_LE(ttl, idle.count()) << k;
  }
  EXPECT_EQ(cmd({"PTTL", keys_.limit("tenant")}).as_integer(), -1) << "the limiter's own hash never expires";
  EXPECT_EQ(field(l, "admitted"), 1.0) << "a key's admissions count into its limiter's totals";
  EXPECT_EQ(l.idle_expiry(l.instance({}), std::chrono::milliseconds(5000)).count(), 0) << "the limiter never expires";
  run(l.release(at, "h1", 0));
  EXPECT_EQ(cmd({"ZCARD", at.holders}).as_integer(), 0);
}

TEST_F(StoreLimiter, PausingTheLimiterPausesEveryKeyAndAKeysPauseOnlyThatKey) {
  LimitSpec spec;
  spec.name = "tenant";
  spec.requests_per_minute = 6000;
  spec.burst = 100;
  spec.max_pause = std::chrono::milliseconds(30000);
  const Limiter l(*client_, keys_, spec);
  run(l.pause(l.instance("acme"), std::chrono::milliseconds(20000)));
  EXPECT_EQ(acquire(l, 0, "h1", std::chrono::milliseconds(0), "acme").reason, "paused");
  EXPECT_TRUE(acquire(l, 0, "h2", std::chrono::milliseconds(0), "globex").admitted);
  EXPECT_GT(cmd({"PTTL", l.instance("acme").state}).as_integer(), 20000) << "the paused instance outlives its pause";
  run(l.pause(l.instance({}), std::chrono::milliseconds(20000)));
  const Limiter::Admission everyone = acquire(l, 0, "h3", std::chrono::milliseconds(0), "globex");
  EXPECT_FALSE(everyone.admitted);
  EXPECT_EQ(everyone.reason, "paused");
  EXPECT_GT(everyone.wait.count(), 10000);
}

// GET /v1/limiters' busiest keys (issue 16 item 4): a keyed limiter ranks its
// keys by asks this minute and the last; each key shows its admissions, waits
// and bucket (at its override's rate). A long value is cut to 128 bytes on a
// UTF-8 boundary; an unkeyed limiter has none. The minute before is made by
// renaming this minute's ranks (no sleeps).
TEST_F(StoreLimiter, AKeyedLimiterShowsItsBusiestKeysWithAdmissionsWaitsAndTokens) {
  LimitSpec spec;
  spec.name = "tenant";
  spec.requests_per_minute = 6000;
  spec.burst = 3;
  spec.tokens_per_minute = 60000;  // a bucket of 6000
  LimitSpec global;
  global.name = "llm";
  global.requests_per_minute = 6000;
  run(w1_->register_limiters({spec, global}));
  const Limiter l(*client_, keys_, spec);
  const Limiter g(*client_, keys_, global);
  LimitOverride big;
  big.tokens_per_minute = 600000;  // a bucket of 60000
  run(set_limit_override(*client_, keys_, "tenant", "globex", big));
  // acme: 3 admitted (the burst), 2 refused; globex: 1 admitted; a long key: 2 admitted.
  for (int i = 0; i < 5; ++i) acquire(l, 100, "a" + std::to_string(i), std::chrono::milliseconds(0), "acme");
  ASSERT_TRUE(acquire(l, 30000, "g", std::chrono::milliseconds(0), "globex").admitted);
  const std::string long_key = std::string(127, 'x') + "\xc3\xa9" + std::string(10000, 'y');  // é across byte 128
  ASSERT_TRUE(acquire(l, 0, "l1", std::chrono::milliseconds(0), long_key).admitted);
  ASSERT_TRUE(acquire(l, 0, "l2", std::chrono::milliseconds(0), long_key).admitted);
  ASSERT_TRUE(acquire(g, 0, "u", std::chrono::milliseconds(0)).admitted);

  const auto state = [&](const std::string& name) {
    for (const Store::LimiterState& s : run(w1_->limiters())) {
      if (s.name == name) return s;
    }
    throw std::runtime_error("no limiter " + name);
  };
  const Store::LimiterState t = state("tenant");
  const long long minute = t.minutes.minute;
  if (minute != t.now_ms / 60000) GTEST_SKIP() << "a minute boundary fell between the calls";
  ASSERT_EQ(t.busiest_keys.size(), 3u);
  EXPECT_EQ(t.busiest_keys[0].key, "acme");
  EXPECT_EQ(t.busiest_keys[0].admitted_this_minute, 3);
  EXPECT_EQ(t.busiest_keys[0].waits_this_minute, 2);
  ASSERT_TRUE(t.busiest_keys[0].tokens);
  EXPECT_GE(*t.busiest_keys[0].tokens, 6000 - 300);
  EXPECT_LE(*t.busiest_keys[0].tokens, 6000);
  EXPECT_EQ(t.busiest_keys[1].key, std::string(127, 'x')) << "cut before the two-byte sequence";
  EXPECT_EQ(t.busiest_keys[1].admitted_this_minute, 2);
  EXPECT_EQ(t.busiest_keys[2].key, "globex");
  ASSERT_TRUE(t.busiest_keys[2].tokens);
  EXPECT_GE(*t.busiest_keys[2].tokens, 60000 - 30000) << "globex's bucket is its override's";
  EXPECT_LT(*t.busiest_keys[2].tokens, 60000);
  EXPECT_TRUE(state("llm").busiest_keys.empty()) << "an unkeyed limiter has no keys";
  EXPECT_EQ(to_json(t)["busiest_keys"][0]["waits_this_minute"], 2);

  // As if this minute's asks were the last minute's (the ranks are kept per minute).
  const std::string base = keys_.limit("tenant");
  const auto move_minute = [&](long long to) {
    for (const char* zset : {":busy:", ":waited:"}) {
      expect_ok(cmd({"RENAME", base + zset + std::to_string(minute), base + zset + std::to_string(to)}));
    }
  };
  EXPECT_GT(cmd({"PTTL", base + ":busy:" + std::to_string(minute)}).as_integer(), 60000)
      << "a minute's rank expires once no key asks";
  move_minute(minute - 1);
  ASSERT_TRUE(acquire(l, 0, "g2", std::chrono::milliseconds(0), "globex").admitted);
  const Store::LimiterState rolled = state("tenant");
  if (rolled.now_ms / 60000 != minute) GTEST_SKIP() << "a minute boundary fell";
  ASSERT_EQ(rolled.busiest_keys.size(), 3u);
  EXPECT_EQ(rolled.busiest_keys[0].key, "acme");
  EXPECT_EQ(rolled.busiest_keys[0].admitted_this_minute, 0);
  EXPECT_EQ(rolled.busiest_keys[0].admitted_last_minute, 3);
  EXPECT_EQ(rolled.busiest_keys[0].waits_last_minute, 2);
  EXPECT_EQ(rolled.busiest_keys[1].key, "globex") << "2 asks as the long key: ties go by value";
  EXPECT_EQ(rolled.busiest_keys[1].admitted_this_minute, 1);
  EXPECT_EQ(rolled.busiest_keys[1].admitted_last_minute, 1);

  // Counted long ago: neither minute shows it.
  expect_ok(cmd({"RENAME", base + ":busy:" + std::to_string(minute - 1), base + ":busy:" + std::to_string(minute - 5)}));
  const Store::LimiterState fresh = state("tenant");
  if (fresh.now_ms / 60000 != minute) GTEST_SKIP() << "a minute boundary fell";
  ASSERT_EQ(fresh.busiest_keys.size(), 1u);
  EXPECT_EQ(fresh.busiest_keys[0].key, "globex");
  EXPECT_EQ(fresh.busiest_keys[0].admitted_this_minute, 1);
  EXPECT_EQ(fresh.busiest_keys[0].admitted_last_minute, 0);
}

// A key's bounds: a runtime override (Redis) before the file's override
// before the declared ones; removing the runtime one goes back to the
// file's. A bucket an override enlarges admits a cost the declared one would
// refuse, and a cost over the overridden bucket is refused as "capacity".
TEST_F(StoreLimiter, AKeysRuntimeOverrideComesBeforeTheFilesWhichComesBeforeTheDeclaredBounds) {
  LimitSpec spec;
  spec.name = "tenant";
  spec.concurrency = 1;
  spec.tokens_per_minute = 6000;  // a bucket of 600
  LimitOverride gold;
  gold.concurrency = 2;
  spec.overrides["gold"] = gold;
  const Limiter l(*client_, keys_, spec);
  // How many holders a key admits in a row (each holding its slot).
  int serial = 0;
  const auto slots = [&](const std::string& key) {
    int n = 0;
    while (n < 10 && acquire(l, 0, key + std::to_string(++serial), std::chrono::milliseconds(60000), key).admitted) ++n;
    return n;
  };
  EXPECT_EQ(slots("acme"), 1) << "declared";
  EXPECT_EQ(slots("gold"), 2) << "the file's override";
  LimitOverride platinum;
  platinum.concurrency = 4;
  run(set_limit_override(*client_, keys_, "tenant", "platinum", platinum));
  EXPECT_EQ(slots("platinum"), 4) << "set at run time";
  LimitOverride more_gold;
  more_gold.concurrency = 3;
  run(set_limit_override(*client_, keys_, "tenant", "gold", more_gold));
  EXPECT_EQ(slots("gold"), 1) << "3 now, 2 of them already held";
  EXPECT_TRUE(run(remove_limit_override(*client_, keys_, "tenant", "gold")));
  EXPECT_FALSE(run(remove_limit_override(*client_, keys_, "tenant", "gold")));
  EXPECT_EQ(slots("gold"), 0) << "back to the file's 2, 3 held";

  // The bucket: 600 declared; 5000 for "big" at run time.
  EXPECT_EQ(acquire(l, 3000, "c1", std::chrono::milliseconds(0), "acme").reason, "capacity");
  LimitOverride big;
  big.tokens_per_minute = 60000;
  big.token_burst = 5000;
  run(set_limit_override(*client_, keys_, "tenant", "big", big));
  EXPECT_TRUE(acquire(l, 3000, "c2", std::chrono::milliseconds(0), "big").admitted);
  const Limiter::Admission over = acquire(l, 6000, "c3", std::chrono::milliseconds(0), "big");
  EXPECT_FALSE(over.admitted);
  EXPECT_EQ(over.reason, "capacity");
  EXPECT_EQ(over.capacity, 5000);
  const auto overrides = run(limit_overrides(*client_, keys_, "tenant"));
  ASSERT_EQ(overrides.size(), 2u);
  EXPECT_EQ(overrides.at("big").token_burst, 5000);
}

// limit_wait.lua writes only for the worker that holds the step now, and
// the run view shows a note only of the step's current attempt and worker.
TEST_F(StoreLimiter, AWaitNoteIsWrittenOnlyByTheStepsWorkerAndShownOnlyForItsAttempt) {
  const std::string run_id = "01JZ0000000000000000000001";
  const std::string hash = keys_.run(run_id);
  expect_ok(cmd({"HSET", hash, "status", "running", "workflow", "w", "steps", "a", "s.a.status", "running",
                 "s.a.worker", "w1", "s.a.attempts", "2"}));
  EXPECT_FALSE(run(note_limiter_wait(*client_, keys_, run_id, "a", "w2", 2, "tenant", "acme")))
      << "another worker's (a zombie's) note";
  EXPECT_TRUE(cmd({"HGET", hash, "s.a.limiter_wait"}).is_nil());
  EXPECT_FALSE(run(note_limiter_wait(*client_, keys_, "01JZ0000000000000000000002", "a", "w1", 2, "tenant", "acme")))
      << "no such run: nothing created";
  EXPECT_EQ(cmd({"EXISTS", keys_.run("01JZ0000000000000000000002")}).as_integer(), 0);
  ASSERT_TRUE(run(note_limiter_wait(*client_, keys_, run_id, "a", "w1", 2, "tenant", "acme")));
  EXPECT_EQ(cmd({"HGET", hash, "s.a.limiter_wait"}).str(), "w1\t2\ttenant\tacme");
  ASSERT_TRUE(run(note_limiter_wait(*client_, keys_, run_id, "a", "w1", 2, "", "")));
  EXPECT_TRUE(cmd({"HGET", hash, "s.a.limiter_wait"}).is_nil()) << "cleared at admission";
  expect_ok(cmd({"HSET", hash, "s.a.status", "completed"}));
  EXPECT_FALSE(run(note_limiter_wait(*client_, keys_, run_id, "a", "w1", 2, "tenant", "acme"))) << "not running";
}

// A concurrency cap that only an override gives (the limiter declares
// none) holds slots that renewals keep alive like any other.
TEST_F(StoreLimiter, SlotsOfAConcurrencyCapOnlyAnOverrideGivesAreRenewed) {
  LimitSpec spec;
  spec.name = "tenant";
  spec.tokens_per_minute = 6000;
  const Limiter l(*client_, keys_, spec);
  LimitOverride capped;
  capped.concurrency = 1;
  run(set_limit_override(*client_, keys_, "tenant", "acme", capped));
  const Limiter::Instance at = l.instance("acme");
  ASSERT_TRUE(acquire(l, 0, "h1", std::chrono::milliseconds(1000), "acme").admitted);
  EXPECT_EQ(acquire(l, 0, "h2", std::chrono::milliseconds(1000), "acme").reason, "concurrency");
  const double before = std::stod(std::string(cmd({"ZSCORE", at.holders, "h1"}).str()));
  run(l.renew(at, {"h1"}, std::chrono::milliseconds(60000)));
  const double after = std::stod(std::string(cmd({"ZSCORE", at.holders, "h1"}).str()));
  EXPECT_GT(after - before, 50000.0) << "renewed for a minute";
}

// Hand-written override fields that are not whole numbers >= 1 are left out:
// admission goes on with the declared bounds for them.
TEST_F(StoreLimiter, AnUnreadableOverrideFieldIsLeftOutNotAnError) {
  LimitSpec spec;
  spec.name = "tenant";
  spec.concurrency = 1;
  const Limiter l(*client_, keys_, spec);
  expect_ok(cmd({"HSET", keys_.limit_overrides("tenant"), "acme", R"({"concurrency": "x", "burst": null})",
                 "globex", "not json"}));
  EXPECT_TRUE(acquire(l, 0, "h1", std::chrono::milliseconds(60000), "acme").admitted);
  EXPECT_EQ(acquire(l, 0, "h2", std::chrono::milliseconds(60000), "acme").reason, "concurrency");
  EXPECT_TRUE(acquire(l, 0, "h3", std::chrono::milliseconds(60000), "globex").admitted);
}

TEST(LimitOverride, IsReadFromJsonNamingWhatIsWrong) {
  const LimitOverride o = limit_override_from_json(Json{{"tokens_per_minute", 50000}, {"burst", 3}});
  EXPECT_EQ(o.tokens_per_minute, 50000);
  EXPECT_EQ(o.burst, 3);
  EXPECT_FALSE(o.concurrency);
  EXPECT_EQ(to_json(o), (Json{{"burst", 3}, {"tokens_per_minute", 50000}}));
  for (const auto& [bad, says] : std::vector<std::pair<Json, std::string>>{
           {Json::object(), "at least one"},
           {Json::array(), "at least one"},
           {Json{{"colour", 1}}, "/colour: unknown"},
           {Json{{"burst", 0}}, "/burst: a whole number from 1 to 10^12, got 0"},
           {Json{{"burst", 1.5}}, "/burst: a whole number"},
           {Json{{"concurrency", "4"}}, "/concurrency: a whole number"},
           {Json{{"tokens_per_minute", 1'000'000'000'001}}, "/tokens_per_minute: a whole number from 1 to 10^12"}}) {
    try {
      (void)limit_override_from_json(bad);
      ADD_FAILURE() << bad << " was taken";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
}

TEST(LimitOverride, ALaterTokenRateWithoutABucketGetsATenthOfAMinute) {
  LimitSpec spec;
  spec.tokens_per_minute = 6000;
  spec.token_burst = 100;
  LimitOverride o;
  o.tokens_per_minute = 60000;
  const LimitSpec b = with_override(spec, o);
  EXPECT_EQ(b.tokens_per_minute, 60000);
  EXPECT_EQ(Limiter::token_capacity(b), 6000) << "the declared bucket was sized for the declared rate";
  o.token_burst = 700;
  EXPECT_EQ(Limiter::token_capacity(with_override(spec, o)), 700);
}

}  // namespace
}  // namespace steadfast::store::testing
