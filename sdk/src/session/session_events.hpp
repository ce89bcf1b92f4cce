// SessionEvents: a Session's listeners and the delivery of its events (internal).
//
// Thread safety: every method may be called from any thread. emit() calls the listeners
// outside its own lock, so a listener may subscribe, unsubscribe or emit; a listener that
// throws is logged and skipped. unsubscribe() waits for calls of that listener running on
// other threads, except when the calling thread is itself inside one of these listeners
// (waiting there could deadlock); either way the listener is not called again once
// unsubscribe() has returned.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "freshtoken/logging.hpp"
#include "freshtoken/session.hpp"

namespace freshtoken::detail {

class SessionEvents {
 public:
  using Listener = std::function<void(const SessionEvent&)>;
  using Subscription = std::size_t;  // never 0

  Subscription subscribe(Listener listener);
  void unsubscribe(Subscription subscription);
  // Delivers each event to every listener subscribed when emit starts and not unsubscribed
  // since, in order.
  void emit(const std::vector<SessionEvent>& events,
            const std::function<void(LogLevel, const std::string&)>& log);

 private:
  struct Entry {
    Listener listener;
    bool removed = false;  // under mutex_
    int running = 0;       // under mutex_: calls under way
  };
  // Under mutex_: whether this thread is inside one of these listeners.
  bool delivering_here_locked() const;

  std::mutex mutex_;
  std::condition_variable call_finished_;
  std::map<Subscription, std::shared_ptr<Entry>> listeners_;
  // One element per call under way: the thread running it.
  std::vector<std::thread::id> delivering_;
  Subscription next_ = 1;
};

}  // namespace freshtoken::detail
