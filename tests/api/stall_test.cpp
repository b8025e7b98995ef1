// What a slow or hostile client can do to a running `leadscore serve`, against the real binary:
// a stop signal in the middle of a huge upload, more idle connections than the open-file limit
// allows, connections that say nothing or half a request, large bad requests and the memory
// they leave behind, and malformed framing. The server must stay answerable through all of it.
// The only timing bounds asserted are the ones the server promises (stop within 5 s, timeouts).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/served_leadscore.h"

namespace leadscore::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// One client TCP connection to 127.0.0.1, closed by the destructor.
class Connection {
 public:
  // A send that cannot go on for 3 s (the server stopped reading) gives up.
  explicit Connection(int port) : fd_(connect_loopback(port, 3s, 0ms)) {}
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  Connection(Connection&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), pending_(std::move(other.pending_)) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return fd_ >= 0; }

  // Sends all of `data`; false when the server stopped taking it (closed, reset, stalled).
  bool send(std::string_view data) { return fd_ >= 0 && send_all(fd_, data); }

  // One answer: its head and its Content-Length body, or what came before the stream ended
  // or `timeout` passed (empty if nothing).
  std::string read_answer(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto head_end = pending_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        const auto at = lowercase(pending_.substr(0, head_end)).find("\r\ncontent-length:");
        if (at != std::string::npos)
          length = std::strtoull(pending_.c_str() + at + 17, nullptr, 10);
        if (pending_.size() >= head_end + 4 + length) {
          std::string answer = pending_.substr(0, head_end + 4 + length);
          pending_.erase(0, answer.size());
          return answer;
        }
      }
      if (receive(deadline) <= 0) return std::exchange(pending_, {});
    }
  }

  // True when the server has answered with a reset what was sent last.
  bool reset_by_server() const {
    int error = 0;
    socklen_t size = sizeof error;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size);
    return error == ECONNRESET || error == EPIPE;
  }

  // Ends the sending side: a send blocked in another thread returns.
  void stop_sending() { ::shutdown(fd_, SHUT_WR); }

  // True when the server ends the stream (an orderly close or a reset) within `timeout`;
  // whatever arrives before is read and dropped.
  bool closed_by_server_within(Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const ssize_t n = receive(deadline);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET || errno == EPIPE;
      pending_.clear();
    }
  }

 private:
  static std::string lowercase(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  // recv() of what arrives before `deadline`: bytes appended to pending_, 0 at the end of
  // the stream, -1 with errno (ETIMEDOUT when nothing came in time).
  ssize_t receive(Clock::time_point deadline) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd p{fd_, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) {
        errno = ETIMEDOUT;
        return -1;
      }
      char buffer[65536];
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) pending_.append(buffer, static_cast<std::size_t>(n));
      return n;
    }
  }

  int fd_ = -1;
  std::string pending_;  // received and not yet returned
};

const std::string kHealth = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";

// GET /health on a new connection answers 200, within `attempts` tries a quarter second apart.
bool health_answers(int port, int attempts = 1) {
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) std::this_thread::sleep_for(250ms);
    Connection c(port);
    if (c.send(kHealth) && status_of(c.read_answer(2s)) == 200) return true;
  }
  return false;
}

std::string post(const std::string& path, const std::string& key, const std::string& type,
                 const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + key +
         "\r\nContent-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// An import whose header row has `columns` columns (c0,c1,...): about 7 bytes a column.
std::string wide_import(const std::string& key, int columns) {
  std::string csv;
  csv.reserve(static_cast<std::size_t>(columns) * 8);
  for (int i = 0; i < columns; ++i) {
    if (i > 0) csv += ',';
    csv += 'c';
    csv += std::to_string(i);
  }
  csv += "\nscanner\n";
  return post("/leads/import", key, "text/csv", csv);
}

// The server's resident memory in kB (VmRSS), 0 if it cannot be read.
long resident_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
  return 0;
}

// The test process keeps many connections open at once: its soft open-file limit goes up to
// the hard one. The limit in force.
rlim_t raise_own_descriptor_limit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

// server: settings of config/leadscore.yaml, by key, and their values.
using ServerSettings = std::vector<std::pair<std::string, std::string>>;

// A copy of config/leadscore.yaml with other server settings, written beside it (its relative
// paths stay valid) under a name of its own, and removed by the destructor.
class ConfigVariant {
 public:
  explicit ConfigVariant(const ServerSettings& server) {
    const std::filesystem::path shipped =
        std::filesystem::path(LEADSCORE_SOURCE_DIR) / "config" / "leadscore.yaml";
    std::ifstream in(shipped);
    std::stringstream text;
    text << in.rdbuf();
    std::string yaml = text.str();
    valid_ = yaml.find("\nserver:\n") != std::string::npos;
    for (const auto& [key, value] : server) {
      // In place of the key's line, or as the first line of the section.
      const std::string line = "  " + key + ": " + value;
      const auto at = yaml.find("\n  " + key + ":");
      if (at != std::string::npos)
        yaml.replace(at + 1, yaml.find('\n', at + 1) - at - 1, line);
      else if (valid_)
        yaml.insert(yaml.find("\nserver:\n") + 9, line + "\n");
    }
    path_ = shipped.parent_path() /
            (".stall-test-" + std::to_string(getpid()) + "-" + std::to_string(++count_) + ".yaml");
    std::ofstream(path_) << yaml;
  }
  ~ConfigVariant() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  ConfigVariant(const ConfigVariant&) = delete;
  ConfigVariant& operator=(const ConfigVariant&) = delete;

  std::string path() const { return path_.string(); }
  bool valid() const { return valid_; }  // the copy has a server section

 private:
  static inline int count_ = 0;
  std::filesystem::path path_;
  bool valid_ = false;
};

// Sends `request` on a new connection from another thread: the first half at once, the rest
// after `pause`. The status of the answer when it comes (0: none).
class RequestInFlight {
 public:
  RequestInFlight(int port, std::string request, std::chrono::milliseconds pause = 0ms)
      : thread_([this, port, pause, request = std::move(request)] {
          Connection c(port);
          const std::string_view whole(request);
          c.send(whole.substr(0, whole.size() / 2));
          half_sent = true;
          std::this_thread::sleep_for(pause);
          c.send(whole.substr(whole.size() / 2));
          sent = true;
          status = status_of(c.read_answer(10s));
        }) {}
  ~RequestInFlight() { join(); }
  RequestInFlight(const RequestInFlight&) = delete;
  RequestInFlight& operator=(const RequestInFlight&) = delete;
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  std::atomic<bool> half_sent{false};
  std::atomic<bool> sent{false};
  std::atomic<int> status{0};

 private:
  std::thread thread_;
};

void expect_stops_within_five_seconds(ServedLeadscore& served, const char* what) {
  const auto [exit_status, took] = served.terminate(5s);
  std::printf("%s: SIGTERM to exit %lld ms\n", what, static_cast<long long>(took.count()));
  EXPECT_EQ(exit_status, 0) << what;
  EXPECT_LT(took, 5s) << what;
}

TEST(Stall, SigtermStopsWithinFiveSecondsDuringAHugeImport) {
  ServedLeadscore served({});
  const std::string request = wide_import(served.admin_key(), 1'000'000);
  ASSERT_GT(request.size(), 6u << 20);
  ASSERT_LT(request.size(), 16u << 20);
  // The stop comes with half of the upload in, the rest a second later.
  RequestInFlight import(served.port(), request, 1s);
  while (!import.half_sent) std::this_thread::sleep_for(1ms);
  expect_stops_within_five_seconds(served, "with half of a 1,000,000-column import in");
  import.join();
  EXPECT_EQ(import.status.load(), 0) << "no answer to an import cut off by the stop";
}

TEST(Stall, SigtermStopsWithinFiveSecondsWithSlowRequestsQueued) {
  // Two workers: most of the requests below wait in the queue.
  ConfigVariant config(ServerSettings{{"workers", "2"}});
  ASSERT_TRUE(config.valid()) << "config/leadscore.yaml has no server section";
  ServedLeadscore::Options options;
  options.env["LEADSCORE_CONFIG"] = config.path();
  ServedLeadscore served(options);
  const std::string key = served.admin_key();
  // Imports of 20,000 valid rows of 300 bytes (one transaction each, a second or more of
  // work), beside the 1,000,000-column header, all at once.
  std::string rows = "source,name,email,bio\n";
  const std::string row = "scanner,Ada Lovelace,ada@example.com," + std::string(263, 'b') + "\n";
  for (int i = 0; i < 20'000; ++i) rows += row;
  const std::string slow_import = post("/leads/import", key, "text/csv", rows);
  const std::string wide = wide_import(key, 1'000'000);
  std::vector<std::unique_ptr<RequestInFlight>> requests;
  for (int i = 0; i < 8; ++i)
    requests.push_back(
        std::make_unique<RequestInFlight>(served.port(), i % 2 ? wide : slow_import));
  // Every upload is in: the imports are being worked on or wait for a worker.
  const auto deadline = Clock::now() + 10s;
  for (auto& r : requests)
    while (!r->sent && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  expect_stops_within_five_seconds(served, "with 8 large imports on 2 workers");
  std::string statuses;
  for (auto& r : requests) {
    r->join();
    statuses += " " + std::to_string(r->status.load());
    // Finished, refused, or answered 503 by the stop; never a server error.
    EXPECT_NE(r->status.load(), 500);
  }
  std::printf("their answers:%s\n", statuses.c_str());
}

TEST(Stall, SigtermStopsWithinFiveSecondsWhileAWorkerWaitsOnTheDatabase) {
  ServedLeadscore served({});
  const std::string key = served.admin_key();
  const std::string created = raw_exchange(
      served.port(), post("/leads", key, "application/json", R"({"source":"manual"})"));
  ASSERT_EQ(status_of(created), 201) << created;
  const std::string id = std::to_string(nlohmann::json::parse(body_of(created))["id"].get<long>());
  // Another client holds the lead's row lock for as long as the test wants.
  PGconn* blocker = PQconnectdb(served.database_url().c_str());
  ASSERT_EQ(PQstatus(blocker), CONNECTION_OK);
  PQclear(PQexec(blocker, "BEGIN"));
  PQclear(PQexec(blocker, ("SELECT 1 FROM leads WHERE id = " + id + " FOR UPDATE").c_str()));
  const std::string body = R"({"stage":"contacted"})";
  RequestInFlight held(
      served.port(), "PATCH /leads/" + id + "/stage HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                         key + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                         body);
  while (!held.sent) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(300ms);  // its worker now waits on the lock
  expect_stops_within_five_seconds(served, "with a worker waiting on a row lock");
  held.join();
  // Its statement was cancelled: answered as unavailable, not left without an answer.
  EXPECT_EQ(held.status.load(), 503);
  PQclear(PQexec(blocker, "ROLLBACK"));
  PQfinish(blocker);
}

TEST(Stall, HealthAnswersBesideElevenHundredIdleConnections) {
  constexpr int kIdle = 1100;
  ASSERT_GE(raise_own_descriptor_limit(), static_cast<rlim_t>(kIdle + 100))
      << "the test needs more open files than its hard limit allows";
  ServedLeadscore::Options options;
  options.open_files = 1024;
  ServedLeadscore served(options);
  // Three kinds, in turn: connections that say nothing at all, ones that ask once and keep
  // the connection, and ones that send a malformed request, are refused, and stay.
  constexpr const char* kKinds[] = {"silent", "asked once", "refused"};
  std::vector<Connection> idle;
  idle.reserve(kIdle);
  for (int i = 0; i < kIdle; ++i) {
    Connection c(served.port());
    if (!c.connected()) continue;
    if (i % 3 == 1) c.send(kHealth);
    if (i % 3 == 2) c.send("GET /health HTTP/1.1\nHost: t\n\n");
    idle.push_back(std::move(c));
  }
  EXPECT_EQ(idle.size(), static_cast<std::size_t>(kIdle));
  const auto asked = Clock::now();
  EXPECT_TRUE(health_answers(served.port(), 20)) << served.log().substr(0, 4000);
  std::printf(
      "GET /health beside them answered in %lld ms\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - asked).count()));

  // The guard made room by closing the connections idle longest.
  // A refused one has had its answer and the end of the stream from the start: whether the
  // server has closed it too shows in the reset that answers one more byte.
  for (std::size_t i = 2; i < idle.size(); i += 3) idle[i].send("x");
  std::this_thread::sleep_for(300ms);
  int closed[3] = {0, 0, 0};
  int all[3] = {0, 0, 0};
  for (std::size_t i = 0; i < idle.size(); ++i) {
    ++all[i % 3];
    if (i % 3 == 2 ? idle[i].reset_by_server() : idle[i].closed_by_server_within(0ms))
      ++closed[i % 3];
  }
  for (int k = 0; k < 3; ++k)
    std::printf("closed by the server: %d of %d %s\n", closed[k], all[k], kKinds[k]);
  // The ones that asked were active last, so few of them need to go; the silent and the
  // refused, idle since they connected, must be among those that went.
  EXPECT_GT(closed[0], 0) << "silent connections are idle too";
  EXPECT_GT(closed[2], 0) << "refused connections are idle too";
  idle.clear();
  EXPECT_TRUE(health_answers(served.port(), 20));
  EXPECT_EQ(kill(served.pid(), 0), 0);
}

TEST(Stall, IdleAndSlowConnectionsAreClosed) {
  // The idle timeout is at least the header timeout (the config says why).
  ConfigVariant config(ServerSettings{
      {"request_timeout_ms", "1000"}, {"header_timeout_ms", "2000"}, {"idle_timeout_ms", "2000"}});
  ASSERT_TRUE(config.valid()) << "config/leadscore.yaml has no server section";
  ServedLeadscore::Options options;
  options.env["LEADSCORE_CONFIG"] = config.path();
  ServedLeadscore served(options);

  Connection kept(served.port());
  ASSERT_TRUE(kept.send("GET /health HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_EQ(status_of(kept.read_answer(2s)), 200);
  Connection half(served.port());
  ASSERT_TRUE(half.send("GET /health HTTP/1.1\r\nHost: t\r\n"));
  Connection silent(served.port());
  ASSERT_TRUE(silent.connected());

  const auto started = Clock::now();
  const auto since_start = [&] {
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
  };
  EXPECT_TRUE(kept.closed_by_server_within(3500ms)) << "a kept-alive idle connection";
  std::printf("kept-alive idle connection closed after %lld ms\n", since_start());
  const std::string answer = half.read_answer(5s);
  EXPECT_TRUE(answer.empty() || status_of(answer) == 408) << answer;
  EXPECT_TRUE(half.closed_by_server_within(5s - (Clock::now() - started)))
      << "a connection with half a request head";
  std::printf("half a request head: %s, closed after %lld ms\n",
              answer.empty() ? "no answer" : answer.substr(0, answer.find('\r')).c_str(),
              since_start());
  EXPECT_TRUE(silent.closed_by_server_within(5s - (Clock::now() - started)))
      << "a connection that never sent a byte";
  std::printf("silent connection closed after %lld ms\n", since_start());
  EXPECT_TRUE(health_answers(served.port()));
}

TEST(Stall, MemoryOfLargeRequestsIsGivenBack) {
  ServedLeadscore served({});
  const std::string key = served.admin_key();
  // Warm up: the allocations every request makes, so that they count as idle memory.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(health_answers(served.port()));
  std::this_thread::sleep_for(500ms);
  const long idle_kb = resident_kb(served.pid());
  ASSERT_GT(idle_kb, 0);

  std::string json = "{\"source\":\"partner\",\"name\":\"";
  json.resize(1'000'000, 'x');  // never closed: invalid JSON
  std::string rows = "source,name,email\n";
  while (rows.size() < (8u << 20)) rows += "nosuch,Ada Lovelace,ada@example.com\n";
  const std::string bad_json = post("/leads", key, "application/json", json);
  const std::string bad_import = post("/leads/import", key, "text/csv", rows);

  // 30 requests, 6 at a time, so that several worker threads hold large bodies together.
  std::atomic<int> answered_4xx{0};
  std::atomic<int> other{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t)
    clients.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        Connection c(served.port());
        c.send((t + i) % 3 == 0 ? bad_import : bad_json);
        const int status = status_of(c.read_answer(20s));
        (status >= 400 && status < 500 ? answered_4xx : other).fetch_add(1);
      }
    });
  for (auto& c : clients) c.join();
  EXPECT_EQ(answered_4xx.load(), 30);
  EXPECT_EQ(other.load(), 0);

  std::this_thread::sleep_for(1s);
  const long after_kb = resident_kb(served.pid());
  std::printf("server RSS: %ld kB idle, %ld kB after 30 large bad requests\n", idle_kb, after_kb);
  EXPECT_LE(after_kb, 2 * idle_kb + 16 * 1024) << "idle " << idle_kb << " kB";
  EXPECT_TRUE(health_answers(served.port()));
}

TEST(Stall, MalformedFramingIsAnsweredNotLeftOpen) {
  ServedLeadscore served({});
  std::string many_headers = "GET /health HTTP/1.1\r\n";
  for (int i = 0; i < 100'000; ++i) many_headers += "X-Many: yes\r\n";
  many_headers += "\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Content-Length -1", "POST /leads HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n"},
      {"a 23-digit Content-Length",
       "POST /leads HTTP/1.1\r\nHost: t\r\nContent-Length: 12345678901234567890123\r\n\r\n"},
      {"an 8 MB URL", "GET /" + std::string(8 << 20, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n"},
      {"100k headers", many_headers},
      {"a header without a colon", "GET /health HTTP/1.1\r\nHost t\r\n\r\n"},
      {"an obs-fold", "GET /health HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n"},
      {"LF-only line endings", "GET /health HTTP/1.1\nHost: t\n\n"},
  };
  for (const auto& [what, request] : cases) {
    Connection c(served.port());
    ASSERT_TRUE(c.connected());
    // The answer comes before the request is all sent; the server may stop reading the rest.
    std::thread sender([&c, &whole = request] { c.send(whole); });
    const std::string answer = c.read_answer(5s);
    const int status = status_of(answer);
    EXPECT_GE(status, 400) << what << ": " << answer.substr(0, 300);
    EXPECT_LT(status, 500) << what << ": " << answer.substr(0, 300);
    for (const char* leak : {"basic_string", "stoull", "stoi", "std::", "exception"})
      EXPECT_EQ(body_of(answer).find(leak), std::string::npos) << what << ": " << answer;
    EXPECT_TRUE(c.closed_by_server_within(3s)) << what;
    c.stop_sending();
    sender.join();
  }
  EXPECT_TRUE(health_answers(served.port()));
}

// Mutations of well-formed requests, seeded so that a failure repeats: bytes cut, inserted
// (NUL, CR, LF, space, colon, 0xFF), dropped or repeated, CRLFs turned into LFs, lines doubled,
// Content-Length values replaced with junk. Whatever the server makes of each, it answers 2xx
// or 4xx (never 5xx, never an exception text), in a bounded answer, and stays up; and as every
// base request is a read or a refused write, no lead changes.
TEST(Stall, FuzzedFramingIsAnsweredWithoutServerErrors) {
  ServedLeadscore served({});
  const std::string key = served.admin_key();
  const std::string created =
      raw_exchange(served.port(),
                   post("/leads", key, "application/json", R"({"source":"partner","name":"Ada"})"));
  ASSERT_EQ(status_of(created), 201) << created;
  const std::string lead_path =
      "/leads/" + std::to_string(nlohmann::json::parse(body_of(created))["id"].get<long>());
  const auto get = [&](const std::string& path) {
    return "GET " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + key + "\r\n\r\n";
  };
  const std::string before = body_of(raw_exchange(served.port(), get(lead_path)));
  const std::vector<std::string> bases = {
      "GET /health HTTP/1.1\r\nHost: t\r\nAccept: */*\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: t:80\r\nConnection: keep-alive\r\nCookie: a=b; c=d\r\n"
      "Accept-Encoding: gzip\r\nUser-Agent: fuzz/1\r\nDate: Wed, 02 Dec 2026 10:00:00 GMT\r\n\r\n",
      get(lead_path),
      get("/leads?limit=5&stage=new"),
      post("/leads", key, "application/json", R"({"source":"not-a-source","name":"Eve"})"),
  };
  const std::vector<std::string> lengths = {
      "-1", "1e3", "0x10", " 5", "5 5", "+5", "99999999999999999999", "", "4294967296"};
  const std::string specials("\0\r\n :\xff\t", 7);
  std::mt19937 random(20261202);
  int answered = 0;
  constexpr int kRounds = 300;
  for (int round = 0; round < kRounds; ++round) {
    std::string r = bases[random() % bases.size()];
    const int mutations = 1 + static_cast<int>(random() % 3);
    for (int m = 0; m < mutations && !r.empty(); ++m) {
      const std::size_t at = random() % r.size();
      switch (random() % 7) {
        case 0:
          r.resize(at);
          break;
        case 1:
          r.insert(at, 1, specials[random() % specials.size()]);
          break;
        case 2:
          r.erase(at, 1);
          break;
        case 3:
          r.insert(at, r.substr(at, 1 + random() % 64));
          break;
        case 4: {
          const auto crlf = r.find("\r\n", at);
          if (crlf != std::string::npos) r.erase(crlf, 1);
          break;
        }
        case 5: {
          const auto line_end = r.find("\r\n", at);
          const auto line_start = r.rfind("\r\n", at);
          if (line_end != std::string::npos && line_start != std::string::npos)
            r.insert(line_end, r.substr(line_start, line_end - line_start));
          break;
        }
        default: {
          const auto cl = r.find("Content-Length: ");
          if (cl != std::string::npos)
            r.replace(cl + 16, r.find("\r\n", cl) - cl - 16, lengths[random() % lengths.size()]);
        }
      }
    }
    Connection c(served.port());
    ASSERT_TRUE(c.connected()) << "round " << round;
    c.send(r);
    c.stop_sending();  // nothing more comes: an incomplete request ends here
    const std::string answer = c.read_answer(3s);
    const int status = status_of(answer);
    if (status != 0) ++answered;
    EXPECT_TRUE(status == 0 || (status >= 200 && status < 500))
        << "round " << round << ": " << answer.substr(0, 300) << "\nrequest: "
        << nlohmann::json(r.substr(0, 400))
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    EXPECT_LT(answer.size(), 64u << 10) << "round " << round;
    for (const char* leak : {"basic_string", "stoull", "stoi", "std::", "exception"})
      EXPECT_EQ(body_of(answer).find(leak), std::string::npos) << "round " << round;
  }
  std::printf("fuzzed framing: %d of %d mutated requests answered, none with a server error\n",
              answered, kRounds);
  EXPECT_GT(answered, kRounds / 2);  // most mutations leave something the server must answer
  EXPECT_TRUE(health_answers(served.port()));
  EXPECT_EQ(body_of(raw_exchange(served.port(), get(lead_path))), before);
  const auto list =
      nlohmann::json::parse(body_of(raw_exchange(served.port(), get("/leads?limit=1000"))));
  EXPECT_EQ(list["items"].size(), 1u) << "a mutated request created a lead";
}

}  // namespace
}  // namespace leadscore::testing
