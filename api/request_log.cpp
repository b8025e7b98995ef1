#include "api/request_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
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

// Appends `time` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC). The text up to the seconds is made
// once a second per thread; the microseconds are written digit by digit.
template <typename Out>
void append_time(Out& out, spdlog::log_clock::time_point time) {
  struct Cached {
    std::int64_t second = -1;
    char text[19];  // YYYY-MM-DDTHH:MM:SS, no terminator
  };
  thread_local Cached cached;
  const auto since = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
  if (seconds.count() != cached.second) {
    const std::time_t t = seconds.count();
    std::tm tm{};
    gmtime_r(&t, &tm);
    fmt::format_to_n(cached.text, sizeof cached.text, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
    cached.second = seconds.count();
  }
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since - seconds).count();
  char tail[8] = {'.', '0', '0', '0', '0', '0', '0', 'Z'};
  for (int i = 6; i >= 1; --i, micros /= 10) tail[i] = static_cast<char>('0' + micros % 10);
  out.append(cached.text, cached.text + sizeof cached.text);
  out.append(tail, tail + 8);
}

void append_integer(std::string& out, long long value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// `value` with `decimals` digits after the point (rounded; a non-negative, finite number).
void append_fixed(std::string& out, double value, int decimals) {
  char digits[48];
  const auto end =
      std::to_chars(digits, digits + sizeof digits, value, std::chars_format::fixed, decimals).ptr;
  out.append(digits, end);
}

void append_view(spdlog::memory_buf_t& out, std::string_view text) {
  out.append(text.data(), text.data() + text.size());
}

// `TIME LEVEL message`, then ` rid=ID` after a warning or error written while a request is
// handled, unless the message names the id already.
class TextFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    append_time(dest, msg.time);
    dest.push_back(' ');
    const auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.push_back(' ');
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    append_view(dest, payload);
    const std::string* id = current_id;
    if (id != nullptr && msg.level >= spdlog::level::warn &&
        payload.find(*id) == std::string_view::npos) {
      append_view(dest, " rid=");
      append_view(dest, *id);
    }
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }
};

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

}  // namespace

LogFormat log_format(const config::LogConfig& log) {
  return log.format == "json" ? LogFormat::Json : LogFormat::Text;
}

std::unique_ptr<spdlog::formatter> log_formatter(LogFormat format) {
  if (format == LogFormat::Json) return std::make_unique<JsonFormatter>();
  return std::make_unique<TextFormatter>();
}

RequestScope::RequestScope(const std::string& id) : outer_(current_id) { current_id = &id; }
RequestScope::~RequestScope() { current_id = outer_; }
const std::string* current_request_id() { return current_id; }

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < text.size(); ++i) {
    // A run of printable ASCII that needs no escape goes in at once.
    std::size_t plain = i;
    while (plain < text.size() && text[plain] >= 0x20 && text[plain] < 0x7f && text[plain] != '"' &&
           text[plain] != '\\')
      ++plain;
    if (plain > i) {
      out.append(text.data() + i, plain - i);
      i = plain - 1;
      continue;
    }
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
  // Built by appending, not through fmt: this line is written once per request.
  thread_local std::string line;
  line.clear();
  if (format == LogFormat::Text) {
    line += r.method;
    line += ' ';
    line += r.path;
    line += ' ';
    append_integer(line, r.status);
    line += ' ';
    append_fixed(line, r.latency_ms, 2);
    line += "ms rid=";
    line += r.request_id;
    line += " client=";
    line += r.client;
    line += " key=";
    line += r.key.empty() ? std::string_view("-") : r.key;
    line += " route=";
    line += r.route;
    if (r.client_gone) line += " (client gone)";
  } else {
    line += kFields;
    line += "\"msg\":\"request\",\"method\":";
    append_json_string(line, r.method);
    line += ",\"route\":";
    append_json_string(line, r.route);
    line += ",\"path\":";
    append_json_string(line, r.path);
    line += ",\"status\":";
    append_integer(line, r.status);
    line += ",\"latency_ms\":";
    append_fixed(line, r.latency_ms, 3);
    line += ",\"request_id\":";
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
