// Where the scored CSV goes: a file, or stdout for "-". The file is created (or truncated) on
// the first write, so that a run refused before it wrote anything leaves no file behind. Writes
// go straight to the descriptor: the caller hands over large pieces.
//
// Threading: one thread at a time.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace leadscore::tools {

class OutputFile {
 public:
  explicit OutputFile(std::string path) : path_(std::move(path)) {}
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  // False when the bytes could not all be written; error() then says why.
  bool write(std::string_view bytes);
  // Closes the file; false when that fails (error() says why). Nothing to do for stdout.
  bool close();

  const std::string& error() const { return error_; }

 private:
  bool fail();

  std::string path_;
  int fd_ = -1;  // -1 until the first write
  std::string error_;
};

}  // namespace leadscore::tools
