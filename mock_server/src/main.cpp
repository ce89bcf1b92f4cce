// freshtoken-mock-server: the mock authorization server as a program. Its first stdout line is
// the issuer URL alone (the second API's URL is in GET /mock/resources and on stderr); it stops
// cleanly on SIGINT/SIGTERM.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "freshtoken/mock_server.hpp"

namespace {

using freshtoken::mock::MockServerOptions;

// The flags that are not MockServerOptions fields as they are (seconds, on/off).
struct Flags {
  explicit Flags(const MockServerOptions& o)
      : access_ttl(o.access_token_ttl.count()),
        refresh_ttl(o.refresh_token_ttl.count()),
        idle_ttl(o.refresh_idle_ttl.count()),
        grace(o.reuse_grace.count()),
        device_interval(o.device_interval.count()),
        device_ttl(o.device_code_ttl.count()) {}

  long access_ttl, refresh_ttl, idle_ttl, grace, device_interval, device_ttl;
  std::string rotation = "on";
  std::string dpop = "off", dpop_nonce = "off";
  std::vector<std::string> dpop_clients;  // CLIENT=MODE
};

const std::map<std::string, freshtoken::mock::DpopMode>& dpop_modes() {
  using freshtoken::mock::DpopMode;
  static const std::map<std::string, DpopMode> modes = {
      {"off", DpopMode::off}, {"allowed", DpopMode::allowed}, {"required", DpopMode::required}};
  return modes;
}

void add_dpop_flags(CLI::App& app, Flags& flags) {
  app.add_option("--dpop", flags.dpop,
                 "DPoP (RFC 9449) proofs: off, allowed (bind tokens when a proof comes) or "
                 "required; not off: advertised in discovery")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "allowed", "required"}));
  app.add_option("--dpop-client", flags.dpop_clients,
                 "CLIENT=MODE: another DPoP mode for one client (repeatable)")
      ->check([](const std::string& value) {
        const auto eq = value.find('=');
        if (eq == std::string::npos || eq == 0 || dpop_modes().count(value.substr(eq + 1)) == 0) {
          return std::string("expected CLIENT=off|allowed|required");
        }
        return std::string();
      });
  app.add_option("--dpop-nonce", flags.dpop_nonce,
                 "Demand (and rotate) server nonces in DPoP proofs, at /token and at the API")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
}

void add_lifetime_flags(CLI::App& app, Flags& flags) {
  app.add_option("--access-token-ttl", flags.access_ttl, "Access token lifetime, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--refresh-token-ttl", flags.refresh_ttl,
                 "Refresh token absolute lifetime, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--refresh-idle-ttl", flags.idle_ttl,
                 "Refresh token idle (sliding) lifetime, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--rotation", flags.rotation, "Rotate refresh tokens on each use")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--reuse-grace", flags.grace, "Seconds a rotated-out refresh token stays usable")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--device-interval", flags.device_interval,
                 "Device flow polling interval, seconds")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--device-code-ttl", flags.device_ttl, "Device code lifetime, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

void add_address_flags(CLI::App& app, MockServerOptions& options) {
  app.add_option("--host", options.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", options.port, "Port; 0 = any free port")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--files-port", options.files_port,
                 "Port of the second protected API (/files/); 0 = any free port")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--issuer", options.issuer,
                 "Issuer URL to announce when clients reach the server through a proxy or relay "
                 "(default: the address it listens on)");
}

void add_server_flags(CLI::App& app, MockServerOptions& options) {
  app.add_option("--tls-cert", options.tls_cert_file, "PEM certificate (with --tls-key: HTTPS)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tls_key_file, "PEM private key")->check(CLI::ExistingFile);
  app.add_option("--threads", options.threads,
                 "Connection threads; each open keep-alive connection holds one")
      ->capture_default_str()
      ->check(CLI::Range(8, 4096));
  app.add_flag("--auto-approve", options.auto_approve,
               "Approve sign-ins and device codes at once as alice");
  app.add_flag("--require-offline-access", options.require_offline_access,
               "Issue a refresh token at sign-in only when the offline_access scope was granted");
}

void apply(const Flags& flags, MockServerOptions& options) {
  options.access_token_ttl = std::chrono::seconds(flags.access_ttl);
  options.refresh_token_ttl = std::chrono::seconds(flags.refresh_ttl);
  options.refresh_idle_ttl = std::chrono::seconds(flags.idle_ttl);
  options.reuse_grace = std::chrono::seconds(flags.grace);
  options.device_interval = std::chrono::seconds(flags.device_interval);
  options.device_code_ttl = std::chrono::seconds(flags.device_ttl);
  options.rotation = flags.rotation == "on";
  options.dpop = dpop_modes().at(flags.dpop);
  options.dpop_nonce = flags.dpop_nonce == "on";
  for (const auto& item : flags.dpop_clients) {
    const auto eq = item.find('=');
    options.dpop_clients[item.substr(0, eq)] = dpop_modes().at(item.substr(eq + 1));
  }
}

// Serves until SIGINT or SIGTERM; the exit status.
int serve(const MockServerOptions& options) {
  // Block the stop signals in every thread (the server threads inherit this mask) and wait
  // for them here, so shutdown runs in ordinary code rather than in a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  freshtoken::mock::MockServer server(options);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "freshtoken-mock-server: " << e.what() << "\n";
    return 1;
  }
  std::cout << server.issuer() << std::endl;
  std::cerr << "freshtoken-mock-server: clients freshtoken-demo (public), freshtoken-other "
               "(public), freshtoken-service/service-secret; users alice/wonderland, "
               "bob/builder; protected APIs "
            << server.issuer() << "/api and " << server.files_url() << ". Ctrl-C stops.\n";
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server.stop();
  std::cerr << "freshtoken-mock-server: stopped\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MockServerOptions options;
  Flags flags(options);
  CLI::App app{"freshtoken mock OAuth 2.0 authorization server (for tests and demos)"};
  add_address_flags(app, options);
  add_lifetime_flags(app, flags);
  add_server_flags(app, options);
  add_dpop_flags(app, flags);
  CLI11_PARSE(app, argc, argv);
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    std::cerr << "freshtoken-mock-server: --tls-cert and --tls-key go together\n";
    return 2;
  }
  apply(flags, options);
  return serve(options);
}
