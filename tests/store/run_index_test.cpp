// The run list's pure parts (store/run_index.h): how many ids the first round reads.
#include "store/run_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace steadfast::store {
namespace {

TEST(ListFirstChunk, ThePageAndOneMoreWhenTheWalkedIndexIsExactElseTwice) {
  const auto filter = [](std::vector<std::pair<std::string, std::string>> pairs) {
    return engine::parse_run_filter(pairs);
  };
  struct Case {
    std::string name;
    engine::RunFilter f;
    std::size_t limit;
    std::size_t want;
  };
  const std::vector<Case> cases = {
      {"no filter: ix:runs is exact", {}, 50, 51},
      {"a workflow", filter({{"workflow", "w"}}), 50, 51},
      {"a metadata pair", filter({{"meta.customer", "acme"}}), 50, 51},
      {"failed has its own index", filter({{"status", "failed"}}), 50, 51},
      {"cancelled has its own index", filter({{"status", "cancelled"}}), 20, 21},
      {"creation bounds trim only the edges", filter({{"workflow", "w"}, {"created_after", "2026-01-01T00:00:00Z"}}),
       50, 51},
      {"running shares ix:st:live with queued and retrying", filter({{"status", "running"}}), 50, 100},
      {"completed has no index", filter({{"status", "completed"}}), 50, 100},
      {"two conditions", filter({{"workflow", "w"}, {"meta.customer", "acme"}}), 50, 100},
      {"a small page still reads 64", filter({{"status", "queued"}}), 5, 64},
      {"at most 1000", {}, 1000, 1000},
      {"at most 1000, inexact", filter({{"status", "queued"}}), 1000, 1000},
  };
  for (const Case& c : cases) EXPECT_EQ(list_first_chunk(c.f, c.limit), c.want) << c.name;
}

}  // namespace
}  // namespace steadfast::store
