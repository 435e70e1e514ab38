# Installation layout and the Debian packages (cpack -G DEB from the build directory): two
# components, two packages. bytenite-submitd (component daemon, the default): binaries to
# /usr/bin, units and snippets where systemd looks for packaged ones, the package's
# configuration as a conffile under /etc/bytenite-submitd/, the full example and the
# Prometheus/Grafana files under /usr/share/doc/bytenite-submitd/. bytenite-emulator
# (component emulator): the local stand-in for the API, to try the daemon without a key.
include(GNUInstallDirs)
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME daemon)

install(TARGETS bytenite-submitd RUNTIME DESTINATION bin)
if(TARGET bytenite-submit)
  install(TARGETS bytenite-submit RUNTIME DESTINATION bin)
endif()

set(SUBMITD_SYSTEMD ${PROJECT_SOURCE_DIR}/deploy/systemd)
# The template unit (several daemons on one host) is made from the single one: one text.
set(SUBMITD_INSTANCE_UNIT ${CMAKE_BINARY_DIR}/deploy/bytenite-submitd@.service)
add_custom_command(OUTPUT ${SUBMITD_INSTANCE_UNIT}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/deploy
  COMMAND sh ${SUBMITD_SYSTEMD}/instance-unit.sh ${SUBMITD_SYSTEMD}/bytenite-submitd.service > ${SUBMITD_INSTANCE_UNIT}
  DEPENDS ${SUBMITD_SYSTEMD}/instance-unit.sh ${SUBMITD_SYSTEMD}/bytenite-submitd.service
  COMMENT "Making bytenite-submitd@.service from bytenite-submitd.service")
add_custom_target(instance_unit ALL DEPENDS ${SUBMITD_INSTANCE_UNIT})
install(FILES ${SUBMITD_SYSTEMD}/bytenite-submitd.service ${SUBMITD_SYSTEMD}/bytenite-submitd.socket
              ${SUBMITD_INSTANCE_UNIT}
        DESTINATION lib/systemd/system)
install(FILES ${SUBMITD_SYSTEMD}/bytenite-submitd.sysusers
        DESTINATION lib/sysusers.d RENAME bytenite-submitd.conf)
install(FILES ${SUBMITD_SYSTEMD}/bytenite-submitd.tmpfiles
        DESTINATION lib/tmpfiles.d RENAME bytenite-submitd.conf)
install(FILES ${PROJECT_SOURCE_DIR}/config/package.toml
        DESTINATION /etc/bytenite-submitd RENAME config.toml)
install(FILES ${PROJECT_SOURCE_DIR}/config/example.toml ${PROJECT_SOURCE_DIR}/README.md
              ${PROJECT_SOURCE_DIR}/docs/control-api.yaml
        DESTINATION share/doc/bytenite-submitd)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/prometheus ${PROJECT_SOURCE_DIR}/deploy/grafana
        DESTINATION share/doc/bytenite-submitd)
# Debian wants the copyright file and a gzipped changelog (gzip -n: reproducible) in the doc dir.
install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/copyright DESTINATION share/doc/bytenite-submitd)
execute_process(COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/deploy/debian/changelog
                OUTPUT_FILE ${CMAKE_BINARY_DIR}/changelog.gz COMMAND_ERROR_IS_FATAL ANY)
install(FILES ${CMAKE_BINARY_DIR}/changelog.gz DESTINATION share/doc/bytenite-submitd)

# Manual pages, from docs/man/*.scd (scdoc), gzipped as Debian wants them.
find_program(SCDOC scdoc REQUIRED)
foreach(page bytenite-submitd.8 bytenite-submit.1)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/man/${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND sh -c "\"$0\" < \"$1\" | gzip -9n > \"$2\"" ${SCDOC} ${PROJECT_SOURCE_DIR}/docs/man/${page}.scd
            ${CMAKE_BINARY_DIR}/man/${page}.gz
    DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/${page}.scd
    COMMENT "man page ${page}"
    VERBATIM)
  list(APPEND man_pages ${CMAKE_BINARY_DIR}/man/${page}.gz)
  install(FILES ${CMAKE_BINARY_DIR}/man/${page}.gz DESTINATION share/man/man${section})
endforeach()
# bytenite-submitd.toml(5) is made from config/example.toml, the one description of the keys.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/man/bytenite-submitd.toml.5.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
  COMMAND sh -c "\"$0\" \"$1\" \"$2\" | \"$3\" | gzip -9n > \"$4\"" ${Python3_EXECUTABLE}
          ${PROJECT_SOURCE_DIR}/docs/man/toml_page.py ${PROJECT_SOURCE_DIR}/config/example.toml ${SCDOC}
          ${CMAKE_BINARY_DIR}/man/bytenite-submitd.toml.5.gz
  DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/toml_page.py ${PROJECT_SOURCE_DIR}/config/example.toml
  COMMENT "man page bytenite-submitd.toml.5"
  VERBATIM)
list(APPEND man_pages ${CMAKE_BINARY_DIR}/man/bytenite-submitd.toml.5.gz)
install(FILES ${CMAKE_BINARY_DIR}/man/bytenite-submitd.toml.5.gz DESTINATION share/man/man5)
# The emulator's package: its program, its page, and Debian's copyright and changelog.
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/man/bytenite-emulator.1.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
  COMMAND sh -c "\"$0\" < \"$1\" | gzip -9n > \"$2\"" ${SCDOC} ${PROJECT_SOURCE_DIR}/docs/man/bytenite-emulator.1.scd
          ${CMAKE_BINARY_DIR}/man/bytenite-emulator.1.gz
  DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/bytenite-emulator.1.scd
  COMMENT "man page bytenite-emulator.1"
  VERBATIM)
list(APPEND man_pages ${CMAKE_BINARY_DIR}/man/bytenite-emulator.1.gz)
install(TARGETS bytenite-emulator RUNTIME DESTINATION bin COMPONENT emulator)
install(FILES ${CMAKE_BINARY_DIR}/man/bytenite-emulator.1.gz DESTINATION share/man/man1 COMPONENT emulator)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/copyright ${CMAKE_BINARY_DIR}/changelog.gz
        DESTINATION share/doc/bytenite-emulator COMPONENT emulator)
add_custom_target(man_pages ALL DEPENDS ${man_pages})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/bash-completion/bytenite-submit
              ${PROJECT_SOURCE_DIR}/deploy/bash-completion/bytenite-submitd
        DESTINATION share/bash-completion/completions)

set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL daemon emulator)
set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME bytenite-submitd)
set(CPACK_DEBIAN_EMULATOR_PACKAGE_NAME bytenite-emulator)
set(CPACK_PACKAGE_NAME bytenite-submitd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "bytenite-submitd maintainers <maintainers@bytenite-submitd.invalid>")
# Each package's description: its summary, then the text (CPACK_PACKAGE_DESCRIPTION_SUMMARY is
# left unset, or CPack would put it before both).
set(CPACK_DEBIAN_DAEMON_DESCRIPTION "turns job request files into ByteNite jobs, reliably\nbytenite-submitd watches a spool directory (and a local control socket) for job\nrequests and submits each as exactly one ByteNite job, with a durable journal,\nretries, outcome files and Prometheus metrics. Runs under systemd.")
set(CPACK_DEBIAN_EMULATOR_DESCRIPTION "local stand-in for the ByteNite API, to try bytenite-submitd\nbytenite-emulator serves the part of the ByteNite REST API that\nbytenite-submitd uses, over TLS on the local machine, with faults on\nrequest (errors, resets, latency, rate limits). With it the daemon can be\ntried, tested and benchmarked without an API key; nothing reaches the real API.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_DAEMON_PACKAGE_SECTION net)
set(CPACK_DEBIAN_EMULATOR_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DAEMON_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# deploy/debian/conffiles lists /etc/bytenite-submitd/config.toml: dpkg keeps local edits.
set(CPACK_STRIP_FILES ON)
include(CPack)
