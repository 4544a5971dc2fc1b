# The system layout (/etc/herald with conf.d and the standard mappings) and
# the .deb built by CPack: `cpack -G DEB` in the build folder.
#
# /etc is decided when installing, not when configuring: a package (CPack
# installs with the prefix /usr) puts it in /etc/herald, while
# `cmake --install --prefix DIR` keeps everything under DIR/etc/herald.
set(HERALD_ETC_FILES ${PROJECT_SOURCE_DIR}/config/packaging/herald.toml)
file(GLOB HERALD_STANDARD_MAPPINGS ${PROJECT_SOURCE_DIR}/mappings/*.xml)
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(herald_etc /etc/herald)
  else()
    set(herald_etc \"\${CMAKE_INSTALL_PREFIX}/etc/herald\")
  endif()
  file(INSTALL \"${HERALD_ETC_FILES}\" DESTINATION \"\${herald_etc}\")
  file(INSTALL ${HERALD_STANDARD_MAPPINGS} DESTINATION \"\${herald_etc}/mappings\")
  file(INSTALL \"${PROJECT_SOURCE_DIR}/config/packaging/conf.d\" DESTINATION \"\${herald_etc}\")
")
install(FILES ${PROJECT_SOURCE_DIR}/config/herald.toml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# Files under /etc are the administrator's: upgrades keep their edits.
set(HERALD_CONFFILES "/etc/herald/herald.toml\n")
foreach(m ${HERALD_STANDARD_MAPPINGS})
  get_filename_component(name ${m} NAME)
  string(APPEND HERALD_CONFFILES "/etc/herald/mappings/${name}\n")
endforeach()
file(WRITE ${PROJECT_BINARY_DIR}/packaging/conffiles ${HERALD_CONFFILES})

set(CPACK_PACKAGE_NAME herald)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Herald maintainers <herald@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "notification daemon for identity and credential-management systems")
set(CPACK_PACKAGE_DESCRIPTION
    "Herald picks up lifecycle events from a producer's SQLite outbox, decides which notifications they trigger, renders them from XML mapping files and delivers them through channel plugins (REST, JSON, XML, e-mail) with a durable retry schedule.")
set(CPACK_GENERATOR DEB)
set(CPACK_SET_DESTDIR ON)  # install with the real prefix into a staging DESTDIR (see /etc above)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # library dependencies from the binaries themselves
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/config/packaging/postinst ${PROJECT_SOURCE_DIR}/config/packaging/prerm
    ${PROJECT_SOURCE_DIR}/config/packaging/postrm ${PROJECT_BINARY_DIR}/packaging/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
