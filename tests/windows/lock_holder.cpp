// lock_holder <service> <account> <milliseconds>: takes the account's refresh lock, says "held"
// on stdout, keeps it for the given time and exits (releasing it). For process_lock_test.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "process_lock.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: lock_holder SERVICE ACCOUNT MILLISECONDS\n");
    return 2;
  }
  auto lock = freshtoken::ProcessLock::acquire(argv[1], argv[2], std::chrono::seconds(30));
  if (!lock) {
    std::fprintf(stderr, "lock_holder: %s\n", lock.error().message().c_str());
    return 1;
  }
  std::printf("held\n");
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::milliseconds(std::atoll(argv[3])));
  return 0;
}
