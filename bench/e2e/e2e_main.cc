// End-to-end benchmark: Herald against the machine's ceiling and a peer, on
// 127.0.0.1, all in one run. Run by scripts/bench.sh; see docs/performance.md.
//
//   herald_bench_e2e [--n 200000] [--body-bytes 1024] [--rate 1000] [--latency-seconds 10]
//                    [--backlog 1000000] [--concurrency 8,16,32,64] [--syslog-ng-workers 8]
//                    [--phase-timeout 600] [--rounds 3] [--out results.md] [--skip ceiling,...]
//
// Phases (each can be skipped with --skip NAME); the first four, the throughput
// runs, go round --rounds times, one after the other, and the report shows each
// run's median round and the ratios of each round:
//   ceiling    herald_bench_ceiling (libcurl multi, keep-alive) POSTs the N bodies, per concurrency
//   syslog-ng  syslog-ng reads the N bodies from a file, delivers each with http() through a
//              reliable disk buffer
//   normal     heraldd delivers the N outbox events, state database synchronous=NORMAL
//   full       the same with synchronous=FULL (the default)
//   latency    heraldd (FULL) while events are inserted at --rate for --latency-seconds:
//              insert-to-delivery latency, idle RSS and idle CPU
//   backlog    heraldd with --backlog notifications waiting for a retry tomorrow and 1,000 more
//              coming due over 10 s: RSS and the delay from due time to dispatch
//   drain      the N events arrive while the endpoint is down (nothing listens on its port);
//              once it is back, how fast heraldd delivers what waited (synchronous=FULL)
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "db/sqlite.h"
#include "e2e/dataset.h"
#include "e2e/servers.h"
#include "state/state_store.h"
#include "support/daemon_process.h"
#include "support/test_env.h"

namespace herald::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Options {
  int64_t n = 200'000;
  int body_bytes = 1024;
  int rate = 1000;
  int latency_seconds = 10;
  int64_t backlog = 1'000'000;
  std::vector<int> concurrency = {8, 16, 32, 64};
  int syslog_ng_workers = 8;
  int phase_timeout = 600;
  int rounds = 3;
  int endpoint_max_in_flight = 0;  // the endpoint's own max_in_flight; 0: none
  std::string out;
  std::set<std::string> skip;
};

[[noreturn]] void usage(const std::string& message) {
  std::cerr << "herald_bench_e2e: " << message
            << "\nusage: herald_bench_e2e [--n N] [--body-bytes B] [--rate R] [--latency-seconds S] "
               "[--backlog M] [--concurrency 8,16,32,64] [--syslog-ng-workers W] [--phase-timeout S] "
               "[--rounds R] [--endpoint-max-in-flight M] [--out FILE] "
               "[--skip ceiling,syslog-ng,normal,full,latency,backlog,drain]\n";
  std::exit(2);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") usage("help");
    if (i + 1 >= argc) usage("missing value for " + arg);
    const std::string value = argv[++i];
    auto number = [&](int64_t low) {
      char* end = nullptr;
      const long long v = std::strtoll(value.c_str(), &end, 10);
      if (*end != '\0' || v < low)
        usage(arg + ": expected a whole number of at least " + std::to_string(low));
      return static_cast<int64_t>(v);
    };
    if (arg == "--n") {
      o.n = number(1);
    } else if (arg == "--body-bytes") {
      o.body_bytes = static_cast<int>(number(1));
    } else if (arg == "--rate") {
      o.rate = static_cast<int>(number(1));
    } else if (arg == "--latency-seconds") {
      o.latency_seconds = static_cast<int>(number(1));
    } else if (arg == "--backlog") {
      o.backlog = number(0);
    } else if (arg == "--concurrency") {
      o.concurrency.clear();
      for (const auto& c : split(value, ',')) o.concurrency.push_back(std::atoi(c.c_str()));
      if (o.concurrency.empty()) usage("--concurrency: expected a list such as 8,16,32,64");
    } else if (arg == "--syslog-ng-workers") {
      o.syslog_ng_workers = static_cast<int>(number(1));
    } else if (arg == "--phase-timeout") {
      o.phase_timeout = static_cast<int>(number(10));
    } else if (arg == "--rounds") {
      o.rounds = static_cast<int>(number(1));
    } else if (arg == "--endpoint-max-in-flight") {
      o.endpoint_max_in_flight = static_cast<int>(number(1));
    } else if (arg == "--out") {
      o.out = value;
    } else if (arg == "--skip") {
      for (const auto& s : split(value, ',')) o.skip.insert(s);
    } else {
      usage("unknown option " + arg);
    }
  }
  return o;
}

int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  // A value that rounds to zero from below prints as zero, not "-0.0".
  std::string out = buf;
  if (out.front() == '-' && out.find_first_not_of("-0.") == std::string::npos) out.erase(0, 1);
  return out;
}

std::string thousands(double v) {
  std::string digits = std::to_string(static_cast<long long>(std::llround(v)));
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<size_t>(i), ",");
  return digits;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank > 0 ? rank - 1 : 0)];
}

void note(const std::string& line) { std::cerr << "bench: " << line << std::endl; }

// One throughput run's figures.
struct Throughput {
  std::string name;
  std::string detail;
  int64_t delivered = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  long peak_rss_kib = 0;
  double nginx_cpu_seconds = NAN;                       // nginx's, during the run
  std::vector<std::pair<std::string, double>> threads;  // the sender's CPU seconds per thread name
  double per_second() const { return seconds > 0 ? static_cast<double>(delivered) / seconds : 0; }
};

// The throughput runs of one round: this machine's speed drifts by a fifth
// within minutes, so ratios are taken within a round.
struct Round {
  std::vector<Throughput> ceiling;  // one per concurrency
  std::optional<Throughput> peer, normal, full;

  const Throughput* best_ceiling() const {
    const Throughput* best = nullptr;
    for (const auto& t : ceiling) {
      if (!best || t.per_second() > best->per_second()) best = &t;
    }
    return best;
  }
};

struct Latency {
  std::string mode;
  int64_t events = 0;
  int64_t delivered = 0;
  double p50_ms = NAN, p99_ms = NAN, max_ms = NAN;
  long idle_rss_kib = 0;
  double idle_cpu_seconds = 0;
  int idle_seconds = 0;
};

// An endpoint's outage and what heraldd does once it is back.
struct Drain {
  int64_t waiting = 0;  // the first of each person's notifications, its attempt failed
  int64_t held = 0;     // the others, behind it
  double outage_seconds = 0;
  Throughput delivery;
};

struct Backlog {
  int64_t waiting = 0;
  int64_t due = 0;
  int64_t dispatched = 0;
  double create_seconds = 0;
  long peak_rss_kib = 0;
  long rss_kib = 0;
  double p50_ms = NAN, p99_ms = NAN, max_ms = NAN;
};

class Bench {
 public:
  explicit Bench(Options o) : o_(std::move(o)) {}

  void run() {
    nginx_ = std::make_unique<Nginx>(dir_.file("nginx"));
    note("nginx on " + nginx_->url() + ", work folder " + dir_.path());
    write_mapping(mapping());
    const auto t0 = Clock::now();
    ProducerOptions po;
    po.events = o_.n;
    po.body_bytes = o_.body_bytes;
    padding_ = create_producer(producer(), mapping(), po);
    body_bytes_ = write_bodies(producer(), mapping(), bodies());
    note("producer database with " + thousands(static_cast<double>(o_.n)) + " events, bodies of " +
         fixed(body_bytes_, 0) + " bytes on average, in " + fixed(seconds_since(t0), 1) + " s");

    for (int r = 1; r <= o_.rounds; ++r) {
      if (o_.rounds > 1) note("round " + std::to_string(r) + " of " + std::to_string(o_.rounds));
      rounds_.emplace_back();
      if (!o_.skip.count("ceiling")) run_ceiling();
      if (!o_.skip.count("syslog-ng")) run_syslog_ng();
      if (!o_.skip.count("normal")) run_herald(false);
      if (!o_.skip.count("full")) run_herald(true);
    }
    if (!o_.skip.count("latency")) run_latency(true);
    if (!o_.skip.count("latency")) run_latency(false);
    if (!o_.skip.count("backlog")) run_backlog();
    if (!o_.skip.count("drain")) run_drain();
    nginx_.reset();
  }

  std::string report() const;

 private:
  // One throughput run over the rounds, found in each by `pick`.
  struct Series {
    std::vector<const Throughput*> runs;  // in round order
    const Throughput* median = nullptr;   // the median round, by rate
    std::vector<double> vs_ceiling;       // the rate over the round's best ceiling, per round
    std::vector<double> vs_peer;          // over the round's syslog-ng
  };
  Series series(const std::function<const Throughput*(const Round&)>& pick) const;
  // Every throughput run of the report, in its order: each ceiling, syslog-ng, heraldd.
  std::vector<Series> all_series() const;
  void where_the_cpu_went(std::ostringstream& md, const std::vector<Series>& runs) const;
  std::string mapping() const { return dir_.file("bench.xml"); }
  std::string producer() const { return dir_.file("producer.db"); }
  std::string bodies() const { return dir_.file("bodies.ndjson"); }
  static double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }
  std::chrono::milliseconds phase_bound() const { return std::chrono::seconds(o_.phase_timeout); }

  void check_interrupted() const {
    if (interrupted()) throw std::runtime_error("interrupted");
  }

  // Each measured phase starts on a quiet machine: what the one before wrote
  // (syslog-ng's disk buffer, a state database) is on disk, and its processes
  // have let go of the cores. Without this a phase pays for its predecessor's
  // writeback, which made heraldd's figures after syslog-ng lower than alone.
  void settle() const {
    check_interrupted();
    const auto t0 = Clock::now();
    ::sync();
    std::this_thread::sleep_for(1s);
    note("  settled in " + fixed(seconds_since(t0), 1) + " s (sync, then 1 s idle)");
  }

  // heraldd's configuration: the producer's events to `url` (nginx's, with
  // a path prefix of the phase's own).
  std::string herald_config(const std::string& run_dir, const std::string& producer_db,
                            const std::string& url, bool full) const {
    std::ostringstream toml;
    toml << "[daemon]\nstate_db = \"state.db\"\nplugin_dir = \"" << HERALD_BENCH_PLUGIN_DIR << "\"\n"
         << "state_synchronous = \"" << (full ? "full" : "normal") << "\"\n\n"
         << "[outbox]\ndatabase = \"" << producer_db << "\"\n\n"
         << "[endpoints.nginx]\nchannel = \"rest\"\nurl = \"" << url << "\"\n"
         << (o_.endpoint_max_in_flight > 0
                 ? "max_in_flight = " + std::to_string(o_.endpoint_max_in_flight) + "\n"
                 : std::string())
         << "\n"
         << "[[notification]]\nname = \"Person Changed\"\non = \"" << kEventName << "\"\n"
         << "endpoint = \"nginx\"\nmapping = \"" << mapping() << "\"\n";
    fs::create_directories(run_dir);
    test::write_file(run_dir + "/herald.toml", toml.str());
    return run_dir + "/herald.toml";
  }

  // Waits until nginx received `count` requests or the process is gone.
  bool wait_delivered(RequestCounter& counter, const test::DaemonProcess& p, int64_t count,
                      std::chrono::milliseconds bound) {
    return wait_for([&] { return counter.received() >= count || !p.rss_kib(); }, bound, 10ms) &&
           counter.received() >= count;
  }

  void run_ceiling() {
    for (int c : o_.concurrency) {
      settle();
      const std::string cmd = std::string(HERALD_BENCH_CEILING_PATH) + " --url " + nginx_->url() +
                              "/c/events/ --bodies " + bodies() + " --concurrency " + std::to_string(c) +
                              " --timeout-seconds " + std::to_string(o_.phase_timeout);
      note("ceiling, " + std::to_string(c) + " connections");
      const double nginx0 = nginx_->cpu_seconds();
      auto r = test::run_process(cmd, o_.phase_timeout + 10);
      const double nginx_cpu = nginx_->cpu_seconds() - nginx0;
      std::map<std::string, std::string> kv;
      for (const auto& item : split(r.output.substr(0, r.output.find('\n')), ' ')) {
        const auto eq = item.find('=');
        if (eq != std::string::npos) kv[item.substr(0, eq)] = item.substr(eq + 1);
      }
      if (r.exit_code != 0 || !kv.count("sent"))
        throw std::runtime_error("ceiling client failed: " + r.output);
      Throughput t;
      t.name = "libcurl multi";
      t.detail = std::to_string(c) + " connections";
      t.delivered = std::stoll(kv["sent"]);
      t.seconds = std::stod(kv["seconds"]);
      t.cpu_seconds = std::stod(kv["cpu_seconds"]);
      t.peak_rss_kib = std::stol(kv["peak_rss_kib"]);
      t.nginx_cpu_seconds = nginx_cpu;
      note("  " + thousands(t.per_second()) + " /s");
      rounds_.back().ceiling.push_back(t);
    }
  }

  void run_syslog_ng() {
    settle();
    const std::string run = dir_.file("syslog-ng");
    fs::remove_all(run);  // the round before's
    fs::create_directories(run + "/buffer");
    const std::string events = run + "/events.log";
    fs::copy_file(bodies(), events);
    std::ostringstream conf;
    conf << "@version: 3.38\n"
         << "options { stats-freq(0); keep-hostname(yes); chain-hostnames(no); use-dns(no); };\n"
         << "source s_events { file(\"" << events << "\" flags(no-parse) follow-freq(1)); };\n"
         << "destination d_nginx {\n  http(url(\"" << nginx_->url() << "/s/events\") method(\"POST\")\n"
         << "       headers(\"Content-Type: application/json\") body(\"${MSG}\") workers("
         << o_.syslog_ng_workers << ")\n       batch-lines(1) persist-name(\"bench\")\n"
         << "       disk-buffer(reliable(yes) dir(\"" << run << "/buffer\") mem-buf-size(16777216)\n"
         << "                   disk-buf-size(4294967296)));\n};\n"
         << "log { source(s_events); destination(d_nginx); };\n";
    test::write_file(run + "/syslog-ng.conf", conf.str());
    std::vector<std::string> argv = {"/usr/sbin/syslog-ng",
                                     "-F",
                                     "--no-caps",
                                     "-f",
                                     run + "/syslog-ng.conf",
                                     "-R",
                                     run + "/syslog-ng.persist",
                                     "-p",
                                     run + "/syslog-ng.pid",
                                     "-c",
                                     run + "/syslog-ng.ctl"};
    if (::geteuid() == 0) {
      // Never as root: an ordinary user's foreground process, as nobody.
      for (const auto& p : {dir_.path(), run})
        fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
      for (const auto& entry : fs::recursive_directory_iterator(run))
        ::chown(entry.path().c_str(), 65534, 65534);
      ::chown(run.c_str(), 65534, 65534);
      argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
    }
    note("syslog-ng, " + std::to_string(o_.syslog_ng_workers) + " workers");
    RequestCounter counter(*nginx_);
    const double nginx0 = nginx_->cpu_seconds();
    const auto start = Clock::now();
    test::DaemonProcess p(argv, run + "/syslog-ng.out");
    const bool all = wait_delivered(counter, p, o_.n, phase_bound());
    const double nginx_cpu = nginx_->cpu_seconds() - nginx0;
    Throughput t;
    t.name = "syslog-ng " + std::string("http() + disk-buffer(reliable(yes))");
    t.detail = std::to_string(o_.syslog_ng_workers) + " workers, no fsync";
    t.seconds = seconds_since(start);
    t.delivered = counter.received();
    t.cpu_seconds = p.cpu_seconds().value_or(NAN);
    t.peak_rss_kib = p.peak_rss_kib().value_or(-1);
    t.nginx_cpu_seconds = nginx_cpu;
    p.stop();
    if (!all)
      throw std::runtime_error("syslog-ng delivered " + std::to_string(t.delivered) + " of " +
                               std::to_string(o_.n) + ": " + p.log());
    note("  " + thousands(t.per_second()) + " /s");
    rounds_.back().peer = t;
  }

  void run_herald(bool full) {
    settle();
    const std::string run = dir_.file(full ? "herald-full" : "herald-normal");
    fs::remove_all(run);  // the round before's
    const std::string config = herald_config(run, producer(), nginx_->url() + "/h", full);
    note(std::string("heraldd, synchronous=") + (full ? "FULL" : "NORMAL"));
    RequestCounter counter(*nginx_);
    (full ? rounds_.back().full : rounds_.back().normal) = measure_herald(
        config, run, full ? "state synchronous=FULL" : "state synchronous=NORMAL", counter, "");
  }

  // Starts heraldd with `config` (its state database in `run`) and measures
  // it delivering N to the counter's nginx. Every one of them must be marked
  // delivered in the state database once heraldd stopped. `what` begins
  // the errors.
  Throughput measure_herald(const std::string& config, const std::string& run, const std::string& detail,
                            RequestCounter& counter, const std::string& what) {
    const double nginx0 = counter.nginx().cpu_seconds();
    const auto start = Clock::now();
    test::DaemonProcess p(config, run + "/heraldd.log");
    const bool all = wait_delivered(counter, p, o_.n, phase_bound());
    Throughput t;
    t.name = "heraldd";
    t.detail = detail;
    t.seconds = seconds_since(start);
    t.delivered = counter.received();
    t.nginx_cpu_seconds = counter.nginx().cpu_seconds() - nginx0;
    t.cpu_seconds = p.cpu_seconds().value_or(NAN);
    t.threads = p.thread_cpu_seconds();
    t.peak_rss_kib = p.peak_rss_kib().value_or(-1);
    const int code = p.stop(30s);
    if (!all || code != 0) {
      throw std::runtime_error(what + "heraldd delivered " + std::to_string(t.delivered) + " of " +
                               std::to_string(o_.n) + ", exit code " + std::to_string(code) + ": " +
                               tail(p.log()));
    }
    const int64_t marked = count_delivered(run + "/state.db");
    if (marked != o_.n)
      throw std::runtime_error(what + "state database marks " + std::to_string(marked) + " delivered");
    note("  " + thousands(t.per_second()) + " /s");
    return t;
  }

  static std::string tail(const std::string& log) {
    return log.size() > 2000 ? log.substr(log.size() - 2000) : log;
  }

  static int64_t count_delivered(const std::string& state_db) {
    return test::query_int(state_db, "SELECT COUNT(*) FROM notifications WHERE state = 'delivered'");
  }

  // "$msec $request_uri" lines of nginx's timed log under `prefix`: id -> time in unix microseconds.
  // $msec is truncated to the millisecond: the request arrived somewhere in
  // the millisecond after it, so its middle is taken (without that, deliveries
  // within a millisecond of the insert come out negative).
  std::map<int64_t, int64_t> timed_requests(const std::string& prefix) const {
    std::map<int64_t, int64_t> out;
    std::istringstream in(test::read_file(nginx_->timed_log()));
    for (std::string line; std::getline(in, line);) {
      const auto space = line.find(' ');
      if (space == std::string::npos || line.compare(space + 1, prefix.size(), prefix) != 0) continue;
      const double msec = std::stod(line.substr(0, space));
      out[std::stoll(line.substr(space + 1 + prefix.size()))] = std::llround(msec * 1e6) + 500;
    }
    return out;
  }

  bool wait_started(const test::DaemonProcess& p) {
    return wait_for([&] { return p.log().find("started:") != std::string::npos || !p.rss_kib(); }, 30s,
                    20ms) &&
           p.rss_kib().has_value();
  }

  void run_latency(bool full) {
    settle();
    const std::string run = dir_.file(full ? "latency-full" : "latency-normal");
    fs::create_directories(run);
    ProducerOptions po;
    po.padding = padding_;
    create_producer(run + "/producer.db", mapping(), po);
    const std::string prefix = full ? "/lat/full" : "/lat/normal";
    const std::string config = herald_config(run, run + "/producer.db", nginx_->url() + prefix, full);
    note(std::string("latency at ") + std::to_string(o_.rate) +
         " events/s, synchronous=" + (full ? "FULL" : "NORMAL"));
    test::DaemonProcess p(config, run + "/heraldd.log");
    if (!wait_started(p)) throw std::runtime_error("heraldd did not start: " + tail(p.log()));
    Latency l;
    l.mode = full ? "FULL" : "NORMAL";
    // Idle: nothing in the outbox, nothing due.
    std::this_thread::sleep_for(1s);
    l.idle_seconds = 5;
    const double cpu0 = p.cpu_seconds().value_or(NAN);
    std::this_thread::sleep_for(std::chrono::seconds(l.idle_seconds));
    l.idle_cpu_seconds = p.cpu_seconds().value_or(NAN) - cpu0;
    l.idle_rss_kib = p.rss_kib().value_or(-1);

    RequestCounter counter(*nginx_);
    Producer producer_db(run + "/producer.db", padding_);
    l.events = static_cast<int64_t>(o_.rate) * o_.latency_seconds;
    // Measured from the moment the insert begins: heraldd may deliver the
    // event before this thread is back from the commit.
    std::map<int64_t, int64_t> inserted;  // outbox id -> unix microseconds when its insert began
    const auto start = Clock::now();
    for (int64_t i = 0; i < l.events && !interrupted(); ++i) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(i * 1'000'000 / o_.rate));
      const int64_t began = wall_us();
      inserted[producer_db.append(i)] = began;
    }
    wait_delivered(counter, p, l.events, 60s);
    const int code = p.stop(30s);
    if (code != 0)
      throw std::runtime_error("heraldd exit code " + std::to_string(code) + ": " + tail(p.log()));
    std::vector<double> ms;
    for (const auto& [id, at] : timed_requests(prefix + "/events/")) {
      auto it = inserted.find(id);
      if (it != inserted.end()) ms.push_back(static_cast<double>(at - it->second) / 1000.0);
    }
    l.delivered = static_cast<int64_t>(ms.size());
    l.p50_ms = percentile(ms, 50);
    l.p99_ms = percentile(ms, 99);
    l.max_ms = percentile(ms, 100);
    note("  p50 " + fixed(l.p50_ms, 1) + " ms, p99 " + fixed(l.p99_ms, 1) + " ms");
    latencies_.push_back(l);
  }

  void run_backlog() {
    settle();
    const std::string run = dir_.file("backlog");
    fs::create_directories(run);
    ProducerOptions po;
    po.padding = padding_;
    create_producer(run + "/producer.db", mapping(), po);
    const std::string config = herald_config(run, run + "/producer.db", nginx_->url() + "/b", true);
    Backlog b;
    b.waiting = o_.backlog;
    b.due = 1000;
    const int64_t spacing_ms = 10, lead_ms = 3000;
    note("backlog of " + thousands(static_cast<double>(b.waiting)) + " waiting notifications");
    const auto created = Clock::now();
    int64_t first_due = 0;
    {
      auto store = state::StateStore::open(run + "/state.db");  // the real schema
      if (!store) throw std::runtime_error(store.error().message);
      auto db = db::Database::open(run + "/state.db", db::Database::Mode::ReadWriteCreate);
      if (!db) throw std::runtime_error(db.error().message);
      // One event per due notification, so nginx's log names each; the waiting ones share event 0.
      std::ostringstream sql;
      sql << "BEGIN;"
          << "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < " << b.due
          << ") INSERT INTO events (id, entity, action, name, keys, new_values, occurred_at, ingested_at, "
             "status) "
          << "SELECT i, 'identity', 'UPDATE', '" << kEventName << "', '{\"PersonID\":\"P00001\"}', "
          << "'{\"title\":\"Engineer\",\"comment\":\"\"}', '2025-01-01T00:00:00.000Z', 0, 'accepted' FROM k;";
      const int64_t now = wall_us() / 1000;
      first_due = now + lead_ms;  // refreshed below, once the rows exist
      sql << "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < " << b.waiting
          << ") INSERT INTO notifications (event_id, notification, endpoint, state, attempts, "
             "next_attempt_at, "
          << "created_at, updated_at, message_id, ordered, owed) SELECT 0, 'Person Changed', 'nginx', "
             "'waiting', 1, "
          << now + 86'400'000 << ", 0, 0, 'w-' || i, 0, 1 FROM k;"
          << "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < " << b.due
          << ") INSERT INTO notifications (event_id, notification, endpoint, state, attempts, "
             "next_attempt_at, "
          << "created_at, updated_at, message_id, ordered, owed) SELECT i, 'Person Changed', 'nginx', "
             "'waiting', 1, "
          << "0, 0, 0, 'd-' || i, 0, 1 FROM k;"
          << "COMMIT;";
      if (auto s = db->exec(sql.str()); !s) throw std::runtime_error("backlog: " + s.error().message);
      // The due times start a few seconds from now, whatever building the backlog took.
      first_due = wall_us() / 1000 + lead_ms;
      auto due =
          db->exec("UPDATE notifications SET next_attempt_at = " + std::to_string(first_due) +
                   " + (event_id - 1) * " + std::to_string(spacing_ms) + " WHERE message_id LIKE 'd-%'");
      if (!due) throw std::runtime_error("backlog: " + due.error().message);
    }
    b.create_seconds = seconds_since(created);
    RequestCounter counter(*nginx_);
    test::DaemonProcess p(config, run + "/heraldd.log");
    wait_delivered(counter, p, b.due, std::chrono::milliseconds(lead_ms + b.due * spacing_ms) + 60s);
    b.peak_rss_kib = p.peak_rss_kib().value_or(-1);
    b.rss_kib = p.rss_kib().value_or(-1);
    const int code = p.stop(30s);
    if (code != 0)
      throw std::runtime_error("heraldd exit code " + std::to_string(code) + ": " + tail(p.log()));
    std::vector<double> ms;
    for (const auto& [event_id, at] : timed_requests("/b/events/")) {
      if (event_id < 1 || event_id > b.due) continue;
      const int64_t due_ms = first_due + (event_id - 1) * spacing_ms;
      ms.push_back(static_cast<double>(at) / 1000.0 - static_cast<double>(due_ms));
    }
    b.dispatched = static_cast<int64_t>(ms.size());
    b.p50_ms = percentile(ms, 50);
    b.p99_ms = percentile(ms, 99);
    b.max_ms = percentile(ms, 100);
    note("  peak RSS " + std::to_string(b.peak_rss_kib / 1024) + " MiB, due-to-delivery p50 " +
         fixed(b.p50_ms, 1) + " ms");
    backlog_ = b;
  }

  void run_drain() {
    settle();
    const std::string run = dir_.file("drain");
    const uint16_t port = free_port();  // nothing listens there until the outage ends
    const std::string config =
        herald_config(run, producer(), "http://127.0.0.1:" + std::to_string(port) + "/d", true);
    const std::string state = run + "/state.db";
    Drain d;
    note("drain: the N events while the endpoint is down");
    const auto outage = Clock::now();
    {
      test::DaemonProcess p(config, run + "/heraldd-outage.log");
      // Every event ingested, every notification waiting for a retry or held behind one.
      auto settled = [&] {
        if (!fs::exists(state)) return false;
        return test::query_int(
                   state, "SELECT COUNT(*) FROM notifications WHERE state = 'waiting' OR state = 'held'") ==
               o_.n;
      };
      const bool all = wait_for([&] { return settled() || !p.rss_kib(); }, phase_bound(), 200ms) && settled();
      const int code = p.stop(30s);
      if (!all || code != 0)
        throw std::runtime_error("drain: heraldd did not settle the outage, exit code " +
                                 std::to_string(code) + ": " + tail(p.log()));
    }
    d.outage_seconds = seconds_since(outage);
    d.waiting = test::query_int(state, "SELECT COUNT(*) FROM notifications WHERE state = 'waiting'");
    d.held = test::query_int(state, "SELECT COUNT(*) FROM notifications WHERE state = 'held'");
    {
      // The retries come due now instead of in ten minutes.
      auto db = db::Database::open(state, db::Database::Mode::ReadWriteCreate);
      if (!db) throw std::runtime_error(db.error().message);
      if (auto s = db->exec("UPDATE notifications SET next_attempt_at = 0 WHERE state = 'waiting'"); !s)
        throw std::runtime_error("drain: " + s.error().message);
    }
    Nginx back(run + "/nginx", port);
    settle();
    note("drain: " + thousands(static_cast<double>(d.waiting)) + " due, " +
         thousands(static_cast<double>(d.held)) + " held behind them; the endpoint is back");
    RequestCounter counter(back);
    d.delivery = measure_herald(config, run, "after an outage, synchronous=FULL", counter, "drain: ");
    drain_ = d;
  }

  Options o_;
  test::TempDir dir_;
  std::unique_ptr<Nginx> nginx_;
  int padding_ = 0;
  double body_bytes_ = 0;
  std::vector<Round> rounds_;
  std::vector<Latency> latencies_;
  std::optional<Backlog> backlog_;
  std::optional<Drain> drain_;
};

std::string machine() {
  std::string model = "unknown CPU";
  std::istringstream cpu(test::read_file("/proc/cpuinfo"));
  for (std::string line; std::getline(cpu, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  ::uname(&u);
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + " × " + model + ", " +
         std::to_string(static_cast<long long>(pages) * page / (1024LL * 1024 * 1024)) + " GiB, Linux " +
         u.release;
}

std::string load() {
  double l[3] = {0, 0, 0};
  if (::getloadavg(l, 3) != 3) return "?";
  return fixed(l[0], 2) + " " + fixed(l[1], 2) + " " + fixed(l[2], 2);
}

Bench::Series Bench::series(const std::function<const Throughput*(const Round&)>& pick) const {
  Series s;
  for (const Round& r : rounds_) {
    const Throughput* t = pick(r);
    if (!t) continue;
    s.runs.push_back(t);
    if (const Throughput* best = r.best_ceiling())
      s.vs_ceiling.push_back(t->per_second() / best->per_second());
    if (r.peer) s.vs_peer.push_back(t->per_second() / r.peer->per_second());
  }
  if (!s.runs.empty()) {
    auto by_rate = s.runs;
    std::sort(by_rate.begin(), by_rate.end(),
              [](const Throughput* a, const Throughput* b) { return a->per_second() < b->per_second(); });
    s.median = by_rate[(by_rate.size() - 1) / 2];
  }
  return s;
}

std::vector<Bench::Series> Bench::all_series() const {
  std::vector<Series> out;
  size_t configs = 0;
  for (const Round& r : rounds_) configs = std::max(configs, r.ceiling.size());
  for (size_t i = 0; i < configs; ++i) {
    out.push_back(series([i](const Round& r) { return i < r.ceiling.size() ? &r.ceiling[i] : nullptr; }));
  }
  for (auto member : {&Round::peer, &Round::normal, &Round::full}) {
    Series s = series([member](const Round& r) { return (r.*member) ? &*(r.*member) : nullptr; });
    if (s.median) out.push_back(std::move(s));
  }
  return out;
}

// CPU per request of the sender and of nginx, how much of the machine both
// kept busy, and the sender's threads: what two cores allow, run by run (the
// median round of each).
void Bench::where_the_cpu_went(std::ostringstream& md, const std::vector<Series>& all) const {
  std::vector<const Throughput*> runs;
  for (const Series& s : all) runs.push_back(s.median);
  if (drain_) runs.push_back(&drain_->delivery);
  if (runs.empty()) return;
  auto us = [](double seconds, int64_t n) {
    return n > 0 && !std::isnan(seconds) ? fixed(seconds * 1e6 / static_cast<double>(n), 1)
                                         : std::string("?");
  };
  md << "\n| CPU per request | setting | per second | sender µs | nginx µs | cores busy "
        "| sender's threads, µs |\n|---|---|---:|---:|---:|---:|---|\n";
  for (const Throughput* t : runs) {
    // The main thread first, then the busiest.
    auto by_cpu = t->threads;
    if (by_cpu.size() > 1) {
      std::stable_sort(by_cpu.begin() + 1, by_cpu.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
    }
    std::string threads;
    for (const auto& [name, seconds] : by_cpu) {
      if (!threads.empty()) threads += ", ";
      threads += name + " " + us(seconds, t->delivered);
    }
    const double busy = (t->cpu_seconds + t->nginx_cpu_seconds) / t->seconds;
    md << "| " << t->name << " | " << t->detail << " | " << thousands(t->per_second()) << " | "
       << us(t->cpu_seconds, t->delivered) << " | " << us(t->nginx_cpu_seconds, t->delivered) << " | "
       << (std::isnan(busy) ? "?" : fixed(busy, 2)) << " | " << (threads.empty() ? "—" : threads) << " |\n";
  }
  md << "\nCPU per request: user and system CPU seconds over the run divided by the requests (the sender's "
        "from its start, nginx's master and worker over the same time); cores busy: both together per "
        "second of the run, of "
     << ::sysconf(_SC_NPROCESSORS_ONLN)
     << ". heraldd's main thread runs the event loop (HTTP), state-worker the state database and the "
        "mappings, wal-checkpoint the checkpoints.\n";
}

std::string Bench::report() const {
  std::ostringstream md;
  auto mib = [](long kib) {
    return kib > 0 ? fixed(static_cast<double>(kib) / 1024.0, 1) : std::string("?");
  };
  auto per_thousand = [](const Throughput& t) {
    return t.delivered > 0 ? fixed(t.cpu_seconds * 1000.0 / static_cast<double>(t.delivered), 3)
                           : std::string("?");
  };
  // The median of the rounds' ratios, and their range when there are several.
  auto ratio = [](std::vector<double> v) {
    if (v.empty()) return std::string("—");
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return n == 1 ? fixed(median, 2)
                  : fixed(median, 2) + " (" + fixed(v.front(), 2) + "–" + fixed(v.back(), 2) + ")";
  };
  const bool several = rounds_.size() > 1;
  const std::vector<Series> all = all_series();
  md << "| run | setting | requests | seconds | per second |" << (several ? " each round /s |" : "")
     << " ÷ ceiling | ÷ syslog-ng | peak RSS MiB | CPU s per 1,000 |\n|---|---|---:|---:|---:|"
     << (several ? "---:|" : "") << "---:|---:|---:|---:|\n";
  for (const Series& s : all) {
    const Throughput& t = *s.median;
    const bool heraldd = t.name == "heraldd";
    md << "| " << t.name << " | " << t.detail << " | " << thousands(static_cast<double>(t.delivered)) << " | "
       << fixed(t.seconds, 2) << " | " << thousands(t.per_second()) << " | ";
    if (several) {
      std::string each;
      for (const Throughput* r : s.runs) each += (each.empty() ? "" : " · ") + thousands(r->per_second());
      md << each << " | ";
    }
    md << ratio(s.vs_ceiling) << " | " << (heraldd ? ratio(s.vs_peer) : "—") << " | " << mib(t.peak_rss_kib)
       << " | " << per_thousand(t) << " |\n";
  }
  if (!all.empty()) {
    md << "\nCeiling: the best libcurl multi run of each round. ";
    if (several) {
      md << "Each row shows its median round of " << rounds_.size()
         << " (the rounds ran one after the other, each run once per round); the ratios are the median of "
            "the rounds' own, with their range.\n";
    } else {
      md << "One round.\n";
    }
  }
  where_the_cpu_went(md, all);
  if (!latencies_.empty()) {
    md << "\n| heraldd at " << o_.rate
       << " events/s | events | delivered | p50 ms | p99 ms | max ms | idle RSS MiB | "
          "idle CPU s over "
       << latencies_.front().idle_seconds << " s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& l : latencies_) {
      md << "| state synchronous=" << l.mode << " | " << thousands(static_cast<double>(l.events)) << " | "
         << thousands(static_cast<double>(l.delivered)) << " | " << fixed(l.p50_ms, 1) << " | "
         << fixed(l.p99_ms, 1) << " | " << fixed(l.max_ms, 1) << " | " << mib(l.idle_rss_kib) << " | "
         << fixed(l.idle_cpu_seconds, 2) << " |\n";
    }
    md << "\nLatency: from the start of the producer's insert (its commit included) to nginx's log time of "
          "the request ($msec, millisecond resolution, taken at the middle of its millisecond).\n";
  }
  if (backlog_) {
    const Backlog& b = *backlog_;
    md << "\n| backlog | waiting | coming due | dispatched | peak RSS MiB | RSS after MiB | due→delivery p50 "
          "ms | "
          "p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
       << "| heraldd, synchronous=FULL | " << thousands(static_cast<double>(b.waiting)) << " | "
       << thousands(static_cast<double>(b.due)) << " over " << b.due * 10 / 1000 << " s | "
       << thousands(static_cast<double>(b.dispatched)) << " | " << mib(b.peak_rss_kib) << " | "
       << mib(b.rss_kib) << " | " << fixed(b.p50_ms, 1) << " | " << fixed(b.p99_ms, 1) << " | "
       << fixed(b.max_ms, 1) << " |\n";
  }
  if (drain_) {
    const Drain& d = *drain_;
    const Throughput& t = d.delivery;
    md << "\n| after an outage | due | held behind them | delivered | seconds | per second | peak RSS MiB | "
          "CPU s per 1,000 |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
       << "| heraldd, synchronous=FULL | " << thousands(static_cast<double>(d.waiting)) << " | "
       << thousands(static_cast<double>(d.held)) << " | " << thousands(static_cast<double>(t.delivered))
       << " | " << fixed(t.seconds, 2) << " | " << thousands(t.per_second()) << " | " << mib(t.peak_rss_kib)
       << " | " << per_thousand(t) << " |\n"
       << "\nAfter an outage: the N events arrived while nothing listened on the endpoint's port ("
       << fixed(d.outage_seconds, 1)
       << " s); the first notification of each person failed its attempt and waits for a retry, made due "
          "at once, the others are held behind it. Then nginx started on that port and heraldd again.\n";
  }
  md << "\nN = " << thousands(static_cast<double>(o_.n)) << " events, bodies of " << fixed(body_bytes_, 0)
     << " bytes on average; nginx "
     << "(1 worker) on 127.0.0.1 answering 200.\n"
     << "Machine: " << machine() << ". Load average at the end: " << load() << ".\n";
  return md.str();
}

int run_main(int argc, char** argv) {
  Options o = parse(argc, argv);
  install_interrupt_handlers();
  const std::string load_before = load();
  Bench bench(o);
  try {
    bench.run();
  } catch (const std::exception& e) {
    std::cerr << "herald_bench_e2e: " << e.what() << "\n";
    std::cerr << bench.report();
    return 1;
  }
  const std::string table = bench.report() + "Load average at the start: " + load_before + ".\n";
  std::cout << table;
  if (!o.out.empty()) {
    std::ofstream out(o.out, std::ios::trunc);
    out << table;
  }
  return 0;
}

}  // namespace
}  // namespace herald::bench

int main(int argc, char** argv) { return herald::bench::run_main(argc, argv); }
