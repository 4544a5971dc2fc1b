// SQLite's own memory, served from small per-thread caches.
//
// SQLite allocates a buffer for every text value a statement reads or binds
// and frees it when the statement is reset: an UPDATE of one notification
// row alone makes about ten such allocations. SQLite's lookaside (a small
// per-connection pool that would serve them) is compiled out of Debian's
// library (SQLITE_OMIT_LOOKASIDE), so each went to the process allocator,
// which hands back blocks freed long before, out of cache. These caches
// give a block back to the next request of its size on the same thread
// while it is still in cache, as lookaside would.
#pragma once

#include <cstddef>
#include <cstdint>

namespace herald::db {

// Makes SQLite use the caches. Takes effect only before SQLite initialises
// (the first connection opened does that); Database::open calls it first.
// Returns whether SQLite took it.
bool install_sqlite_memory();

// Requests up to this size come from the caches, in seven sizes (32 bytes to
// 2 KB); larger ones go straight to the process allocator.
inline constexpr std::size_t kSqliteCachedMax = 2048;

// What the calling thread's cache has done, for tests and benchmarks.
struct SqliteMemoryCounts {
  uint64_t reused = 0;           // requests served from the cache
  uint64_t fresh = 0;            // requests passed on to the process allocator
  std::size_t cached_bytes = 0;  // held in the cache now
};
SqliteMemoryCounts sqlite_memory_counts();

}  // namespace herald::db
