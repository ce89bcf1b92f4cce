// Fuzzes Retry-After (RFC 9110 §10.2.3) and the HTTP-date parser under it (§5.6.7). A date
// that parses is printed back as an IMF-fixdate, which must parse to the same instant.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>

#include "fuzz_support.hpp"
#include "oauth_parsing.hpp"

using namespace freshtoken;
using namespace freshtoken::detail;

namespace {

std::string imf_fixdate(TimePoint t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buffer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value = fuzz::as_text(data, size);

  if (auto date = parse_http_date(value)) {
    FUZZ_CHECK(date->time_since_epoch().count() >= 0);
    FUZZ_CHECK(*date <= TimePoint(std::chrono::seconds(7'258'118'400LL)));  // 2200-01-01
    FUZZ_CHECK(date->time_since_epoch() % std::chrono::seconds(1) == TimePoint::duration(0));
    const std::string again = imf_fixdate(*date);
    auto reparsed = parse_http_date(again);
    FUZZ_CHECK(reparsed && *reparsed == *date);
  }

  // The SDK passes the clock's "now"; try the epoch, today and a far-future instant.
  for (const TimePoint now : {TimePoint{}, TimePoint{std::chrono::seconds(1'700'000'000)},
                              TimePoint{std::chrono::seconds(8'000'000'000LL)}}) {
    if (auto delay = parse_retry_after(value, now)) {
      FUZZ_CHECK(delay->count() >= 0);
      FUZZ_CHECK(*delay <= kMaxRetryAfter);
    }
  }
  return 0;
}
