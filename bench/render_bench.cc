// Rendering throughput of a standard mapping with two data sources
// (mappings/RESTDeviceIssued.xml: Devices and People) against the demo
// producer database, and the JSON and XML text of the body it produces.
//
//   build/bench/herald_bench_render [--benchmark_filter=...]
//
// The demo database is built in a temporary folder from config/outbox.sql,
// config/demo/producer.sql and config/demo/events.sql.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "common/json_text.h"
#include "db/sqlite.h"
#include "mapping/mapping.h"
#include "mapping/xml_body.h"

namespace {

namespace fs = std::filesystem;
using herald::Event;
using herald::mapping::Mapping;
using herald::mapping::RenderContext;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "herald_bench_render: %s\n", message.c_str());
  std::exit(1);
}

// The demo producer database and the loaded mapping, shared by every run.
struct Demo {
  fs::path dir;
  herald::db::Database db;
  std::shared_ptr<Mapping> mapping;

  Demo() {
    dir = fs::temp_directory_path() / ("herald_bench_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto opened = herald::db::Database::open((dir / "producer.db").string(),
                                             herald::db::Database::Mode::ReadWriteCreate);
    if (!opened) die(opened.error().message);
    db = std::move(opened).value();
    const fs::path source(HERALD_SOURCE_DIR);
    for (const char* file : {"config/outbox.sql", "config/demo/producer.sql", "config/demo/events.sql"}) {
      if (auto s = db.exec(read_text(source / file)); !s) die(std::string(file) + ": " + s.error().message);
    }
    auto m = Mapping::load((source / "mappings/RESTDeviceIssued.xml").string(), &db);
    if (!m) die(m.error().message);
    mapping = *m;
  }

  ~Demo() {
    mapping.reset();
    db = herald::db::Database();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  static Event event(int device, int person) {
    Event e;
    e.id = 2;
    e.entity = "device";
    e.action = "CREATE";
    e.name = "REST Device Issued";
    e.keys = {{"DeviceID", device}, {"PersonID", person}};
    e.occurred_at = "2025-03-04T10:00:00.000Z";
    return e;
  }
};

Demo& demo() {
  static Demo d;
  return d;
}

// One render: two indexed lookups, 17 properties (dates, Boolean, GUIDs,
// a base64 photo).
void BM_RenderDeviceIssued(benchmark::State& state) {
  Mapping& m = *demo().mapping;
  const Event e = Demo::event(1, 1);
  for (auto _ : state) {
    auto r = m.render(RenderContext{e});
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(r->body);
  }
  state.counters["renders_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RenderDeviceIssued);

// The same, cycling over the demo's devices and people (some with no photo
// or HID numbers), so the lookups do not always hit the same rows.
void BM_RenderDeviceIssuedVaried(benchmark::State& state) {
  Mapping& m = *demo().mapping;
  const Event events[] = {Demo::event(1, 1), Demo::event(2, 2), Demo::event(3, 3), Demo::event(4, 4)};
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = m.render(RenderContext{events[i++ % 4]});
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(r->body);
  }
  state.counters["renders_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RenderDeviceIssuedVaried);

// What a channel that sends the body as it is (rest, json) gets: the body
// as JSON text. Rendered as a tree and written out (as before), or written
// as text straight from the property values (BodyForm::Text, what heraldd
// does for such a channel).
void BM_RenderDeviceIssuedToText(benchmark::State& state) {
  Mapping& m = *demo().mapping;
  const Event e = Demo::event(1, 1);
  const bool direct = state.range(0) != 0;
  for (auto _ : state) {
    auto r = m.render(RenderContext{e},
                      direct ? herald::mapping::BodyForm::Text : herald::mapping::BodyForm::Tree);
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      break;
    }
    std::string text = direct ? std::move(r->body_text) : herald::json_text(r->body);
    benchmark::DoNotOptimize(text);
  }
  state.SetLabel(direct ? "text from the values" : "tree, then json_text");
  state.counters["renders_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RenderDeviceIssuedToText)->Arg(0)->Arg(1);

// The rendered body as text: JSON as the rest, json and xml channels get it
// (json_text), the same text through nlohmann's dump(), and XML (pugixml
// tree + save).
std::string json_by_dump(const nlohmann::json& body) { return body.dump(); }
std::string xml(const nlohmann::json& body) { return herald::mapping::body_to_xml(body); }

template <std::string (*kWrite)(const nlohmann::json&)>
void BM_BodyText(benchmark::State& state) {
  auto r = demo().mapping->render(RenderContext{Demo::event(1, 1)});
  if (!r) {
    state.SkipWithError(r.error().message.c_str());
    return;
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = kWrite(r->body);
    bytes += text.size();
    benchmark::DoNotOptimize(text);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["docs_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BodyText<herald::json_text>)->Name("BM_BodyToJson");
BENCHMARK(BM_BodyText<json_by_dump>)->Name("BM_BodyToJsonWithDump");
BENCHMARK(BM_BodyText<xml>)->Name("BM_BodyToXml");

// Render and serialise, as an XML channel would.
void BM_RenderAndXml(benchmark::State& state) {
  Mapping& m = *demo().mapping;
  const Event e = Demo::event(1, 1);
  for (auto _ : state) {
    auto r = m.render(RenderContext{e});
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      break;
    }
    std::string xml = herald::mapping::body_to_xml(r->body);
    benchmark::DoNotOptimize(xml);
  }
  state.counters["per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RenderAndXml);

}  // namespace

BENCHMARK_MAIN();
