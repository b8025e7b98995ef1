// Reading a whole input file: mapped when it is a regular file, read when it is a pipe, empty
// when empty, and a system message when it cannot be opened.
#include "tools/input_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace leadscore::tools {
namespace {

TEST(InputFile, HoldsTheTextOfARegularFile) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("input_file_test_" + std::to_string(::getpid()) + ".csv");
  std::ofstream(path, std::ios::binary) << "source\r\nmanual\n";
  {
    auto file = InputFile::open(path.string());
    ASSERT_TRUE(file.has_value()) << file.error();
    const InputFile moved = std::move(*file);
    EXPECT_EQ(moved.text(), "source\r\nmanual\n");
    auto copied = InputFile::open(path.string(), true);
    ASSERT_TRUE(copied.has_value()) << copied.error();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << "x";  // a copy keeps its text
    EXPECT_EQ(copied->text(), "source\r\nmanual\n");
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc).flush();
  auto empty = InputFile::open(path.string());
  ASSERT_TRUE(empty.has_value()) << empty.error();
  EXPECT_EQ(empty->text(), "");
  std::filesystem::remove(path);
}

TEST(InputFile, ReadsAPipeThatCannotBeMapped) {
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  const std::string text = "source\nscanner\n";
  ASSERT_EQ(::write(ends[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(ends[1]);
  auto file = InputFile::open("/dev/fd/" + std::to_string(ends[0]));
  ::close(ends[0]);
  ASSERT_TRUE(file.has_value()) << file.error();
  EXPECT_EQ(file->text(), text);
}

TEST(InputFile, SaysWhyAFileCannotBeOpened) {
  auto file = InputFile::open("/nonexistent/leads.csv");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error(), "No such file or directory");
}

}  // namespace
}  // namespace leadscore::tools
