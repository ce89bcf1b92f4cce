// freshtoken-qt-sample: a Qt 6 Widgets application that signs in, shows who is signed in,
// calls a protected API and logs the session's events, without ever blocking its UI thread.
//
//   freshtoken-qt-sample [--issuer URL] [--client-id ID] [--store default|memory]
//
// The defaults fit the bundled mock server (build/bin/freshtoken-mock-server --port 8080).
// FRESHTOKEN_ISSUER, when set, is the default issuer.
#include <QApplication>
#include <QCommandLineParser>

#include <cstdio>

#include <freshtoken/platform/secret_stores.hpp>

#include "account_window.hpp"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("freshtoken-qt-sample");

  const auto issuer = qEnvironmentVariable("FRESHTOKEN_ISSUER", "http://127.0.0.1:8080");
  QCommandLineParser parser;
  parser.addHelpOption();
  parser.addOption({"issuer", "The authorization server.", "URL", issuer});
  parser.addOption({"client-id", "A public client registered there.", "ID", "freshtoken-demo"});
  parser.addOption(
      {"store", "Where the session is kept: default (the keyring) or memory.", "STORE", "default"});
  parser.process(app);

  freshtoken::qt_sample::AccountWindowOptions options;
  options.issuer = parser.value("issuer").toStdString();
  options.client_id = parser.value("client-id").toStdString();
  const auto store = parser.value("store");
  if (store == "memory") {
    options.store = freshtoken::make_memory_store();
  } else if (store != "default") {
    std::fprintf(stderr, "--store: expected default or memory\n");
    return 2;
  }

  freshtoken::qt_sample::AccountWindow window(options);
  window.show();
  return QApplication::exec();
}
