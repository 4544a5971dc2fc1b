// The "email" channel (docs/email.md): renders a template into an RFC 5322
// message and hands it to the host, which sends it by SMTP (STARTTLS,
// implicit TLS or plain) with SMTP AUTH from the endpoint's basic auth.
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "../common/http_channel.h"
#include "mail_template.h"
#include "mime.h"

namespace {

using herald_channel::write_error;

struct Endpoint {
  const herald_host_api* host = nullptr;
  std::string name;
  std::string url;  // smtp://host:port or smtps://host:port
  bool starttls = true;
  std::string from, from_name;
  std::vector<std::string> to;
  std::optional<std::string> subject;  // the endpoint's `subject`, wins over the template's
  herald_mail::MailTemplate tmpl;
  bool has_template = false;
  bool basic_auth = false;
  std::string username, password;
  std::set<std::string> warned;  // unknown placeholders already logged
};

// What SMTP's MAIL FROM / RCPT TO carry between < and >: refused with
// spaces, control characters or <>, which could rewrite the envelope.
std::string address_problem(const std::string& a) {
  if (a.empty()) return "an empty address";
  for (char c : a) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == ',' || c == '"') {
      return "address '" + herald_mail::one_line(a) +
             "' contains a space, line break, control character, quote or <>,";
    }
  }
  size_t at = a.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == a.size()) {
    return "address '" + a + "' is not of the form user@domain";
  }
  return {};
}

bool valid_host(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':') return false;
  }
  return true;
}

bool has_control(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::string open_endpoint(const herald_host_api* host, const herald_endpoint_config* config, Endpoint& ep) {
  static const std::set<std::string> kOwn = {"host",      "port", "tls",      "from",
                                             "from_name", "to",   "template", "subject"};
  ep.host = host;
  ep.name = config->endpoint_name ? config->endpoint_name : "";
  std::map<std::string, std::string> s;
  for (size_t i = 0; i < config->settings_count; ++i) {
    std::string key = config->settings[i].key, value = config->settings[i].value;
    bool host_key = key == "url" || key == "timeout_ms" || key == "tls_verify" || key == "config_dir" ||
                    key.rfind("auth.", 0) == 0;
    if (!host_key && !kOwn.count(key)) {
      return "unknown setting '" + key +
             "' for the email channel (known: host, port, tls, from, from_name, to, "
             "template, subject)";
    }
    s[key] = value;
  }
  if (!s["url"].empty())
    return "setting 'url' is not used by the email channel: give 'host', 'port' and 'tls'";

  std::string host_name = s["host"];
  if (host_name.empty()) return "setting 'host' is required (the SMTP server, e.g. \"smtp.example.org\")";
  if (!valid_host(host_name))
    return "setting 'host': '" + herald_mail::one_line(host_name) + "' is not a host name or IP address";
  std::string tls = s.count("tls") ? s["tls"] : "starttls";
  long default_port = 0;
  if (tls == "starttls") {
    default_port = 587;
  } else if (tls == "implicit") {
    default_port = 465;
  } else if (tls == "none") {
    default_port = 25;
  } else {
    return "setting 'tls': expected \"starttls\", \"implicit\" or \"none\", not '" +
           herald_mail::one_line(tls) + "'";
  }
  long port = default_port;
  if (s.count("port")) {
    const std::string& p = s["port"];
    char* end = nullptr;
    port = std::strtol(p.c_str(), &end, 10);
    if (p.empty() || *end != '\0' || port < 1 || port > 65535) {
      return "setting 'port': expected a number from 1 to 65535, not '" + herald_mail::one_line(p) + "'";
    }
  }
  ep.starttls = tls == "starttls";
  std::string bracketed = host_name.find(':') != std::string::npos ? "[" + host_name + "]" : host_name;
  ep.url = std::string(tls == "implicit" ? "smtps://" : "smtp://") + bracketed + ":" + std::to_string(port);

  ep.from = s["from"];
  if (ep.from.empty())
    return "setting 'from' is required (the sender's address, e.g. \"herald@example.org\")";
  if (auto p = address_problem(ep.from); !p.empty()) return "setting 'from': " + p;
  ep.from_name = s["from_name"];
  if (has_control(ep.from_name)) return "setting 'from_name' must be one line without control characters";
  if (s.count("to")) {
    std::istringstream lines(s["to"]);
    std::string a;
    while (std::getline(lines, a)) {
      if (auto p = address_problem(a); !p.empty()) return "setting 'to': " + p;
      ep.to.push_back(a);
    }
  }
  if (s.count("subject")) {
    if (has_control(s["subject"])) return "setting 'subject' must be one line without control characters";
    ep.subject = s["subject"];
  }
  if (s.count("template")) {
    std::string path = s["template"];
    if (path.empty()) return "setting 'template' is empty";
    if (path.front() != '/' && !s["config_dir"].empty()) path = s["config_dir"] + "/" + path;
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return "setting 'template': cannot read '" + path + "'";
    if (auto p = herald_mail::parse_template(text.str(), ep.tmpl); !p.empty()) {
      return "setting 'template': " + path + ": " + p;
    }
    ep.has_template = true;
  }

  std::string auth = s.count("auth.type") ? s["auth.type"] : "none";
  if (auth == "basic") {
    ep.basic_auth = true;
    ep.username = s["auth.username"];
    ep.password = s["auth.password"];
  } else if (auth != "none") {
    return "auth type '" + auth + "' is not supported by the email channel (use \"basic\" for SMTP AUTH)";
  }
  if (tls == "none") {
    std::string warning = "tls = \"none\": mail to " + host_name + " travels unencrypted";
    if (ep.basic_auth) warning += ", and so does the SMTP password";
    host->log(HERALD_LOG_WARN, ep.name.c_str(), (warning + "; use it only for a local relay").c_str());
  }
  return {};
}

int endpoint_open(const herald_host_api* host, const herald_endpoint_config* config, void** instance,
                  char* err, size_t err_size) noexcept {
  try {
    auto ep = std::make_unique<Endpoint>();
    if (std::string problem = open_endpoint(host, config, *ep); !problem.empty()) {
      write_error(err, err_size, problem);
      return 1;
    }
    *instance = ep.release();
    return 0;
  } catch (...) {
    write_error(err, err_size, "out of memory");
    return 1;
  }
}

void endpoint_close(void* instance) noexcept { delete static_cast<Endpoint*>(instance); }

// Everything one message's placeholders can read.
struct Context {
  std::unordered_map<std::string, std::string> fields;
  std::vector<herald_mail::Mailbox> to;
  std::vector<std::string> identities;
};

std::optional<std::string> lookup(const Context& c, std::string_view name) {
  // Several recipients share one text: their values, joined.
  auto join = [&](auto value_of) {
    std::string out;
    for (size_t i = 0; i < c.to.size(); ++i) out += (i ? ", " : "") + value_of(i);
    return out;
  };
  if (name == "Recipient.name") {
    return join([&](size_t i) { return c.to[i].name.empty() ? c.to[i].address : c.to[i].name; });
  }
  if (name == "Recipient.address") return join([&](size_t i) { return c.to[i].address; });
  if (name == "Recipient.identity") return join([&](size_t i) { return c.identities[i]; });
  if (auto it = c.fields.find(std::string(name)); it != c.fields.end()) return it->second;
  // A bare name is the body's: {targetId} reads Body.targetId.
  if (auto it = c.fields.find("Body." + std::string(name)); it != c.fields.end()) return it->second;
  return std::nullopt;
}

// Without a template: the notification's name and every field of the body.
std::string default_body(const herald_message* msg) {
  std::string out = std::string("Notification: ") + (msg->notification ? msg->notification : "") + "\n";
  for (size_t i = 0; i < msg->field_count; ++i) {
    std::string_view key = msg->fields[i].key;
    if (key.rfind("Event.", 0) == 0 || key.rfind("Body.", 0) == 0) {
      out += std::string(key) + ": " + msg->fields[i].value + "\n";
    }
  }
  return out;
}

herald_build_result build(Endpoint& ep, const herald_message* msg, herald_request* req, std::string& err) {
  Context c;
  for (size_t i = 0; i < msg->field_count; ++i) c.fields.emplace(msg->fields[i].key, msg->fields[i].value);
  if (HERALD_HAS_FIELD(msg, herald_message, recipient_count) && msg->recipients) {
    for (size_t i = 0; i < msg->recipient_count; ++i) {
      const herald_recipient& r = msg->recipients[i];
      std::string address = r.address ? r.address : "";
      if (auto p = address_problem(address); !p.empty()) {
        err = "recipient " + std::to_string(i + 1) + ": " + p;
        return HERALD_BUILD_FAILED;
      }
      c.to.push_back({r.name ? r.name : "", address});
      c.identities.emplace_back(r.identity ? r.identity : "");
    }
  }
  if (c.to.empty()) {
    for (const auto& a : ep.to) {
      c.to.push_back({"", a});
      c.identities.emplace_back();
    }
  }
  if (c.to.empty()) {
    err = "no recipients: the notification resolved none and the endpoint has no 'to'";
    return HERALD_BUILD_FAILED;
  }

  auto unknown = [&](std::string_view name) {
    // Once per endpoint and name: a template typo must not flood the log.
    if (ep.warned.insert(std::string(name)).second) {
      std::string text = "unknown placeholder {" + std::string(name) + "} in notification '" +
                         (msg->notification ? msg->notification : "") + "'; it is sent as written";
      ep.host->log(HERALD_LOG_WARN, ep.name.c_str(), text.c_str());
    }
  };
  auto fill = [&](std::string_view text) {
    return herald_mail::substitute(
        text, [&](std::string_view n) { return lookup(c, n); }, unknown);
  };

  std::string subject;
  if (ep.subject) {
    subject = fill(*ep.subject);
  } else if (ep.tmpl.subject) {
    subject = fill(*ep.tmpl.subject);
  } else if (auto topic = c.fields.find("Rule.topic"); topic != c.fields.end()) {
    subject = topic->second;
  } else {
    subject = msg->notification ? msg->notification : "";
  }
  std::string text = ep.has_template ? fill(ep.tmpl.body) : default_body(msg);
  herald_mail::EncodedBody body = herald_mail::encode_body(text);

  std::string id;
  for (const char* p = msg->message_id ? msg->message_id : ""; *p; ++p) {
    // Message-ID's left part is a dot-atom: keep it one even if ids change shape.
    id += std::isalnum(static_cast<unsigned char>(*p)) || *p == '-' || *p == '.' ? *p : '-';
  }

  std::string m;
  m += "Date: " + herald_mail::rfc5322_date(std::time(nullptr)) + "\r\n";
  m += herald_mail::address_header("From", {{ep.from_name, ep.from}});
  m += herald_mail::address_header("To", c.to);
  m += herald_mail::unstructured_header("Subject", subject);
  m += "Message-ID: <" + id + "@herald>\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\n";
  m += std::string("Content-Transfer-Encoding: ") + body.transfer_encoding + "\r\n";
  // RFC 3834: no out-of-office replies to a machine.
  m += "Auto-Submitted: auto-generated\r\n";
  m += "\r\n";
  m += body.text;

  const herald_host_api* h = ep.host;
  int bad = h->request_set_url(req, ep.url.c_str());
  bad |= h->request_set_mail_from(req, ep.from.c_str());
  for (const auto& box : c.to) bad |= h->request_add_mail_recipient(req, box.address.c_str());
  if (ep.starttls) bad |= h->request_require_tls(req);
  if (ep.basic_auth) bad |= h->request_set_basic_auth(req, ep.username.c_str(), ep.password.c_str());
  bad |= h->request_set_body(req, m.data(), m.size());
  if (bad) {
    err = "the host refused part of the mail";
    return HERALD_BUILD_FAILED;
  }
  return HERALD_BUILD_OK;
}

herald_build_result build_request(void* instance, const herald_message* msg, herald_request* req, char* err,
                                  size_t err_size) noexcept {
  try {
    std::string why;
    herald_build_result r = build(*static_cast<Endpoint*>(instance), msg, req, why);
    if (r != HERALD_BUILD_OK) write_error(err, err_size, why);
    return r;
  } catch (...) {
    write_error(err, err_size, "out of memory");
    return HERALD_BUILD_RETRY;
  }
}

// The SMTP reply decides: 2xx delivered, 4xx later, authentication refusals
// later too (fixing the password lets them go), other 5xx never.
herald_outcome classify(void*, const herald_message*, const herald_response* r, char* err,
                        size_t err_size) noexcept {
  long code = r->http_status;
  if (code >= 200 && code < 300 && r->transport_error == 0) return HERALD_OUTCOME_DELIVERED;
  if (code == 530 || code == 534 || code == 535) {
    write_error(err, err_size,
                "SMTP " + std::to_string(code) + ": the server refused the login; check the endpoint's auth");
    return HERALD_OUTCOME_RETRY;
  }
  if (code >= 500 && code < 600) {
    write_error(err, err_size, "SMTP " + std::to_string(code) + ": the server refused the mail for good");
    return HERALD_OUTCOME_FAILED;
  }
  return HERALD_OUTCOME_RETRY;  // 4xx, no reply, or a transport error after a 2xx
}

constexpr herald_plugin kPlugin = {
    sizeof(herald_plugin), HERALD_ABI_MAJOR, HERALD_ABI_MINOR, "email",  "1.1.0",
    endpoint_open,         endpoint_close,   build_request,    classify, 0u};

}  // namespace

extern "C" __attribute__((visibility("default"))) const herald_plugin* herald_plugin_entry(
    uint32_t host_abi_major) {
  return host_abi_major == HERALD_ABI_MAJOR ? &kPlugin : nullptr;
}
