#include "tools/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace leadscore::tools {

OutputFile::~OutputFile() { close(); }

bool OutputFile::fail() {
  error_ = std::strerror(errno);
  return false;
}

bool OutputFile::write(std::string_view bytes) {
  if (fd_ < 0) {
    fd_ = path_ == "-" ? STDOUT_FILENO
                       : ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) return fail();
  }
  while (!bytes.empty()) {
    const ssize_t wrote = ::write(fd_, bytes.data(), bytes.size());
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return fail();
    }
    bytes.remove_prefix(static_cast<std::size_t>(wrote));
  }
  return true;
}

bool OutputFile::close() {
  const int fd = fd_;
  fd_ = -1;
  if (fd < 0 || fd == STDOUT_FILENO) return true;
  return ::close(fd) == 0 || fail();
}

}  // namespace leadscore::tools
