// When a Session refreshes and how long it waits between attempts (internal): pure arithmetic
// over a RefreshPolicy. The random draws are arguments, so every case is tested without
// threads, clocks or seeds.
//
// Thread safety: free functions over values.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "freshtoken/error.hpp"
#include "freshtoken/session.hpp"

namespace freshtoken::detail {

using TimePoint = std::chrono::system_clock::time_point;

// What is wrong with `policy`, or nothing when every field is in range.
std::optional<std::string> policy_problem(const RefreshPolicy& policy);

// The two moments of one access token's life that matter to its Session.
struct RefreshPoints {
  TimePoint soft;  // from here a refresh runs in the background; the token is still served
  TimePoint hard;  // from here callers wait for the refresh
};

// The points of a token issued at `issued` that expires at `expires` (an issue time after the
// expiry counts as the expiry). `jitter` in [-1, 1] moves the soft point by that share of
// policy.jitter_fraction of the lifetime; the soft point never passes the hard point.
RefreshPoints refresh_points(const RefreshPolicy& policy, TimePoint issued, TimePoint expires,
                             double jitter);

// The wait before retry number `retry` (0 for the first) of a transient failure: `draw` in
// [0, 1) of min(max_backoff, initial_backoff * 2^retry), at least the server's Retry-After
// (itself capped at 4 * max_backoff).
std::chrono::milliseconds backoff_delay(const RefreshPolicy& policy, int retry,
                                        std::optional<std::chrono::milliseconds> retry_after,
                                        double draw);

// The token endpoint said the refresh token is dead: invalid_grant or interaction_required.
bool is_rejected_grant(const Error& error);

// A failure that says nothing about the refresh token itself: worth another try later.
bool is_transient(const Error& error);

}  // namespace freshtoken::detail
