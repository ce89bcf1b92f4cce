#include "session/session_events.hpp"

#include <utility>

namespace freshtoken::detail {

SessionEvents::Subscription SessionEvents::subscribe(Listener listener) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Subscription id = next_++;
  listeners_[id] = std::make_shared<Listener>(std::move(listener));
  return id;
}

void SessionEvents::unsubscribe(Subscription subscription) {
  std::lock_guard<std::mutex> lock(mutex_);
  listeners_.erase(subscription);
}

void SessionEvents::emit(const std::vector<SessionEvent>& events,
                         const std::function<void(LogLevel, const std::string&)>& log) {
  if (events.empty()) return;
  std::vector<std::shared_ptr<Listener>> listeners;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& entry : listeners_) listeners.push_back(entry.second);
  }
  for (const auto& event : events) {
    for (const auto& listener : listeners) {
      try {
        (*listener)(event);
      } catch (...) {
        log(LogLevel::warning, "a session event listener threw; ignored");
      }
    }
  }
}

}  // namespace freshtoken::detail
