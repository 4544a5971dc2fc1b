// Loads channel plugins with dlopen, checks their ABI, and opens one plugin
// instance per configured endpoint.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "herald/plugin.h"

namespace herald::plugin {

// A request as a plugin built it through the host API.
struct RequestSpec {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::pair<std::string, std::string>> basic_auth;
  // Mail (smtp:// or smtps:// URLs): the SMTP envelope; body is the message.
  std::string mail_from;
  std::vector<std::string> mail_recipients;
  bool require_tls = false;  // STARTTLS on smtp://
  std::string refused;       // first value the host refused (e.g. a header with CR/LF)

  bool is_mail() const { return url.rfind("smtp://", 0) == 0 || url.rfind("smtps://", 0) == 0; }
};

// A loaded shared object; unloaded when the last user lets go.
class PluginLibrary {
 public:
  // Refuses a file that is not a plugin or speaks another ABI major version,
  // with a message naming the file.
  static Result<std::shared_ptr<PluginLibrary>> load(const std::string& path);
  ~PluginLibrary();
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  const herald_plugin& descriptor() const { return *desc_; }
  const std::string& path() const { return path_; }

 private:
  PluginLibrary(void* handle, const herald_plugin* desc, std::string path)
      : handle_(handle), desc_(desc), path_(std::move(path)) {}
  void* handle_;
  const herald_plugin* desc_;
  std::string path_;
};

// One endpoint served by one plugin instance.
class Channel {
 public:
  static Result<std::unique_ptr<Channel>> open(std::shared_ptr<PluginLibrary> library,
                                               const config::EndpointConfig& endpoint);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  struct Built {
    herald_build_result result = HERALD_BUILD_FAILED;
    std::string error;
    RequestSpec request;
  };
  Built build(const herald_message& message);

  struct Judged {
    herald_outcome outcome = HERALD_OUTCOME_FAILED;
    std::string note;
  };
  Judged classify(const herald_message& message, const herald_response& response);

  const std::string& endpoint_name() const { return endpoint_; }
  // The descriptor's HERALD_PLUGIN_* bits (0 for plugins older than ABI 1.1).
  uint64_t flags() const;
  const PluginLibrary& library() const { return *library_; }

 private:
  Channel(std::shared_ptr<PluginLibrary> library, void* instance, std::string endpoint)
      : library_(std::move(library)), instance_(instance), endpoint_(std::move(endpoint)) {}
  std::shared_ptr<PluginLibrary> library_;
  void* instance_;
  std::string endpoint_;
};

// Loads each channel's plugin once from a folder: <plugin_dir>/<channel>.so.
class PluginHost {
 public:
  explicit PluginHost(std::string plugin_dir) : dir_(std::move(plugin_dir)) {}
  Result<std::shared_ptr<PluginLibrary>> library(const std::string& channel);

 private:
  std::string dir_;
  std::map<std::string, std::shared_ptr<PluginLibrary>> loaded_;
};

// The services table handed to plugins.
const herald_host_api* host_api();

}  // namespace herald::plugin
