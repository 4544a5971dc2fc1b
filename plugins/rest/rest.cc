// The "rest" channel: sends the mapping's verb, URL and JSON body to a REST web
// service, with none, basic, bearer or OAuth2 authentication (document_channel.h).
#include "../common/document_channel.h"

namespace {

constexpr herald_channel::DocumentFormat kRest{"rest", "application/json", false};
constexpr herald_plugin kPlugin = herald_channel::DocumentChannel<kRest>::descriptor("1.1.0");

}  // namespace

extern "C" __attribute__((visibility("default"))) const herald_plugin* herald_plugin_entry(
    uint32_t host_abi_major) {
  return host_abi_major == HERALD_ABI_MAJOR ? &kPlugin : nullptr;
}
