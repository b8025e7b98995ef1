#include "tests/support/served_leadscore.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/free_port.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/run_command.h"

#ifndef LEADSCORE_SOURCE_DIR
#error "LEADSCORE_SOURCE_DIR must name the source tree"
#endif
#ifndef LEADSCORE_BINARY
#error "LEADSCORE_BINARY must name the leadscore executable"
#endif

namespace leadscore::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string make_directory() {
  char pattern[] = "/tmp/leadscore-served-XXXXXX";
  if (mkdtemp(pattern) == nullptr)
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  chmod(pattern, 0755);  // nginx's workers read nothing here, but its master must enter it
  return pattern;
}

std::string run_script(const std::string& command) {
  auto result = run_command(command);
  if (!result.ok()) throw std::runtime_error("failed: " + command + "\n" + result.output);
  return result.output;
}

bool answered_200(int port) {
  const auto answer =
      raw_exchange(port, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", std::chrono::milliseconds(500));
  return answer.starts_with("HTTP/1.1 200");
}

}  // namespace

int connect_loopback(int port, std::chrono::milliseconds send_timeout,
                     std::chrono::milliseconds receive_timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  auto set = [fd](int option, std::chrono::milliseconds t) {
    if (t.count() <= 0) return;
    timeval tv{static_cast<time_t>(t.count() / 1000),
               static_cast<suseconds_t>((t.count() % 1000) * 1000)};
    setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
  };
  set(SO_SNDTIMEO, send_timeout);
  set(SO_RCVTIMEO, receive_timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

int status_of(const std::string& answer) {
  if (!answer.starts_with("HTTP/1.") || answer.size() < 12) return 0;
  return std::atoi(answer.c_str() + 9);
}

std::string body_of(const std::string& answer) {
  const auto at = answer.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : answer.substr(at + 4);
}

std::string raw_exchange(int port, const std::string& request, std::chrono::milliseconds timeout) {
  const int fd = connect_loopback(port, timeout, timeout);
  if (fd < 0) return "";
  std::string answer;
  if (send_all(fd, request)) {
    const auto deadline = Clock::now() + timeout;
    char buffer[65536];
    while (Clock::now() < deadline) {
      const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      answer.append(buffer, static_cast<std::size_t>(n));
      const auto head_end = answer.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      const auto at = answer.find("Content-Length: ");
      if (at == std::string::npos || at > head_end) continue;
      const auto length = std::strtoull(answer.c_str() + at + 16, nullptr, 10);
      if (answer.size() >= head_end + 4 + length) break;
    }
  }
  close(fd);
  return answer;
}

ServedLeadscore::ServedLeadscore(Options options) {
  directory_ = make_directory();
  database_url_ =
      options.database_url ? *options.database_url : PgCluster::shared().create_database();
  port_ = free_port();
  const std::string log_path = directory_ + "/server.log";

  std::map<std::string, std::string> env = {
      {"DATABASE_URL", database_url_},
      {"PORT", std::to_string(port_)},
      {"LEADSCORE_ADMIN_KEY", admin_key_},
      {"LEADSCORE_CONFIG", std::string(LEADSCORE_SOURCE_DIR) + "/config/leadscore.yaml"},
  };
  for (const auto& [k, v] : options.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    if (!env.contains(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    setpgid(0, 0);
    if (options.open_files) {
      rlimit limit{static_cast<rlim_t>(*options.open_files),
                   static_cast<rlim_t>(*options.open_files)};
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 1);
    dup2(log, 2);
    if (chdir(LEADSCORE_SOURCE_DIR) != 0) _exit(126);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    char* argv[] = {const_cast<char*>(LEADSCORE_BINARY), const_cast<char*>("serve"), nullptr};
    execve(LEADSCORE_BINARY, argv, envp.data());
    _exit(127);
  }

  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!answered_200(port_)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("leadscore serve exited at start:\n" + log());
    }
    if (Clock::now() > deadline) throw std::runtime_error("leadscore did not start:\n" + log());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  if (options.front_door) {
    front_port_ = free_port();
    run_script(std::string(LEADSCORE_SOURCE_DIR) + "/scripts/front_door.sh start " + directory_ +
               "/front-door 127.0.0.1:" + std::to_string(front_port_) + " 127.0.0.1:" +
               std::to_string(port_) + " " + LEADSCORE_BINARY + " " + env["LEADSCORE_CONFIG"]);
    if (!answered_200(front_port_)) throw std::runtime_error("the front door does not answer");
  }
}

std::string ServedLeadscore::log() const {
  std::ifstream in(directory_ + "/server.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void ServedLeadscore::stop_front_door() {
  if (front_port_ == 0) return;
  std::system((std::string(LEADSCORE_SOURCE_DIR) + "/scripts/front_door.sh stop " + directory_ +
               "/front-door")
                  .c_str());
  front_port_ = 0;
}

std::pair<int, std::chrono::milliseconds> ServedLeadscore::terminate(
    std::chrono::milliseconds limit) {
  const auto started = Clock::now();
  if (pid_ <= 0) return {-1, std::chrono::milliseconds(0)};
  kill(pid_, SIGTERM);
  int status = 0;
  int result = -1;
  while (Clock::now() - started < limit) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  if (result == -1) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return {result, took};
}

void ServedLeadscore::kill_now() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

ServedLeadscore::~ServedLeadscore() {
  stop_front_door();
  terminate(std::chrono::seconds(10));
  std::system(("rm -rf '" + directory_ + "'").c_str());
}

}  // namespace leadscore::testing
