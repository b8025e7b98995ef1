// RequestScreen: what passes to the parser, what is refused and with which status.
#include "api/request_screen.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace leadscore::api {
namespace {

using namespace std::string_literals;

// Small limits, so that each one is easy to pass.
constexpr ScreenLimits kLimits{.request_line = 64,
                               .header_line = 48,
                               .header_bytes = 256,
                               .header_count = 4,
                               .body_bytes = 100};

// Feeds `bytes` whole; the verdict.
ScreenVerdict screen_whole(std::string_view bytes, ScreenLimits limits = kLimits) {
  RequestScreen screen(limits);
  return screen.feed(bytes);
}

// The status of a head made of the given header lines after a plain request line.
int status_of_head(std::string_view headers) {
  return screen_whole("POST /leads HTTP/1.1\r\n"s + std::string(headers) + "\r\n").status;
}

const std::string kValid = "GET /leads?limit=2 HTTP/1.1\r\nHost: t\r\nAccept: */*\r\n\r\n";

TEST(RequestScreen, PassesAValidRequestWhole) {
  RequestScreen screen(kLimits);
  EXPECT_FALSE(screen.feed(kValid).refused());
  EXPECT_TRUE(screen.between_requests());
  EXPECT_FALSE(screen.refused());
}

TEST(RequestScreen, PassesAValidRequestByteByByte) {
  RequestScreen screen(kLimits);
  for (char c : kValid) {
    const auto verdict = screen.feed(std::string_view(&c, 1));
    ASSERT_FALSE(verdict.refused()) << "at byte '" << c << "': " << verdict.message;
    if (c != '\n') {
      EXPECT_FALSE(screen.between_requests());
    }
  }
  EXPECT_TRUE(screen.between_requests());
}

TEST(RequestScreen, PassesTheHeadLineByLineWithUnreadHeadersRenamed) {
  const std::string request =
      "POST /leads HTTP/1.1\r\nHost: :t\r\nAccept: */*\xff\r\nAuthorization: Bearer k\r\n"
      "Cookie: =\r\nContent-Length: 2\r\n\r\n{}";
  const std::string expected =
      "POST /leads HTTP/1.1\r\nX-Unread-Host: :t\r\nX-Unread-Accept: */*\xff\r\n"
      "Authorization: Bearer k\r\nX-Unread-Cookie: =\r\nContent-Length: 2\r\n\r\n{}";
  RequestScreen whole(ScreenLimits{});
  std::string passed;
  EXPECT_FALSE(whole.feed(request, passed).refused());
  EXPECT_EQ(passed, expected);
  // Byte by byte, the parser sees the same, a whole line of the head at a time.
  RequestScreen split(ScreenLimits{});
  std::string pieces;
  const std::size_t body_at = expected.find("\r\n\r\n") + 4;
  for (char c : request) {
    EXPECT_FALSE(split.feed(std::string_view(&c, 1), pieces).refused());
    EXPECT_TRUE(expected.starts_with(pieces));
    if (pieces.size() < body_at) {
      EXPECT_TRUE(pieces.empty() || pieces.ends_with("\r\n"));
    }
  }
  EXPECT_EQ(pieces, expected);
}

TEST(RequestScreen, FollowsKeptAliveRequestsThroughTheirBodies) {
  // The bodies hold what a head may not (bare LF, NUL, no colon): they are not screened.
  const std::string first_body = "{\"a\":\n\"\0\"}"s;
  const std::string second_body = "no colon\nhere";
  const std::string both =
      "POST /leads HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(first_body.size()) +
      "\r\n\r\n" + first_body +
      "PATCH /leads/1/stage HTTP/1.1\r\nContent-Length: " + std::to_string(second_body.size()) +
      "\r\nContent-Length: " + std::to_string(second_body.size()) + "\r\n\r\n" + second_body;
  {
    RequestScreen screen(kLimits);
    const auto verdict = screen.feed(both);
    EXPECT_FALSE(verdict.refused()) << verdict.message;
    EXPECT_TRUE(screen.between_requests());
  }
  {
    RequestScreen screen(kLimits);
    for (char c : both) ASSERT_FALSE(screen.feed(std::string_view(&c, 1)).refused());
    EXPECT_TRUE(screen.between_requests());
  }
  {
    // Mid-body it is not between requests; after the body the next request is screened.
    RequestScreen screen(kLimits);
    EXPECT_FALSE(screen.feed("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab").refused());
    EXPECT_FALSE(screen.between_requests());
    EXPECT_EQ(screen.feed("cdGET / HTTP/1.1\nHost: t\r\n\r\n").status, 400);
  }
}

TEST(RequestScreen, ToleratesEmptyLinesBeforeARequest) {
  EXPECT_FALSE(screen_whole("\r\n\r\n" + kValid).refused());
}

TEST(RequestScreen, RefusesBareLineFeeds) {
  EXPECT_EQ(screen_whole("GET / HTTP/1.1\nHost: t\n\n").status, 400);
  EXPECT_EQ(screen_whole("GET / HTTP/1.1\r\nHost: t\n\r\n").status, 400);
  // A CR not followed by LF either.
  EXPECT_EQ(screen_whole("GET / HTTP/1.1\rHost: t\r\n\r\n").status, 400);
}

TEST(RequestScreen, RefusesAHeaderWithoutAColon) {
  EXPECT_EQ(status_of_head("Host t\r\n"), 400);
  EXPECT_EQ(status_of_head(": no name\r\n"), 400);
  EXPECT_EQ(status_of_head("Bad Name: x\r\n"), 400);
}

TEST(RequestScreen, RefusesObsoleteLineFolding) {
  EXPECT_EQ(status_of_head("X-A: b\r\n c\r\n"), 400);
  EXPECT_EQ(status_of_head("X-A: b\r\n\tc\r\n"), 400);
}

TEST(RequestScreen, RefusesControlBytesInTheHead) {
  EXPECT_EQ(status_of_head("X-A: b\x01"s + "c\r\n"), 400);
  EXPECT_EQ(status_of_head("X-A: b\0c\r\n"s), 400);
  EXPECT_EQ(status_of_head("X-A: b\x7f\r\n"), 400);
  EXPECT_EQ(screen_whole("GET /\0 HTTP/1.1\r\n\r\n"s).status, 400);
  // A tab in a value is allowed.
  EXPECT_EQ(status_of_head("X-A: b\tc\r\n"), 0);
}

TEST(RequestScreen, RefusesAContentLengthThatIsNotAPlainNumber) {
  EXPECT_EQ(status_of_head("Content-Length: -1\r\n"), 400);
  EXPECT_EQ(status_of_head("Content-Length: abc\r\n"), 400);
  EXPECT_EQ(status_of_head("Content-Length: +5\r\n"), 400);
  EXPECT_EQ(status_of_head("Content-Length: 5, 5\r\n"), 400);
  EXPECT_EQ(status_of_head("Content-Length:\r\n"), 400);
  EXPECT_EQ(status_of_head("content-length: 5\r\nCONTENT-LENGTH: 6\r\n"), 400);
  // Too many digits for any integer type: too large, not a parse error.
  EXPECT_EQ(status_of_head("Content-Length: 12345678901234567890123\r\n"), 413);
  // The same value twice, and surrounding blanks, are fine.
  EXPECT_EQ(status_of_head("Content-Length: 0\r\nContent-Length:  0 \r\n"), 0);
}

TEST(RequestScreen, RefusesABodyPastTheLimit) {
  EXPECT_EQ(status_of_head("Content-Length: 101\r\n"), 413);
  EXPECT_EQ(status_of_head("Content-Length: 100\r\n"), 0);
}

TEST(RequestScreen, RefusesTransferEncoding) {
  EXPECT_EQ(status_of_head("Transfer-Encoding: chunked\r\n"), 411);
  EXPECT_EQ(status_of_head("transfer-encoding: identity\r\n"), 411);
}

TEST(RequestScreen, RefusesALongRequestLineWithoutWaitingForTheRest) {
  RequestScreen screen(kLimits);
  const std::string line = "GET /" + std::string(kLimits.request_line - 5, 'a');
  EXPECT_FALSE(screen.feed(line).refused());  // exactly at the limit
  EXPECT_EQ(screen.feed("a").status, 414);    // one past it, with no end of line in sight
  EXPECT_EQ(screen_whole("GET /" + std::string(1 << 20, 'a')).status, 414);
}

TEST(RequestScreen, RefusesAHeaderLinePastTheLimit) {
  EXPECT_EQ(status_of_head("X-A: " + std::string(kLimits.header_line, 'b') + "\r\n"), 431);
  RequestScreen screen(kLimits);
  EXPECT_EQ(screen.feed("GET / HTTP/1.1\r\nX-A: " + std::string(1 << 20, 'b')).status, 431);
}

TEST(RequestScreen, RefusesAHeadPastTheLimit) {
  // Each line is within header_line; together they pass header_bytes.
  std::string headers;
  for (int i = 0; i < 4; ++i)
    headers += "X-" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n";
  ScreenLimits many = kLimits;
  many.header_count = 100;
  EXPECT_EQ(screen_whole("GET / HTTP/1.1\r\n" + headers + headers + "\r\n", many).status, 431);
  EXPECT_EQ(screen_whole("GET / HTTP/1.1\r\n" + headers + "\r\n", many).status, 0);
}

TEST(RequestScreen, RefusesTooManyHeaders) {
  std::string headers;
  for (std::size_t i = 0; i < kLimits.header_count; ++i)
    headers += "X: " + std::to_string(i) + "\r\n";
  EXPECT_EQ(status_of_head(headers), 0);
  EXPECT_EQ(status_of_head(headers + "Y: z\r\n"), 431);
  std::string flood;
  for (int i = 0; i < 100000; ++i) flood += "X: y\r\n";
  ScreenLimits large = kLimits;
  large.header_bytes = 1 << 30;
  EXPECT_EQ(screen_whole("GET / HTTP/1.1\r\n" + flood + "\r\n", large).status, 431);
}

TEST(RequestScreen, RefusesAMalformedRequestLine) {
  EXPECT_EQ(screen_whole("GET\r\n\r\n").status, 400);
  EXPECT_EQ(screen_whole("GET / HTTP/2.0\r\n\r\n").status, 400);
  EXPECT_EQ(screen_whole("GET http://x/ HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(screen_whole("G(T / HTTP/1.1\r\n\r\n").status, 400);
  // A target is ASCII; the rest comes percent-encoded.
  EXPECT_EQ(screen_whole("GET /hea\xfflth HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_FALSE(screen_whole("GET /leads?name=%C3%A9 HTTP/1.1\r\n\r\n").refused());
}

TEST(RequestScreen, RefusesEverythingAfterARefusal) {
  RequestScreen screen(kLimits);
  const auto verdict = screen.feed("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(verdict.status, 411);
  EXPECT_FALSE(verdict.code.empty());
  EXPECT_FALSE(verdict.message.empty());
  EXPECT_TRUE(screen.refused());
  EXPECT_FALSE(screen.between_requests());
  EXPECT_TRUE(screen.feed(kValid).refused());
  EXPECT_TRUE(screen.feed("").refused());

  RequestScreen closed(kLimits);
  closed.close();
  EXPECT_TRUE(closed.feed(kValid).refused());
}

}  // namespace
}  // namespace leadscore::api
