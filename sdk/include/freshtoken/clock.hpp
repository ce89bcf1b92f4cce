// Clock: where the SDK reads the time. Injected everywhere, never read from a global, so
// tests of expiry are instant and exact.
//
// Thread safety: implementations must be safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "freshtoken/export.hpp"

namespace freshtoken {

class FRESHTOKEN_API Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
};

// The wall clock (std::chrono::system_clock).
FRESHTOKEN_API std::shared_ptr<Clock> system_clock();

// A clock that moves only when told to; for tests, the SDK's and the application's own.
class FRESHTOKEN_API ManualClock : public Clock {
 public:
  explicit ManualClock(time_point start = std::chrono::system_clock::now())
      : now_(start.time_since_epoch().count()) {}
  time_point now() const override { return time_point(time_point::duration(now_.load())); }
  void set(time_point t) { now_.store(t.time_since_epoch().count()); }
  void advance(std::chrono::system_clock::duration d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<time_point::rep> now_;
};

}  // namespace freshtoken
