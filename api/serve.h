// `leadscore serve`: the server with everything it runs on, until SIGINT or SIGTERM.
#pragma once

#include <string>

namespace leadscore::command {

// Serves with the configuration at `config_path`; SIGHUP reloads the scorers. The exit code:
// 0 after a stop by signal, 1 when the database or the listening socket fails, 2 when the
// configuration or the scorers have errors.
int serve(const std::string& config_path);

}  // namespace leadscore::command
