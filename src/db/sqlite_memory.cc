#include "db/sqlite_memory.h"

#include <sqlite3.h>

#include <bit>
#include <cstdlib>
#include <cstring>

namespace herald::db {
namespace {

// Each block carries its usable size in front of what SQLite sees, which
// keeps the process allocator's 16-byte alignment (SQLite needs 8).
constexpr std::size_t kHeader = 16;
constexpr int kClasses = 7;  // 32, 64, ..., 2048 bytes
constexpr std::size_t kSmallest = 32;
// Bytes a thread keeps per size; beyond that a freed block goes back to the
// process allocator, so a burst does not stay with the thread.
constexpr std::size_t kKeptPerClass = 64 * 1024;

static_assert(kSmallest << (kClasses - 1) == kSqliteCachedMax);

// The class serving n bytes, or -1 when n is beyond the largest.
int class_of(std::size_t n) {
  if (n <= kSmallest) return 0;
  if (n > kSqliteCachedMax) return -1;
  return static_cast<int>(std::bit_width(n - 1)) - static_cast<int>(std::bit_width(kSmallest - 1));
}

constexpr std::size_t class_size(int c) { return kSmallest << c; }

// A block's own size names its class: cached blocks are allocated at exactly
// a class's size, and every other block is larger than the largest class.
int class_of_block(std::size_t usable) {
  if (usable > kSqliteCachedMax || !std::has_single_bit(usable) || usable < kSmallest) return -1;
  return class_of(usable);
}

std::size_t& usable_of(void* p) { return *reinterpret_cast<std::size_t*>(static_cast<char*>(p) - kHeader); }

struct FreeBlock {
  FreeBlock* next;
};

struct Cache {
  FreeBlock* head[kClasses] = {};
  std::size_t count[kClasses] = {};
  SqliteMemoryCounts counts;
  ~Cache();
};

// 0 before the thread's cache exists, 1 while it does, 2 once the thread's
// exit destroyed it (SQLite may still free memory then: plain free()).
thread_local int t_state = 0;
thread_local Cache t_cache;

Cache::~Cache() {
  t_state = 2;
  for (int c = 0; c < kClasses; ++c) {
    while (FreeBlock* b = head[c]) {
      head[c] = b->next;
      std::free(reinterpret_cast<char*>(b) - kHeader);
    }
  }
}

Cache* cache() {
  if (t_state == 2) return nullptr;
  t_state = 1;
  return &t_cache;
}

void* fresh_block(std::size_t usable) {
  void* raw = std::malloc(kHeader + usable);
  if (!raw) return nullptr;
  void* p = static_cast<char*>(raw) + kHeader;
  usable_of(p) = usable;
  return p;
}

void* cached_malloc(int n) {
  if (n <= 0) return nullptr;
  const auto size = static_cast<std::size_t>(n);
  const int c = class_of(size);
  if (c < 0) return fresh_block((size + 7) & ~std::size_t{7});
  Cache* k = cache();
  if (k && k->head[c]) {
    FreeBlock* b = k->head[c];
    k->head[c] = b->next;
    --k->count[c];
    ++k->counts.reused;
    return b;
  }
  if (k) ++k->counts.fresh;
  return fresh_block(class_size(c));
}

void cached_free(void* p) {
  if (!p) return;
  const int c = class_of_block(usable_of(p));
  Cache* k = c < 0 ? nullptr : cache();
  if (!k || (k->count[c] + 1) * class_size(c) > kKeptPerClass) {
    std::free(static_cast<char*>(p) - kHeader);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = k->head[c];
  k->head[c] = b;
  ++k->count[c];
}

int cached_size(void* p) { return p ? static_cast<int>(usable_of(p)) : 0; }

void* cached_realloc(void* p, int n) {
  if (!p) return cached_malloc(n);
  const std::size_t have = usable_of(p);
  if (n > 0 && static_cast<std::size_t>(n) <= have) return p;
  void* q = cached_malloc(n);
  if (!q) return nullptr;  // SQLite keeps p, as with realloc()
  std::memcpy(q, p, have);
  cached_free(p);
  return q;
}

int cached_roundup(int n) {
  if (n <= 0) return n;
  const auto size = static_cast<std::size_t>(n);
  const int c = class_of(size);
  return static_cast<int>(c < 0 ? (size + 7) & ~std::size_t{7} : class_size(c));
}

int cached_init(void*) { return SQLITE_OK; }
void cached_shutdown(void*) {}

}  // namespace

bool install_sqlite_memory() {
  static const sqlite3_mem_methods methods{cached_malloc,  cached_free, cached_realloc,  cached_size,
                                           cached_roundup, cached_init, cached_shutdown, nullptr};
  return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) == SQLITE_OK;
}

SqliteMemoryCounts sqlite_memory_counts() {
  Cache* k = cache();
  if (!k) return {};
  SqliteMemoryCounts counts = k->counts;
  for (int c = 0; c < kClasses; ++c) counts.cached_bytes += k->count[c] * class_size(c);
  return counts;
}

}  // namespace herald::db
