#include "plugins/llm/http_post.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>

namespace leadscore::llm {
namespace {

struct Received {
  HttpReply* reply;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* received = static_cast<Received*>(user);
  const std::size_t bytes = size * count;
  std::string& body = received->reply->body;
  if (body.size() + bytes > HttpPost::kMaxBodyBytes) {
    received->too_large = true;
    return 0;  // aborts the transfer
  }
  body.append(data, bytes);
  return bytes;
}

// The value of header `name` (lower case, with its colon) in `line`, without the line end.
std::optional<std::string> header_value(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() ||
      !std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
        return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
      }))
    return std::nullopt;
  line.remove_prefix(name.size());
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return std::string(line);
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* received = static_cast<Received*>(user);
  const std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (auto value = header_value(line, "retry-after:")) received->reply->retry_after = value;
  if (auto value = header_value(line, "retry-after-ms:")) received->reply->retry_after_ms = value;
  // A new status line (after a 100 Continue or a redirect) starts a new answer.
  if (line.starts_with("HTTP/")) {
    received->reply->retry_after.reset();
    received->reply->retry_after_ms.reset();
  }
  return bytes;
}

}  // namespace

CurlGlobal::CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
CurlGlobal::~CurlGlobal() { curl_global_cleanup(); }

HttpPost::HttpPost() : curl_(curl_easy_init()) {}

HttpPost::~HttpPost() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

HttpReply HttpPost::post(const std::string& url, const std::vector<std::string>& headers,
                         const std::string& body, std::chrono::milliseconds timeout) {
  HttpReply reply;
  auto* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) {
    reply.failure = HttpReply::Failure::Other;
    reply.failure_text = "libcurl could not make a handle";
    return reply;
  }
  curl_easy_reset(curl);
  curl_slist* list = nullptr;
  for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
  // No "Expect: 100-continue" round trip for large bodies.
  list = curl_slist_append(list, "Expect:");
  Received received{&reply};
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<std::int64_t>(timeout.count(), 1)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<std::int64_t>(timeout.count(), 1)));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &received);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &received);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "leadscore-llm/1.0");
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(list);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    return reply;
  }
  reply.failure_text = error[0] != '\0' ? std::string(error) : curl_easy_strerror(code);
  if (received.too_large) {
    reply.failure = HttpReply::Failure::Other;
    reply.failure_text = "the answer is larger than " + std::to_string(kMaxBodyBytes) + " bytes";
    return reply;
  }
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      reply.failure = HttpReply::Failure::Timeout;
      break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      reply.failure = HttpReply::Failure::Connection;
      break;
    default:
      reply.failure = HttpReply::Failure::Other;
  }
  return reply;
}

}  // namespace leadscore::llm
