# install_system.cmake: the install rules whose place depends on the prefix
# at install time (run from install(CODE) in packaging/CMakeLists.txt, so
# `cmake --install --prefix P`, DESTDIR and cpack's staging all work):
#
#   prefix /usr (the .deb, or cpack's staging .../usr):
#     /etc/upshot/upshotd.json.example, /lib/systemd/system/upshotd.service
#   any other prefix P (/usr/local by default):
#     P/etc/upshot/upshotd.json.example, P/lib/systemd/system/upshotd.service
#
# The unit's ExecStart names the sbin directory the package will have on
# the target system (/usr/sbin, or P/sbin), never a staging path.
# Expects UPSHOT_PACKAGING_DIR (this folder), UPSHOT_BINARY_DIR (where the
# unit is generated) and UPSHOT_SBINDIR (relative to the prefix).
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix MATCHES "(^|/)usr/?$")
  string(REGEX REPLACE "/?usr/?$" "" root "${prefix}")
  set(etc "${root}/etc")
  set(unitdir "${root}/lib/systemd/system")
  set(sbin_final "/usr/${UPSHOT_SBINDIR}")
else()
  set(etc "${prefix}/etc")
  set(unitdir "${prefix}/lib/systemd/system")
  set(sbin_final "${prefix}/${UPSHOT_SBINDIR}")
endif()

# file(INSTALL) puts DESTDIR in front of these absolute paths itself
# (cpack's DEB generator installs with DESTDIR set to its staging folder).
file(INSTALL "${UPSHOT_PACKAGING_DIR}/upshotd.json.example"
     DESTINATION "${etc}/upshot"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

file(READ "${UPSHOT_PACKAGING_DIR}/upshotd.service.in" unit)
string(REPLACE "@SBINDIR@" "${sbin_final}" unit "${unit}")
set(generated "${UPSHOT_BINARY_DIR}/upshotd.service")
file(WRITE "${generated}" "${unit}")
file(INSTALL "${generated}" DESTINATION "${unitdir}"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
