// SessionEvents: a Session's listeners and the delivery of its events (internal).
//
// Thread safety: every method may be called from any thread. emit() calls the listeners
// outside its own lock, so a listener may subscribe, unsubscribe or emit; a listener that
// throws is logged and skipped.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "freshtoken/logging.hpp"
#include "freshtoken/session.hpp"

namespace freshtoken::detail {

class SessionEvents {
 public:
  using Listener = std::function<void(const SessionEvent&)>;
  using Subscription = std::size_t;

  Subscription subscribe(Listener listener);
  void unsubscribe(Subscription subscription);
  // Delivers each event to every listener subscribed when emit starts, in order.
  void emit(const std::vector<SessionEvent>& events,
            const std::function<void(LogLevel, const std::string&)>& log);

 private:
  std::mutex mutex_;
  std::map<Subscription, std::shared_ptr<Listener>> listeners_;
  Subscription next_ = 1;
};

}  // namespace freshtoken::detail
