#include "api/request_log.h"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <iterator>

namespace leadscore::api {
namespace {

// A JSON line's payload that starts with this byte is its members already (the request line),
// written as they are instead of as "msg".
constexpr char kFields = '\x1f';

thread_local const std::string* current_id = nullptr;

// The length of the UTF-8 sequence starting at `at`, 0 when it is not a valid one.
std::size_t utf8_sequence(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  std::size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF)
    length = 2;
  else if (lead >= 0xE0 && lead <= 0xEF)
    length = 3;
  else if (lead >= 0xF0 && lead <= 0xF4)
    length = 4;
  if (length == 0 || at + length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i)
    if ((static_cast<unsigned char>(text[at + i]) & 0xC0) != 0x80) return 0;
  return length;
}

void append_time(std::string& out, spdlog::log_clock::time_point time) {
  const auto since = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since - seconds);
  const std::time_t t = seconds.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 micros.count());
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    thread_local std::string line;
    line.clear();
    line += "{\"time\":\"";
    append_time(line, msg.time);
    line += "\",\"level\":\"";
    const auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += "\",";
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!payload.empty() && payload.front() == kFields) {
      line += payload.substr(1);
    } else {
      line += "\"msg\":";
      append_json_string(line, payload);
      if (const std::string* id = current_id) {
        line += ",\"request_id\":";
        append_json_string(line, *id);
      }
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// ` rid=ID` after a warning or error written while a request is handled, unless the message
// names the id already.
class RequestIdFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string* id = current_id;
    if (id == nullptr || msg.level < spdlog::level::warn) return;
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (payload.find(*id) != std::string_view::npos) return;
    constexpr std::string_view kName = " rid=";
    dest.append(kName.data(), kName.data() + kName.size());
    dest.append(id->data(), id->data() + id->size());
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<RequestIdFlag>();
  }
};

}  // namespace

LogFormat log_format(const config::LogConfig& log) {
  return log.format == "json" ? LogFormat::Json : LogFormat::Text;
}

std::unique_ptr<spdlog::formatter> log_formatter(LogFormat format) {
  if (format == LogFormat::Json) return std::make_unique<JsonFormatter>();
  auto text = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  text->add_flag<RequestIdFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v%*");
  return text;
}

RequestScope::RequestScope(const std::string& id) : outer_(current_id) { current_id = &id; }
RequestScope::~RequestScope() { current_id = outer_; }
const std::string* current_request_id() { return current_id; }

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (const std::size_t n = utf8_sequence(text, i); n > 0) {
      out += text.substr(i, n);
      i += n - 1;
    } else {
      out += "\\ufffd";
    }
  }
  out += '"';
}

void log_request(LogFormat format, const RequestRecord& r) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(spdlog::level::info)) return;
  thread_local std::string line;
  line.clear();
  auto out = std::back_inserter(line);
  if (format == LogFormat::Text) {
    fmt::format_to(out, "{} {} {} {:.2f}ms rid={} client={} key={} route={}{}", r.method, r.path,
                   r.status, r.latency_ms, r.request_id, r.client, r.key.empty() ? "-" : r.key,
                   r.route, r.client_gone ? " (client gone)" : "");
  } else {
    line += kFields;
    line += "\"msg\":\"request\",\"method\":";
    append_json_string(line, r.method);
    line += ",\"route\":";
    append_json_string(line, r.route);
    line += ",\"path\":";
    append_json_string(line, r.path);
    fmt::format_to(out, ",\"status\":{},\"latency_ms\":{:.3f},\"request_id\":", r.status,
                   r.latency_ms);
    append_json_string(line, r.request_id);
    line += ",\"client\":";
    append_json_string(line, r.client);
    line += ",\"key\":";
    if (r.key.empty())
      line += "null";
    else
      append_json_string(line, r.key);
    line += r.client_gone ? ",\"client_gone\":true" : ",\"client_gone\":false";
  }
  logger->log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace leadscore::api
