# herald_add_plugin(<channel> [NO_INSTALL] <sources>...)
#
# Builds a Herald channel plugin: a MODULE library named exactly <channel>.so
# (heraldd loads <plugin_dir>/<channel>.so for `channel = "<channel>"`), target
# name herald_plugin_<channel>. Shared by Herald's own tree and by projects
# that use find_package(Herald), so both build plugins the same way.
#
# Optional variables read at call time:
#   HERALD_PLUGIN_BUILD_DIR    where the .so lands in the build tree
#   HERALD_PLUGIN_INSTALL_DIR  install destination (unless NO_INSTALL)
function(herald_add_plugin channel)
  cmake_parse_arguments(PARSE_ARGV 1 arg "NO_INSTALL" "" "")
  if(NOT arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "herald_add_plugin(${channel}): no source files given")
  endif()
  # The channel name becomes a file name and a TOML value; keep it plain.
  if(NOT channel MATCHES "^[A-Za-z0-9_-]+$")
    message(FATAL_ERROR "herald_add_plugin: '${channel}' is not a valid channel name (letters, digits, _ and -)")
  endif()
  set(target herald_plugin_${channel})
  add_library(${target} MODULE ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${target} PRIVATE Herald::plugin_sdk)
  # Only herald_plugin_entry should be visible; an unresolved symbol must fail
  # at link time, not when heraldd dlopens the file.
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME ${channel} SUFFIX ".so"
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  if(DEFINED HERALD_PLUGIN_BUILD_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${HERALD_PLUGIN_BUILD_DIR})
  endif()
  if(NOT arg_NO_INSTALL AND DEFINED HERALD_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${HERALD_PLUGIN_INSTALL_DIR})
  endif()
  set_property(GLOBAL APPEND PROPERTY HERALD_PLUGIN_TARGETS ${target})
endfunction()
