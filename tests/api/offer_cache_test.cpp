// The server's copy of the active offer: read again at most once per max_age (on a clock the
// test moves), never replaced by an earlier revision, kept when a re-read fails; and the JSON
// that scorers get.
#include "api/offer_cache.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/pg_cluster.h"

namespace leadscore::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class OfferCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The cache logs a failed re-read: into this test's own log.
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "offer_cache_test", std::make_shared<spdlog::sinks::ostream_sink_mt>(*log)));
    auto connected = store::Database::connect(PgCluster::shared().create_database(), 2);
    ASSERT_TRUE(connected) << connected.error().message;
    db = std::move(*connected);
    ASSERT_TRUE(db->migrate());
  }
  void TearDown() override {
    db.reset();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("none"));  // `log` goes
  }

  // Reads the database, counting the reads; fails instead while `failing`.
  api::OfferCache::Reader counted() {
    return [this, read = api::OfferCache::reader_of(*db)]() -> store::Result<store::ActiveOffer> {
      ++reads;
      if (failing)
        return std::unexpected(domain::Error{domain::ErrorCode::Unavailable, "down", {}, {}});
      return read();
    };
  }

  store::OfferChange write(const std::string& name, bool active,
                           std::optional<std::int64_t> id = std::nullopt) {
    domain::OfferInput offer;
    offer.name = name;
    offer.ideal_use_cases = {"B2B SaaS"};
    offer.active = active;
    auto session = db->session();
    EXPECT_TRUE(session);
    auto change = id ? session->replace_offer(*id, offer) : session->create_offer(offer);
    EXPECT_TRUE(change) << change.error().message;
    return *change;
  }

  std::shared_ptr<std::ostringstream> log = std::make_shared<std::ostringstream>();
  std::unique_ptr<store::Database> db;
  std::atomic<int> reads{0};
  bool failing = false;
  api::OfferCache::Clock::time_point now{};
  std::function<api::OfferCache::Clock::time_point()> clock = [this] { return now; };
};

TEST_F(OfferCacheTest, ReadsAgainAtMostOncePerMaxAge) {
  api::OfferCache cache(counted(), 1000ms, clock);
  ASSERT_TRUE(cache.load());
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(cache.current(), nullptr);

  const store::OfferChange written = write("Outreach", true);  // by another process
  for (int i = 0; i < 100; ++i) EXPECT_EQ(cache.current(), nullptr);
  now += 999ms;
  EXPECT_EQ(cache.current(), nullptr);
  EXPECT_EQ(reads, 1);

  now += 1ms;
  auto offer = cache.current();
  ASSERT_NE(offer, nullptr);
  EXPECT_EQ(reads, 2);
  EXPECT_EQ(offer->id, written.offer.id);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(cache.current(), offer);  // the same view, shared
  EXPECT_EQ(reads, 2);
}

TEST_F(OfferCacheTest, AWriteOfThisServerIsSeenAtOnceAndNeverUndoneByAnOlderRead) {
  api::OfferCache cache(counted(), 1000ms, clock);
  ASSERT_TRUE(cache.load());
  auto session = db->session();
  ASSERT_TRUE(session);
  auto before = session->active_offer();  // a read that a slow re-read could still deliver
  ASSERT_TRUE(before);

  const store::OfferChange written = write("Outreach", true);
  EXPECT_TRUE(cache.install(written.active));
  ASSERT_NE(cache.current(), nullptr);
  EXPECT_EQ(cache.current()->id, written.offer.id);

  EXPECT_FALSE(cache.install(*before));         // an earlier revision: dropped
  EXPECT_FALSE(cache.install(written.active));  // the same one: nothing to do
  ASSERT_NE(cache.current(), nullptr);
  EXPECT_EQ(cache.current()->id, written.offer.id);

  const store::OfferChange off = write("Outreach", false, written.offer.id);
  EXPECT_TRUE(cache.install(off.active));
  EXPECT_EQ(cache.current(), nullptr);
  EXPECT_EQ(reads, 1);
}

TEST_F(OfferCacheTest, AFailedReadKeepsTheCopyAndIsTriedAgainLater) {
  const store::OfferChange written = write("Outreach", true);
  api::OfferCache cache(counted(), 1000ms, clock);
  ASSERT_TRUE(cache.load());
  failing = true;
  now += 1000ms;
  ASSERT_NE(cache.current(), nullptr);
  EXPECT_EQ(cache.current()->id, written.offer.id);
  EXPECT_EQ(reads, 2);
  EXPECT_NE(log->str().find("the active offer could not be read again"), std::string::npos);
  now += 500ms;
  cache.current();
  EXPECT_EQ(reads, 2);  // not a read per analysis while the database is away
  failing = false;
  write("Outreach", false, written.offer.id);
  now += 500ms;
  EXPECT_EQ(cache.current(), nullptr);
  EXPECT_EQ(reads, 3);
}

TEST_F(OfferCacheTest, ScorersGetTheOfferAsJsonWithoutItsActiveFlagOrDates) {
  domain::OfferInput input;
  input.name = "AI \"Outreach\"";
  input.description = "books meetings";
  input.value_props = {"24/7 automated outreach"};
  input.ideal_use_cases = {"B2B SaaS", "Sales teams"};
  input.active = true;
  auto session = db->session();
  ASSERT_TRUE(session);
  auto change = session->create_offer(input);
  ASSERT_TRUE(change) << change.error().message;
  api::OfferCache cache(counted(), 1000ms, clock);
  ASSERT_TRUE(cache.load());
  ASSERT_NE(cache.current(), nullptr);
  EXPECT_EQ(json::parse(cache.current()->json),
            json({{"id", change->offer.id},
                  {"name", "AI \"Outreach\""},
                  {"description", "books meetings"},
                  {"value_props", {"24/7 automated outreach"}},
                  {"ideal_use_cases", {"B2B SaaS", "Sales teams"}}}));
  input.description.reset();
  ASSERT_TRUE(cache.install(session->replace_offer(change->offer.id, input)->active));
  EXPECT_FALSE(json::parse(cache.current()->json).contains("description"));
}

}  // namespace
}  // namespace leadscore::testing
