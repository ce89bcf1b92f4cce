// The smallest useful freshtoken program: call a protected API as the signed-in user.
// It reuses the session that `freshtoken-cli login` stored for the same issuer and client
// (sign in first with: freshtoken-cli --issuer URL login). Usage: example ISSUER
#include <iostream>

#include <freshtoken/platform/desktop_client.hpp>

int main(int argc, char** argv) {
  if (argc != 2) return std::cerr << "usage: " << argv[0] << " ISSUER\n", 2;

  freshtoken::DesktopClientOptions options;
  options.issuer = argv[1];
  options.client_id = "freshtoken-demo";
  options.service = "freshtoken-cli";         // where freshtoken-cli keeps its session
  options.sign_in_when_needed = false;        // no browser from here: freshtoken-cli signs in
  options.policy.background_refresh = false;  // a short-lived program (see docs/guide.md)
  auto app = freshtoken::DesktopClient::create(options);
  if (!app) return std::cerr << app.error().to_string() << '\n', 1;

  // Attaches the access token, refreshes it when needed, retries once after a 401.
  auto response = (*app)->get(options.issuer + "/api/me");
  if (!response) {  // e.g. login_required: nobody has signed in yet
    std::cerr << response.error().to_string() << '\n';
    return 1;
  }
  std::cout << "HTTP " << response->status << ": " << response->body << '\n';
  return response->status == 200 ? 0 : 1;
}
