# Writes the installed variant of a repository config file (config/leadscore.yaml,
# config/hybrid.yaml) for the Debian package: the same keys and comments, with the paths that
# are relative to the repository pointed at the installed layout and leadscore on the front
# door's internal port. Every replacement must apply, so that a change to the repository config
# that the package does not follow breaks the build instead of shipping a config that cannot run.
#
#   cmake -DIN=config/leadscore.yaml -DOUT=... -DPLUGIN_DIR=... -DRULES_DIR=... -DPORT=...
#         -P packaging/installed_config.cmake
foreach(var IN ITEMS IN OUT PLUGIN_DIR RULES_DIR PORT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "installed_config.cmake: ${var} is not set")
  endif()
endforeach()
file(READ "${IN}" text)

function(replace_once from to)
  string(FIND "${text}" "${from}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "installed_config.cmake: ${IN} no longer has `${from}`; "
                        "update packaging/installed_config.cmake")
  endif()
  string(REPLACE "${from}" "${to}" replaced "${text}")
  set(text "${replaced}" PARENT_SCOPE)
endfunction()

# The plugin modules: compiled into the binary as the build tree's directory, so set here.
replace_once("\n  # dir: ../build/plugins\n"
             "\n  # Installed by the leadscore package:\n  dir: ${PLUGIN_DIR}\n")
# The shipped rules and their tests (relative to the config's directory in the repository).
replace_once("../rules/" "${RULES_DIR}/")
# Swagger UI and ReDoc: the package's own copy (cmake/Packaging.cmake installs it).
replace_once("\n  # docs_dir: ../web/node_modules\n"
             "\n  # Installed by the leadscore package:\n  docs_dir: /usr/share/leadscore/docs\n")
# leadscore listens on the internal port; the front door (/etc/leadscore/nginx.conf) on PORT-1.
replace_once("\n  port: 8000\n" "\n  port: ${PORT}\n")

set(header "# Installed by the leadscore package. The repository's ${IN_NAME}, with the
# installed paths: plugins in ${PLUGIN_DIR}, rules in ${RULES_DIR}, /docs and /redoc
# from /usr/share/leadscore/docs,
# prompt templates in /etc/leadscore/prompts (relative to this file); and leadscore on
# 127.0.0.1:${PORT}, behind its front door (/etc/leadscore/nginx.conf, port 8000).
# leadscore.service takes its environment (DATABASE_URL, ...) from /etc/leadscore/leadscore.env.
#
")
file(WRITE "${OUT}" "${header}${text}")
