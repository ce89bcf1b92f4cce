// freshtoken-transport-contract-server: the transport contract server (contract_server.hpp) as
// a program, for a contract test program that cannot start it itself (the Windows one under
// Wine). Prints its endpoints as one line of JSON, then serves until SIGINT or SIGTERM, or until
// its standard input closes when started with --until-stdin-closes.
//
//   FRESHTOKEN_TRANSPORT_CONTRACT_SERVER=$(...) wine64 integration_transport_tests.exe
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <thread>

#include "contract_server.hpp"

int main(int argc, char** argv) {
  const bool until_stdin_closes = argc > 1 && std::strcmp(argv[1], "--until-stdin-closes") == 0;
  // Blocked before the server starts its threads, so that only sigwait below takes them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  try {
    freshtoken::testing::ContractServer server;
    std::printf("%s\n", server.endpoints_json().c_str());
    std::fflush(stdout);
    if (until_stdin_closes) {
      std::thread([] {
        char sink[256];
        while (::read(STDIN_FILENO, sink, sizeof sink) > 0) {
        }
        ::kill(::getpid(), SIGTERM);
      }).detach();
    }
    int signal = 0;
    sigwait(&stop, &signal);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "freshtoken-transport-contract-server: %s\n", e.what());
    return 1;
  }
}
