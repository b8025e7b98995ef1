#include "tests/support/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "tests/support/free_port.h"
#include "tests/support/run_command.h"

#ifndef LEADSCORE_SOURCE_DIR
#error "LEADSCORE_SOURCE_DIR must name the source tree (it holds scripts/pg_cluster.sh)"
#endif

namespace leadscore::testing {
namespace {

const std::string kScript = std::string(LEADSCORE_SOURCE_DIR) + "/scripts/pg_cluster.sh";

// Throwaway data: durability buys nothing here and costs seconds per test binary.
constexpr const char* kServerOptions =
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off";

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs a shell command; its stdout, and whether it exited with 0. Its stderr is the test's.
std::pair<std::string, bool> run(const std::string& command) {
  auto result = run_command(command);
  return {std::move(result.output), result.ok()};
}

void execute(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("cannot connect to " + url + ": " + message);
  }
  PGresult* result = PQexec(conn, sql.c_str());
  std::string message = PQresultStatus(result) == PGRES_COMMAND_OK ? "" : PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
  if (!message.empty()) throw std::runtime_error(sql + ": " + message);
}

}  // namespace

// A port that was free a moment ago (bound and released); the caller retries on a clash.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    int error = errno;
    close(fd);
    throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(error));
  }
  close(fd);
  return ntohs(address.sin_port);
}

PgCluster::PgCluster() {
  char pattern[] = "/tmp/leadscore-pg-XXXXXX";
  if (mkdtemp(pattern) == nullptr)
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  directory_ = pattern;
  // As root the server runs as `postgres`, which must be able to enter the directory.
  chmod(directory_.c_str(), 0755);
  start_watchdog();

  const std::string data = directory_ + "/data";
  std::string last_output;
  for (int attempt = 0; attempt < 3 && url_.empty(); ++attempt) {
    const int port = free_port();
    auto [output, ok] =
        run(std::string("PG_CLUSTER_OPTIONS=") + shell_quote(kServerOptions) + " " +
            shell_quote(kScript) + " start " + shell_quote(data) + " " + std::to_string(port));
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    if (ok && output.starts_with("postgresql://")) {
      url_ = output;
      port_ = port;
    }
    last_output = output;
  }
  if (url_.empty()) {
    shut_down();  // no destructor runs for a constructor that throws
    throw std::runtime_error("cannot start a PostgreSQL cluster with " + kScript +
                             " (see its messages above) " + last_output);
  }
}

void PgCluster::start_watchdog() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;  // no watchdog: the destructor still cleans up
  pid_t pid = fork();
  if (pid == 0) {
    // The child only execs. The pipe's read end becomes stdin; the write end, close-on-exec,
    // stays with the test process alone, so EOF means that process is done or dead.
    setsid();
    dup2(fds[0], STDIN_FILENO);
    execl("/bin/sh", "sh", "-c",
          "cat >/dev/null; \"$1\" stop \"$2\" >/dev/null 2>&1; rm -rf \"$3\"", "pg-watchdog",
          kScript.c_str(), (directory_ + "/data").c_str(), directory_.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[0]);
  if (pid < 0) {
    close(fds[1]);
    return;
  }
  watchdog_pipe_ = fds[1];
  watchdog_pid_ = pid;
}

PgCluster::~PgCluster() {
  try {
    shut_down();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "PgCluster: cannot stop the cluster in %s: %s\n", directory_.c_str(),
                 e.what());
  }
}

void PgCluster::shut_down() {
  if (watchdog_pid_ > 0) {
    // The watchdog stops the cluster and removes the directory; wait until it has.
    close(watchdog_pipe_);
    while (waitpid(watchdog_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  } else if (!directory_.empty()) {
    run(shell_quote(kScript) + " stop " + shell_quote(directory_ + "/data") + " >/dev/null");
    run("rm -rf " + shell_quote(directory_));
  }
  watchdog_pid_ = -1;
  watchdog_pipe_ = -1;
  directory_.clear();
}

std::string PgCluster::create_database() {
  const std::string name = "t_" + std::to_string(++databases_);
  execute(url_, "CREATE DATABASE " + name);
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

PgCluster& PgCluster::shared() {
  static PgCluster cluster;
  return cluster;
}

}  // namespace leadscore::testing
