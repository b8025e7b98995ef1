// The server's log sink: every line reaches the output, in order, without the logging thread
// writing it; a warning is written without waiting for the once-a-second write.
#include "api/batched_log_sink.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

namespace leadscore::testing {
namespace {

using namespace std::chrono_literals;

// What has been written to `file` so far.
std::string contents(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  std::fseek(file, 0, SEEK_END);
  return text;
}

std::shared_ptr<spdlog::logger> logger_to(std::FILE* file) {
  auto logger =
      std::make_shared<spdlog::logger>("test", std::make_shared<api::BatchedLogSink>(file));
  logger->set_pattern("%l %v");
  logger->flush_on(spdlog::level::warn);
  return logger;
}

TEST(BatchedLogSink, EveryLineIsWrittenInOrderByTheTimeItGoes) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    auto logger = logger_to(file);
    for (int i = 0; i < 10000; ++i) logger->info("line {}", i);
  }
  const std::string text = contents(file);
  std::string expected;
  for (int i = 0; i < 10000; ++i) expected += "info line " + std::to_string(i) + "\n";
  EXPECT_EQ(text, expected);
  std::fclose(file);
}

TEST(BatchedLogSink, AWarningIsWrittenAtOnce) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  auto logger = logger_to(file);
  std::this_thread::sleep_for(50ms);  // the writer has had its first look: it waits a second now
  logger->info("before");
  logger->warn("something to see");
  std::string text;
  for (int i = 0; i < 50 && text.find("something") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
    text = contents(file);
  }
  EXPECT_EQ(text, "info before\nwarning something to see\n");
  logger.reset();
  std::fclose(file);
}

}  // namespace
}  // namespace leadscore::testing
