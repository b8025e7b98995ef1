#include "api/request_screen.h"

#include <algorithm>
#include <cctype>

#include "api/exchange.h"

namespace leadscore::api {
namespace {

using domain::ErrorCode;

// A refusal's status and name come from the one error table, as every error answer's do.
ScreenVerdict verdict_of(ErrorCode code, std::string message) {
  return {status_of(code), std::string(code_name(code)), std::move(message), code};
}

bool is_token_char(unsigned char c) {
  if (std::isalnum(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Headers Pistache parses into typed values (its registry, and cookies) that leadscore never
// reads. The ones it reads are screened here instead (Content-Length), refused
// (Transfer-Encoding), or parsed without throwing (Authorization, Connection).
constexpr std::string_view kUnread[] = {"Accept",
                                        "Access-Control-Allow-Headers",
                                        "Access-Control-Allow-Methods",
                                        "Access-Control-Allow-Origin",
                                        "Access-Control-Expose-Headers",
                                        "Allow",
                                        "Cache-Control",
                                        "Content-Encoding",
                                        "Content-Type",
                                        "Cookie",
                                        "Date",
                                        "Expect",
                                        "Host",
                                        "Location",
                                        "Server",
                                        "Set-Cookie",
                                        "User-Agent"};

bool is_unread(std::string_view name) {
  return std::any_of(std::begin(kUnread), std::end(kUnread),
                     [name](std::string_view u) { return iequals(name, u); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

ScreenVerdict RequestScreen::refuse(ErrorCode code, std::string message) {
  phase_ = Phase::Refused;
  line_.clear();
  line_.shrink_to_fit();
  return verdict_of(code, std::move(message));
}

void RequestScreen::start_request() {
  phase_ = Phase::Head;
  line_.clear();
  after_cr_ = false;
  lines_ = 0;
  head_bytes_ = 0;
  has_length_ = false;
  content_length_ = 0;
}

ScreenVerdict RequestScreen::feed(std::string_view bytes, std::string& passed) {
  if (phase_ == Phase::Refused)
    return verdict_of(ErrorCode::MalformedRequest, "the connection is closing");
  std::size_t i = 0;
  while (i < bytes.size()) {
    if (phase_ == Phase::Body) {
      const auto take =
          static_cast<std::size_t>(std::min<unsigned long long>(body_left_, bytes.size() - i));
      passed.append(bytes.substr(i, take));
      i += take;
      body_left_ -= take;
      if (body_left_ == 0) start_request();
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(bytes[i++]);
    ++head_bytes_;
    if (after_cr_) {
      if (c != '\n')
        return refuse(ErrorCode::MalformedRequest, "a CR not followed by LF in the request head");
      after_cr_ = false;
      if (auto v = end_line(passed); v.refused()) return v;
      continue;
    }
    if (c == '\r') {
      after_cr_ = true;
      continue;
    }
    if (c == '\n')
      return refuse(ErrorCode::MalformedRequest,
                    "request head lines must end with CRLF, not a bare LF");
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return refuse(ErrorCode::MalformedRequest, "a control byte in the request head");
    if (lines_ == 0) {
      if (line_.size() >= limits_.request_line)
        return refuse(ErrorCode::UriTooLong, "the request line is longer than " +
                                                 std::to_string(limits_.request_line) + " bytes");
    } else if (line_.size() >= limits_.header_line) {
      return refuse(ErrorCode::HeaderTooLarge, "a header line is longer than " +
                                                   std::to_string(limits_.header_line) + " bytes");
    }
    if (head_bytes_ > limits_.header_bytes)
      return refuse(ErrorCode::HeaderTooLarge, "the request headers are larger than " +
                                                   std::to_string(limits_.header_bytes) + " bytes");
    line_.push_back(static_cast<char>(c));
  }
  return {};
}

ScreenVerdict RequestScreen::end_line(std::string& passed) {
  if (lines_ == 0 && line_.empty()) {
    // Empty lines before a request line are tolerated (RFC 9112 2.2), and not passed on.
    head_bytes_ = 0;
    return {};
  }
  if (line_.empty()) {  // the end of the head
    passed += "\r\n";
    if (has_length_ && content_length_ > 0) {
      phase_ = Phase::Body;
      body_left_ = content_length_;
    } else {
      start_request();
    }
    return {};
  }
  ScreenVerdict verdict = lines_ == 0 ? check_request_line(line_) : check_header(line_);
  if (verdict.refused()) return verdict;
  if (lines_ > 0 && is_unread(std::string_view(line_).substr(0, line_.find(':'))))
    passed += "X-Unread-";
  passed += line_;
  passed += "\r\n";
  ++lines_;
  line_.clear();
  if (lines_ > limits_.header_count + 1)
    return refuse(ErrorCode::HeaderTooLarge,
                  "more than " + std::to_string(limits_.header_count) + " header lines");
  return verdict;
}

ScreenVerdict RequestScreen::check_request_line(std::string_view line) {
  const auto first = line.find(' ');
  const auto last = line.rfind(' ');
  if (first == std::string_view::npos || first == last || first == 0)
    return refuse(ErrorCode::MalformedRequest,
                  "the request line must be: METHOD SP target SP HTTP/1.x");
  for (char c : line.substr(0, first))
    if (!is_token_char(static_cast<unsigned char>(c)))
      return refuse(ErrorCode::MalformedRequest, "the request method is not a token");
  const auto target = line.substr(first + 1, last - first - 1);
  if (target.empty() || target.find(' ') != std::string_view::npos || target.front() != '/')
    return refuse(ErrorCode::MalformedRequest, "the request target must be a path starting with /");
  // A target is ASCII: anything else is sent percent-encoded (RFC 3986).
  if (std::any_of(target.begin(), target.end(), [](char c) { return (c & 0x80) != 0; }))
    return refuse(ErrorCode::MalformedRequest,
                  "the request target must be ASCII (percent-encode the rest)");
  const auto version = line.substr(last + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return refuse(ErrorCode::MalformedRequest, "only HTTP/1.0 and HTTP/1.1 are served");
  return {};
}

ScreenVerdict RequestScreen::check_header(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t')
    return refuse(ErrorCode::MalformedRequest,
                  "obsolete line folding (a header line starting with a space)");
  const auto colon = line.find(':');
  if (colon == std::string_view::npos)
    return refuse(ErrorCode::MalformedRequest, "a header line without a colon");
  const auto name = line.substr(0, colon);
  if (name.empty()) return refuse(ErrorCode::MalformedRequest, "a header line without a name");
  for (char c : name)
    if (!is_token_char(static_cast<unsigned char>(c)))
      return refuse(ErrorCode::MalformedRequest, "a header name with a space or separator");
  const auto value = trim(line.substr(colon + 1));
  if (iequals(name, "Transfer-Encoding"))
    return refuse(ErrorCode::LengthRequired,
                  "send the body with a Content-Length; Transfer-Encoding is not accepted");
  if (iequals(name, "Content-Length")) {
    if (value.empty() ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return refuse(ErrorCode::MalformedRequest,
                    "Content-Length must be a non-negative decimal number");
    if (value.size() > 18)
      return refuse(ErrorCode::PayloadTooLarge, "the request body is larger than " +
                                                    std::to_string(limits_.body_bytes) + " bytes");
    unsigned long long length = 0;
    for (char c : value) length = length * 10 + static_cast<unsigned>(c - '0');
    if (has_length_ && length != content_length_)
      return refuse(ErrorCode::MalformedRequest, "two different Content-Length headers");
    if (length > limits_.body_bytes)
      return refuse(ErrorCode::PayloadTooLarge, "the request body is larger than " +
                                                    std::to_string(limits_.body_bytes) + " bytes");
    has_length_ = true;
    content_length_ = length;
  }
  return {};
}

}  // namespace leadscore::api
