// Starting a program as a child process, for the tests that drive real processes (the CLI,
// cross-process refreshes, libsecret without a bus). The callers own the pipes and the waits.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace freshtoken::testing {

// What a child's stdin, stdout or stderr is: a descriptor of ours (dup2'ed onto it), or
// inherited from us, or /dev/null.
constexpr int kInheritStream = -1;
constexpr int kDevNull = -2;

struct ChildStreams {
  int in = kInheritStream;
  int out = kInheritStream;
  int err = kInheritStream;
};

// Starts argv[0] (a path) with our environment changed by `env`: a variable set to a
// non-empty value is added or replaced, one set to "" is removed. Returns the pid, or -1
// when the program could not be started.
pid_t spawn_process(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env, const ChildStreams& streams);

}  // namespace freshtoken::testing
