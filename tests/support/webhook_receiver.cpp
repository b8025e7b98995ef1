#include "tests/support/webhook_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace leadscore::testing {
namespace {

std::string lower(std::string text) {
  std::ranges::transform(text, text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  return std::string(text);
}

// Parses the head of a request ("POST /hook HTTP/1.1\r\nName: value\r\n...").
ReceivedRequest parse_head(std::string_view head) {
  ReceivedRequest request;
  std::size_t line_end = head.find("\r\n");
  const std::string_view first = head.substr(0, line_end);
  const std::size_t space = first.find(' ');
  request.method = std::string(first.substr(0, space));
  request.path = std::string(first.substr(space + 1, first.rfind(' ') - space - 1));
  while (line_end != std::string_view::npos && line_end + 2 < head.size()) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    request.headers[lower(std::string(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return request;
}

}  // namespace

std::string ReceivedRequest::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? "" : it->second;
}

WebhookReceiver::WebhookReceiver(int port) : port_(port) {}

WebhookReceiver::~WebhookReceiver() { down(); }

std::string WebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void WebhookReceiver::up(Mode mode) {
  down();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port_));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (errno != EADDRINUSE || std::chrono::steady_clock::now() > deadline) {
      const std::string why = std::strerror(errno);
      close(fd);
      throw std::runtime_error("cannot listen on port " + std::to_string(port_) + ": " + why);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  listen(fd, 128);
  {
    std::lock_guard lock(mutex_);
    listen_fd_ = fd;
    listening_ = true;
    mode_ = mode;
  }
  acceptor_ = std::thread([this, fd] { accept_loop(fd); });
}

void WebhookReceiver::down() {
  std::vector<std::thread> servers;
  {
    std::lock_guard lock(mutex_);
    if (!listening_) return;
    listening_ = false;
    shutdown(listen_fd_, SHUT_RDWR);
    for (int fd : connections_) shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    close(listen_fd_);
    listen_fd_ = -1;
    servers.swap(servers_);
  }
  for (std::thread& thread : servers) thread.join();
}

void WebhookReceiver::set_status(int status) {
  std::lock_guard lock(mutex_);
  status_ = status;
}

void WebhookReceiver::set_mode(Mode mode) {
  {
    std::lock_guard lock(mutex_);
    mode_ = mode;
  }
  changed_.notify_all();
}

std::vector<ReceivedRequest> WebhookReceiver::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<ReceivedRequest> WebhookReceiver::accepted() const {
  std::vector<ReceivedRequest> out;
  for (ReceivedRequest& r : requests())
    if (r.answered >= 200 && r.answered < 300) out.push_back(std::move(r));
  return out;
}

void WebhookReceiver::accept_loop(int listen_fd) {
  for (;;) {
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    std::lock_guard lock(mutex_);
    if (!listening_) {
      close(fd);
      return;
    }
    connections_.insert(fd);
    servers_.emplace_back([this, fd] { serve(fd); });
  }
}

void WebhookReceiver::serve(int fd) {
  std::string buffer;
  char chunk[4096];
  for (;;) {
    // One request: its head, then Content-Length bytes of body.
    std::size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) goto done;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    {
      ReceivedRequest request = parse_head(std::string_view(buffer).substr(0, head_end));
      const std::size_t length = std::stoul(
          request.headers.contains("content-length") ? request.headers["content-length"] : "0");
      while (buffer.size() < head_end + 4 + length) {
        const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) goto done;
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      request.body = buffer.substr(head_end + 4, length);
      buffer.erase(0, head_end + 4 + length);
      std::unique_lock lock(mutex_);
      if (mode_ == Mode::Hang) {
        // Never answers: holds the connection until the receiver goes down.
        requests_.push_back(std::move(request));
        changed_.wait(lock, [this] { return !listening_; });
        break;
      }
      request.answered = status_;
      const std::string answer =
          "HTTP/1.1 " + std::to_string(status_) +
          " Status\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
      // Recorded before it is answered: a sender that saw the answer finds it recorded.
      requests_.push_back(std::move(request));
      lock.unlock();
      if (send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) break;
    }
  }
done:
  std::lock_guard lock(mutex_);
  connections_.erase(fd);
  close(fd);
}

}  // namespace leadscore::testing
