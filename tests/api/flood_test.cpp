// The misdelivery flood: clients that send a request and close at once (FIN or RST, with and
// without a key) beside verifying clients, on new and kept-alive connections, that check every
// answer they get is their own (the request id echoed, the lead they asked for). Through the
// front door, as `make run` serves, nothing may reach the wrong client; directly against
// leadscore the count is reported (the connection guard should keep it at zero too).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/served_leadscore.h"

namespace leadscore::testing {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr auto kPhase = std::chrono::milliseconds(4000);
constexpr int kLeads = 40;
constexpr int kAbusers = 6;
constexpr int kVerifiers = 6;

int connect_to(int port) {
  return connect_loopback(port, std::chrono::seconds(3), std::chrono::seconds(3));
}

struct Answer {
  int status = 0;
  std::string request_id;
  std::string body;
  std::string extra;  // bytes that arrived after the answer
};

// Reads one answer (head + Content-Length body) from `pending` and the socket.
std::optional<Answer> read_answer(int fd, std::string& pending) {
  char buffer[16384];
  for (;;) {
    const auto head_end = pending.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const std::string head = pending.substr(0, head_end);
      Answer answer;
      if (head.size() < 12 || !head.starts_with("HTTP/1.")) return std::nullopt;
      answer.status = std::atoi(head.c_str() + 9);
      std::size_t length = 0;
      std::size_t line = 0;
      while (line < head.size()) {
        auto end = head.find("\r\n", line);
        if (end == std::string::npos) end = head.size();
        std::string header = head.substr(line, end - line);
        for (std::size_t i = 0; i < header.find(':') && i < header.size(); ++i)
          header[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(header[i])));
        if (header.starts_with("content-length:"))
          length = std::strtoull(header.c_str() + 15, nullptr, 10);
        if (header.starts_with("x-request-id:")) {
          answer.request_id = header.substr(13);
          while (!answer.request_id.empty() && answer.request_id.front() == ' ')
            answer.request_id.erase(0, 1);
        }
        line = end + 2;
      }
      if (pending.size() >= head_end + 4 + length) {
        answer.body = pending.substr(head_end + 4, length);
        pending.erase(0, head_end + 4 + length);
        return answer;
      }
    }
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return std::nullopt;
    pending.append(buffer, static_cast<std::size_t>(n));
  }
}

struct Tally {
  std::atomic<long> verified{0};      // answers that were the verifier's own
  std::atomic<long> misdelivered{0};  // answers (or bytes) that were someone else's
  std::atomic<long> refused{0};       // the verifier's own request answered non-200 (e.g. 503)
  std::atomic<long> failed{0};        // no answer at all (connection error, timeout)
  std::atomic<long> abuses{0};        // requests sent and abandoned
  std::vector<std::string> samples;   // the first misdeliveries, for the failure message
  std::mutex mutex;

  void record_misdelivery(const std::string& what) {
    misdelivered.fetch_add(1);
    std::lock_guard lock(mutex);
    if (samples.size() < 5) samples.push_back(what.substr(0, 300));
  }
};

std::string lead_request(const std::string& method, std::int64_t id, const std::string& key,
                         const std::string& request_id, bool keep_alive) {
  std::string path = "/leads/" + std::to_string(id) + (method == "POST" ? "/analyze" : "");
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: flood\r\n";
  if (!key.empty()) r += "Authorization: Bearer " + key + "\r\n";
  if (!request_id.empty()) r += "X-Request-Id: " + request_id + "\r\n";
  if (method == "POST") r += "Content-Length: 0\r\n";
  r += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  return r + "\r\n";
}

// Sends and leaves: closes with FIN, or with RST (linger 0), at once or after 2 ms.
void abuse(int port, const std::vector<std::int64_t>& leads, const std::string& key, int seed,
           Clock::time_point until, Tally& tally) {
  std::mt19937 random(static_cast<unsigned>(seed));
  while (Clock::now() < until) {
    const int fd = connect_to(port);
    if (fd < 0) continue;
    const auto id = leads[random() % leads.size()];
    const bool analyze = random() % 3 == 0;
    const bool with_key = random() % 4 != 0;
    send_all(fd, lead_request(analyze ? "POST" : "GET", id, with_key ? key : "", "", true));
    tally.abuses.fetch_add(1);
    if (random() % 2) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (random() % 2) {
      linger reset{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    close(fd);
  }
}

// Asks for leads and checks each answer: the request id it sent and the lead it asked for.
void verify(int port, const std::vector<std::int64_t>& leads, const std::string& key, int number,
            bool keep_alive, Clock::time_point until, Tally& tally) {
  std::mt19937 random(static_cast<unsigned>(1000 + number));
  int fd = -1;
  std::string pending;
  long n = 0;
  while (Clock::now() < until) {
    if (fd < 0) {
      fd = connect_to(port);
      pending.clear();
      if (fd < 0) {
        tally.failed.fetch_add(1);
        continue;
      }
    }
    const auto id = leads[random() % leads.size()];
    const std::string request_id = "verify-" + std::to_string(number) + "-" + std::to_string(++n);
    if (!send_all(fd, lead_request("GET", id, key, request_id, keep_alive))) {
      tally.failed.fetch_add(1);
      close(fd);
      fd = -1;
      continue;
    }
    auto answer = read_answer(fd, pending);
    if (!answer) {
      tally.failed.fetch_add(1);
      close(fd);
      fd = -1;
      continue;
    }
    const json body = json::parse(answer->body, nullptr, false);
    const bool own_id = answer->request_id == request_id;
    if (!own_id) {
      tally.record_misdelivery("asked " + request_id + " for lead " + std::to_string(id) +
                               ", got id " + answer->request_id + ": " + answer->body);
    } else if (answer->status != 200) {
      tally.refused.fetch_add(1);
    } else if (!body.is_object() || !body.contains("id") || body["id"] != id) {
      tally.record_misdelivery("asked lead " + std::to_string(id) + ", got " + answer->body);
    } else {
      tally.verified.fetch_add(1);
    }
    if (!pending.empty()) tally.record_misdelivery("bytes after the answer: " + pending);
    if (!keep_alive || !own_id) {
      close(fd);
      fd = -1;
    }
  }
  if (fd >= 0) close(fd);
}

void flood(int port, const std::vector<std::int64_t>& leads, const std::string& key, Tally& tally) {
  const auto until = Clock::now() + kPhase;
  std::vector<std::thread> threads;
  for (int i = 0; i < kAbusers; ++i)
    threads.emplace_back(abuse, port, std::cref(leads), std::cref(key), i, until, std::ref(tally));
  for (int i = 0; i < kVerifiers; ++i)
    threads.emplace_back(verify, port, std::cref(leads), std::cref(key), i, i % 2 == 0, until,
                         std::ref(tally));
  for (auto& t : threads) t.join();
}

std::string summary(const char* where, const Tally& t) {
  char line[256];
  std::snprintf(line, sizeof line,
                "%s: %ld abandoned requests; verifiers: %ld own answers, %ld misdelivered, "
                "%ld refused, %ld without answer",
                where, t.abuses.load(), t.verified.load(), t.misdelivered.load(), t.refused.load(),
                t.failed.load());
  return line;
}

TEST(Flood, NoAnswerReachesAnotherClient) {
  ServedLeadscore::Options options;
  options.front_door = true;
  ServedLeadscore served(options);
  const std::string key = served.admin_key();
  std::vector<std::int64_t> leads;
  for (int i = 0; i < kLeads; ++i) {
    const std::string body = R"({"source":"partner","business_domain":"fintech","name":"Lead )" +
                             std::to_string(i) + R"("})";
    const auto answer = raw_exchange(
        served.port(), "POST /leads HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + key +
                           "\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body);
    ASSERT_TRUE(answer.starts_with("HTTP/1.1 201")) << answer;
    const auto parsed = json::parse(answer.substr(answer.find("\r\n\r\n") + 4));
    leads.push_back(parsed["id"].get<std::int64_t>());
  }

  Tally direct, front;
  flood(served.port(), leads, key, direct);
  flood(served.front_port(), leads, key, front);
  std::printf("%s\n%s\n", summary("directly against leadscore", direct).c_str(),
              summary("through the front door", front).c_str());
  ::testing::Test::RecordProperty("misdelivered_direct", static_cast<int>(direct.misdelivered));
  ::testing::Test::RecordProperty("misdelivered_front_door", static_cast<int>(front.misdelivered));

  EXPECT_EQ(front.misdelivered.load(), 0)
      << summary("front door", front)
      << "\nfirst: " << (front.samples.empty() ? "" : front.samples.front());
  // The verifiers were served, and the abusers really flooded, in both runs.
  EXPECT_GT(front.verified.load(), 200) << summary("front door", front);
  EXPECT_GT(front.abuses.load(), 500) << summary("front door", front);
  EXPECT_GT(direct.verified.load(), 200) << summary("direct", direct);
  EXPECT_GT(direct.abuses.load(), 500) << summary("direct", direct);
  // The guard keeps the direct path clean as well.
  EXPECT_EQ(direct.misdelivered.load(), 0)
      << summary("direct", direct)
      << "\nfirst: " << (direct.samples.empty() ? "" : direct.samples.front());

  // The server is alive and well after both floods.
  EXPECT_TRUE(raw_exchange(served.port(), "GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
                  .starts_with("HTTP/1.1 200"));
}

}  // namespace
}  // namespace leadscore::testing
