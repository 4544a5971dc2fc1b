// The machine's ceiling for the end-to-end benchmark: a plain libcurl multi
// client POSTing prepared bodies to one HTTP server with keep-alive, nothing
// else (no database, no rendering). Each of `concurrency` easy handles sends
// one request at a time and is reused for the next, so connections stay open.
//
//   herald_bench_ceiling --url http://127.0.0.1:PORT/c/events/ --bodies FILE
//                        [--concurrency 32] [--n COUNT] [--timeout-seconds 300]
//
// FILE holds one body per line; request i (from 1) goes to URL + i with body
// line (i - 1) % lines. Prints one line of key=value figures:
//   sent=... errors=... seconds=... per_second=... cpu_seconds=... peak_rss_kib=...
#include <curl/curl.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string url;
  std::string bodies;
  int concurrency = 32;
  long long n = 0;  // 0: one request per body line
  int timeout_seconds = 300;
};

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "herald_bench_ceiling: %s\nusage: herald_bench_ceiling --url URL --bodies FILE "
               "[--concurrency C] [--n COUNT] [--timeout-seconds S]\n",
               message);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
    const char* value = argv[++i];
    if (arg == "--url") {
      o.url = value;
    } else if (arg == "--bodies") {
      o.bodies = value;
    } else if (arg == "--concurrency") {
      o.concurrency = std::atoi(value);
    } else if (arg == "--n") {
      o.n = std::atoll(value);
    } else if (arg == "--timeout-seconds") {
      o.timeout_seconds = std::atoi(value);
    } else {
      usage(("unknown option " + arg).c_str());
    }
  }
  if (o.url.empty() || o.bodies.empty()) usage("--url and --bodies are required");
  if (o.concurrency < 1 || o.concurrency > 4096) usage("--concurrency must be 1..4096");
  return o;
}

size_t discard(char*, size_t size, size_t count, void*) { return size * count; }

struct Slot {
  CURL* easy = nullptr;
  std::string url;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::vector<std::string> bodies;
  {
    std::ifstream in(o.bodies, std::ios::binary);
    for (std::string line; std::getline(in, line);) bodies.push_back(std::move(line));
  }
  if (bodies.empty()) usage("the bodies file is empty or missing");
  const long long total = o.n > 0 ? o.n : static_cast<long long>(bodies.size());

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(o.concurrency));
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");

  std::vector<Slot> slots(static_cast<size_t>(o.concurrency));
  long long next = 0;  // requests started
  long long done = 0;
  long long errors = 0;
  auto start_request = [&](Slot& slot) {
    const std::string& body = bodies[static_cast<size_t>(next % static_cast<long long>(bodies.size()))];
    ++next;
    slot.url = o.url + std::to_string(next);
    curl_easy_setopt(slot.easy, CURLOPT_URL, slot.url.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDS, body.data());
    curl_multi_add_handle(multi, slot.easy);
  };
  for (Slot& slot : slots) {
    slot.easy = curl_easy_init();
    curl_easy_setopt(slot.easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(slot.easy, CURLOPT_WRITEFUNCTION, &discard);
    curl_easy_setopt(slot.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_TIMEOUT_MS, 30'000L);
    curl_easy_setopt(slot.easy, CURLOPT_PRIVATE, static_cast<void*>(&slot));
    if (next < total) start_request(slot);
  }

  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::seconds(o.timeout_seconds);
  int running = 0;
  bool timed_out = false;
  while (done < total) {
    if (std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      break;
    }
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result != CURLE_OK || status != 200) ++errors;
      ++done;
      void* slot = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &slot);
      curl_multi_remove_handle(multi, easy);
      if (next < total) start_request(*static_cast<Slot*>(slot));
    }
    if (done < total) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  for (Slot& slot : slots) {
    curl_multi_remove_handle(multi, slot.easy);
    curl_easy_cleanup(slot.easy);
  }
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  curl_global_cleanup();

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::printf("sent=%lld errors=%lld seconds=%.3f per_second=%.0f cpu_seconds=%.3f peak_rss_kib=%ld\n", done,
              errors, seconds, seconds > 0 ? static_cast<double>(done) / seconds : 0.0, cpu, usage.ru_maxrss);
  if (timed_out) {
    std::fprintf(stderr, "herald_bench_ceiling: timed out after %d s\n", o.timeout_seconds);
    return 1;
  }
  return errors == 0 ? 0 : 1;
}
