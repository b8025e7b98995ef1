#include "tools/input_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace leadscore::tools {
namespace {

// Closes a descriptor when the scope ends, whatever way it ends.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

std::string system_error() { return std::strerror(errno); }

}  // namespace

std::expected<InputFile, std::string> InputFile::open(const std::string& path, bool copy) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(system_error());
  FdCloser closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) return std::unexpected(system_error());
  InputFile file;
  if (!copy && S_ISREG(info.st_mode) && info.st_size > 0) {
    const auto size = static_cast<std::size_t>(info.st_size);
    void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (mapped == MAP_FAILED) return std::unexpected(system_error());
    file.mapped_ = mapped;
    file.mapped_size_ = size;
    return file;
  }
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got == 0) return file;
    if (got > 0) {
      file.read_.append(buffer, static_cast<std::size_t>(got));
    } else if (errno != EINTR) {
      return std::unexpected(system_error());
    }
  }
}

InputFile::InputFile(InputFile&& other) noexcept
    : mapped_(std::exchange(other.mapped_, nullptr)),
      mapped_size_(std::exchange(other.mapped_size_, 0)),
      read_(std::move(other.read_)) {}

InputFile::~InputFile() {
  if (mapped_ != nullptr) ::munmap(mapped_, mapped_size_);
}

std::string_view InputFile::text() const {
  if (mapped_ != nullptr) return {static_cast<const char*>(mapped_), mapped_size_};
  return read_;
}

}  // namespace leadscore::tools
