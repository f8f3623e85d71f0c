// Which Redis error replies are transient ("not now": wait and retry) and which
// are not (a bug, a misconfiguration or lost data: stop and say so). The
// messages are those redis-server 7.0.15 sends; connection_redistest.cpp
// checks the failover ones against a real primary demoted to a replica.
#include "redis/error.h"

#include <gtest/gtest.h>

#include <string>

namespace steadfast::redis {
namespace {

TEST(ServerErrorTest, PrefixIsTheFirstWord) {
  EXPECT_EQ(ServerError("READONLY You can't write against a read only replica.").prefix(),
            "READONLY");
  EXPECT_EQ(ServerError("UNBLOCKED").prefix(), "UNBLOCKED");
  EXPECT_EQ(ServerError("").prefix(), "");
}

TEST(ServerErrorTest, FailoverReplicaClusterAndLoadingErrorsAreTransient) {
  for (const char* m : {
           // A primary demoted by FAILOVER or REPLICAOF: blocked reads, then writes.
           "UNBLOCKED force unblock from blocking operation, instance state changed (master -> "
           "replica?)",
           "READONLY You can't write against a read only replica.",
           // A write inside a script on a replica (Redis 7 keeps the command's prefix).
           "READONLY You can't write against a read only replica. script: "
           "8b2ae6dd76cda7fc3e27f97431ae27d7b08a221d, "
           "on @user_script:1.",
           "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
           "TRYAGAIN Multiple keys request during rehashing of slot",
           "CLUSTERDOWN The cluster is down",
           "LOADING Redis is loading the dataset in memory",
           "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
           "NOSCRIPT.",
           "OOM command not allowed when used memory > 'maxmemory'.",
           "NOREPLICAS Not enough good replicas to write.",
       }) {
    EXPECT_TRUE(ServerError(m).transient()) << m;
  }
}

TEST(ServerErrorTest, ErrorsThatRetryingCannotFixAreNotTransient) {
  for (const char* m : {
           "ERR unknown command 'FOO'",
           "WRONGTYPE Operation against a key holding the wrong kind of value",
           "NOGROUP No such key 'q' or consumer group 'steadfast' in XREADGROUP with GROUP option",
           "BUSYGROUP Consumer Group name already exists",
           "BUSYKEY Target key name already exists.",
           "NOSCRIPT No matching script. Please use EVAL.",
           "NOAUTH Authentication required.",
           "WRONGPASS invalid username-password pair or user is disabled.",
           "NOPERM this user has no permissions to run the 'xadd' command",
           "MOVED 3999 127.0.0.1:6381",
           // A prefix is a whole word: lookalikes are not transient.
           "READONLYX something",
           "UNBLOCKEDforce",
           "",
       }) {
    EXPECT_FALSE(ServerError(m).transient()) << m;
  }
}

}  // namespace
}  // namespace steadfast::redis
