# Install layout (GNUInstallDirs) and the plugin SDK: headers, the CMake
# package Herald (find_package(Herald 1.0)) and herald-plugin.pc.
# heraldd/heraldctl are installed in src/, plugins by herald_add_plugin.
include(CMakePackageConfigHelpers)

set(HERALD_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Herald)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/herald/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/herald
        FILES_MATCHING PATTERN "*.h")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/mappings/ DESTINATION ${CMAKE_INSTALL_DATADIR}/herald/mappings
        FILES_MATCHING PATTERN "*.xml")
# Docs keep the repository's layout so README's and docs' relative links hold.
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.c" PATTERN "*.h" PATTERN "CMakeLists.txt" PATTERN "*.md")

# CMake package.
install(TARGETS herald_plugin_sdk EXPORT HeraldTargets)
install(EXPORT HeraldTargets NAMESPACE Herald:: DESTINATION ${HERALD_CMAKE_INSTALL_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/HeraldConfig.cmake.in
  ${PROJECT_BINARY_DIR}/sdk/HeraldConfig.cmake
  INSTALL_DESTINATION ${HERALD_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR HERALD_PLUGIN_INSTALL_DIR)
# SameMajorVersion mirrors the ABI rule: any 1.x host serves a 1.0 plugin.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sdk/HeraldConfigVersion.cmake
  VERSION ${HERALD_ABI_MAJOR}.${HERALD_ABI_MINOR} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sdk/HeraldConfig.cmake ${PROJECT_BINARY_DIR}/sdk/HeraldConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/HeraldPlugin.cmake
        DESTINATION ${HERALD_CMAKE_INSTALL_DIR})

# pkg-config: paths relative to the .pc file, so `cmake --install --prefix`
# anywhere gives a working file.
file(RELATIVE_PATH HERALD_PC_RELATIVE_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" HERALD_PC_RELATIVE_PREFIX "${HERALD_PC_RELATIVE_PREFIX}")
foreach(kind INCLUDEDIR PLUGINDIR)
  if(kind STREQUAL "INCLUDEDIR")
    set(dir ${CMAKE_INSTALL_INCLUDEDIR})
  else()
    set(dir ${HERALD_PLUGIN_INSTALL_DIR})
  endif()
  if(IS_ABSOLUTE "${dir}")
    set(HERALD_PC_${kind} "${dir}")
  else()
    set(HERALD_PC_${kind} "\${prefix}/${dir}")
  endif()
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/herald-plugin.pc.in ${PROJECT_BINARY_DIR}/sdk/herald-plugin.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sdk/herald-plugin.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# systemd: the unit and the account it runs as. ExecStart names the heraldd of
# the prefix given at install time (cmake --install --prefix), hence install(CODE).
set(HERALD_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING "where herald.service is installed")
set(HERALD_SYSUSERS_DIR lib/sysusers.d CACHE STRING "where the sysusers.d file for the herald account is installed")
if(IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
  set(herald_unit_bindir "${CMAKE_INSTALL_BINDIR}")
else()
  set(herald_unit_bindir "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}")
endif()
install(CODE "
  file(READ \"${PROJECT_SOURCE_DIR}/config/systemd/herald.service\" unit)
  string(REPLACE \"/usr/bin/heraldd\" \"${herald_unit_bindir}/heraldd\" unit \"\${unit}\")
  file(WRITE \"${PROJECT_BINARY_DIR}/systemd/herald.service\" \"\${unit}\")")
install(FILES ${PROJECT_BINARY_DIR}/systemd/herald.service DESTINATION ${HERALD_SYSTEMD_UNIT_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/config/systemd/herald.sysusers DESTINATION ${HERALD_SYSUSERS_DIR}
        RENAME herald.conf)
