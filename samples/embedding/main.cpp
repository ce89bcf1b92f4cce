// The smallest useful freshtoken program: call a protected API as the signed-in user.
// It reuses the session that `freshtoken-cli login` stored for the same issuer and client
// (sign in first with: freshtoken-cli --issuer URL login). Usage: example ISSUER
#include <iostream>

#include <freshtoken/authorization_server.hpp>
#include <freshtoken/http_client.hpp>
#include <freshtoken/platform/secret_stores.hpp>
#include <freshtoken/session.hpp>
#include <freshtoken/transport.hpp>

int main(int argc, char** argv) {
  if (argc != 2) return std::cerr << "usage: " << argv[0] << " ISSUER\n", 2;
  const std::string issuer = argv[1];

  auto transport = freshtoken::make_transport();
  freshtoken::ClientConfig client;
  client.client_id = "freshtoken-demo";
  auto server = freshtoken::AuthorizationServer::discover(transport, issuer, client);
  if (!server) return std::cerr << server.error().to_string() << '\n', 1;

  freshtoken::SessionOptions options;
  options.server = *server;
  options.store = freshtoken::default_secret_store();  // libsecret on Linux
  options.service = "freshtoken-cli";                  // where freshtoken-cli keeps its session
  options.account = issuer + "|freshtoken-demo";
  auto session = freshtoken::Session::create(std::move(options)).value();

  // The client attaches the access token, refreshes it when needed, retries once after a 401.
  freshtoken::HttpClient http(transport, session);
  auto response = http.get(issuer + "/api/me");
  if (!response) {  // e.g. login_required: nobody has signed in yet
    std::cerr << response.error().to_string() << '\n';
    return 1;
  }
  std::cout << "HTTP " << response->status << ": " << response->body << '\n';
  return response->status == 200 ? 0 : 1;
}
