#include "session/refresh_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace freshtoken::detail {

namespace {
using Seconds = std::chrono::duration<double>;
using SysDuration = std::chrono::system_clock::duration;
}  // namespace

std::optional<std::string> policy_problem(const RefreshPolicy& p) {
  if (!(p.soft_refresh_fraction > 0 && p.soft_refresh_fraction <= 1))
    return "soft_refresh_fraction must be in (0, 1]";
  if (!(p.hard_margin_fraction >= 0 && p.hard_margin_fraction < 1))
    return "hard_margin_fraction must be in [0, 1)";
  if (!(p.jitter_fraction >= 0 && p.jitter_fraction < 0.5))
    return "jitter_fraction must be in [0, 0.5)";
  if (p.hard_margin_cap.count() < 0 || p.max_retries < 0 || p.initial_backoff.count() < 0 ||
      p.max_backoff.count() < 0 || p.pause_after_failure.count() < 0 ||
      p.refresh_lock_timeout.count() < 0)
    return "negative durations or retry counts";
  return std::nullopt;
}

RefreshPoints refresh_points(const RefreshPolicy& p, TimePoint issued, TimePoint expires,
                             double jitter) {
  issued = std::min(issued, expires);
  const Seconds lifetime = expires - issued;
  const Seconds margin =
      std::min<Seconds>(Seconds(p.hard_margin_cap), lifetime * p.hard_margin_fraction);
  RefreshPoints points;
  points.hard = expires - std::chrono::duration_cast<SysDuration>(margin);
  const double fraction = std::clamp(
      p.soft_refresh_fraction + std::clamp(jitter, -1.0, 1.0) * p.jitter_fraction, 0.0, 1.0);
  points.soft = issued + std::chrono::duration_cast<SysDuration>(lifetime * fraction);
  points.soft = std::min(points.soft, points.hard);
  return points;
}

std::chrono::milliseconds backoff_delay(const RefreshPolicy& p, int retry,
                                        std::optional<std::chrono::milliseconds> retry_after,
                                        double draw) {
  const double ceiling =
      std::min(static_cast<double>(p.max_backoff.count()),
               static_cast<double>(p.initial_backoff.count()) * std::pow(2.0, retry));
  auto delay = std::chrono::milliseconds(
      static_cast<std::int64_t>(std::max(0.0, ceiling) * std::clamp(draw, 0.0, 1.0)));
  if (retry_after) delay = std::max(delay, std::min(*retry_after, p.max_backoff * 4));
  return delay;
}

bool is_rejected_grant(const Error& error) {
  return error.code() == ErrorCode::token_endpoint &&
         (error.is_oauth("invalid_grant") || error.is_oauth("interaction_required"));
}

bool is_transient(const Error& error) {
  switch (error.code()) {
    case ErrorCode::network:
    case ErrorCode::timeout:
    case ErrorCode::invalid_response:
      return true;
    default:
      break;
  }
  const int status = error.http_status();
  if (status == 408 || status == 429 || (status >= 500 && status <= 599)) return true;
  return error.is_oauth("temporarily_unavailable") || error.is_oauth("server_error");
}

}  // namespace freshtoken::detail
