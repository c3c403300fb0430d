#include "malloc_tuning.h"

#include <malloc.h>

namespace esim {

void TuneMallocForStartup() {
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
}

void TuneMallocForServing() {
  // Setting either threshold turns glibc's adaptation off: both are set.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

}  // namespace esim
