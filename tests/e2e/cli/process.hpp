// Programs driven as real processes for the CLI end-to-end tests: spawn with pipes on
// stdin/stdout/stderr, read a stream until a marker appears, collect the rest and the exit
// code. Every wait has a deadline, so a hung child fails the test instead of hanging it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace freshtoken::e2e {

struct Output {
  int exit_code = -1;  // -1: killed at the deadline or by a signal
  std::string out;
  std::string err;
};

struct SpawnOptions {
  // Changes to the inherited environment; an empty value removes the variable.
  std::map<std::string, std::string> env;
  bool capture_stderr = true;  // false: stderr goes to /dev/null
};

class Child {
 public:
  Child(const std::vector<std::string>& argv, const SpawnOptions& options = {});
  ~Child();  // SIGTERM, then waits (SIGKILL after 5 s)
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads stdout (1) or stderr (2) until `marker` appears, then returns everything read from
  // that stream so far; empty when the stream ended or the deadline passed first.
  std::string read_until(int stream, std::string_view marker,
                         std::chrono::milliseconds deadline = std::chrono::seconds(15));
  // Writes `input` to stdin, closes it, collects both streams to the end and waits for the
  // exit. Output includes what read_until already returned.
  Output finish(const std::string& input = {},
                std::chrono::milliseconds deadline = std::chrono::seconds(30));
  // SIGTERM and wait; returns the exit code.
  int stop();
  pid_t pid() const { return pid_; }

 private:
  bool pump(std::chrono::steady_clock::time_point until);  // one poll round; false when done
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string out_text_, err_text_;
  int status_ = -1;
};

// Spawns, feeds `input`, and waits.
Output run(const std::vector<std::string>& argv, const SpawnOptions& options = {},
           const std::string& input = {});

}  // namespace freshtoken::e2e
