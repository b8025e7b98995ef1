// The request log line's own cost (api/request_log.h): log_request() as the server calls it
// once per request, into the server's batched sink writing to /dev/null, in both formats.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "api/batched_log_sink.h"
#include "api/request_log.h"

namespace {

using leadscore::api::LogFormat;

void log_requests(benchmark::State& state, LogFormat format) {
  std::FILE* null = std::fopen("/dev/null", "w");
  {
    auto logger = std::make_shared<spdlog::logger>(
        "bench", std::make_shared<leadscore::api::BatchedLogSink>(null));
    logger->set_formatter(leadscore::api::log_formatter(format));
    spdlog::set_default_logger(logger);
    const leadscore::api::RequestRecord record{"GET",       "/leads/{id}", "/leads/123",
                                               200,         0.213,         "3f2a9c1e5b7d4a60",
                                               "127.0.0.1", "reporting",   false};
    for (auto _ : state) leadscore::api::log_request(format, record);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("after"));
  }
  std::fclose(null);
}

void BM_RequestLineText(benchmark::State& state) { log_requests(state, LogFormat::Text); }
void BM_RequestLineJson(benchmark::State& state) { log_requests(state, LogFormat::Json); }
BENCHMARK(BM_RequestLineText);
BENCHMARK(BM_RequestLineJson);

}  // namespace

BENCHMARK_MAIN();
