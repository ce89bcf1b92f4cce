// The consumer tests' application: what an out-of-tree user of the installed freshtoken writes.
// It takes the mock server's issuer URL, gets a token with the client_credentials grant, keeps it
// in a Session over a platform secret store, and makes an authorized GET /api/me.
// Exit 0 when the API answered 200 for the service client, 1 otherwise.
// Built with FRESHTOKEN_CONSUMER_IN_PROCESS_SERVER it takes no argument and runs the mock server
// in-process instead (freshtoken::mock_server).
#include <freshtoken/freshtoken.hpp>
#include <freshtoken/platform/secret_stores.hpp>
#include <freshtoken/version.hpp>
#include <iostream>
#include <string>
#ifdef FRESHTOKEN_CONSUMER_IN_PROCESS_SERVER
#include <freshtoken/mock_server.hpp>
#endif

static_assert(FRESHTOKEN_VERSION_MAJOR >= 0 && FRESHTOKEN_VERSION_MINOR >= 0 &&
                  FRESHTOKEN_VERSION_PATCH >= 0,
              "freshtoken/version.hpp defines the version numbers");

int main(int argc, char** argv) {
#ifdef FRESHTOKEN_CONSUMER_IN_PROCESS_SERVER
  if (argc != 1) {
    std::cerr << "usage: " << argv[0] << "\n";
    return 2;
  }
  freshtoken::mock::MockServer mock_server;
  mock_server.start();
  const std::string issuer = mock_server.issuer();
  std::cout << "in-process mock server at " << issuer << "\n";
#else
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " ISSUER_URL\n";
    return 2;
  }
  const std::string issuer = argv[1];
#endif
  std::cout << "freshtoken " << FRESHTOKEN_VERSION_STRING << "\n";

  auto transport = freshtoken::make_curl_transport();
  freshtoken::ClientConfig client;
  client.client_id = "freshtoken-service";
  client.client_secret = freshtoken::Secret(std::string_view("service-secret"));
  client.auth = freshtoken::ClientAuth::client_secret_basic;
  auto server = freshtoken::AuthorizationServer::discover(transport, issuer, client);
  if (!server) {
    std::cerr << "discovery failed: " << server.error().to_string() << "\n";
    return 1;
  }
  auto tokens = (*server)->client_credentials("api");
  if (!tokens) {
    std::cerr << "client_credentials failed: " << tokens.error().to_string() << "\n";
    return 1;
  }

  freshtoken::SessionOptions options;
  options.server = *server;
  options.store = freshtoken::make_memory_store();
  options.account = issuer + "|freshtoken-service";
  auto session = freshtoken::Session::create(options).value();
  if (auto signed_in = session->sign_in(std::move(*tokens)); !signed_in) {
    std::cerr << "sign_in failed: " << signed_in.error().to_string() << "\n";
    return 1;
  }

  freshtoken::HttpClient http(transport, session);
  auto me = http.get(issuer + "/api/me");
  if (!me) {
    std::cerr << "GET /api/me failed: " << me.error().to_string() << "\n";
    return 1;
  }
  std::cout << me->status << " " << me->body << "\n";
  if (me->status != 200 || me->body.find("\"sub\":\"freshtoken-service\"") == std::string::npos) {
    std::cerr << "unexpected answer from /api/me\n";
    return 1;
  }
  return 0;
}
