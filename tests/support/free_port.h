// A TCP port on 127.0.0.1 that was free a moment ago (bound and released); a caller that
// binds it later retries on a clash. Throws std::runtime_error when none can be found.
#pragma once

namespace leadscore::testing {

int free_port();

}  // namespace leadscore::testing
