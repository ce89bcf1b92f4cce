// The libsecret store where there is no keyring to talk to: no session bus at all, or a bus
// without a Secret Service provider. Each case runs libsecret_probe in a fresh process with
// the environment under test (libsecret and GIO cache the bus per process).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "spawn_process.hpp"
#include "temp_dir.hpp"

extern char** environ;  // for dbus-daemon, found on PATH

namespace freshtoken::testing {
namespace {

using namespace std::chrono_literals;

struct ProbeResult {
  bool finished = false;  // false: still running after the deadline, then killed
  int exit_code = -1;
  std::string output;
};

// Spawns `argv` with the current environment changed by `changes` (an empty value unsets),
// and collects its stdout. The deadline only guards against a hang (D-Bus's own timeouts are
// 25 s); the store is expected to answer in milliseconds.
ProbeResult run(const std::vector<std::string>& argv,
                const std::map<std::string, std::string>& changes,
                std::chrono::seconds deadline = 20s) {
  ProbeResult result;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return result;
  const pid_t pid = spawn_process(argv, changes, {kInheritStream, out[1], kInheritStream});
  ::close(out[1]);
  if (pid < 0) {
    ::close(out[0]);
    return result;
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ::close(out[0]);
      return result;
    }
    std::this_thread::sleep_for(10ms);
  }
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) result.output.append(buf, n);
  ::close(out[0]);
  result.finished = true;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

ProbeResult probe(const std::string& op, const std::map<std::string, std::string>& changes) {
  return run({LIBSECRET_PROBE, op, "freshtoken-env-test", "alice", "value"}, changes);
}

// XDG_RUNTIME_DIR pointing at an empty directory, so GIO finds no systemd user bus either.
class NoSessionBus : public ::testing::Test {
 protected:
  TempDir runtime_;
  std::map<std::string, std::string> env_{{"XDG_RUNTIME_DIR", runtime_.path().string()},
                                          {"DISPLAY", ""}};
};

TEST_F(NoSessionBus, UnsetAddressIsStorageUnavailable) {
  env_["DBUS_SESSION_BUS_ADDRESS"] = "";
  for (const char* op : {"load", "save", "erase"}) {
    auto result = probe(op, env_);
    ASSERT_TRUE(result.finished) << op << " hung";
    EXPECT_EQ(result.exit_code, 1) << op;
    EXPECT_EQ(result.output.rfind("storage_unavailable: ", 0), 0u) << op << ": " << result.output;
    EXPECT_NE(result.output.find("DBUS_SESSION_BUS_ADDRESS is not set"), std::string::npos)
        << result.output;
  }
}

TEST_F(NoSessionBus, AddressOfAMissingSocketIsStorageUnavailable) {
  env_["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=" + (runtime_.path() / "no-such-bus").string();
  for (const char* op : {"load", "save", "erase"}) {
    auto result = probe(op, env_);
    ASSERT_TRUE(result.finished) << op << " hung";
    EXPECT_EQ(result.exit_code, 1) << op;
    EXPECT_EQ(result.output.rfind("storage_unavailable: ", 0), 0u) << op << ": " << result.output;
  }
}

TEST_F(NoSessionBus, AnAbstractAddressNobodyListensOnIsStorageUnavailable) {
  // Not checked up front (only unix:path= is); GIO's connect fails at once.
  env_["DBUS_SESSION_BUS_ADDRESS"] = "unix:abstract=freshtoken-no-such-bus-4711";
  auto result = probe("load", env_);
  ASSERT_TRUE(result.finished) << "load hung";
  EXPECT_EQ(result.output.rfind("storage_unavailable: ", 0), 0u) << result.output;
}

// A bus of our own with no service directories: nothing owns or can activate
// org.freedesktop.secrets.
class BusWithoutSecretService : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto config = dir_.path() / "bus.conf";
    std::ofstream(config)
        << "<!DOCTYPE busconfig PUBLIC "
           "\"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" "
           "\"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
           "<busconfig><type>session</type>"
           "<listen>unix:path="
        << (dir_.path() / "bus").string()
        << "</listen><auth>EXTERNAL</auth>"
           "<policy context=\"default\"><allow send_destination=\"*\"/>"
           "<allow own=\"*\"/><allow receive_sender=\"*\"/></policy></busconfig>\n";
    std::string conf_arg = "--config-file=" + config.string();
    char* argv[] = {const_cast<char*>("dbus-daemon"), conf_arg.data(),
                    const_cast<char*>("--nofork"), nullptr};
    ASSERT_EQ(::posix_spawnp(&daemon_, "dbus-daemon", nullptr, nullptr, argv, environ), 0);
    // Wait for the socket to appear.
    for (int i = 0; i < 500 && !std::filesystem::exists(dir_.path() / "bus"); ++i) {
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(std::filesystem::exists(dir_.path() / "bus")) << "dbus-daemon did not start";
  }
  void TearDown() override {
    if (daemon_ > 0) {
      ::kill(daemon_, SIGTERM);
      ::waitpid(daemon_, nullptr, 0);
    }
  }

  TempDir dir_;
  pid_t daemon_ = -1;
};

TEST_F(BusWithoutSecretService, EveryOperationIsStorageUnavailable) {
  std::map<std::string, std::string> env{
      {"DBUS_SESSION_BUS_ADDRESS", "unix:path=" + (dir_.path() / "bus").string()}};
  for (const char* op : {"load", "save", "erase"}) {
    auto result = probe(op, env);
    ASSERT_TRUE(result.finished) << op << " hung";
    EXPECT_EQ(result.exit_code, 1) << op;
    EXPECT_EQ(result.output.rfind("storage_unavailable: ", 0), 0u) << op << ": " << result.output;
    EXPECT_NE(result.output.find("no Secret Service provider"), std::string::npos) << result.output;
  }
}

}  // namespace
}  // namespace freshtoken::testing
