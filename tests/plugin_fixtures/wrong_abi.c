/* A plugin built for a future, incompatible ABI major version. */
#include <herald/plugin.h>

static const herald_plugin kPlugin = {
    sizeof(herald_plugin), HERALD_ABI_MAJOR + 1, 0, "rest", "9.9.9", 0, 0, 0, 0,
};

__attribute__((visibility("default"))) const herald_plugin* herald_plugin_entry(uint32_t host_abi_major) {
  (void)host_abi_major;
  return &kPlugin;
}
