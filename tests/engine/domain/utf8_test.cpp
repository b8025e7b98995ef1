// The UTF-8 check of engine/domain/utf8.h: well-formed text only (no overlong forms, surrogates,
// code points past U+10FFFF, stray or missing continuation bytes), and with `printable`, no C0,
// DEL or C1 control characters either.
#include "engine/domain/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace leadscore::domain {
namespace {

using namespace std::string_literals;

// The UTF-8 encoding of `code`, written out from the encoding's definition (RFC 3629).
std::string encode(char32_t code) {
  std::string out;
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xc0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xe0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  }
  return out;
}

TEST(Utf8, AcceptsEmptyAndAsciiText) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("", /*printable=*/true));
  EXPECT_TRUE(is_utf8("Ada Lovelace <ada@example.com>"));
  EXPECT_TRUE(is_utf8("Ada Lovelace <ada@example.com>", /*printable=*/true));
}

TEST(Utf8, AcceptsMultiByteTextOfEveryLength) {
  EXPECT_TRUE(is_utf8("caf\xc3\xa9"));               // é, two bytes
  EXPECT_TRUE(is_utf8("\xe2\x82\xac 12"));           // €, three bytes
  EXPECT_TRUE(is_utf8("\xe6\x9d\xb1\xe4\xba\xac"));  // 東京
  EXPECT_TRUE(is_utf8("\xf0\x9f\x98\x80 ok"));       // 😀, four bytes
  EXPECT_TRUE(is_utf8("\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0", true));  // Москва
  EXPECT_TRUE(is_utf8("\xf0\x9f\x98\x80", /*printable=*/true));
}

TEST(Utf8, AcceptsTheBoundariesOfEachEncodingLength) {
  // The first and last code point each length encodes, and the last before and first after
  // the surrogates.
  for (char32_t code : {0x01u, 0x7fu, 0x80u, 0x7ffu, 0x800u, 0xd7ffu, 0xe000u, 0xfffdu, 0xffffu,
                        0x10000u, 0x10ffffu}) {
    EXPECT_TRUE(is_utf8(encode(code))) << std::hex << "U+" << static_cast<unsigned>(code);
  }
  EXPECT_EQ(encode(0x10ffff), "\xf4\x8f\xbf\xbf");  // the encoder agrees with RFC 3629
}

TEST(Utf8, RefusesOverlongEncodings) {
  EXPECT_FALSE(is_utf8("\xc0\xaf"));          // '/' in two bytes
  EXPECT_FALSE(is_utf8("\xc1\xbf"));          // U+007F in two bytes
  EXPECT_FALSE(is_utf8("\xc0\x80"));          // NUL in two bytes ("modified UTF-8")
  EXPECT_FALSE(is_utf8("\xe0\x80\xaf"));      // '/' in three bytes
  EXPECT_FALSE(is_utf8("\xe0\x9f\xbf"));      // U+07FF in three bytes
  EXPECT_FALSE(is_utf8("\xf0\x80\x80\xaf"));  // '/' in four bytes
  EXPECT_FALSE(is_utf8("\xf0\x8f\xbf\xbf"));  // U+FFFF in four bytes
  // The shortest forms of the same code points pass.
  EXPECT_TRUE(is_utf8("/\x7f\xdf\xbf\xef\xbf\xbf"));
}

TEST(Utf8, RefusesSurrogates) {
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));  // U+D800, the first
  EXPECT_FALSE(is_utf8("\xed\xbf\xbf"));  // U+DFFF, the last
  EXPECT_FALSE(is_utf8("\xed\xb0\x80"));  // U+DC00, a low one
  // A surrogate pair written as two three-byte forms (CESU-8) is not UTF-8 either.
  EXPECT_FALSE(is_utf8("\xed\xa0\xbd\xed\xb8\x80"));
  EXPECT_FALSE(is_utf8("ok \xed\xa0\x80 then text"));
}

TEST(Utf8, RefusesCodePointsPastU10FFFF) {
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));          // U+110000
  EXPECT_FALSE(is_utf8("\xf7\xbf\xbf\xbf"));          // U+1FFFFF, the most four bytes can hold
  EXPECT_FALSE(is_utf8("\xf5\x80\x80\x80"));          // lead bytes F5..FF never occur
  EXPECT_FALSE(is_utf8("\xf8\x88\x80\x80\x80"));      // the old five-byte form
  EXPECT_FALSE(is_utf8("\xfc\x84\x80\x80\x80\x80"));  // the old six-byte form
  EXPECT_FALSE(is_utf8("\xfe"));
  EXPECT_FALSE(is_utf8("\xff"));
}

TEST(Utf8, RefusesTruncatedSequences) {
  EXPECT_FALSE(is_utf8("\xc3"));          // two-byte lead at the end
  EXPECT_FALSE(is_utf8("\xe2\x82"));      // three-byte form missing its last byte
  EXPECT_FALSE(is_utf8("\xf0\x9f\x98"));  // four-byte form missing its last byte
  EXPECT_FALSE(is_utf8("caf\xc3"));       // cut in the middle of é
  EXPECT_FALSE(is_utf8("\xe2\x82xyz"));   // a lead not followed by continuation bytes
  EXPECT_FALSE(is_utf8("\xf0\x9f\x98 x"));
  // A complete sequence in a view that cuts it is judged by the view alone.
  const std::string_view whole = "caf\xc3\xa9";
  EXPECT_TRUE(is_utf8(whole));
  EXPECT_FALSE(is_utf8(whole.substr(0, 4)));
}

TEST(Utf8, RefusesStrayContinuationBytes) {
  EXPECT_FALSE(is_utf8("\x80"));
  EXPECT_FALSE(is_utf8("\xbf"));
  EXPECT_FALSE(is_utf8("abc\xa9"));
  EXPECT_FALSE(is_utf8("\xc3\xa9\xa9"));  // é followed by one continuation byte too many
  EXPECT_FALSE(is_utf8("caf\xe9"));       // Latin-1 é
}

TEST(Utf8, NulIsWellFormedButNotPrintable) {
  // U+0000 is a well-formed one-byte character; keeping it out of a text column is the
  // printable check's job (or the caller's, as lead input does with its own message).
  EXPECT_TRUE(is_utf8("a\0b"s));
  EXPECT_TRUE(is_utf8("\0"s));
  EXPECT_FALSE(is_utf8("a\0b"s, /*printable=*/true));
  EXPECT_FALSE(is_utf8("\0"s, /*printable=*/true));
}

TEST(Utf8, PrintableRefusesEveryC0ControlAndDel) {
  for (char32_t code = 0; code < 0x20; ++code) {
    const std::string text = "x" + encode(code) + "y";
    EXPECT_TRUE(is_utf8(text)) << "U+" << static_cast<unsigned>(code);
    EXPECT_FALSE(is_utf8(text, /*printable=*/true)) << "U+" << static_cast<unsigned>(code);
  }
  EXPECT_TRUE(is_utf8("x\x7fy"));
  EXPECT_FALSE(is_utf8("x\x7fy", /*printable=*/true));
  // Tab, line breaks and escape are controls too.
  EXPECT_FALSE(is_utf8("a\tb", true));
  EXPECT_FALSE(is_utf8("a\nb", true));
  EXPECT_FALSE(is_utf8("a\r\nb", true));
  EXPECT_FALSE(is_utf8("\x1b[31mred", true));
}

TEST(Utf8, PrintableRefusesEveryC1Control) {
  for (char32_t code = 0x80; code < 0xa0; ++code) {
    const std::string text = encode(code);
    ASSERT_EQ(text.size(), 2u);
    EXPECT_TRUE(is_utf8(text)) << "U+" << std::hex << static_cast<unsigned>(code);
    EXPECT_FALSE(is_utf8(text, /*printable=*/true))
        << "U+" << std::hex << static_cast<unsigned>(code);
  }
}

TEST(Utf8, PrintableKeepsTheCharactersNextToTheControlRanges) {
  EXPECT_TRUE(is_utf8(" ~", true));          // U+0020 and U+007E
  EXPECT_TRUE(is_utf8(encode(0xa0), true));  // no-break space, just past C1
  EXPECT_TRUE(is_utf8(encode(0xff), true));  // ÿ
  EXPECT_TRUE(is_utf8(encode(0x10ffff), true));
  EXPECT_TRUE(is_utf8("Caf\xc3\xa9 \xe2\x82\xac", true));
}

TEST(Utf8, PrintableStillRefusesWhatIsNotUtf8) {
  EXPECT_FALSE(is_utf8("\xc0\xaf", true));
  EXPECT_FALSE(is_utf8("\xed\xa0\x80", true));
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80", true));
  EXPECT_FALSE(is_utf8("\xe2\x82", true));
  EXPECT_FALSE(is_utf8("\x80", true));
}

TEST(Utf8, AnyBadSequenceAnywhereRefusesTheWholeText) {
  const std::string good = "Ada \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  ASSERT_TRUE(is_utf8(good));
  for (std::string_view bad : {"\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\x80"}) {
    EXPECT_FALSE(is_utf8(std::string(bad) + good));
    EXPECT_FALSE(is_utf8(good + std::string(bad)));
    EXPECT_FALSE(is_utf8(good.substr(0, 4) + std::string(bad) + good.substr(4)));
  }
}

}  // namespace
}  // namespace leadscore::domain
