// The query of one [[schedule]]: a SELECT on a producer table or view,
// narrowed by <Where>-like conditions whose dates are relative to the run,
// and turned row by row into events for the normal pipeline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "db/sqlite.h"
#include "mapping/data_source.h"
#include "outbox/event.h"
#include "schedule/relative_date.h"
#include "schedule/time_zone.h"

namespace herald::schedule {

struct QueryResult {
  std::vector<Event> events;  // ids are left 0: the state store gives them
  bool truncated = false;     // more rows than max_rows matched
};

class ScheduleQuery {
 public:
  // Prepares the statement and checks every column it names (conditions,
  // keys, values) against the view; errors name the column and its role.
  static Result<ScheduleQuery> prepare(const config::ScheduleConfig& schedule, const TimeZone& zone,
                                       db::Database& producer);

  const std::string& sql() const { return sql_; }

  // Runs the query for a run whose "now" is now_s. A failure of the
  // database (busy, locked, schema changed) is an Error::temporary.
  Result<QueryResult> run(int64_t now_s);

 private:
  struct DateBinding {
    int param = 0;
    RelativeDate date;
    DateFormat format = DateFormat::Iso8601;
  };
  struct Field {
    std::string name;  // event key or value name
    int column = -1;
  };
  ScheduleQuery(const config::ScheduleConfig& schedule, TimeZone zone)
      : schedule_(schedule), zone_(std::move(zone)) {}

  config::ScheduleConfig schedule_;
  TimeZone zone_;
  std::string sql_;
  db::Statement stmt_;
  std::vector<std::pair<int, std::string>> literals_;  // parameter, value
  std::vector<DateBinding> dates_;
  std::vector<Field> keys_;
  std::vector<Field> values_;
};

}  // namespace herald::schedule
