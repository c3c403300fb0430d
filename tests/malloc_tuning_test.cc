#include "malloc_tuning.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <new>

namespace esim {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerAllocator = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizerAllocator = true;
#else
constexpr bool kSanitizerAllocator = false;
#endif
#else
constexpr bool kSanitizerAllocator = false;
#endif

// Blocks glibc serves from a mapping of their own (mallinfo2's hblks).
size_t MappedBlocks() { return mallinfo2().hblks; }

// Allocates `bytes`, touches them (so the pair is not optimised away) and reports whether the
// block got a mapping of its own.
bool GetsItsOwnMapping(size_t bytes) {
  const size_t before = MappedBlocks();
  auto* block = static_cast<volatile char*>(std::malloc(bytes));
  if (block == nullptr) throw std::bad_alloc();
  block[0] = 1;
  block[bytes - 1] = 1;
  const bool mapped = MappedBlocks() == before + 1;
  std::free(const_cast<char*>(block));
  return mapped;
}

TEST(MallocTuningTest, LargeBlocksAreMappedAtStartupAndComeFromTheHeapWhileServing) {
  if (kSanitizerAllocator) GTEST_SKIP() << "the sanitizer's allocator ignores mallopt";
  TuneMallocForStartup();
  // At startup a freed config list or state buffer goes back to the system whole...
  EXPECT_TRUE(GetsItsOwnMapping(2 * 1024 * 1024));
  EXPECT_TRUE(GetsItsOwnMapping(16 * 1024 * 1024));
  // ...but small blocks stay on the heap.
  EXPECT_FALSE(GetsItsOwnMapping(512 * 1024));

  TuneMallocForServing();
  // While serving, a scrape's row array is reused from the heap, not mapped again each time.
  EXPECT_FALSE(GetsItsOwnMapping(2 * 1024 * 1024));
  EXPECT_FALSE(GetsItsOwnMapping(16 * 1024 * 1024));
  EXPECT_TRUE(GetsItsOwnMapping(48 * 1024 * 1024));
}

}  // namespace
}  // namespace esim
