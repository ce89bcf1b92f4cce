// Another local user creates the lock directory an older version used without XDG_RUNTIME_DIR,
// /tmp/freshtoken-<uid>, before this user's processes start. Four processes of one account,
// without a runtime directory, against the mock server program with rotation and strict reuse
// detection, still take turns: their locks live under their own home directory.
//
// The squatted directory exists only for the workers: each runs in a mount namespace of its own
// in which a directory owned by another user is bind-mounted over /tmp/freshtoken-<uid>, so no
// other program on the machine sees it. Only /tmp itself is not replaced, since the build (and
// so the worker program) may live there.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "freshtoken/platform/secret_stores.hpp"
#include "xproc_support.hpp"

namespace freshtoken::xproc {
namespace {

TEST(SquattedLockDirectory, FourProcessesWithoutARuntimeDirRevokeNothingAndAllStaySignedIn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away and to mount";
  {
    Child probe({"/usr/bin/unshare", "--mount", "/bin/true"}, {}, /*quiet_stderr=*/true);
    if (!probe.started() || probe.wait() != 0) GTEST_SKIP() << "cannot make a mount namespace";
  }
  TempDir tmp;
  const auto squatted = tmp.path() / "squatted";
  ASSERT_EQ(::mkdir(squatted.c_str(), 0700), 0);
  ASSERT_EQ(::chown(squatted.c_str(), 65534, 65534), 0);
  ASSERT_EQ(::mkdir((tmp.path() / "home").c_str(), 0700), 0);
  auto store = make_file_store(tmp.path() / "store");
  // The mount point: the old path, made here (and removed after) when nothing is there yet.
  const std::string old_path = "/tmp/freshtoken-" + std::to_string(::geteuid());
  const bool made_mount_point = ::mkdir(old_path.c_str(), 0700) == 0;
  struct RemoveMountPoint {
    const std::string& path;
    bool made;
    ~RemoveMountPoint() {
      if (made) ::rmdir(path.c_str());
    }
  } remove_mount_point{old_path, made_mount_point};

  SharedAccountSetup setup;
  setup.launcher = {"/usr/bin/unshare",
                    "--mount",
                    "/bin/sh",
                    "-c",
                    R"(mount --bind "$0" "$1" && shift && exec "$@")",
                    squatted.string(),
                    old_path};
  setup.env = {
      {"XDG_RUNTIME_DIR", ""}, {"XDG_STATE_HOME", ""}, {"HOME", (tmp.path() / "home").string()}};
  // Slow enough that the processes' refreshes, due within a few hundred milliseconds of each
  // other, would overlap if they did not take turns.
  setup.token_delay_ms = 250;
  const SharedAccountRun run =
      run_shared_account("file:" + (tmp.path() / "store").string(), store, /*workers=*/4,
                         /*requests=*/100, /*interval_ms=*/30, setup);
  expect_shared_account_invariants(run);
  // The workers' locks were where they should be, not in the squatted directory.
  EXPECT_TRUE(std::filesystem::is_directory(tmp.path() / "home/.local/state/freshtoken/locks"));
}

}  // namespace
}  // namespace freshtoken::xproc
