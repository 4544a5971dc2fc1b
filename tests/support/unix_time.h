// Times in tests written as text and turned into unix seconds by libc, not by
// the code under test.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <ctime>

namespace herald::test {

// "2026-03-29T01:00:00Z" as unix seconds; a malformed time fails the test.
inline int64_t unix_seconds(const char* iso_utc) {
  struct tm tm = {};
  char zulu = 0;
  if (std::sscanf(iso_utc, "%d-%d-%dT%d:%d:%d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &zulu) != 7 ||
      zulu != 'Z') {
    ADD_FAILURE() << "bad test time " << iso_utc;
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return timegm(&tm);
}

}  // namespace herald::test
