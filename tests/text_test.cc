#include "text.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace esim {
namespace {

TEST(TextTest, AsciiCaseLeavesOtherBytesAlone) {
  EXPECT_EQ(AsciiLower("ICCID-Ä_9"), "iccid-Ä_9");
  EXPECT_EQ(AsciiUpper("active é"), "ACTIVE é");
  EXPECT_TRUE(EqualsIgnoringAsciiCase("Basic", "bASIC"));
  EXPECT_FALSE(EqualsIgnoringAsciiCase("Basic", "Basi"));
  EXPECT_FALSE(EqualsIgnoringAsciiCase("\xc3\x84", "\xc3\xa4"));  // Ä and ä: not ASCII
}

TEST(TextTest, ClassesOfCharacters) {
  for (const char c : std::string(" \t\n\r\v\f")) EXPECT_TRUE(IsAsciiSpace(c)) << int(c);
  EXPECT_FALSE(IsAsciiSpace('x'));
  EXPECT_TRUE(IsAsciiControl('\0'));
  EXPECT_TRUE(IsAsciiControl('\x1f'));
  EXPECT_TRUE(IsAsciiControl('\x7f'));
  EXPECT_FALSE(IsAsciiControl(' '));
  EXPECT_FALSE(IsAsciiControl('\x80'));
}

TEST(TextTest, TrimRemovesAsciiSpaceAtBothEndsOnly) {
  EXPECT_EQ(TrimAsciiSpace(" \t a b \r\n"), "a b");
  EXPECT_EQ(TrimAsciiSpace("a"), "a");
  EXPECT_EQ(TrimAsciiSpace(" \v\f "), "");
  EXPECT_EQ(TrimAsciiSpace(""), "");
  EXPECT_EQ(TrimAsciiSpace("\xa0x\xa0"), "\xa0x\xa0");  // not ASCII space
}

TEST(TextTest, Utf8IsValidatedStrictly) {
  EXPECT_EQ(Utf8Length("plain"), 5u);
  EXPECT_EQ(Utf8Length("Zürich 🇨🇭"), 9u);  // the flag is two code points
  EXPECT_EQ(FirstInvalidUtf8("ok"), std::string::npos);
  EXPECT_EQ(FirstInvalidUtf8("ab\xff"), 2u);
  EXPECT_EQ(FirstInvalidUtf8("a\xc3"), 1u);              // cut short
  EXPECT_EQ(FirstInvalidUtf8("a\xc0\xaf"), 1u);          // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8("a\xed\xa0\x80"), 1u);      // a surrogate
  EXPECT_EQ(FirstInvalidUtf8("a\xf4\x90\x80\x80"), 1u);  // above U+10FFFF
  EXPECT_FALSE(Utf8Length("\xe2\x82"));
}

TEST(TextTest, TruncateCutsAtACodePoint) {
  EXPECT_EQ(TruncateUtf8("short", 10), "short");
  EXPECT_EQ(TruncateUtf8("abcdef", 3), "abc…");
  EXPECT_EQ(TruncateUtf8("aé", 2), "a…");  // é is two bytes: not split
}

TEST(TextTest, ErrnoTextIsTheSystemMessage) {
  EXPECT_EQ(ErrnoText(ENOENT), "No such file or directory");
}

}  // namespace
}  // namespace esim
