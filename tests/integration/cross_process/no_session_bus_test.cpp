// A process with no D-Bus session bus at all, asked to keep its session in libsecret: the
// typed error at once (not a D-Bus timeout), nothing erased, and a session that was handed
// tokens keeps working in memory, reporting every save it could not make.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <string>

#include "xproc_support.hpp"

namespace freshtoken::xproc {
namespace {

using nlohmann::json;

// No bus address, and an empty XDG_RUNTIME_DIR so that GIO finds no systemd user bus either.
std::map<std::string, std::string> no_bus_environment(const TempDir& runtime) {
  return {{"DBUS_SESSION_BUS_ADDRESS", ""},
          {"XDG_RUNTIME_DIR", runtime.path().string()},
          {"DISPLAY", ""}};
}

json run_worker(const MockServerProcess& server, const std::vector<std::string>& extra,
                const TempDir& runtime) {
  // The deadline only turns a hang into a failure: D-Bus's own timeouts are 25 s.
  Child child(worker_argv("requests", server, "libsecret", extra), no_bus_environment(runtime));
  const std::string out = child.read_all(std::chrono::seconds(20));
  EXPECT_EQ(child.wait(std::chrono::seconds(5)), 0) << out;
  return json::parse(out, nullptr, false);
}

TEST(NoSessionBus, LoadingIsStorageUnavailableAtOnce) {
  TempDir runtime;
  MockServerProcess server(std::vector<std::string>{});
  const json summary = run_worker(server, {"--requests", "3"}, runtime);
  ASSERT_TRUE(summary.is_object());
  std::cout << "[ measured ] no bus: 3 requests failed in " << summary.value("elapsed_ms", -1)
            << " ms" << std::endl;
  EXPECT_EQ(summary.value("ok", -1), 0);
  EXPECT_EQ(summary["errors"].value("storage_unavailable", 0), 3) << summary.dump();
  EXPECT_EQ(refresh_grants(server.stats()), 0);
}

TEST(NoSessionBus, ASignedInSessionRefreshesInMemoryAndReportsEachFailedSave) {
  TempDir runtime;
  MockServerProcess server({"--rotation", "on", "--access-token-ttl", "2"});
  // ~3 s of requests: past the soft point of the 2 s tokens at least once.
  const json summary =
      run_worker(server, {"--sign-in", "--requests", "15", "--interval-ms", "200"}, runtime);
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary.value("sign_in", ""), "storage_unavailable");
  EXPECT_EQ(summary.value("ok", -1), 15) << summary.dump();
  EXPECT_EQ(summary.value("failed", -1), 0) << summary.dump();
  const json& events = summary.at("events");
  const int refreshed = events.value("refreshed", 0);
  EXPECT_GE(refreshed, 1) << summary.dump();
  // One for the sign-in, one for every refresh.
  EXPECT_EQ(events.value("store_failed", 0), refreshed + 1) << summary.dump();
  EXPECT_EQ(events.value("login_required", 0), 0);
  const json stats = server.stats();
  EXPECT_EQ(refresh_grants(stats), refreshed);
  EXPECT_EQ(stats.value("families_revoked", -1), 0);
}

}  // namespace
}  // namespace freshtoken::xproc
