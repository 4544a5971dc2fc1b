// Reading and writing the JSON an event is made of: the producer's
// new_values column as the outbox reader parses it (parse_json, and
// nlohmann's own parser for comparison), and the text written back.
//
//   build/bench/herald_bench_json [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <string>

#include "common/json_parse.h"
#include "common/json_text.h"

namespace {

// An event's new values: short strings, a number, a Boolean, a null, some
// accented text and one long comment (about 1 KB in all, as in the end to
// end benchmark).
std::string new_values() {
  nlohmann::json j = {{"PersonID", "P00042"},
                      {"FirstName", "Zoë"},
                      {"Surname", "Lefèvre"},
                      {"Email", "zoe.lefevre@example.com"},
                      {"Department", "Research & Development"},
                      {"EmployeeNumber", 104233},
                      {"Active", true},
                      {"Manager", nullptr},
                      {"title", "Senior engineer"},
                      {"comment", std::string(700, 'x') + " \"quoted\" and a tab\there"}};
  return j.dump();
}

template <bool kNlohmann>
void BM_ParseNewValues(benchmark::State& state) {
  const std::string text = new_values();
  for (auto _ : state) {
    nlohmann::json j = kNlohmann ? nlohmann::json::parse(text, nullptr, false) : herald::parse_json(text);
    benchmark::DoNotOptimize(j);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseNewValues<false>)->Name("BM_ParseNewValues");
BENCHMARK(BM_ParseNewValues<true>)->Name("BM_ParseNewValuesWithNlohmann");

template <bool kDump>
void BM_WriteNewValues(benchmark::State& state) {
  const nlohmann::json j = nlohmann::json::parse(new_values());
  for (auto _ : state) {
    std::string text = kDump ? j.dump() : herald::json_text(j);
    benchmark::DoNotOptimize(text);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * j.dump().size()));
}
BENCHMARK(BM_WriteNewValues<false>)->Name("BM_WriteNewValues");
BENCHMARK(BM_WriteNewValues<true>)->Name("BM_WriteNewValuesWithDump");

}  // namespace

BENCHMARK_MAIN();
