#include "plugin/plugin_host.h"

#include <cstring>

#include <dlfcn.h>

#include <filesystem>
#include <string_view>

#include <spdlog/spdlog.h>

struct herald_request {
  herald::plugin::RequestSpec spec;
};

namespace herald::plugin {
namespace {

bool has_crlf(const char* s) { return s && s[std::strcspn(s, "\r\n")] != '\0'; }

int refuse(herald_request* req, std::string what) {
  if (req->spec.refused.empty()) req->spec.refused = std::move(what);
  return 1;
}

// The host side of the ABI: C callbacks that must never throw.
void api_log(herald_log_level level, const char* endpoint, const char* message) noexcept {
  try {
    auto lvl = level == HERALD_LOG_DEBUG  ? spdlog::level::debug
               : level == HERALD_LOG_INFO ? spdlog::level::info
               : level == HERALD_LOG_WARN ? spdlog::level::warn
                                          : spdlog::level::err;
    spdlog::log(lvl, "endpoint {}: {}", endpoint ? endpoint : "?", message ? message : "");
  } catch (...) {
  }
}

int api_set_method(herald_request* req, const char* method) noexcept {
  try {
    if (!req || !method || !*method) return 1;
    for (const char* p = method; *p; ++p) {
      if (!(*p >= 'A' && *p <= 'Z')) return refuse(req, "method must be upper-case letters");
    }
    req->spec.method = method;
    return 0;
  } catch (...) {
    return 1;
  }
}

int api_set_url(herald_request* req, const char* url) noexcept {
  try {
    if (!req || !url) return 1;
    for (const char* p = url; *p; ++p) {
      if (static_cast<unsigned char>(*p) <= 0x20 || *p == 0x7f)
        return refuse(req, "URL contains a space or control character");
    }
    req->spec.url = url;
    return 0;
  } catch (...) {
    return 1;
  }
}

int api_add_header(herald_request* req, const char* name, const char* value) noexcept {
  try {
    if (!req || !name || !value || !*name) return 1;
    if (has_crlf(name) || has_crlf(value))
      return refuse(req, std::string("header '") + name + "' contains CR or LF");
    if (name[std::strcspn(name, ": ")] != '\0') {
      return refuse(req, std::string("header name '") + name + "' is invalid");
    }
    req->spec.headers.emplace_back(name, value);
    return 0;
  } catch (...) {
    return 1;
  }
}

int api_set_body(herald_request* req, const char* data, size_t size) noexcept {
  try {
    if (!req || (!data && size)) return 1;
    req->spec.body.assign(data ? data : "", size);
    return 0;
  } catch (...) {
    return 1;
  }
}

int api_set_basic_auth(herald_request* req, const char* user, const char* password) noexcept {
  try {
    if (!req || !user || !password) return 1;
    req->spec.basic_auth = std::make_pair(std::string(user), std::string(password));
    return 0;
  } catch (...) {
    return 1;
  }
}

// A bare address: what SMTP's MAIL FROM / RCPT TO carry between < and >.
std::string address_problem(const char* address) {
  if (!address || !*address) return "empty mail address";
  std::string_view a(address);
  if (a.size() > 254) return "mail address longer than 254 bytes";
  for (char c : a) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',')
      return "mail address '" + std::string(a.substr(0, 64)) + "' contains a space, control character or <>,";
  }
  auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size())
    return "mail address '" + std::string(a.substr(0, 64)) + "' is not of the form user@domain";
  return {};
}

int api_set_mail_from(herald_request* req, const char* address) noexcept {
  try {
    if (!req) return 1;
    if (auto p = address_problem(address); !p.empty()) return refuse(req, p);
    req->spec.mail_from = address;
    return 0;
  } catch (...) {
    return 1;
  }
}

int api_add_mail_recipient(herald_request* req, const char* address) noexcept {
  try {
    if (!req) return 1;
    if (auto p = address_problem(address); !p.empty()) return refuse(req, p);
    req->spec.mail_recipients.emplace_back(address);
    return 0;
  } catch (...) {
    return 1;
  }
}

int api_require_tls(herald_request* req) noexcept {
  if (!req) return 1;
  req->spec.require_tls = true;
  return 0;
}

const herald_host_api kHostApi = {
    sizeof(herald_host_api), HERALD_ABI_MAJOR,  HERALD_ABI_MINOR,       api_log,
    api_set_method,          api_set_url,       api_add_header,         api_set_body,
    api_set_basic_auth,      api_set_mail_from, api_add_mail_recipient, api_require_tls,
};

}  // namespace

const herald_host_api* host_api() { return &kHostApi; }

Result<std::shared_ptr<PluginLibrary>> PluginLibrary::load(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    return Error{path + ": cannot load plugin: " + (err ? err : "unknown error")};
  }
  auto close = [&](std::string why) {
    dlclose(handle);
    return Error{path + ": " + why};
  };
  auto entry = reinterpret_cast<herald_plugin_entry_fn>(dlsym(handle, HERALD_PLUGIN_ENTRY_SYMBOL));
  if (!entry) return close("not a Herald plugin (no symbol " HERALD_PLUGIN_ENTRY_SYMBOL ")");
  const herald_plugin* desc = entry(HERALD_ABI_MAJOR);
  if (!desc) return close("the plugin refused host ABI " + std::to_string(HERALD_ABI_MAJOR) + ".x");
  if (desc->abi_major != HERALD_ABI_MAJOR) {
    return close("plugin ABI version " + std::to_string(desc->abi_major) + "." +
                 std::to_string(desc->abi_minor) + " is not compatible with this Herald (ABI " +
                 std::to_string(HERALD_ABI_MAJOR) + "." + std::to_string(HERALD_ABI_MINOR) + ")");
  }
  if (desc->struct_size < offsetof(herald_plugin, classify) + sizeof(desc->classify)) {
    return close("plugin descriptor is truncated");
  }
  if (!desc->endpoint_open || !desc->endpoint_close || !desc->build_request || !desc->classify ||
      !desc->name) {
    return close("plugin descriptor lacks a required function");
  }
  return std::shared_ptr<PluginLibrary>(new PluginLibrary(handle, desc, path));
}

PluginLibrary::~PluginLibrary() {
  if (handle_) dlclose(handle_);
}

Result<std::unique_ptr<Channel>> Channel::open(std::shared_ptr<PluginLibrary> library,
                                               const config::EndpointConfig& endpoint) {
  std::vector<herald_kv> kv;
  kv.reserve(endpoint.settings.size());
  for (const auto& [k, v] : endpoint.settings) kv.push_back({k.c_str(), v.c_str()});
  herald_endpoint_config cfg{sizeof(herald_endpoint_config), endpoint.name.c_str(), endpoint.channel.c_str(),
                             kv.data(), kv.size()};
  void* instance = nullptr;
  char err[512] = {0};
  if (library->descriptor().endpoint_open(host_api(), &cfg, &instance, err, sizeof err) != 0) {
    err[sizeof err - 1] = 0;
    return Error{"endpoint '" + endpoint.name + "' (plugin " + library->path() +
                 "): " + (err[0] ? err : "refused its settings")};
  }
  return std::unique_ptr<Channel>(new Channel(std::move(library), instance, endpoint.name));
}

Channel::~Channel() { library_->descriptor().endpoint_close(instance_); }

uint64_t Channel::flags() const {
  const herald_plugin* d = &library_->descriptor();
  return HERALD_HAS_FIELD(d, herald_plugin, flags) ? d->flags : 0;
}

Channel::Built Channel::build(const herald_message& message) {
  Built out;
  herald_request req;
  req.spec.headers.reserve(8);  // room for a channel's usual headers, without regrowing
  char err[512] = {0};
  out.result = library_->descriptor().build_request(instance_, &message, &req, err, sizeof err);
  err[sizeof err - 1] = 0;
  out.error = err;
  if (!req.spec.refused.empty()) {
    out.result = HERALD_BUILD_FAILED;
    out.error = "host refused the request: " + req.spec.refused;
  }
  if (out.result == HERALD_BUILD_OK && req.spec.url.empty()) {
    out.result = HERALD_BUILD_FAILED;
    out.error = "plugin built a request without a URL";
  }
  if (out.result == HERALD_BUILD_OK && req.spec.is_mail() &&
      (req.spec.mail_from.empty() || req.spec.mail_recipients.empty())) {
    out.result = HERALD_BUILD_FAILED;
    out.error = "plugin built a mail without a sender or recipients";
  }
  if (out.result != HERALD_BUILD_OK && out.result != HERALD_BUILD_RETRY) out.result = HERALD_BUILD_FAILED;
  out.request = std::move(req.spec);
  return out;
}

Channel::Judged Channel::classify(const herald_message& message, const herald_response& response) {
  Judged out;
  char err[512] = {0};
  out.outcome = library_->descriptor().classify(instance_, &message, &response, err, sizeof err);
  err[sizeof err - 1] = 0;
  out.note = err;
  if (out.outcome != HERALD_OUTCOME_DELIVERED && out.outcome != HERALD_OUTCOME_RETRY) {
    out.outcome = HERALD_OUTCOME_FAILED;
  }
  return out;
}

Result<std::shared_ptr<PluginLibrary>> PluginHost::library(const std::string& channel) {
  if (auto it = loaded_.find(channel); it != loaded_.end()) return it->second;
  std::string path = (std::filesystem::path(dir_) / (channel + ".so")).string();
  auto lib = PluginLibrary::load(path);
  if (!lib) return lib.error();
  if (channel != lib.value()->descriptor().name) {
    return Error{path + ": plugin calls itself '" + std::string(lib.value()->descriptor().name) +
                 "', expected '" + channel + "'"};
  }
  loaded_[channel] = lib.value();
  return lib;
}

}  // namespace herald::plugin
