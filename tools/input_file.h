// The whole text of an input file, read in one go for bulk parsing: mapped into memory when it
// is a regular file (no copy, pages filled in by the kernel up front), read into a buffer
// otherwise (a pipe such as bash's <(...), a terminal).
//
// Threading: text() may be read from any number of threads while the InputFile lives.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace leadscore::tools {

class InputFile {
 public:
  // The error says why the file cannot be read (the system's message). `copy`: read even a
  // regular file into memory, for a file that is truncated while its text is in use (a mapping
  // would lose its pages and fault).
  static std::expected<InputFile, std::string> open(const std::string& path, bool copy = false);

  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&&) = delete;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  std::string_view text() const;

 private:
  InputFile() = default;

  void* mapped_ = nullptr;  // when mapped: mapped_size_ bytes
  std::size_t mapped_size_ = 0;
  std::string read_;  // when read
};

}  // namespace leadscore::tools
