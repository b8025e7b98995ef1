// Runs a shell command for a test and gives back its exit status and what it wrote on stdout
// (append " 2>&1" to the command for stderr too).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace leadscore::testing {

struct CommandResult {
  int status = -1;  // the exit status; -1 when it could not run or did not exit
  std::string output;
  bool ok() const { return status == 0; }
};

inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    result.output = "cannot run: " + command;
    return result;
  }
  std::array<char, 4096> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  if (status != -1 && WIFEXITED(status)) result.status = WEXITSTATUS(status);
  return result;
}

// run_command() with what the command writes on stderr in `output` too. A CommandResult takes
// a structured binding: `const auto [status, output] = run_with_errors(...)`.
inline CommandResult run_with_errors(const std::string& command) {
  return run_command(command + " 2>&1");
}

}  // namespace leadscore::testing
