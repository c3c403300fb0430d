// glibc malloc settings for a large fleet's memory profile (docs/benchmarks.md, "Memory").
#pragma once

namespace esim {

// First thing in main. One arena: glibc's default of up to 8 per core spreads the records that
// the poll workers copy over 16 free lists (50,000 eSIMs: 344 -> 269 MiB with two), and with two
// the state writer's and a scrape's transient blocks each kept their own free space (100,000
// eSIMs, state written every second: 188-192 MiB peak with one against 210-219 with two, polls
// and scrapes as fast; per-thread caches take the small blocks past the arena's lock). Blocks of
// 1 MiB and more are mapped and unmapped: the config's eSIM lists and the state file's buffers,
// freed once loaded, then leave no holes for the records to grow around.
void TuneMallocForStartup();

// Once the config is loaded and the state restored: blocks below 32 MiB come from the heap and
// the heap is not trimmed below 64 MiB of free top, as glibc's adaptive defaults end up doing. A
// scrape's row array (7 MB at 50,000 eSIMs) is then reused, not mapped and faulted in again on
// every scrape (~30 ms more per scrape at 50,000 eSIMs with the startup setting kept).
void TuneMallocForServing();

}  // namespace esim
