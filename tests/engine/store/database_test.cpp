// Database::migrate(): the embedded migrations, applied once each, in order, even concurrently.
#include <algorithm>
#include <thread>
#include <vector>

#include "engine/store/migrations.h"
#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using leadscore::testing::PgCluster;

constexpr const char* kCreateSchemaMigrationsForTest =
    "CREATE TABLE schema_migrations (name text PRIMARY KEY,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

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

// The jobs of a version that kept one row per lead (job_leads) carry on in batches: pending
// leads stay pending, claimed ones become a claim whose lease ran out (so that what their
// runner stored counts as done), done and failed ones a done batch that keeps the failures.
TEST(Migrations, JobsOfAnEarlierVersionKeepTheirLeadsInBatches) {
  const std::string url = PgCluster::shared().create_database();
  query(url, kCreateSchemaMigrationsForTest);
  for (const Migration& m : embedded_migrations()) {
    if (m.name >= "015") break;
    query(url, std::string(m.sql));
    query(url, "INSERT INTO schema_migrations (name) VALUES ('" + std::string(m.name) + "')");
  }
  query(url,
        "INSERT INTO jobs (id, status, filter, created_by, total, done, failed)"
        " VALUES (1, 'running', '{}', 'manager', 1005, 1, 1);"
        "INSERT INTO job_leads (job_id, lead_id, state)"
        " SELECT 1, g, 'pending' FROM generate_series(10, 1011) AS g;"
        "INSERT INTO job_leads (job_id, lead_id, state, claimed_by, lease_until)"
        " VALUES (1, 5, 'claimed', 'host:1:x', now() + interval '1 hour');"
        "INSERT INTO job_leads (job_id, lead_id, state) VALUES (1, 3, 'done');"
        "INSERT INTO job_leads (job_id, lead_id, state, error) VALUES (1, 4, 'failed', 'gone');");
  auto db = Database::connect(url, 1);
  ASSERT_TRUE(db) << db.error().message;
  auto applied = (*db)->migrate();
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(query(url, "SELECT to_regclass('job_leads') IS NULL"), "t");
  EXPECT_EQ(query(url,
                  "SELECT string_agg(cardinality(lead_ids)::text, ',' ORDER BY lead_ids[1])"
                  " FROM job_batches WHERE state = 'pending'"),
            "1000,2");
  EXPECT_EQ(query(url,
                  "SELECT lead_ids::text || ' ' || (lease_until <= now())::text"
                  " FROM job_batches WHERE state = 'claimed'"),
            "{5} true");
  EXPECT_EQ(query(url,
                  "SELECT lead_ids::text || ' ' || failures::text"
                  " FROM job_batches WHERE state = 'done'"),
            "{3,4} {\"4\": \"gone\"}");
}

}  // namespace
}  // namespace leadscore::store::testing
