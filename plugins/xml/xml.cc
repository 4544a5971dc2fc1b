// The "xml" channel: a policy-enforcement-point endpoint receiving the
// notification as an application/xml document (see document_channel.h).
#include "../common/document_channel.h"

namespace {

constexpr herald_channel::DocumentFormat kXml{"xml", "application/xml", true};
constexpr herald_plugin kPlugin = herald_channel::DocumentChannel<kXml>::descriptor("1.1.0");

}  // namespace

extern "C" __attribute__((visibility("default"))) const herald_plugin* herald_plugin_entry(
    uint32_t host_abi_major) {
  return host_abi_major == HERALD_ABI_MAJOR ? &kPlugin : nullptr;
}
