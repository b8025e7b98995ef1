// The Database's fixed pool: leases wait for a free connection up to a timeout, and a
// connection the server dropped is reconnected when next leased; a lease that must not wait
// (try_session) takes only a free, idle connection and never reconnects one; a statement past its
// deadline fails at once and leaves its connection to be reconnected.
#include "engine/store/connection_pool.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using namespace std::chrono_literals;
using domain::ErrorCode;

// Ends every other connection to the test's database, and waits until they are gone.
void terminate_other_backends(const std::string& url) {
  query(url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()");
  for (int i = 0; i < 200; ++i) {
    if (query(url,
              "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
              " AND pid <> pg_backend_pid()") == "0")
      return;
    std::this_thread::sleep_for(10ms);
  }
  throw std::runtime_error("backends did not exit");
}

TEST_F(Store, LeaseWaitsForAFreeConnectionAndTimesOutUnavailable) {
  auto db = Database::connect(url_, 1);
  ASSERT_TRUE(db);
  EXPECT_EQ((*db)->pool_size(), 1);
  auto held = (*db)->session();
  ASSERT_TRUE(held);

  const auto before = std::chrono::steady_clock::now();
  auto refused = (*db)->session(50ms);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::Unavailable);
  EXPECT_GE(std::chrono::steady_clock::now() - before, 50ms);

  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    Session gone = std::move(*held);
  });
  auto waited = (*db)->session(5s);
  releaser.join();
  ASSERT_TRUE(waited) << waited.error().message;
  EXPECT_TRUE(waited->ping());
}

TEST_F(Store, ConnectionsGoToTheWaitersInTheOrderTheyCame) {
  auto opened = PgConnection::open(url_);
  ASSERT_TRUE(opened) << opened.error();
  std::vector<std::unique_ptr<PgConnection>> one;
  one.push_back(std::move(*opened));
  ConnectionPool pool(std::move(one));
  PgConnection* held = pool.acquire(0ms);
  ASSERT_NE(held, nullptr);

  std::mutex mutex;
  std::vector<int> order;
  std::latch probed(1);
  std::vector<std::jthread> waiters;
  for (int w = 1; w <= 3; ++w) {
    waiters.emplace_back([&, w] {
      PgConnection* c = pool.acquire(10s);
      ASSERT_NE(c, nullptr);
      {
        std::lock_guard lock(mutex);
        order.push_back(w);
      }
      if (w == 1) probed.wait();  // holds it while the main thread tries to take it
      pool.release(c);
    });
    while (pool.waiting() < static_cast<std::size_t>(w)) std::this_thread::sleep_for(1ms);
  }
  pool.release(held);
  // Released with waiters queued, it went to the first of them: a thread that comes now,
  // even the one that released it, does not get it.
  EXPECT_EQ(pool.acquire(0ms), nullptr);
  probed.count_down();
  waiters.clear();

  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(pool.waiting(), 0u);
  PgConnection* again = pool.acquire(0ms);
  EXPECT_EQ(again, held);
  pool.release(again);
}

TEST_F(Store, DroppedConnectionsAreReconnectedOnTheNextLease) {
  auto db = Database::connect(url_, 2);
  ASSERT_TRUE(db);
  const domain::Lead lead = create();
  {
    auto a = (*db)->session();
    auto b = (*db)->session();
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(a->get_lead(lead.id));  // prepared on both connections
    ASSERT_TRUE(b->get_lead(lead.id));
  }
  session_.reset();
  terminate_other_backends(url_);

  for (int i = 0; i < 4; ++i) {
    auto a = (*db)->session();
    auto b = (*db)->session();
    ASSERT_TRUE(a && b);
    auto read = a->get_lead(lead.id);
    ASSERT_TRUE(read) << read.error().message;
    ASSERT_TRUE(b->get_lead(lead.id));
  }
}

TEST_F(Store, ConnectionLostDuringASessionIsUnavailableThenRecovers) {
  auto db = Database::connect(url_, 1);
  ASSERT_TRUE(db);
  const domain::Lead lead = create();
  session_.reset();
  {
    auto session = (*db)->session();
    ASSERT_TRUE(session);
    terminate_other_backends(url_);
    auto read = session->get_lead(lead.id);
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, ErrorCode::Unavailable) << read.error().message;
  }
  auto session = (*db)->session();
  ASSERT_TRUE(session) << session.error().message;
  EXPECT_TRUE(session->get_lead(lead.id));
}

TEST(ConnectionPool, UnreachableServerIsUnavailable) {
  // A port that is bound but not listening refuses connections.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  auto db = Database::connect(
      "postgresql://postgres@127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/x", 2);
  close(fd);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::Unavailable);
}

TEST_F(Store, TryLeaseNeverWaitsForABusyConnection) {
  auto db = Database::connect(url_, 1);
  ASSERT_TRUE(db);
  {
    auto held = (*db)->session();
    ASSERT_TRUE(held);
    EXPECT_FALSE((*db)->try_session());
  }
  auto free = (*db)->try_session();
  ASSERT_TRUE(free);
  EXPECT_TRUE(free->ping());
}

TEST_F(Store, TryLeaseNeverReconnectsADroppedConnection) {
  auto db = Database::connect(url_, 1);
  ASSERT_TRUE(db);
  const domain::Lead lead = create();
  session_.reset();
  ASSERT_TRUE((*db)->try_session());
  terminate_other_backends(url_);

  if (auto dropped = (*db)->try_session()) {
    auto read = dropped->get_lead(lead.id);
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, ErrorCode::Unavailable) << read.error().message;
  }
  EXPECT_FALSE((*db)->try_session()) << "a connection known to be lost is not leased";
  {
    auto reconnected = (*db)->session();
    ASSERT_TRUE(reconnected) << reconnected.error().message;
  }
  auto ready = (*db)->try_session();
  ASSERT_TRUE(ready);
  EXPECT_TRUE(ready->get_lead(lead.id));
}

TEST_F(Store, StatementPastItsDeadlineFailsUnavailableAndItsConnectionIsReconnected) {
  auto db = Database::connect(url_, 1, 100ms);
  ASSERT_TRUE(db);
  const domain::Lead lead = create();
  session_.reset();
  {
    auto session = (*db)->session();
    ASSERT_TRUE(session);
    ASSERT_TRUE(session->get_lead(lead.id));  // answered well within its deadline
  }

  // Even a read by primary key waits behind a table lock: hold one from outside.
  PGconn* blocker = PQconnectdb(url_.c_str());
  ASSERT_EQ(PQstatus(blocker), CONNECTION_OK);
  PQclear(PQexec(blocker, "BEGIN; LOCK TABLE leads IN ACCESS EXCLUSIVE MODE"));
  {
    auto session = (*db)->session();
    ASSERT_TRUE(session);
    const auto before = std::chrono::steady_clock::now();
    auto read = session->get_lead(lead.id);
    const auto took = std::chrono::steady_clock::now() - before;
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, ErrorCode::Unavailable) << read.error().message;
    EXPECT_GE(took, 100ms);
    EXPECT_LT(took, 2s) << "the read waited for the lock instead of its deadline";
  }
  EXPECT_FALSE((*db)->try_session()) << "an abandoned connection is not ready";
  PQclear(PQexec(blocker, "COMMIT"));
  PQfinish(blocker);

  auto session = (*db)->session();
  ASSERT_TRUE(session) << session.error().message;
  auto read = session->get_lead(lead.id);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->id, lead.id);
}

TEST_F(Store, ManyThreadsShareASmallPool) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 50;
  auto db = Database::connect(url_, 3);
  ASSERT_TRUE(db);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        auto session = (*db)->session();
        if (!session) {
          ++failures;
          continue;
        }
        auto lead = session->create_lead(new_lead(), "worker");
        if (!lead || !session->add_activity(lead->id, 2) || !session->get_lead(lead->id))
          ++failures;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(sql("SELECT count(*) FROM leads"), std::to_string(kThreads * kRounds));
  EXPECT_EQ(sql("SELECT sum(activity_count) FROM leads"), std::to_string(kThreads * kRounds * 2));
}

}  // namespace
}  // namespace leadscore::store::testing
