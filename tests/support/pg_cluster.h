// A throwaway PostgreSQL cluster for integration tests, started and stopped by the test binary
// itself through scripts/pg_cluster.sh.
//
//   #include "tests/support/pg_cluster.h"
//
//   // One cluster per test binary, started on first use and stopped at exit;
//   // each test takes a fresh, empty database on it (then migrates it itself).
//   std::string url = leadscore::testing::PgCluster::shared().create_database();
//   auto db = leadscore::store::Database::connect(url, 4);
//
// The cluster lives in a new directory under /tmp, listens on 127.0.0.1 on a free port, runs
// with fsync off (throwaway data), and is stopped and its directory removed by the destructor.
// A watchdog process does the same if the test binary dies without running destructors
// (crash, SIGKILL), so no cluster outlives its test.
//
// Threading: create_database() is safe from any thread; construct and destroy on one thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>

namespace leadscore::testing {

class PgCluster {
 public:
  // Starts a cluster; throws std::runtime_error (with the script's message) when it cannot.
  PgCluster();
  ~PgCluster();  // stops the cluster and removes its directory
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // postgresql://postgres@127.0.0.1:PORT/leadscore (the database the script creates).
  const std::string& url() const { return url_; }
  int port() const { return port_; }

  // Creates a new empty database (t_1, t_2, ...) and returns its URL; throws on failure.
  std::string create_database();

  // The cluster shared by every test of this binary; started on first call, stopped at exit.
  static PgCluster& shared();

 private:
  void start_watchdog();
  void shut_down();        // idempotent
  std::string directory_;  // the temporary directory holding the cluster (data/)
  std::string url_;
  int port_ = 0;
  int watchdog_pipe_ = -1;  // closing it tells the watchdog to stop the cluster
  pid_t watchdog_pid_ = -1;
  std::atomic<int> databases_{0};
};

}  // namespace leadscore::testing
