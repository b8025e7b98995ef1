// fake_llm_server: the fake LLM server of fake_llm_server.h as a process, for tests that start
// servers as processes. Prints its port on the first line of stdout, then serves until SIGTERM
// or SIGINT, or until its parent process ends. Scripted over HTTP:
//   POST /fake/queue    a behaviour or a list of them, answered in order: {"kind": "good",
//                       "intent", "score", "recommendation", "reason"}, {"kind": "text",
//                       "text"}, {"kind": "cut_off"}, {"kind": "status", "status": 429,
//                       "retry_after": "1", "retry_after_ms": "250"}, {"kind": "hang", "ms"},
//                       {"kind": "trickle", "ms"}, {"kind": "echo_key"}, {"kind": "close"};
//                       any of them with "tokens_reasoning": N (OpenAI's reasoning tokens)
//   POST /fake/default  the behaviour once the queue is empty (first: a good High verdict)
//   GET  /fake/requests every request recorded: method, path, headers, body
// Usage: fake_llm_server [PORT]   (default 0: a free port)
#include <signal.h>
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "tests/support/fake_llm_server.h"

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  try {
    leadscore::testing::FakeLlmServer server(argc > 1 ? std::atoi(argv[1]) : 0);
    std::printf("%d\n", server.port());
    std::fflush(stdout);
    int signal = 0;
    sigwait(&signals, &signal);
    server.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fake_llm_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
