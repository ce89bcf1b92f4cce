// launch_browser on POSIX systems: posix_spawnp of each $BROWSER candidate in turn, or
// xdg-open.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "sign_in/browser_command.hpp"
#include "sign_in/launch_browser.hpp"

extern char** environ;

namespace freshtoken::detail {

namespace {

// Starts `command` without waiting for it; 0 or the errno of the failure.
int spawn(BrowserCommand command) {
  std::vector<char*> argv;
  for (auto& argument : command) argv.push_back(argument.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  // The browser must not read our stdin or write into our stdout (the CLI's output).
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  // Whatever signals the application blocks or ignores, the browser starts with defaults.
  sigset_t no_signals, all_signals;
  sigemptyset(&no_signals);
  sigfillset(&all_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setsigdefault(&attributes, &all_signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) return rc;
  // Do not wait for the browser (it may run for hours), but do not leave a zombie either.
  std::thread([pid] {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }).detach();
  return 0;
}

}  // namespace

Result<void> launch_browser(const std::string& url) {
  const char* from_env = std::getenv("BROWSER");
  std::vector<BrowserCommand> candidates =
      parse_browser_commands(from_env ? from_env : "", url, ':');
  if (candidates.empty()) candidates.push_back({"xdg-open", url});
  // Only program names go into the message: the arguments hold the URL, and with it `state`.
  std::string failures;
  for (auto& command : candidates) {
    const std::string program = command.front();
    const int rc = spawn(std::move(command));
    if (rc == 0) return {};
    failures += (failures.empty() ? "'" : ", '") + program + "': " + std::strerror(rc);
  }
  return Error(ErrorCode::config, "cannot start the browser (" + failures + ")");
}

}  // namespace freshtoken::detail
