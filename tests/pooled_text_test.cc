#include "pooled_text.h"

#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace esim {
namespace {

// Texts no other test pools, so that PoolSize() counts this test's alone.
std::string Unique(const std::string& name) { return "pooled_text_test/" + name; }

TEST(PooledTextTest, ReadsLikeAnOptionalString) {
  const PooledText none;
  EXPECT_FALSE(none.has_value());
  EXPECT_FALSE(none);
  EXPECT_EQ(none, std::nullopt);
  EXPECT_EQ(none.value_or("fallback"), "fallback");
  EXPECT_THROW(static_cast<void>(none.value()), std::bad_optional_access);
  EXPECT_EQ(none.ToOptional(), std::nullopt);

  const PooledText vodafone = Unique("Vodafone");
  ASSERT_TRUE(vodafone);
  EXPECT_EQ(*vodafone, Unique("Vodafone"));
  EXPECT_EQ(vodafone->size(), Unique("Vodafone").size());
  EXPECT_EQ(vodafone, Unique("Vodafone"));
  EXPECT_EQ(vodafone, std::optional<std::string>(Unique("Vodafone")));
  EXPECT_NE(vodafone, std::optional<std::string>());
  EXPECT_NE(vodafone, "Vodafone");
  EXPECT_NE(vodafone, none);
  EXPECT_EQ(vodafone.value_or("fallback"), Unique("Vodafone"));
  EXPECT_EQ(vodafone.ToOptional(), Unique("Vodafone"));

  // An empty string is a value, not an absence.
  const PooledText empty = std::string();
  EXPECT_TRUE(empty.has_value());
  EXPECT_EQ(empty, "");
  EXPECT_NE(empty, none);

  const PooledText from_absent = std::optional<std::string>();
  EXPECT_EQ(from_absent, none);

  std::ostringstream printed;
  printed << vodafone << ' ' << none;
  EXPECT_EQ(printed.str(), "\"" + Unique("Vodafone") + "\" (nullopt)");
}

TEST(PooledTextTest, HoldersOfTheSameTextShareOneCopyThatLeavesWithTheLast) {
  const size_t before = PooledText::PoolSize();
  {
    const PooledText a = Unique("Swisscom");
    const PooledText b = std::string(Unique("Swisscom"));  // made apart, not copied
    const PooledText c = Unique("Sunrise");
    EXPECT_EQ(PooledText::PoolSize(), before + 2);
    EXPECT_EQ(&*a, &*b);  // one copy of the text
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    {
      const PooledText copy = a;  // NOLINT(performance-unnecessary-copy-initialization)
      EXPECT_EQ(&*copy, &*a);
    }
    EXPECT_EQ(PooledText::PoolSize(), before + 2);
  }
  EXPECT_EQ(PooledText::PoolSize(), before);

  // A text released and pooled again is a new entry with the same text.
  const PooledText again = Unique("Swisscom");
  EXPECT_EQ(*again, Unique("Swisscom"));
  EXPECT_EQ(PooledText::PoolSize(), before + 1);
}

TEST(PooledTextTest, AssignmentMoveAndResetKeepTheCountRight) {
  const size_t before = PooledText::PoolSize();
  PooledText a = Unique("A");
  PooledText b = Unique("B");
  a = b;  // A has no holder left
  EXPECT_EQ(PooledText::PoolSize(), before + 1);
  EXPECT_EQ(a, Unique("B"));
  a = a;  // NOLINT(clang-diagnostic-self-assign-overloaded): must not drop the text
  EXPECT_EQ(a, Unique("B"));
  PooledText moved = std::move(a);
  EXPECT_FALSE(a.has_value());  // NOLINT(bugprone-use-after-move): a moved-from one is empty
  EXPECT_EQ(moved, Unique("B"));
  moved = std::move(moved);  // NOLINT(clang-diagnostic-self-move)
  EXPECT_EQ(moved, Unique("B"));
  b.reset();
  EXPECT_EQ(PooledText::PoolSize(), before + 1);  // `moved` still holds it
  moved = std::nullopt;
  EXPECT_EQ(PooledText::PoolSize(), before);
}

// Records are copied by poll workers while scrapes read them and old ones are freed: holders
// on several threads come and go at once (ThreadSanitizer runs this too).
TEST(PooledTextTest, ThreadsPoolCopyAndReleaseTheSameTexts) {
  const size_t before = PooledText::PoolSize();
  const PooledText kept = Unique("shared-0");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&kept] {
      for (int i = 0; i < 20000; ++i) {
        const PooledText made = Unique("shared-" + std::to_string(i % 7));
        const PooledText copy = kept;  // NOLINT(performance-unnecessary-copy-initialization)
        PooledText last = made;
        last = copy;
        if (*made != Unique("shared-" + std::to_string(i % 7)) || last != kept) std::abort();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(PooledText::PoolSize(), before + 1);  // only `kept`'s text is still held
  EXPECT_EQ(*kept, Unique("shared-0"));
}

}  // namespace
}  // namespace esim
