// AccountWindow: the freshtoken Qt sample's one window. It shows who is signed in and until when
// the access token is good, signs in (browser, with Cancel, or the device flow), calls an API,
// signs out, and logs the session's events.
//
// Threading: every freshtoken call that can touch the network, the keyring or the browser runs
// on the window's own thread pool, never on the UI thread. Results and session events come back
// to the UI thread as queued invocations (QMetaObject::invokeMethod with Qt::QueuedConnection),
// so the event loop is never blocked, however long a refresh or a sign-in takes. Widgets are only
// touched on the UI thread.
#pragma once

#include <QString>
#include <QThreadPool>
#include <QWidget>

#include <memory>
#include <string>

#include <freshtoken/platform/desktop_client.hpp>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace freshtoken::qt_sample {

// What the window connects to.
struct AccountWindowOptions {
  std::string issuer;     // the authorization server; its /api/me is the default API URL
  std::string client_id;  // a public client registered there
  // Where the session is kept. Null: the operating system's secret store (the keyring).
  std::shared_ptr<SecretStore> store;
};

class AccountWindow : public QWidget {
 public:
  // Shows the window's widgets at once and connects to the issuer in the background.
  explicit AccountWindow(AccountWindowOptions options, QWidget* parent = nullptr);
  // Cancels a sign-in under way and waits for the background work to finish.
  ~AccountWindow() override;

 private:
  // Runs `job` on the pool; `done(result)` then runs on the UI thread.
  template <typename Job, typename Done>
  void run_in_background(Job job, Done done);

  void connect_to_server();
  void on_connected(std::shared_ptr<DesktopClient> client);
  void sign_in(SignInMethod method);
  void cancel_sign_in();
  void call_api();
  void sign_out();
  // Reads Session::status() in the background and shows it.
  void update_state();
  void show_status(const Result<SessionStatus>& status);
  // Explains an error: login_required and a locked keyring each in their own words.
  void show_error(const Error& error);
  void on_session_event(const SessionEvent& event);
  void set_signing_in(bool signing_in);
  void log(const QString& line);

  AccountWindowOptions options_;
  std::shared_ptr<DesktopClient> client_;  // set once connected; UI thread only
  SessionSubscription subscription_;
  CancelToken sign_in_cancel_;
  QString user_;  // who signed in, from the ID token; empty when not known

  QLabel* state_ = nullptr;
  QLabel* prompt_ = nullptr;
  QPushButton* sign_in_button_ = nullptr;
  QPushButton* device_sign_in_button_ = nullptr;
  QPushButton* cancel_button_ = nullptr;
  QLabel* device_code_ = nullptr;
  QLineEdit* url_ = nullptr;
  QPushButton* call_button_ = nullptr;
  QPlainTextEdit* result_ = nullptr;
  QPushButton* sign_out_button_ = nullptr;
  QPlainTextEdit* log_ = nullptr;
  // Declared last, so destroyed first: its destructor waits for the jobs, which use the rest.
  QThreadPool pool_;
};

}  // namespace freshtoken::qt_sample
