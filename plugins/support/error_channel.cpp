#include "plugins/support/error_channel.h"

#include <cstring>

namespace leadscore::plugin {

void write_error(char* err, std::size_t err_size, std::string_view message) {
  if (err == nullptr || err_size == 0) return;
  const std::size_t n = message.size() < err_size - 1 ? message.size() : err_size - 1;
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

}  // namespace leadscore::plugin
