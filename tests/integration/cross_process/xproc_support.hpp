// Scaffolding of the cross-process tests: child processes with a piped stdout and deadlines
// on every wait, the freshtoken-mock-server program (tests/support), and a Session-written store
// seeded with alice's sign-in.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/secret_store.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/transport.hpp"
#include "mock_server_process.hpp"
#include "temp_dir.hpp"

namespace freshtoken::xproc {

using testing::TempDir;

// A spawned program. stdout is piped to us; stderr is inherited (or /dev/null).
class Child {
 public:
  // `env`: changes to the inherited environment; an empty value removes the variable.
  explicit Child(const std::vector<std::string>& argv,
                 const std::map<std::string, std::string>& env = {}, bool quiet_stderr = false);
  ~Child();  // SIGKILL when still running, then reaps it
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // One line of stdout without its newline; empty at end of stream or deadline.
  std::string read_line(std::chrono::milliseconds deadline = std::chrono::seconds(20));
  // Everything up to the end of stdout (what read_line buffered included).
  std::string read_all(std::chrono::milliseconds deadline = std::chrono::seconds(60));
  // Waits for the exit: the exit code, or 128 + signal; -1 when the deadline passed (then the
  // child is killed).
  int wait(std::chrono::milliseconds deadline = std::chrono::seconds(60));
  void kill(int signal);

 private:
  bool fill(std::chrono::steady_clock::time_point until);  // false at EOF or deadline
  pid_t pid_ = -1;
  int out_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  int status_ = -1;
  std::string buffer_;
};

using testing::MockServerProcess;

int refresh_grants(const nlohmann::json& stats);

// The account name every test process uses for alice at this server.
std::string account_for(const MockServerProcess& server);
inline constexpr const char* kService = "freshtoken-xproc-test";

std::shared_ptr<AuthorizationServer> discover(const std::string& issuer);

// A Session on `store` for alice at `server` (short backoffs, real clock).
std::shared_ptr<Session> open_session(const MockServerProcess& server,
                                      std::shared_ptr<SecretStore> store);

// Signs alice in through a Session, so that `store` holds what a Session writes.
// Returns false (with a gtest failure) when that did not work.
bool seed_sign_in(const MockServerProcess& server, const std::shared_ptr<SecretStore>& store);

// The stored entry as JSON, or null when missing or unparseable (a torn write).
nlohmann::json stored_entry(SecretStore& store, const std::string& account);

// GET /api/me with `token`: the status, -1 when the exchange failed.
int api_status(const std::string& issuer, const Secret& token);

// "<program> <args...>" for the worker.
std::vector<std::string> worker_argv(const std::string& mode, const MockServerProcess& server,
                                     const std::string& store_spec,
                                     const std::vector<std::string>& extra = {});

// The 8-process run: a mock server program with rotation and strict reuse detection (no
// grace) and a 2 s access-token lifetime; `workers` workers on `store_spec` (which `store`
// opens too) make `requests` paced GET /api/me each.
struct SharedAccountRun {
  int workers = 0;
  int threads = 1;        // per worker
  int requests_each = 0;  // per thread
  int ttl_seconds = 0;
  double seconds = 0;  // from the first worker's start to the last one's exit
  int expiries = 0;    // access-token lifetimes the run spanned, rounded up
  // Refreshes one well-coordinated client would make: one per 80% of a lifetime (the soft
  // refresh point), rounded up.
  int refresh_points = 0;
  int ok = 0;
  int failed = 0;
  int exited_badly = 0;  // workers that did not exit 0 with a summary
  std::map<std::string, int> errors;
  int refresh_grants = 0;    // refresh_token requests the server saw
  int refreshed_events = 0;  // `refreshed` events summed over the workers
  int families_revoked = 0;
  int reuse_detected = 0;
  int dpop_rejections = 0;  // proofs the server refused, all reasons
  // With SharedAccountSetup::two_apis: refresh_token requests per resource (GET /mock/stats
  // "resources"), keyed by the resource.
  std::map<std::string, int> refreshes_per_resource;
  std::string account;
  std::string describe() const;
};
struct SharedAccountSetup {
  // Each worker runs as `launcher` followed by its own command line...
  std::vector<std::string> launcher;
  // ...with these changes (as Child takes them) to the inherited environment.
  std::map<std::string, std::string> env;
  // When positive, every token request of the run (the seeding sign-in's aside) is held this
  // long before the server handles it, so that processes whose refreshes are not coordinated
  // overlap and present one refresh token twice.
  int token_delay_ms = 0;
  // The server binds tokens to a key when a proof comes (--dpop allowed) and the workers
  // require DPoP: the seeded Bearer session gets its key at the first refresh, and every
  // process must then refresh with the key stored next to the refresh token.
  bool dpop = false;
  // The workers call both of the mock's protected APIs (GET /mock/resources), each origin with
  // its own resource's token, from `threads` threads each.
  bool two_apis = false;
  int threads = 1;
};
SharedAccountRun run_shared_account(const std::string& store_spec,
                                    const std::shared_ptr<SecretStore>& store, int workers = 8,
                                    int requests = 200, int interval_ms = 30,
                                    const SharedAccountSetup& setup = {});
void expect_shared_account_invariants(const SharedAccountRun& run);
// The resources of GET /mock/resources, in its order.
std::vector<std::string> mock_resources(const MockServerProcess& server);

}  // namespace freshtoken::xproc
