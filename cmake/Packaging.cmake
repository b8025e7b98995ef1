# The Debian package (`make package`: CPack's DEB generator): the `leadscore` binary, the
# shipped scorer plugins, rules and prompt templates, the configuration under /etc/leadscore
# (conffiles), the systemd units of the service and its nginx front door, and the maintainer
# scripts that create the leadscore system user. docs/architecture.md shows the layout.
#
# Installing builds nothing (CMAKE_SKIP_INSTALL_ALL_DEPENDENCY): `make package` builds the
# packaged targets first, and the package test (tests/deploy) packages the tree `make test`
# built, without building the tests and benchmarks again.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(LEADSCORE_VERSION 0.1.0)
set(LEADSCORE_INSTALL_PLUGIN_DIR /usr/lib/leadscore/plugins)
set(LEADSCORE_INSTALL_SHARE_DIR /usr/share/leadscore)
set(LEADSCORE_INSTALL_RULES_DIR ${LEADSCORE_INSTALL_SHARE_DIR}/rules)
# The files of Swagger UI and ReDoc that leadscore serves at /docs and /redoc (config
# server.docs_dir, set to this directory by packaging/installed_config.cmake).
set(LEADSCORE_INSTALL_DOCS_DIR ${LEADSCORE_INSTALL_SHARE_DIR}/docs)
set(LEADSCORE_INSTALL_CONFIG_DIR /etc/leadscore)
set(LEADSCORE_INTERNAL_PORT 8001)  # leadscore, on loopback
set(LEADSCORE_FRONT_DOOR_LISTEN 8000)  # nginx, on every address
set(LEADSCORE_FRONT_DOOR_DIR /var/lib/leadscore/front-door)

# The installed configs: the repository's, with installed paths and the internal port.
set(packaging_out ${CMAKE_BINARY_DIR}/packaging)
set(installed_configs)
foreach(name IN ITEMS leadscore hybrid)
  add_custom_command(
    OUTPUT ${packaging_out}/${name}.yaml
    COMMAND ${CMAKE_COMMAND} -DIN=${CMAKE_SOURCE_DIR}/config/${name}.yaml
            -DIN_NAME=config/${name}.yaml -DOUT=${packaging_out}/${name}.yaml
            -DPLUGIN_DIR=${LEADSCORE_INSTALL_PLUGIN_DIR} -DRULES_DIR=${LEADSCORE_INSTALL_RULES_DIR}
            -DPORT=${LEADSCORE_INTERNAL_PORT} -P ${CMAKE_SOURCE_DIR}/packaging/installed_config.cmake
    DEPENDS ${CMAKE_SOURCE_DIR}/config/${name}.yaml ${CMAKE_SOURCE_DIR}/packaging/installed_config.cmake
    COMMENT "Writing the installed ${name}.yaml")
  list(APPEND installed_configs ${packaging_out}/${name}.yaml)
endforeach()
# The front door's nginx.conf, written by `leadscore front-door` from the installed config's
# server settings, so that nginx and leadscore agree on body limits and timeouts.
add_custom_command(
  OUTPUT ${packaging_out}/nginx.conf
  COMMAND $<TARGET_FILE:leadscore> --config ${packaging_out}/leadscore.yaml front-door
          --listen ${LEADSCORE_FRONT_DOOR_LISTEN} --upstream 127.0.0.1:${LEADSCORE_INTERNAL_PORT}
          --dir ${LEADSCORE_FRONT_DOOR_DIR} --user www-data > ${packaging_out}/nginx.conf
  DEPENDS leadscore ${packaging_out}/leadscore.yaml
  COMMENT "Writing the installed front door (nginx.conf)")
add_custom_target(leadscore_package_files ALL
  DEPENDS ${installed_configs} ${packaging_out}/nginx.conf)

# What `make package` builds before packaging.
add_custom_target(leadscore_packaged)
add_dependencies(leadscore_packaged leadscore ${LEADSCORE_SHIPPED_PLUGINS} leadscore_package_files)

install(TARGETS leadscore RUNTIME DESTINATION /usr/bin)
install(TARGETS ${LEADSCORE_SHIPPED_PLUGINS} LIBRARY DESTINATION ${LEADSCORE_INSTALL_PLUGIN_DIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/rules/ DESTINATION ${LEADSCORE_INSTALL_RULES_DIR})
# The files /docs and /redoc serve (api/docs_routes.cpp), from the pinned npm packages that
# scripts/install_deps.sh puts in web/node_modules.
set(docs_from ${CMAKE_SOURCE_DIR}/web/node_modules)
install(FILES ${docs_from}/swagger-ui-dist/swagger-ui-bundle.js
        ${docs_from}/swagger-ui-dist/swagger-ui.css ${docs_from}/swagger-ui-dist/favicon-32x32.png
        ${docs_from}/swagger-ui-dist/favicon-16x16.png
        DESTINATION ${LEADSCORE_INSTALL_DOCS_DIR}/swagger-ui-dist)
install(FILES ${docs_from}/redoc/bundles/redoc.standalone.js
        DESTINATION ${LEADSCORE_INSTALL_DOCS_DIR}/redoc/bundles)
install(FILES ${installed_configs} ${packaging_out}/nginx.conf
        ${CMAKE_SOURCE_DIR}/packaging/leadscore.env
        DESTINATION ${LEADSCORE_INSTALL_CONFIG_DIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config/prompts/ DESTINATION ${LEADSCORE_INSTALL_CONFIG_DIR}/prompts)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/leadscore.service
        ${CMAKE_SOURCE_DIR}/packaging/leadscore-front-door.service
        DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/architecture.md
        DESTINATION /usr/share/doc/leadscore)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/nginx.conf DESTINATION /usr/share/doc/leadscore/examples
        RENAME nginx-tls.conf)

# Everything under /etc/leadscore is a conffile: an operator's edits survive upgrades.
file(GLOB prompt_files RELATIVE ${CMAKE_SOURCE_DIR}/config/prompts ${CMAKE_SOURCE_DIR}/config/prompts/*)
set(conffiles "")
foreach(file IN ITEMS leadscore.yaml hybrid.yaml nginx.conf leadscore.env)
  string(APPEND conffiles "${LEADSCORE_INSTALL_CONFIG_DIR}/${file}\n")
endforeach()
foreach(file IN LISTS prompt_files)
  string(APPEND conffiles "${LEADSCORE_INSTALL_CONFIG_DIR}/prompts/${file}\n")
endforeach()
file(WRITE ${packaging_out}/conffiles "${conffiles}")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME leadscore)
set(CPACK_PACKAGE_VERSION ${LEADSCORE_VERSION})
set(CPACK_PACKAGE_CONTACT "leadscore maintainers <leadscore@example.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "lead-qualification service: scoring, business rules, handoff to sales")
set(CPACK_PACKAGE_DESCRIPTION "leadscore scores inbound leads with pluggable scorers (heuristic, \
Lua rules, LLM), enforces the handoff rules, and serves a REST API behind an nginx front door.")
set(CPACK_PACKAGING_INSTALL_PREFIX /)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries of the binary and the plugins (libpq, libpistache, liblua5.4, ...), found
# by dpkg-shlibdeps, and what the maintainer scripts and the front door run.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "nginx, adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates, postgresql-client")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql (>= 15)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${packaging_out}/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
