#include "e2e/servers.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "support/test_env.h"

namespace herald::bench {

namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) { g_interrupted = true; }

size_t append_to(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// GET url; the body, or "" when it failed.
std::string http_get(const std::string& url) {
  CURL* easy = curl_easy_init();
  std::string body;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &append_to);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, static_cast<void*>(&body));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(easy);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(easy);
  return rc == CURLE_OK && status == 200 ? body : std::string();
}

}  // namespace

bool interrupted() { return g_interrupted; }

void install_interrupt_handlers() {
  std::signal(SIGINT, &on_signal);
  std::signal(SIGTERM, &on_signal);
}

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

Nginx::Nginx(const std::string& dir, uint16_t port)
    : timed_log_(dir + "/timed.log"), port_(port != 0 ? port : free_port()) {
  std::filesystem::create_directories(dir + "/temp");
  // One worker: the machine's cores are shared by nginx, the sender and the driver.
  std::ostringstream conf;
  conf << "daemon off;\nmaster_process on;\nworker_processes 1;\npid " << dir << "/nginx.pid;\n"
       << "error_log " << dir << "/error.log warn;\n"
       << "events { worker_connections 4096; }\n"
       << "http {\n  access_log off;\n  log_format timed '$msec $request_uri';\n"
       << "  keepalive_requests 100000000;\n  keepalive_timeout 300s;\n  client_body_buffer_size 64k;\n"
       << "  client_body_temp_path " << dir << "/temp/body;\n  proxy_temp_path " << dir << "/temp/proxy;\n"
       << "  fastcgi_temp_path " << dir << "/temp/fastcgi;\n  uwsgi_temp_path " << dir << "/temp/uwsgi;\n"
       << "  scgi_temp_path " << dir << "/temp/scgi;\n"
       << "  server {\n    listen 127.0.0.1:" << port_ << " backlog=4096;\n"
       << "    location = /status { stub_status; }\n"
       << "    location /lat/ { access_log " << timed_log_ << " timed; return 200; }\n"
       << "    location /b/ { access_log " << timed_log_ << " timed; return 200; }\n"
       << "    location / { return 200; }\n  }\n}\n";
  test::write_file(dir + "/nginx.conf", conf.str());
  process_ = std::make_unique<test::DaemonProcess>(
      std::vector<std::string>{"/usr/sbin/nginx", "-e", dir + "/error.log", "-c", dir + "/nginx.conf"},
      dir + "/nginx.out");
  if (!wait_for([&] { return requests() > 0; }, std::chrono::seconds(10), std::chrono::milliseconds(50))) {
    throw std::runtime_error("nginx did not answer on 127.0.0.1:" + std::to_string(port_) + ": " +
                             test::read_file(dir + "/error.log") + process_->log());
  }
}

Nginx::~Nginx() { process_->stop(); }

double Nginx::cpu_seconds() const { return process_->tree_cpu_seconds().value_or(NAN); }

int64_t Nginx::requests() const {
  // "Active connections: 1 \nserver accepts handled requests\n 1 1 1 \n..."
  std::istringstream in(http_get(url() + "/status"));
  std::string line;
  std::getline(in, line);
  std::getline(in, line);
  int64_t accepts = 0, handled = 0, requests = -1;
  in >> accepts >> handled >> requests;
  return requests;
}

}  // namespace herald::bench
