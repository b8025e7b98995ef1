// Database::migrate(): the embedded migrations, applied once each, in order, even concurrently.
#include <algorithm>
#include <thread>
#include <vector>

#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using leadscore::testing::PgCluster;

TEST(Migrations, ApplyEachEmbeddedFileOnceInOrder) {
  const std::string url = PgCluster::shared().create_database();
  auto db = Database::connect(url, 1);
  ASSERT_TRUE(db) << db.error().message;

  auto first = (*db)->migrate();
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_FALSE(first->empty());
  EXPECT_EQ(first->front(), "001_init.sql");
  EXPECT_TRUE(std::is_sorted(first->begin(), first->end()));

  auto again = (*db)->migrate();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->empty());

  EXPECT_EQ(query(url, "SELECT count(*) FROM schema_migrations"), std::to_string(first->size()));
  EXPECT_EQ(query(url, "SELECT to_regclass('leads') IS NOT NULL"), "t");
}

TEST(Migrations, ConcurrentMigrationsApplyEachFileOnce) {
  const std::string url = PgCluster::shared().create_database();
  constexpr int kMigrators = 4;
  std::vector<Result<std::vector<std::string>>> results(kMigrators, std::vector<std::string>{});
  std::vector<std::thread> threads;
  for (int i = 0; i < kMigrators; ++i)
    threads.emplace_back([&, i] {
      auto db = Database::connect(url, 1);
      if (!db) {
        results[i] = std::unexpected(db.error());
        return;
      }
      results[i] = (*db)->migrate();
    });
  for (auto& thread : threads) thread.join();

  std::vector<std::string> applied;
  for (const auto& result : results) {
    ASSERT_TRUE(result) << result.error().message;
    applied.insert(applied.end(), result->begin(), result->end());
  }
  std::ranges::sort(applied);
  EXPECT_EQ(std::ranges::adjacent_find(applied), applied.end()) << "a migration ran twice";
  EXPECT_EQ(query(url, "SELECT count(*) FROM schema_migrations"), std::to_string(applied.size()));
}

}  // namespace
}  // namespace leadscore::store::testing
