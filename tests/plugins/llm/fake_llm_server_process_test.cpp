// The fake LLM server as a process (fake_llm_server), as tests that start server processes use
// it: it prints its port, takes its script over HTTP, and llm.so gets the scripted answers.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/scoring/plugin_scorer.h"
#include "tests/support/temp_file.h"

extern char** environ;

namespace leadscore::llm {
namespace {

using nlohmann::json;

// One HTTP/1.1 exchange with 127.0.0.1:port; the answer's body ("" on failure).
std::string http(int port, const std::string& method, const std::string& path,
                 const std::string& body = "") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "";
  }
  const std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buffer[4096];
  for (ssize_t got; (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
    answer.append(buffer, static_cast<std::size_t>(got));
  ::close(fd);
  const std::size_t head_end = answer.find("\r\n\r\n");
  return head_end == std::string::npos ? "" : answer.substr(head_end + 4);
}

class FakeLlmServerProcess {
 public:
  FakeLlmServerProcess() {
    int out[2];
    if (::pipe(out) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    char* argv[] = {const_cast<char*>(FAKE_LLM_SERVER_BINARY), nullptr};
    if (posix_spawn(&pid_, FAKE_LLM_SERVER_BINARY, &actions, nullptr, argv, environ) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    FILE* stream = ::fdopen(out[0], "r");
    if (stream == nullptr || std::fscanf(stream, "%d", &port_) != 1) port_ = 0;
    if (stream != nullptr) std::fclose(stream);
  }
  ~FakeLlmServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST(FakeLlmServerProcess, PrintsItsPortTakesAScriptAndRecordsRequests) {
  FakeLlmServerProcess server;
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(http(server.port(), "POST", "/fake/queue",
                 R"([{"kind": "status", "status": 503},
                     {"kind": "good", "intent": "Low", "score": 0.2, "recommendation": "drop_lead",
                      "reason": "No budget."}])"),
            "{}");
  auto module = scoring::PluginModule::load(std::string(LEADSCORE_PLUGIN_DIR) + "/llm.so");
  ASSERT_TRUE(module) << module.error();
  leadscore::testing::TempDir dir;
  dir.write("p.txt", "version: 1\n{{lead}}\n");
  const json params = {{"provider", "openai"},
                       {"base_url", "http://127.0.0.1:" + std::to_string(server.port()) + "/v1"},
                       {"model", "m"},
                       {"prompt", "p.txt"},
                       {"backoff", {{"initial_ms", 10}, {"max_ms", 20}}}};
  auto scorer = scoring::PluginScorer::create(*module, "llm", params.dump(), dir.path().string());
  ASSERT_TRUE(scorer) << scorer.error();
  domain::Features lead;
  lead.source = "manual";
  auto result = (*scorer)->score(lead);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->score, 0.2);
  EXPECT_EQ(result->reason, "No budget.");
  const json requests = json::parse(http(server.port(), "GET", "/fake/requests"), nullptr, false);
  ASSERT_TRUE(requests.is_array());
  ASSERT_EQ(requests.size(), 2u);  // the 503 and its retry
  EXPECT_EQ(requests[1]["path"], "/v1/chat/completions");
  EXPECT_EQ(json::parse(requests[1]["body"].get<std::string>())["model"], "m");
}

}  // namespace
}  // namespace leadscore::llm
