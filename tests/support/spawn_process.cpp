#include "spawn_process.hpp"

#include <fcntl.h>
#include <spawn.h>

extern char** environ;

namespace freshtoken::testing {

pid_t spawn_process(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env, const ChildStreams& streams) {
  if (argv.empty()) return -1;
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (env.count(entry.substr(0, entry.find('='))) == 0) env_strings.push_back(entry);
  }
  for (const auto& [name, value] : env) {
    if (!value.empty()) env_strings.push_back(name + "=" + value);
  }
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const int targets[] = {0, 1, 2};
  const int sources[] = {streams.in, streams.out, streams.err};
  for (int i = 0; i < 3; ++i) {
    if (sources[i] >= 0) {
      posix_spawn_file_actions_adddup2(&actions, sources[i], targets[i]);
    } else if (sources[i] == kDevNull) {
      posix_spawn_file_actions_addopen(&actions, targets[i], "/dev/null",
                                       targets[i] == 0 ? O_RDONLY : O_WRONLY, 0);
    }
  }
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argp[0], &actions, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

}  // namespace freshtoken::testing
