// A headless "browser" for sign-in tests: follows an authorization server's redirects with a
// plain HTTP client, the way a browser would take the user to the loopback listener.
#pragma once

#include <httplib.h>

#include <functional>
#include <optional>
#include <string>

namespace freshtoken::testing {

// GETs `url` and follows its redirects (at most `max_hops`), sending every URL exactly as the
// server wrote it. `on_redirect` sees each Location and returns the URL to follow (it may
// record or rewrite it). Returns the body of the first answer that is not a redirect;
// nullopt when a request failed or the hops ran out.
inline std::optional<std::string> follow_redirects(
    const std::string& url,
    const std::function<std::string(const std::string&)>& on_redirect = nullptr, int max_hops = 5) {
  std::string next = url;
  for (int hop = 0; hop < max_hops; ++hop) {
    const auto slash = next.find('/', next.find("://") + 3);
    httplib::Client client(slash == std::string::npos ? next : next.substr(0, slash));
    client.set_read_timeout(10, 0);
    client.set_url_encode(false);
    auto response = client.Get(slash == std::string::npos ? "/" : next.substr(slash).c_str());
    if (!response) return std::nullopt;
    if (response->status / 100 != 3) return response->body;
    next = response->get_header_value("Location");
    if (on_redirect) next = on_redirect(next);
  }
  return std::nullopt;
}

}  // namespace freshtoken::testing
