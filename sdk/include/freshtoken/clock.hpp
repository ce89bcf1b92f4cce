/// @file
/// Clock: where the SDK reads the time. Injected everywhere, never read from a global, so
/// tests of expiry are instant and exact.
///
/// Thread safety: implementations must be safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "freshtoken/export.hpp"

namespace freshtoken {

/// The source of the current time for everything in the SDK.
class FRESHTOKEN_API Clock {
 public:
  /// The SDK measures time on the system clock.
  using time_point = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  /// The current time.
  virtual time_point now() const = 0;
};

/// The wall clock (std::chrono::system_clock).
FRESHTOKEN_API std::shared_ptr<Clock> system_clock();

/// A clock that moves only when told to; for tests, the SDK's and the application's own.
class FRESHTOKEN_API ManualClock : public Clock {
 public:
  /// Starts at `start` (by default, the current wall-clock time).
  explicit ManualClock(time_point start = std::chrono::system_clock::now())
      : now_(start.time_since_epoch().count()) {}
  /// The time it was set or advanced to.
  time_point now() const override { return time_point(time_point::duration(now_.load())); }
  /// Jumps to `t` (backwards too).
  void set(time_point t) { now_.store(t.time_since_epoch().count()); }
  /// Moves forward by `d`.
  void advance(std::chrono::system_clock::duration d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<time_point::rep> now_;
};

}  // namespace freshtoken
