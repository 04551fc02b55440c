#include "record/redis_errors.h"

#include <gtest/gtest.h>

using hubstats::module::retry_later_error;

TEST(RedisErrors, NotNowIsRetried) {
  for (const char* e :
       {"NOSCRIPT No matching script. Please use EVAL.", "LOADING Redis is loading the dataset",
        "BUSY Redis is busy running a script", "TRYAGAIN", "MASTERDOWN Link with MASTER is down",
        "OOM command not allowed when used memory > 'maxmemory'.",
        "READONLY You can't write against a read only replica.",
        "MISCONF Redis is configured to save RDB snapshots", "CLUSTERDOWN The cluster is down"}) {
    EXPECT_TRUE(retry_later_error(e)) << e;
  }
}

TEST(RedisErrors, NoIsFinal) {
  for (const char* e : {"ERR Error running script", "WRONGTYPE Operation against a key", "",
                        "BUSYKEY Target key name already exists.", "OOMX", "noscript"}) {
    EXPECT_FALSE(retry_later_error(e)) << e;
  }
}
