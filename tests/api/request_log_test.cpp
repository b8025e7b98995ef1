// The server's log lines as operators read them (api/request_log.h): the text and JSON formats,
// the request line, and the request id on warnings written while a request is handled.
#include "api/request_log.h"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

namespace leadscore::testing {
namespace {

using nlohmann::json;

// `payload` at `level`, at `time`, as `format` writes it.
std::string formatted(api::LogFormat format, spdlog::level::level_enum level,
                      std::string_view payload,
                      spdlog::log_clock::time_point time = spdlog::log_clock::now()) {
  const spdlog::details::log_msg msg(time, spdlog::source_loc{}, "test", level,
                                     spdlog::string_view_t(payload.data(), payload.size()));
  spdlog::memory_buf_t out;
  api::log_formatter(format)->format(msg, out);
  return std::string(out.data(), out.size());
}

spdlog::log_clock::time_point at(std::int64_t seconds, std::int64_t micros) {
  return spdlog::log_clock::time_point(std::chrono::seconds(seconds) +
                                       std::chrono::microseconds(micros));
}

TEST(RequestLogFormat, TextLinesStartWithTheUtcTimeToTheMicrosecondAndTheLevel) {
  // 1700000000 s after the epoch is 2023-11-14 22:13:20 UTC.
  EXPECT_EQ(formatted(api::LogFormat::Text, spdlog::level::info, "ready", at(1700000000, 123)),
            "2023-11-14T22:13:20.000123Z info ready\n");
  // The next second, and a microsecond count with every digit.
  EXPECT_EQ(formatted(api::LogFormat::Text, spdlog::level::err, "x", at(1700000001, 987654)),
            "2023-11-14T22:13:21.987654Z error x\n");
  EXPECT_EQ(formatted(api::LogFormat::Text, spdlog::level::warn, "y", at(1700000000, 0)),
            "2023-11-14T22:13:20.000000Z warning y\n");
}

TEST(RequestLogFormat, WarningsWrittenWhileARequestIsHandledNameItsIdOnce) {
  const std::string id = "req-42";
  {
    api::RequestScope scope(id);
    EXPECT_TRUE(formatted(api::LogFormat::Text, spdlog::level::warn, "slow")
                    .ends_with(" warning slow rid=req-42\n"));
    EXPECT_TRUE(formatted(api::LogFormat::Text, spdlog::level::info, "fine").ends_with(" fine\n"));
    EXPECT_TRUE(formatted(api::LogFormat::Text, spdlog::level::err, "request req-42 failed")
                    .ends_with(" request req-42 failed\n"));
    const json line =
        json::parse(formatted(api::LogFormat::Json, spdlog::level::info, "fine", at(1, 5)));
    EXPECT_EQ(line["request_id"], "req-42");
    EXPECT_EQ(line["time"], "1970-01-01T00:00:01.000005Z");
    EXPECT_EQ(line["msg"], "fine");
  }
  EXPECT_TRUE(
      formatted(api::LogFormat::Text, spdlog::level::warn, "later").ends_with(" warning later\n"));
  EXPECT_FALSE(json::parse(formatted(api::LogFormat::Json, spdlog::level::warn, "later"))
                   .contains("request_id"));
}

// The request line, through the default logger as the server writes it.
class RequestLine : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    previous_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink_));
  }
  void TearDown() override { spdlog::set_default_logger(previous_); }
  std::string line(api::LogFormat format, const api::RequestRecord& record) {
    sink_->set_formatter(api::log_formatter(format));
    out_.str("");
    api::log_request(format, record);
    return out_.str();
  }

  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(RequestLine, TextNamesMethodPathStatusLatencyIdClientKeyAndRoute) {
  const api::RequestRecord record{"GET", "/leads/{id}", "/leads/7",  200,  0.2149,
                                  "abc", "127.0.0.1",   "reporting", false};
  const std::string text = line(api::LogFormat::Text, record);
  EXPECT_TRUE(std::regex_match(
      text, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z info GET /leads/7 200 0\.21ms )"
                       R"(rid=abc client=127\.0\.0\.1 key=reporting route=/leads/\{id\}\n)")))
      << text;
  api::RequestRecord anonymous = record;
  anonymous.key = "";
  anonymous.status = 401;
  anonymous.latency_ms = 12.005;
  anonymous.client_gone = true;
  EXPECT_TRUE(line(api::LogFormat::Text, anonymous)
                  .ends_with(" 401 12.01ms rid=abc client=127.0.0.1 key=- route=/leads/{id} "
                             "(client gone)\n"))
      << line(api::LogFormat::Text, anonymous);
}

TEST_F(RequestLine, JsonIsOneObjectWithTheFieldsAndANullKeyWhenThereWasNone) {
  const api::RequestRecord record{"POST", "/leads", "/leads?x=\"1\"", 201, 3.14159, "r-1", "::1",
                                  "",     false};
  const std::string text = line(api::LogFormat::Json, record);
  ASSERT_TRUE(text.ends_with("}\n")) << text;
  const json parsed = json::parse(text);
  EXPECT_EQ(parsed["msg"], "request");
  EXPECT_EQ(parsed["level"], "info");
  EXPECT_EQ(parsed["method"], "POST");
  EXPECT_EQ(parsed["route"], "/leads");
  EXPECT_EQ(parsed["path"], "/leads?x=\"1\"");
  EXPECT_EQ(parsed["status"], 201);
  EXPECT_DOUBLE_EQ(parsed["latency_ms"].get<double>(), 3.142);
  EXPECT_EQ(parsed["request_id"], "r-1");
  EXPECT_EQ(parsed["client"], "::1");
  EXPECT_TRUE(parsed["key"].is_null());
  EXPECT_EQ(parsed["client_gone"], false);
}

TEST(RequestLogFormat, JsonStringsEscapeControlsAndReplaceInvalidUtf8) {
  std::string out;
  api::append_json_string(out, "a\"b\\c\n\x01 \xc3\xa9 \xff\x7f plain");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\u000a\\u0001 \xc3\xa9 \\ufffd\\u007f plain\"");
  EXPECT_TRUE(json::parse(out, nullptr, false).is_string());
}

}  // namespace
}  // namespace leadscore::testing
