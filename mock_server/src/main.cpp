// freshtoken-mock-server: the mock authorization server as a program. Its first stdout line is
// the issuer URL alone; it stops cleanly on SIGINT/SIGTERM.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "freshtoken/mock_server.hpp"

int main(int argc, char** argv) {
  freshtoken::mock::MockServerOptions options;
  long access_ttl = options.access_token_ttl.count();
  long refresh_ttl = options.refresh_token_ttl.count();
  long idle_ttl = options.refresh_idle_ttl.count();
  long grace = options.reuse_grace.count();
  long device_interval = options.device_interval.count();
  long device_ttl = options.device_code_ttl.count();
  std::string rotation = "on";

  CLI::App app{"freshtoken mock OAuth 2.0 authorization server (for tests and demos)"};
  app.add_option("--host", options.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", options.port, "Port; 0 = any free port")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--access-token-ttl", access_ttl, "Access token lifetime, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--refresh-token-ttl", refresh_ttl, "Refresh token absolute lifetime, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--refresh-idle-ttl", idle_ttl, "Refresh token idle (sliding) lifetime, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--rotation", rotation, "Rotate refresh tokens on each use")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--reuse-grace", grace, "Seconds a rotated-out refresh token stays usable")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--device-interval", device_interval, "Device flow polling interval, seconds")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--device-code-ttl", device_ttl, "Device code lifetime, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--tls-cert", options.tls_cert_file, "PEM certificate (with --tls-key: HTTPS)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tls_key_file, "PEM private key")->check(CLI::ExistingFile);
  app.add_option("--threads", options.threads,
                 "Connection threads; each open keep-alive connection holds one")
      ->capture_default_str()
      ->check(CLI::Range(8, 4096));
  app.add_flag("--auto-approve", options.auto_approve,
               "Approve sign-ins and device codes at once as alice");
  CLI11_PARSE(app, argc, argv);
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    std::cerr << "freshtoken-mock-server: --tls-cert and --tls-key go together\n";
    return 2;
  }
  options.access_token_ttl = std::chrono::seconds(access_ttl);
  options.refresh_token_ttl = std::chrono::seconds(refresh_ttl);
  options.refresh_idle_ttl = std::chrono::seconds(idle_ttl);
  options.reuse_grace = std::chrono::seconds(grace);
  options.device_interval = std::chrono::seconds(device_interval);
  options.device_code_ttl = std::chrono::seconds(device_ttl);
  options.rotation = rotation == "on";

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
               "bob/builder. Ctrl-C stops.\n";
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server.stop();
  std::cerr << "freshtoken-mock-server: stopped\n";
  return 0;
}
