/* A plugin built for a future, incompatible ABI major version. */
#include <herald/plugin.h>

static const herald_plugin kPlugin = {
    .struct_size = sizeof(herald_plugin),
    .abi_major = HERALD_ABI_MAJOR + 1,
    .abi_minor = 0,
    .name = "rest",
    .version = "9.9.9",
};

__attribute__((visibility("default"))) const herald_plugin* herald_plugin_entry(uint32_t host_abi_major) {
  (void)host_abi_major;
  return &kPlugin;
}
