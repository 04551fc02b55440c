# install() rules for every component and the CPack DEB configuration.
#
#   cmake --install <build> --prefix /usr      # source install (see docs/operations.md)
#   cd <build> && cpack -G DEB                 # three .deb files, one per component
#
# Components and the Debian packages they become:
#   module  -> libnginx-mod-http-hubstats   (nginx dynamic module + modules-available snippet)
#   daemon  -> hubstatsd                     (daemon, systemd unit, example config)
#   cli     -> hubstats                      (command-line client)
#
# Each rule is guarded so a tree with a missing piece still configures.

include(GNUInstallDirs)

# cpack (and `make install`) package what is already built instead of first building
# every target: build, then package (`cmake --build` ; `cpack -G DEB`).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# Debian's nginx looks for modules and their snippets at fixed paths, whatever our
# prefix; systemd units and /etc are likewise absolute on Debian.
set(HUBSTATS_NGINX_MODULES_DIR "/usr/lib/nginx/modules" CACHE PATH "Where nginx dynamic modules go")
set(HUBSTATS_NGINX_MODULES_AVAILABLE_DIR "/usr/share/nginx/modules-available" CACHE PATH
  "Where nginx module load snippets go")
set(HUBSTATS_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "Where systemd system units go")
set(HUBSTATS_CONFIG_DIR "/etc/hubstats" CACHE PATH "Where hubstatsd.yaml goes")

set(HUBSTATS_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR}/../packaging)
cmake_path(NORMAL_PATH HUBSTATS_PACKAGING_DIR)

set(hubstats_components "")

# --- module ----------------------------------------------------------------------------
# The module is built by nginx-module/ either as a CMake library target or by a custom
# command producing <build>/nginx-module/ngx_http_hubstats_module.so.
set(hubstats_module_file ${CMAKE_BINARY_DIR}/nginx-module/ngx_http_hubstats_module.so)
set(hubstats_module_installed FALSE)
foreach(candidate ngx_http_hubstats_module hubstats_module nginx_module)
  if(NOT hubstats_module_installed AND TARGET ${candidate})
    get_target_property(candidate_type ${candidate} TYPE)
    if(candidate_type MATCHES "MODULE_LIBRARY|SHARED_LIBRARY")
      install(TARGETS ${candidate}
        LIBRARY DESTINATION ${HUBSTATS_NGINX_MODULES_DIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT module)
    else()
      # A custom target wrapping the build of the .so.
      install(FILES ${hubstats_module_file}
        DESTINATION ${HUBSTATS_NGINX_MODULES_DIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT module)
    endif()
    set(hubstats_module_installed TRUE)
  endif()
endforeach()
if(hubstats_module_installed)
  install(FILES ${HUBSTATS_PACKAGING_DIR}/mod-http-hubstats.conf
    DESTINATION ${HUBSTATS_NGINX_MODULES_AVAILABLE_DIR}
    COMPONENT module)
  list(APPEND hubstats_components module)
endif()

# --- daemon ----------------------------------------------------------------------------
if(TARGET hubstatsd)
  install(TARGETS hubstatsd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT daemon)
  install(FILES ${CMAKE_SOURCE_DIR}/systemd/hubstatsd.service
    DESTINATION ${HUBSTATS_SYSTEMD_UNIT_DIR}
    COMPONENT daemon)
  if(EXISTS ${CMAKE_SOURCE_DIR}/conf/hubstatsd.yaml)
    # Owner-only in the package; postinst hands read access to group "hubstats" with
    # a dpkg-statoverride (the file may carry database passwords).
    install(FILES ${CMAKE_SOURCE_DIR}/conf/hubstatsd.yaml
      DESTINATION ${HUBSTATS_CONFIG_DIR}
      PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
      COMPONENT daemon)
    # dpkg keeps an admin's edits across upgrades only for files listed as conffiles.
    file(WRITE ${CMAKE_BINARY_DIR}/packaging/daemon/conffiles "${HUBSTATS_CONFIG_DIR}/hubstatsd.yaml\n")
  else()
    file(WRITE ${CMAKE_BINARY_DIR}/packaging/daemon/conffiles "")
  endif()
  if(EXISTS ${CMAKE_SOURCE_DIR}/docs/operations.md)
    install(FILES ${CMAKE_SOURCE_DIR}/docs/operations.md
      DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/hubstatsd
      COMPONENT daemon)
  endif()
  list(APPEND hubstats_components daemon)
endif()

# --- cli -------------------------------------------------------------------------------
if(TARGET hubstats)
  install(TARGETS hubstats RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
  list(APPEND hubstats_components cli)
endif()

# --- CPack: Debian packages ------------------------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "hubstats")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "hubstats")
set(CPACK_PACKAGE_CONTACT "hubstats maintainers <hubstats@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "download statistics for model hubs")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_COMPONENTS_ALL ${hubstats_components})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES TRUE)

# Library dependencies come from dpkg-shlibdeps (package dpkg-dev) reading the ELF files.
find_program(HUBSTATS_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(HUBSTATS_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  message(STATUS "dpkg-shlibdeps not found (apt-get install dpkg-dev): .deb files will "
    "list library dependencies from a fixed list")
endif()

# The module only loads into the exact nginx build it was compiled against. Debian's
# nginx Provides "nginx-abi-<ver>"; nginx-dev records the same name next to the headers.
set(HUBSTATS_NGINX_ABI "" CACHE STRING "nginx ABI the module depends on (default: from nginx-dev)")
if(NOT HUBSTATS_NGINX_ABI AND EXISTS /usr/share/nginx/src/debian/libnginx-mod.abisubstvars)
  file(STRINGS /usr/share/nginx/src/debian/libnginx-mod.abisubstvars abi_line REGEX "^nginx:abi=")
  string(REGEX REPLACE "^nginx:abi=" "" HUBSTATS_NGINX_ABI "${abi_line}")
endif()
if(NOT HUBSTATS_NGINX_ABI)
  message(WARNING "nginx ABI unknown (install nginx-dev or set HUBSTATS_NGINX_ABI): "
    "libnginx-mod-http-hubstats will not depend on a specific nginx build")
endif()

# module
set(CPACK_DEBIAN_MODULE_PACKAGE_NAME "libnginx-mod-http-hubstats")
set(CPACK_DEBIAN_MODULE_PACKAGE_SECTION httpd)
set(CPACK_DEBIAN_MODULE_DESCRIPTION
  "hubstats download counter module for nginx\n\
 Counts repository downloads of a Hugging Face-style model hub at the nginx\n\
 proxy and records them in Redis for hubstatsd.")
set(module_depends "${HUBSTATS_NGINX_ABI}")
if(NOT HUBSTATS_DPKG_SHLIBDEPS)
  list(APPEND module_depends "libc6" "libstdc++6" "libhiredis0.14" "libsodium23" "libssl3")
endif()
list(FILTER module_depends EXCLUDE REGEX "^$")
string(REPLACE ";" ", " CPACK_DEBIAN_MODULE_PACKAGE_DEPENDS "${module_depends}")
set(CPACK_DEBIAN_MODULE_PACKAGE_RECOMMENDS "nginx")
set(CPACK_DEBIAN_MODULE_PACKAGE_CONTROL_EXTRA
  ${HUBSTATS_PACKAGING_DIR}/module/postinst
  ${HUBSTATS_PACKAGING_DIR}/module/prerm
  ${HUBSTATS_PACKAGING_DIR}/module/postrm)

# daemon
set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME "hubstatsd")
set(CPACK_DEBIAN_DAEMON_PACKAGE_SECTION net)
set(CPACK_DEBIAN_DAEMON_DESCRIPTION
  "hubstats statistics daemon\n\
 Folds the download counters that the nginx module writes to Redis into\n\
 PostgreSQL and serves the Statistics API, trending and the dashboard.")
# procps: the unit's ExecReload= is /bin/kill, which a minimal system lacks (found by
# tests/systemd/test_nspawn.py: `systemctl reload` failed with 203/EXEC).
set(daemon_depends "adduser" "procps")
if(NOT HUBSTATS_DPKG_SHLIBDEPS)
  list(APPEND daemon_depends "libc6" "libstdc++6" "libpq5" "libhiredis0.14" "libyaml-cpp0.7"
    "libsodium23" "libssl3" "libsystemd0" "libuuid1" "libspdlog1.10" "libfmt9")
endif()
string(REPLACE ";" ", " CPACK_DEBIAN_DAEMON_PACKAGE_DEPENDS "${daemon_depends}")
set(CPACK_DEBIAN_DAEMON_PACKAGE_SUGGESTS "postgresql, redis-server, libnginx-mod-http-hubstats")
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_EXTRA
  ${CMAKE_BINARY_DIR}/packaging/daemon/conffiles
  ${HUBSTATS_PACKAGING_DIR}/daemon/postinst
  ${HUBSTATS_PACKAGING_DIR}/daemon/prerm
  ${HUBSTATS_PACKAGING_DIR}/daemon/postrm)

# cli
set(CPACK_DEBIAN_CLI_PACKAGE_NAME "hubstats")
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_CLI_DESCRIPTION
  "hubstats command-line client\n\
 Queries the hubstats Statistics API: repository stats, recent daily\n\
 downloads, trending, CSV export and catalog administration.")
if(NOT HUBSTATS_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_CLI_PACKAGE_DEPENDS "libc6, libstdc++6, libssl3")
endif()

include(CPack)
