#include "support/smtp_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>
#include <thread>

namespace herald::test {

namespace {

// Debian's python3-aiosmtpd lives with the system interpreter, not a pyenv shim.
constexpr const char* kPython = "/usr/bin/python3";

void make_certificate(const TempDir& dir) {
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext "
      "subjectAltName=IP:127.0.0.1 -keyout " +
      dir.file("key.pem") + " -out " + dir.file("cert.pem");
  auto r = run_process(cmd, 30);
  if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.output);
}

// Waits for the child to end, up to `limit`; true when it did.
bool reap(pid_t pid, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || r < 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

nlohmann::json decode_mail(const std::string& raw) {
  TempDir dir;
  write_file(dir.file("mail.eml"), raw);
  write_file(dir.file("decode.py"), R"PY(import email, email.policy, json, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
body = msg.get_body(("plain",))
print(json.dumps({
    "subject": str(msg["subject"]) if msg["subject"] is not None else None,
    "from": str(msg["from"]), "to": str(msg["to"]),
    "headers": {k: str(v) for k, v in msg.items()},
    "header_names": list(msg.keys()),
    "body": body.get_content().replace("\r\n", "\n") if body is not None else None,
    "defects": [repr(d) for d in msg.defects],
}))
)PY");
  auto r = run_process(std::string(kPython) + " " + dir.file("decode.py") + " " + dir.file("mail.eml"), 30);
  if (r.exit_code != 0) throw std::runtime_error("decoding the mail failed: " + r.output);
  return nlohmann::json::parse(r.output);
}

SmtpServer::SmtpServer(SmtpServerOptions o) {
  out_file_ = dir_.file("received.jsonl");
  std::vector<std::string> args = {kPython,  std::string(HERALD_SOURCE_DIR) + "/tests/support/smtp_server.py",
                                   "--port", "0",
                                   "--out",  out_file_};
  if (o.starttls || o.implicit_tls) {
    make_certificate(dir_);
    ca_file_ = dir_.file("cert.pem");
    args.insert(args.end(), {"--cert", ca_file_, "--key", dir_.file("key.pem")});
  }
  if (o.implicit_tls) args.push_back("--implicit-tls");
  if (o.require_starttls) args.push_back("--require-starttls");
  if (!o.user.empty()) args.insert(args.end(), {"--user", o.user, "--password", o.password});
  for (const auto& r : o.reject) args.insert(args.end(), {"--reject", r});

  // Built before fork: the child may only call async-signal-safe functions.
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    execv(kPython, argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  stdin_fd_ = in[1];  // closing it tells the server to exit, even if this process dies

  // The first line is "PORT <n>" once the socket listens.
  std::string line;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < end) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  if (line.rfind("PORT ", 0) != 0) {
    stop();
    throw std::runtime_error("the SMTP server did not start: '" + line + "'");
  }
  port_ = std::stoi(line.substr(5));
}

SmtpServer::~SmtpServer() { stop(); }

void SmtpServer::stop() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    if (!reap(pid_, std::chrono::seconds(5))) {
      kill(pid_, SIGKILL);
      reap(pid_, std::chrono::seconds(5));
    }
  }
  pid_ = -1;
}

std::vector<nlohmann::json> SmtpServer::messages() const {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(out_file_));
  std::string line;
  // A line is complete only with its newline: the server may be writing it.
  while (std::getline(in, line) && !in.eof()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::vector<nlohmann::json> SmtpServer::wait_for(size_t n, std::chrono::milliseconds limit) const {
  auto end = std::chrono::steady_clock::now() + limit;
  auto got = messages();
  while (got.size() < n && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    got = messages();
  }
  return got;
}

}  // namespace herald::test
