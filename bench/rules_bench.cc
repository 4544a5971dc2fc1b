// Events matched per second against 10 and 10,000 notification
// configurations, each watching its own attribute with a rule: the index
// keeps the cost of an event independent of configurations that cannot
// match it.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>

#include "rules/matcher.h"

namespace {

using herald::Event;
using herald::config::Config;
using herald::config::NotificationConfig;

Config configurations(int count) {
  Config cfg;
  cfg.path = "bench.toml";
  for (int i = 0; i < count; ++i) {
    NotificationConfig n;
    n.name = "n" + std::to_string(i);
    n.entity = "identity";
    n.action = "UPDATE";
    n.endpoint = "e";
    n.rule = "attr" + std::to_string(i) + ":old->new";
    cfg.notifications.push_back(std::move(n));
  }
  return cfg;
}

void BM_MatchEvent(benchmark::State& state) {
  Config cfg = configurations(static_cast<int>(state.range(0)));
  auto matcher = herald::rules::Matcher::build(cfg);
  if (!matcher) {
    state.SkipWithError(matcher.error().message.c_str());
    return;
  }
  Event e;
  e.entity = "identity";
  e.action = "UPDATE";
  e.keys = {{"PersonID", "7"}};
  e.old_values = {{"attr5", "old"}, {"firstName", "Ann"}};
  e.new_values = {{"attr5", "new"}, {"firstName", "Anna"}};
  std::vector<std::string> errors;
  size_t matched = 0;
  for (auto _ : state) {
    auto m = matcher.value()->match(e, errors);
    matched += m.size();
    benchmark::DoNotOptimize(m);
  }
  if (matched != static_cast<size_t>(state.iterations()))
    state.SkipWithError("expected exactly one match per event");
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("events matched");
}
BENCHMARK(BM_MatchEvent)->Arg(10)->Arg(10'000);

void BM_MatchEventWithScript(benchmark::State& state) {
  // Scripts run for every event of their entity and action: the cost of one
  // sandboxed evaluation.
  Config cfg = configurations(1);
  char path[] = "/tmp/herald-bench-XXXXXX.lua";
  int fd = mkstemps(path, 4);
  if (fd < 0) {
    state.SkipWithError("mkstemps failed");
    return;
  }
  const char script[] = "return new.firstName ~= old.firstName\n";
  if (write(fd, script, sizeof script - 1) < 0) state.SkipWithError("write failed");
  close(fd);
  cfg.notifications[0].script = path;
  auto matcher = herald::rules::Matcher::build(cfg);
  unlink(path);
  if (!matcher) {
    state.SkipWithError(matcher.error().message.c_str());
    return;
  }
  Event e;
  e.entity = "identity";
  e.action = "UPDATE";
  e.old_values = {{"firstName", "Ann"}};
  e.new_values = {{"firstName", "Anna"}};
  std::vector<std::string> errors;
  for (auto _ : state) benchmark::DoNotOptimize(matcher.value()->match(e, errors));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MatchEventWithScript);

}  // namespace

BENCHMARK_MAIN();
