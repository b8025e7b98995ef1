// Writing the scored CSV: the file appears only with the first write, holds every piece in
// order, and a file that cannot be created says why.
#include "tools/output_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace leadscore::tools {
namespace {

TEST(OutputFile, CreatesTheFileOnTheFirstWriteAndKeepsTheOrder) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("output_file_test_" + std::to_string(::getpid()) + ".csv");
  std::filesystem::remove(path);
  {
    OutputFile out(path.string());
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(out.write("a,b\n"));
    EXPECT_TRUE(out.write(""));
    EXPECT_TRUE(out.write(std::string(1 << 20, 'x')));
    EXPECT_TRUE(out.close());
  }
  std::ostringstream text;
  text << std::ifstream(path, std::ios::binary).rdbuf();
  EXPECT_EQ(text.str(), "a,b\n" + std::string(1 << 20, 'x'));
  std::filesystem::remove(path);
}

TEST(OutputFile, SaysWhyItCannotWrite) {
  OutputFile out("/nonexistent/out.csv");
  EXPECT_FALSE(out.write("a\n"));
  EXPECT_EQ(out.error(), "No such file or directory");
}

}  // namespace
}  // namespace leadscore::tools
