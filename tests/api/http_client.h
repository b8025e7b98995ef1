// A small blocking HTTP/1.1 client over libcurl for the API tests (loopback only).
// One HttpClient per thread; it keeps its connection alive between requests.
#pragma once

#include <curl/curl.h>

#include <concepts>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace leadscore::testing {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  double seconds = 0;                          // total time of the exchange

  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string error_code() const;  // error.code of an error body, or ""
};

class HttpClient {
 public:
  explicit HttpClient(int port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `key` empty: no Authorization header.
  HttpResponse request(const std::string& method, const std::string& path,
                       const std::string& key = "", const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});
  template <typename J>
  requires std::same_as<J, nlohmann::json> HttpResponse request(const std::string& method,
                                                                const std::string& path,
                                                                const std::string& key,
                                                                const J& body) {
    return request(method, path, key, body.dump());
  }

  // Called with every answer any HttpClient receives, from the thread that received it (the API
  // tests check each answer against the OpenAPI document); an empty function: none.
  using Observer = std::function<void(const std::string& method, const std::string& path,
                                      const HttpResponse& response)>;
  static void observe(Observer observer);

 private:
  int port_;
  CURL* curl_;
};

}  // namespace leadscore::testing
