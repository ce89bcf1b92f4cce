#include "session/session_events.hpp"

#include <algorithm>
#include <utility>

namespace freshtoken::detail {

SessionEvents::Subscription SessionEvents::subscribe(Listener listener) {
  auto entry = std::make_shared<Entry>();
  entry->listener = std::move(listener);
  std::lock_guard<std::mutex> lock(mutex_);
  const Subscription id = next_++;
  listeners_[id] = std::move(entry);
  return id;
}

bool SessionEvents::delivering_here_locked() const {
  return std::find(delivering_.begin(), delivering_.end(), std::this_thread::get_id()) !=
         delivering_.end();
}

void SessionEvents::unsubscribe(Subscription subscription) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto found = listeners_.find(subscription);
  if (found == listeners_.end()) return;
  const std::shared_ptr<Entry> entry = found->second;
  entry->removed = true;
  listeners_.erase(found);
  // Inside a listener, waiting could be waiting for ourselves, or for a listener on another
  // thread that is itself unsubscribing the one we run in.
  if (delivering_here_locked()) return;
  call_finished_.wait(lock, [&] { return entry->running == 0; });
}

void SessionEvents::emit(const std::vector<SessionEvent>& events,
                         const std::function<void(LogLevel, const std::string&)>& log) {
  if (events.empty()) return;
  std::vector<std::shared_ptr<Entry>> listeners;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& entry : listeners_) listeners.push_back(entry.second);
  }
  const std::thread::id here = std::this_thread::get_id();
  for (const auto& event : events) {
    for (const auto& entry : listeners) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (entry->removed) continue;
        ++entry->running;
        delivering_.push_back(here);
      }
      try {
        entry->listener(event);
      } catch (...) {
        log(LogLevel::warning, "a session event listener threw; ignored");
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --entry->running;
        delivering_.erase(std::find(delivering_.begin(), delivering_.end(), here));
      }
      call_finished_.notify_all();
    }
  }
}

}  // namespace freshtoken::detail
