// The "json" channel: a policy-enforcement-point endpoint receiving the
// notification as an application/json document (see document_channel.h).
#include "../common/document_channel.h"

namespace {

constexpr herald_channel::DocumentFormat kJson{"json", "application/json", false};
constexpr herald_plugin kPlugin = herald_channel::DocumentChannel<kJson>::descriptor("1.1.0");

}  // namespace

extern "C" __attribute__((visibility("default"))) const herald_plugin* herald_plugin_entry(
    uint32_t host_abi_major) {
  return host_abi_major == HERALD_ABI_MAJOR ? &kPlugin : nullptr;
}
