// The mock server's routes: which path goes to which endpoint, the counting and faults around
// each endpoint, and the answers for errors httplib produces itself.
#include "faults.hpp"
#include "server_impl.hpp"
#include "util/encoding.hpp"

namespace freshtoken::mock {

using namespace detail;

void MockServer::Impl::install_routes(httplib::Server& server) {
  install_oauth_routes(server);
  install_control_routes(server);
  server.Get("/", [this](const Request&, Response& res) {
    const std::string iss = state_.issuer();
    send_html(res, 200, "freshtoken mock authorization server",
              "<p>Issuer: " + util::html_escape(iss) +
                  "</p><p><a href=\"/.well-known/openid-configuration\">discovery</a></p>");
  });
  install_error_handlers(server);
}

// The second protected API's own server: /files/ and nothing else.
void MockServer::Impl::install_files_routes(httplib::Server& server) {
  install_api_routes(server, "/files/", wrap(FaultEndpoint::files, [this](auto& req, auto& res) {
                       api(ApiId::files, req, res);
                     }));
  install_error_handlers(server);
}

void MockServer::Impl::install_api_routes(httplib::Server& server, const std::string& prefix,
                                          const httplib::Server::Handler& handler) {
  const std::string pattern = prefix + ".*";
  server.Get(pattern, handler);
  server.Post(pattern, handler);
  server.Put(pattern, handler);
  server.Patch(pattern, handler);
  server.Delete(pattern, handler);
}

void MockServer::Impl::install_error_handlers(httplib::Server& server) {
  server.set_error_handler(httplib::Server::HandlerWithResponse([](const Request&, Response& res) {
    if (!res.body.empty() || res.has_header("X-Mock-Fault")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (res.status == 413) {
      oauth_error(res, 413, "invalid_request", "The request body is too large");
    } else if (res.status == 404) {
      oauth_error(res, 404, "not_found", "No such endpoint");
    } else {
      oauth_error(res, res.status, "invalid_request", "The request could not be handled");
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
    oauth_error(res, 500, "server_error", "The mock server failed to handle the request");
  });
}

void MockServer::Impl::install_oauth_routes(httplib::Server& server) {
  auto on_discovery =
      wrap(FaultEndpoint::discovery, [this](auto& req, auto& res) { discovery(req, res); });
  server.Get("/.well-known/openid-configuration", on_discovery);
  server.Get("/.well-known/oauth-authorization-server", on_discovery);
  server.Get("/jwks",
             wrap(FaultEndpoint::jwks, [](auto&, auto& res) { send_json(res, 200, jwks_json()); }));
  auto on_authorize =
      wrap(FaultEndpoint::authorize, [this](auto& req, auto& res) { authorize(req, res); });
  server.Get("/authorize", on_authorize);
  server.Post("/authorize", on_authorize);
  server.Post("/token",
              wrap(FaultEndpoint::token, [this](auto& req, auto& res) { token(req, res); }));
  server.Get("/token", [](const Request&, Response& res) {
    res.set_header("Allow", "POST");
    oauth_error(res, 405, "invalid_request", "The token endpoint accepts POST only");
  });
  server.Post("/device_authorization",
              wrap(FaultEndpoint::device_authorization,
                   [this](auto& req, auto& res) { device_authorization(req, res); }));
  auto on_device =
      wrap(FaultEndpoint::device, [this](auto& req, auto& res) { device_page(req, res); });
  server.Get("/device", on_device);
  server.Post("/device", on_device);
  server.Post("/revoke",
              wrap(FaultEndpoint::revoke, [this](auto& req, auto& res) { revoke(req, res); }));
  server.Post("/introspect", wrap(FaultEndpoint::introspect,
                                  [this](auto& req, auto& res) { introspect(req, res); }));
  auto on_userinfo =
      wrap(FaultEndpoint::userinfo, [this](auto& req, auto& res) { userinfo(req, res); });
  server.Get("/userinfo", on_userinfo);
  server.Post("/userinfo", on_userinfo);
  install_api_routes(server, "/api/", wrap(FaultEndpoint::api, [this](auto& req, auto& res) {
                       api(ApiId::api, req, res);
                     }));
}

void MockServer::Impl::install_control_routes(httplib::Server& server) {
  server.Get("/mock/.*", [this](const Request& req, Response& res) { control(req, "", res); });
  // `curl -X POST .../mock/reset` sends no Content-Length; reading a body that never comes
  // would stall until the read timeout, so only read one that was announced.
  server.Post("/mock/.*",
              [this](const Request& req, Response& res, const httplib::ContentReader& reader) {
                std::string text;
                if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
                  reader([&text](const char* data, std::size_t length) {
                    if (text.size() + length > kMaxPayload) return false;
                    text.append(data, length);
                    return true;
                  });
                }
                control(req, text, res);
              });
}

httplib::Server::Handler MockServer::Impl::wrap(FaultEndpoint endpoint, Handler handler) {
  return [this, endpoint, handler](const Request& req, Response& res) {
    std::string grant;
    if (endpoint == FaultEndpoint::token) {
      std::string error;
      const auto form = parse_form(req.body, error);
      if (form) grant = get(*form, "grant_type");
    }
    const std::optional<Fault> fault = state_.begin_request(endpoint, grant);
    if (endpoint == FaultEndpoint::token || endpoint == FaultEndpoint::device_authorization ||
        endpoint == FaultEndpoint::introspect) {
      res.set_header("Cache-Control", "no-store");
      res.set_header("Pragma", "no-cache");
    }
    if (fault && apply_fault_before(*fault, req, res)) return;
    handler(req, res);
    if (fault) apply_fault_after(*fault, req, res);
  };
}

}  // namespace freshtoken::mock
