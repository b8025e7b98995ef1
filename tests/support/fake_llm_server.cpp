#include "tests/support/fake_llm_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <stdexcept>

namespace leadscore::testing {
namespace {

using nlohmann::json;

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return text;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

std::string reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 408:
      return "Request Timeout";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string response(int status, const std::string& body, const std::string& retry_after = "",
                     const std::string& retry_after_ms = "") {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  head += "Content-Type: application/json\r\nConnection: close\r\n";
  if (!retry_after.empty()) head += "Retry-After: " + retry_after + "\r\n";
  if (!retry_after_ms.empty()) head += "retry-after-ms: " + retry_after_ms + "\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  return head + body;
}

// The answer body of the API the request was made to.
std::string answer_body(const FakeLlmBehaviour& b, const RecordedRequest& request) {
  const json sent = request.json();
  const std::string model = sent.is_object() && sent.contains("model") && sent["model"].is_string()
                                ? sent["model"].get<std::string>()
                                : std::string("fake-model");
  if (request.path.ends_with("/messages")) {
    std::string tool = "lead_verdict";
    if (sent.is_object() && sent.contains("tool_choice") && sent["tool_choice"].is_object())
      tool = sent["tool_choice"].value("name", tool);
    json content = json::array();
    if (b.verdict)
      content.push_back(
          {{"type", "tool_use"}, {"id", "toolu_fake"}, {"name", tool}, {"input", *b.verdict}});
    else
      content.push_back({{"type", "text"}, {"text", b.text}});
    return json{{"id", "msg_fake"},
                {"type", "message"},
                {"role", "assistant"},
                {"model", model},
                {"content", content},
                {"stop_reason", b.cut_off ? "max_tokens" : (b.verdict ? "tool_use" : "end_turn")},
                {"usage", {{"input_tokens", b.tokens_in}, {"output_tokens", b.tokens_out}}}}
        .dump();
  }
  json usage = {{"prompt_tokens", b.tokens_in},
                {"completion_tokens", b.tokens_out},
                {"total_tokens", b.tokens_in + b.tokens_out}};
  if (b.tokens_reasoning >= 0)
    usage["completion_tokens_details"] = {{"reasoning_tokens", b.tokens_reasoning}};
  return json{
      {"id", "chatcmpl-fake"},
      {"object", "chat.completion"},
      {"model", model},
      {"choices",
       {{{"index", 0},
         {"message", {{"role", "assistant"}, {"content", b.verdict ? b.verdict->dump() : b.text}}},
         {"finish_reason", b.cut_off ? "length" : "stop"}}}},
      {"usage", usage}}
      .dump();
}

}  // namespace

FakeLlmBehaviour FakeLlmBehaviour::good(std::string intent, double score,
                                        std::string recommendation, std::string reason) {
  FakeLlmBehaviour b;
  b.verdict = json{{"intent", std::move(intent)},
                   {"score", score < 0 ? json() : json(score)},
                   {"recommendation", std::move(recommendation)},
                   {"reason", std::move(reason)}};
  return b;
}

FakeLlmBehaviour FakeLlmBehaviour::answer_text(std::string text) {
  FakeLlmBehaviour b;
  b.text = std::move(text);
  return b;
}

FakeLlmBehaviour FakeLlmBehaviour::cut_off_text(std::string text) {
  FakeLlmBehaviour b = answer_text(std::move(text));
  b.cut_off = true;
  return b;
}

FakeLlmBehaviour FakeLlmBehaviour::error_status(int status, std::string retry_after,
                                                std::string body) {
  FakeLlmBehaviour b;
  b.kind = Kind::Status;
  b.status = status;
  b.retry_after = std::move(retry_after);
  b.body = std::move(body);
  return b;
}

FakeLlmBehaviour FakeLlmBehaviour::hang(int ms) {
  FakeLlmBehaviour b;
  b.kind = Kind::Hang;
  b.delay_ms = ms;
  return b;
}

FakeLlmBehaviour FakeLlmBehaviour::trickle(int ms) {
  FakeLlmBehaviour b = good();
  b.kind = Kind::Trickle;
  b.delay_ms = ms;
  return b;
}

FakeLlmBehaviour FakeLlmBehaviour::echo_key() {
  FakeLlmBehaviour b;
  b.kind = Kind::EchoKey;
  return b;
}

FakeLlmBehaviour FakeLlmBehaviour::close_early() {
  FakeLlmBehaviour b;
  b.kind = Kind::CloseEarly;
  return b;
}

std::optional<FakeLlmBehaviour> FakeLlmBehaviour::from_json(const json& j) {
  if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string()) return std::nullopt;
  const std::string kind = j["kind"];
  FakeLlmBehaviour b;
  if (kind == "good")
    b = good(j.value("intent", "High"), j.value("score", 0.8),
             j.value("recommendation", "transfer_to_sales"),
             j.value("reason", "Decision maker at a fitting company."));
  else if (kind == "text")
    b = answer_text(j.value("text", ""));
  else if (kind == "cut_off")
    b = cut_off_text(j.value("text", "{\"intent\": \"Hi"));
  else if (kind == "status")
    b = error_status(j.value("status", 500), j.value("retry_after", ""),
                     j.value("body", R"({"error":{"message":"fake error"}})"));
  else if (kind == "hang")
    b = hang(j.value("ms", 60000));
  else if (kind == "trickle")
    b = trickle(j.value("ms", 5000));
  else if (kind == "echo_key")
    b = echo_key();
  else if (kind == "close")
    b = close_early();
  else
    return std::nullopt;
  if (j.contains("delay_ms") && b.kind == Kind::Answer) b.delay_ms = j.value("delay_ms", 0);
  b.retry_after_ms = j.value("retry_after_ms", "");
  b.tokens_reasoning = j.value("tokens_reasoning", -1);
  return b;
}

std::string RecordedRequest::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it != headers.end() ? it->second : std::string();
}

json RecordedRequest::json() const { return json::parse(body, nullptr, false); }

FakeLlmServer::FakeLlmServer(int port) : default_(FakeLlmBehaviour::good()) {
  static std::mutex used_mutex;
  static std::set<int> used_ports;  // every port a server of this process listened on
  std::lock_guard used_lock(used_mutex);
  std::vector<int> passed_over;  // sockets on ports used before, held so the next bind differs
  for (;;) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("fake LLM server: socket() failed");
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    socklen_t length = sizeof address;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      const std::string why = std::strerror(errno);
      ::close(listen_fd_);
      for (int fd : passed_over) ::close(fd);
      throw std::runtime_error(
          "fake LLM server: cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + why);
    }
    port_ = ntohs(address.sin_port);
    if (port != 0 || !used_ports.contains(port_) || passed_over.size() >= 64) break;
    passed_over.push_back(listen_fd_);
  }
  for (int fd : passed_over) ::close(fd);
  used_ports.insert(port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeLlmServer::~FakeLlmServer() { stop(); }

std::string FakeLlmServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeLlmServer::push(FakeLlmBehaviour behaviour) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(behaviour));
}

void FakeLlmServer::set_default(FakeLlmBehaviour behaviour) {
  std::lock_guard lock(mutex_);
  default_ = std::move(behaviour);
}

std::vector<RecordedRequest> FakeLlmServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t FakeLlmServer::request_count() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

void FakeLlmServer::clear_requests() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

void FakeLlmServer::stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<Connection> connections;
  {
    std::lock_guard lock(mutex_);
    connections.swap(connections_);
  }
  for (auto& connection : connections) connection.thread.join();
}

void FakeLlmServer::accept_loop() {
  while (!stopping_) {
    pollfd ready{listen_fd_, POLLIN, 0};
    if (::poll(&ready, 1, 20) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    std::erase_if(connections_, [](Connection& connection) {
      if (!*connection.done) return false;
      connection.thread.join();
      return true;
    });
    auto done = std::make_shared<std::atomic<bool>>(false);
    connections_.push_back({std::thread([this, fd, done] {
                              serve(fd);
                              ::close(fd);
                              *done = true;
                            }),
                            done});
  }
}

FakeLlmBehaviour FakeLlmServer::next() {
  std::lock_guard lock(mutex_);
  if (queue_.empty()) return default_;
  FakeLlmBehaviour b = std::move(queue_.front());
  queue_.pop_front();
  return b;
}

bool FakeLlmServer::wait_ms(int ms) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (stopping_) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return !stopping_;
}

void FakeLlmServer::serve(int fd) {
  // Read the head, then Content-Length bytes of body; give up on a silent client.
  std::string data;
  std::size_t head_end = std::string::npos;
  const auto read_more = [&]() {
    pollfd ready{fd, POLLIN, 0};
    for (int waited = 0; waited < 5000 && !stopping_; waited += 20)
      if (::poll(&ready, 1, 20) > 0) {
        char buffer[8192];
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0) return false;
        data.append(buffer, static_cast<std::size_t>(got));
        return true;
      }
    return false;
  };
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos)
    if (!read_more()) return;
  RecordedRequest request;
  {
    std::string_view head(data.data(), head_end);
    const std::size_t line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const std::size_t space = line.find(' ');
    request.method = std::string(line.substr(0, space));
    const std::size_t path_end = line.find(' ', space + 1);
    request.path = std::string(line.substr(space + 1, path_end - space - 1));
    std::size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (at < head.size()) {
      const std::size_t end = std::min(head.find("\r\n", at), head.size());
      const std::string_view header = head.substr(at, end - at);
      const std::size_t colon = header.find(':');
      if (colon != std::string_view::npos) {
        std::string_view value = header.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        request.headers[lower(std::string(header.substr(0, colon)))] = std::string(value);
      }
      at = end + 2;
    }
  }
  if (lower(request.header("expect")) == "100-continue")
    send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n");
  const std::size_t length =
      request.headers.contains("content-length") ? std::stoul(request.header("content-length")) : 0;
  while (data.size() < head_end + 4 + length)
    if (!read_more()) return;
  request.body = data.substr(head_end + 4, length);
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }

  // The control API of the fake_llm_server executable.
  if (request.path.starts_with("/fake/")) {
    if (request.path == "/fake/requests") {
      json list = json::array();
      for (const auto& r : requests())
        if (!r.path.starts_with("/fake/"))
          list.push_back(
              {{"method", r.method}, {"path", r.path}, {"headers", r.headers}, {"body", r.body}});
      send_all(fd, response(200, list.dump()));
      return;
    }
    const json sent = request.json();
    const bool queue = request.path == "/fake/queue", fallback = request.path == "/fake/default";
    std::vector<FakeLlmBehaviour> behaviours;
    for (const json& item : sent.is_array() ? sent : json::array({sent})) {
      auto b = FakeLlmBehaviour::from_json(item);
      if (!b || (!queue && !fallback)) {
        send_all(fd, response(400, R"({"error":{"message":"unknown behaviour or path"}})"));
        return;
      }
      behaviours.push_back(std::move(*b));
    }
    for (auto& b : behaviours) {
      if (queue)
        push(std::move(b));
      else
        set_default(std::move(b));
    }
    send_all(fd, response(200, "{}"));
    return;
  }

  const FakeLlmBehaviour b = next();
  switch (b.kind) {
    case FakeLlmBehaviour::Kind::Answer:
      if (b.delay_ms > 0 && !wait_ms(b.delay_ms)) return;
      send_all(fd, response(200, answer_body(b, request)));
      return;
    case FakeLlmBehaviour::Kind::Status:
      send_all(fd, response(b.status, b.body, b.retry_after, b.retry_after_ms));
      return;
    case FakeLlmBehaviour::Kind::Hang:
      wait_ms(b.delay_ms);
      return;
    case FakeLlmBehaviour::Kind::Trickle: {
      const std::string all = response(200, answer_body(b, request));
      constexpr std::size_t kPieces = 20;
      const std::size_t piece = (all.size() + kPieces - 1) / kPieces;
      for (std::size_t at = 0; at < all.size(); at += piece) {
        if (!send_all(fd, std::string_view(all).substr(at, piece))) return;
        if (!wait_ms(b.delay_ms / static_cast<int>(kPieces))) return;
      }
      return;
    }
    case FakeLlmBehaviour::Kind::EchoKey: {
      std::string key = request.header("x-api-key");
      const std::string bearer = request.header("authorization");
      if (bearer.starts_with("Bearer ")) key = bearer.substr(7);
      send_all(fd,
               response(401, json{{"error",
                                   {{"message", "Incorrect API key provided: " + key + " (fake)"}}}}
                                 .dump()));
      return;
    }
    case FakeLlmBehaviour::Kind::CloseEarly:
      return;
  }
}

}  // namespace leadscore::testing
