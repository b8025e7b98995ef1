#include "tests/api/http_client.h"

#include <algorithm>
#include <mutex>
#include <stdexcept>

namespace leadscore::testing {
namespace {

std::size_t collect_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::size_t collect_header(char* data, std::size_t size, std::size_t n, void* out) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    auto first = value.find_first_not_of(" \t");
    auto last = value.find_last_not_of(" \t\r\n");
    value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

std::mutex observer_mutex;
HttpClient::Observer observer;

}  // namespace

void HttpClient::observe(Observer given) {
  std::lock_guard lock(observer_mutex);
  observer = std::move(given);
}

std::string HttpResponse::error_code() const {
  auto j = json();
  if (j.is_object() && j.contains("error") && j["error"].contains("code"))
    return j["error"]["code"].get<std::string>();
  return "";
}

HttpClient::HttpClient(int port) : port_(port), curl_(curl_easy_init()) {
  if (!curl_) throw std::runtime_error("curl_easy_init failed");
}

HttpClient::~HttpClient() { curl_easy_cleanup(curl_); }

HttpResponse HttpClient::request(const std::string& method, const std::string& path,
                                 const std::string& key, const std::string& body,
                                 const std::map<std::string, std::string>& headers) {
  HttpResponse response;
  curl_easy_reset(curl_);
  const std::string url = "http://127.0.0.1:" + std::to_string(port_) + path;
  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  if (method == "GET") curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
  curl_slist* list = nullptr;
  if (!headers.contains("Content-Type"))
    list = curl_slist_append(list, "Content-Type: application/json");
  list = curl_slist_append(list, "Expect:");
  if (!key.empty()) list = curl_slist_append(list, ("Authorization: Bearer " + key).c_str());
  for (const auto& [name, value] : headers)
    list = curl_slist_append(list, (name + ": " + value).c_str());
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response.headers);
  CURLcode rc = curl_easy_perform(curl_);
  curl_slist_free_all(list);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response.status);
    curl_easy_getinfo(curl_, CURLINFO_TOTAL_TIME, &response.seconds);
  } else {
    response.status = -1;
    response.body = curl_easy_strerror(rc);
  }
  HttpClient::Observer observing;
  {
    std::lock_guard lock(observer_mutex);
    observing = observer;
  }
  if (observing && response.status > 0) observing(method, path, response);
  return response;
}

}  // namespace leadscore::testing
