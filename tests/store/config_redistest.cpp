// The deployment's config key (store/config.h): created once by the first
// writer, a partition count that disagrees is refused with both numbers and
// nothing written, read-only tools never write it, and data of schema 1 is
// adopted in place.
#include <gtest/gtest.h>

#include <string>

#include "steadfast/client.h"
#include "store/config.h"
#include "support/redis_test.h"

namespace steadfast::store {
namespace {

using test::RedisTest;

class ConfigKey : public RedisTest {
 protected:
  redis::Client& c = make_client();
  redis::Reply call(std::vector<std::string> argv) { return server().call(argv); }
};

TEST_F(ConfigKey, TheFirstWriterStoresItsPartitionCountAndLaterOnesGetTheSame) {
  const DeploymentConfig first = run(ensure_config(c, KeySpace("sf", 4)));
  EXPECT_EQ(first.partitions, 4);
  EXPECT_EQ(first.layout, "partitioned");
  EXPECT_EQ(first.schema_version, kSchemaVersion);
  EXPECT_GT(first.created_at_ms, 0);
  const DeploymentConfig again = run(ensure_config(c, KeySpace("sf", 4)));
  EXPECT_EQ(again.created_at_ms, first.created_at_ms);
  EXPECT_EQ(call({"HGET", "sf:{sf}:config", "partitions"}).str(), "4");
}

TEST_F(ConfigKey, AnotherPartitionCountIsRefusedWithBothNumbersAndNothingWritten) {
  run(ensure_config(c, KeySpace("sf", 1)));
  const std::string before = std::string(call({"DUMP", "sf:{sf}:config"}).str());
  for (bool writer : {true, false}) {
    try {
      if (writer) {
        run(ensure_config(c, KeySpace("sf", 4)));
      } else {
        run(check_config(c, KeySpace("sf", 4)));
      }
      ADD_FAILURE() << "a count of 4 against a stored 1 was accepted";
    } catch (const ConfigMismatch& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("has 1 partition"), std::string::npos) << m;
      EXPECT_NE(m.find("started with 4"), std::string::npos) << m;
      EXPECT_NE(m.find("--partitions 1"), std::string::npos) << m;
    }
  }
  EXPECT_EQ(std::string(call({"DUMP", "sf:{sf}:config"}).str()), before);
}

TEST_F(ConfigKey, ReadingNeverWritesIt) {
  EXPECT_FALSE(run(check_config(c, KeySpace("sf", 3))).has_value());
  EXPECT_EQ(call({"DBSIZE"}).as_integer(), 0);
}

TEST_F(ConfigKey, EachKeyPrefixIsItsOwnDeployment) {
  run(ensure_config(c, KeySpace("a", 1)));
  EXPECT_EQ(run(ensure_config(c, KeySpace("b", 2))).partitions, 2);
}

TEST_F(ConfigKey, DataOfANewerSchemaIsRefused) {
  call({"HSET", "sf:{sf}:config", "partitions", "1", "layout", "partitioned", "schema_version", "99",
        "created_at", "1"});
  try {
    run(ensure_config(c, KeySpace("sf", 1)));
    ADD_FAILURE() << "schema 99 was accepted";
  } catch (const ConfigMismatch& e) {
    EXPECT_NE(std::string(e.what()).find("schema 99"), std::string::npos) << e.what();
  }
  EXPECT_EQ(call({"HGET", "sf:{sf}:config", "schema_version"}).str(), "99");
}

TEST_F(ConfigKey, TheGlobalKeysOfSchema1AreCopiedUnderTheMetaSlot) {
  call({"HSET", "sf:workflows", "three-steps", R"({"steps":[]})"});
  call({"SADD", "sf:queues", "default", "llm"});
  run(ensure_config(c, KeySpace("sf", 1)));
  EXPECT_EQ(call({"HGET", "sf:{sf}:workflows", "three-steps"}).str(), R"({"steps":[]})");
  EXPECT_EQ(call({"SCARD", "sf:{sf}:queues"}).as_integer(), 2);
  // Copied, not moved: a worker of schema 1 may still read them.
  EXPECT_EQ(call({"SCARD", "sf:queues"}).as_integer(), 2);
}

// The issue's case: `submit --partitions 4` against workers on 1 used to put
// the run in a partition no worker reads. The client refuses before writing.
TEST_F(ConfigKey, AClientWithAnotherPartitionCountSubmitsNothing) {
  run(ensure_config(c, KeySpace("sf", 1)));
  const long long keys_before = call({"DBSIZE"}).as_integer();
  ClientOptions o;
  o.redis_url = server().url();
  o.partitions = 4;
  Client client(o);
  try {
    client.submit("anything", Json::object());
    ADD_FAILURE() << "submit with 4 partitions against a deployment of 1 was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("has 1 partition(s)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(call({"DBSIZE"}).as_integer(), keys_before);
}

// Schema 3 indexes runs; the runs a schema 2 deployment holds are added to
// the indexes by the first process of schema 3, ended ones with a retention
// timer a minute before their TTL, before the version is raised.
TEST_F(ConfigKey, AnUpgradeFromSchema2IndexesTheStoredRuns) {
  call({"HSET", "sf:{sf}:config", "partitions", "2", "layout", "partitioned", "schema_version", "2",
        "created_at", "1"});
  const KeySpace keys("sf", 2);
  const std::string live = "01M8W36PF7CYXM036AKRVGBQ72";
  const std::string done = "01M8W36PF7CYXM036AKRVGBQ73";
  call({"HSET", keys.run(live), "workflow", "wf", "status", "retrying", "metadata", R"({"customer":"acme"})"});
  call({"HSET", keys.run(done), "workflow", "wf", "status", "completed"});
  call({"PEXPIRE", keys.run(done), "600000"});
  call({"SET", "sf:{0}:run:not-a-run-id", "x"});  // not a run: left alone

  EXPECT_EQ(run(ensure_config(c, keys)).schema_version, kSchemaVersion);
  EXPECT_EQ(call({"HGET", "sf:{sf}:config", "schema_version"}).str(), std::to_string(kSchemaVersion));
  const int pl = keys.partition_of(live);
  const int pd = keys.partition_of(done);
  for (const std::string& index : {keys.index_all(pl), keys.index_workflow(pl, "wf"), keys.index_status(pl, "live"),
                                   keys.index_meta(pl, "customer", "acme")}) {
    EXPECT_FALSE(call({"ZSCORE", index, live}).is_nil()) << index;
  }
  for (const std::string& index : {keys.index_all(pd), keys.index_workflow(pd, "wf")}) {
    EXPECT_FALSE(call({"ZSCORE", index, done}).is_nil()) << index;
  }
  const long long ttl_at = call({"PEXPIRETIME", keys.run(done)}).as_integer();
  const redis::Reply timer = call({"ZSCORE", keys.retention(pd), done + "\t\texpire"});
  ASSERT_FALSE(timer.is_nil());
  EXPECT_EQ(std::stoll(std::string(timer.str())), ttl_at - 60000);
  EXPECT_TRUE(call({"ZSCORE", keys.retention(pl), live + "\t\texpire"}).is_nil()) << "a live run has no retention";
}

}  // namespace
}  // namespace steadfast::store
