#include "account_window.hpp"

#include <QDateTime>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMetaObject>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTime>
#include <QVBoxLayout>

#include <chrono>
#include <functional>
#include <utility>

#include <freshtoken/sign_in.hpp>

namespace freshtoken::qt_sample {
namespace {

// /api/me needs `api`; `openid profile` brings an ID token with the user's name.
constexpr char kScope[] = "openid profile api";

QString qstr(const std::string& text) { return QString::fromStdString(text); }

QString local_time(std::chrono::system_clock::time_point at) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch());
  return QDateTime::fromMSecsSinceEpoch(ms.count()).toString("HH:mm:ss");
}

// "Alice Liddell (alice)": the verified ID token's name and sub. sign_in_with_browser and
// sign_in_with_device have verified it already; the verifier is the one way to read its claims.
QString who_signed_in(const AuthorizationServer& server, const Secret& id_token) {
  if (id_token.empty()) return {};
  auto claims = IdTokenVerifier(server).verify(id_token);
  if (!claims) return {};
  const auto name = QJsonDocument::fromJson(QByteArray::fromStdString(claims->json))
                        .object()
                        .value("name")
                        .toString();
  const auto sub = qstr(claims->subject);
  return name.isEmpty() ? sub : name + " (" + sub + ")";
}

// The browser flow opens $BROWSER, else the desktop's browser; the device flow shows a code.
Result<TokenSet> run_sign_in(const AuthorizationServer& server, SignInMethod method,
                             const CancelToken& cancel,
                             std::function<void(const DeviceAuthorization&)> show_code) {
  if (method == SignInMethod::browser) {
    BrowserSignInOptions browser;
    browser.scope = kScope;
    browser.cancel = cancel;
    return sign_in_with_browser(server, browser);
  }
  DeviceSignInOptions device;
  device.scope = kScope;
  device.cancel = cancel;
  device.on_code = std::move(show_code);
  return sign_in_with_device(server, device);
}

// The test finds each widget by its objectName.
template <typename Widget>
Widget* named(Widget* widget, const char* name) {
  widget->setObjectName(name);
  return widget;
}

}  // namespace

AccountWindow::AccountWindow(AccountWindowOptions options, QWidget* parent)
    : QWidget(parent), options_(std::move(options)) {
  setWindowTitle("freshtoken — " + qstr(options_.issuer));

  state_ = named(new QLabel("Connecting…"), "state");
  prompt_ = named(new QLabel, "prompt");
  prompt_->setWordWrap(true);
  prompt_->setStyleSheet("color: #a40000;");
  prompt_->hide();
  sign_in_button_ = named(new QPushButton("Sign in"), "signIn");
  device_sign_in_button_ = named(new QPushButton("Sign in with a code"), "deviceSignIn");
  cancel_button_ = named(new QPushButton("Cancel"), "cancel");
  device_code_ = named(new QLabel, "deviceCode");
  device_code_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  device_code_->hide();
  url_ = named(new QLineEdit(qstr(options_.issuer + "/api/me")), "url");
  call_button_ = named(new QPushButton("Call API"), "call");
  result_ = named(new QPlainTextEdit, "result");
  result_->setReadOnly(true);
  result_->setMaximumBlockCount(200);
  sign_out_button_ = named(new QPushButton("Sign out"), "signOut");
  log_ = named(new QPlainTextEdit, "log");
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(500);

  auto* buttons = new QHBoxLayout;
  for (auto* button : {sign_in_button_, device_sign_in_button_, cancel_button_, sign_out_button_})
    buttons->addWidget(button);
  auto* call_row = new QHBoxLayout;
  call_row->addWidget(url_);
  call_row->addWidget(call_button_);
  auto* form = new QFormLayout;
  form->addRow("Account:", state_);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(prompt_);
  layout->addLayout(buttons);
  layout->addWidget(device_code_);
  layout->addLayout(call_row);
  layout->addWidget(result_, 1);
  layout->addWidget(new QLabel("Session events:"));
  layout->addWidget(log_, 1);
  resize(560, 460);

  connect(sign_in_button_, &QPushButton::clicked, this, [this] { sign_in(SignInMethod::browser); });
  connect(device_sign_in_button_, &QPushButton::clicked, this,
          [this] { sign_in(SignInMethod::device); });
  connect(cancel_button_, &QPushButton::clicked, this, [this] { cancel_sign_in(); });
  connect(call_button_, &QPushButton::clicked, this, [this] { call_api(); });
  connect(url_, &QLineEdit::returnPressed, this, [this] { call_api(); });
  connect(sign_out_button_, &QPushButton::clicked, this, [this] { sign_out(); });

  // Nothing to click until the server's metadata is there.
  for (auto* button :
       {sign_in_button_, device_sign_in_button_, cancel_button_, call_button_, sign_out_button_})
    button->setEnabled(false);
  connect_to_server();
}

AccountWindow::~AccountWindow() {
  sign_in_cancel_.cancel();
  subscription_.unsubscribe();  // waits for a listener that is running
  pool_.waitForDone();
}

template <typename Job, typename Done>
void AccountWindow::run_in_background(Job job, Done done) {
  pool_.start([this, job, done] {
    auto result = job();
    // Delivered by this window's event loop; dropped if the window is gone by then.
    QMetaObject::invokeMethod(
        this, [done, result] { done(result); }, Qt::QueuedConnection);
  });
}

void AccountWindow::connect_to_server() {
  DesktopClientOptions options;
  options.issuer = options_.issuer;
  options.client_id = options_.client_id;
  options.scope = kScope;
  options.service = "freshtoken-qt-sample";  // its entry's name in the keyring
  options.store = options_.store;
  // The browser opens only when the user clicks Sign in; calls fail with login_required.
  options.sign_in_when_needed = false;
  // Discovery is a network round trip: not on the UI thread either.
  run_in_background([options] { return DesktopClient::create(options); },
                    [this](const Result<std::shared_ptr<DesktopClient>>& client) {
                      if (client) return on_connected(*client);
                      state_->setText("Not connected");  // e.g. unreachable: Sign in retries
                      show_error(client.error());
                      set_signing_in(false);
                    });
}

void AccountWindow::on_connected(std::shared_ptr<DesktopClient> client) {
  client_ = std::move(client);
  subscription_ = client_->session()->subscribe([this](const SessionEvent& event) {
    // On the Session's thread (or a job's): hand a copy to the UI thread.
    QMetaObject::invokeMethod(
        this, [this, event] { on_session_event(event); }, Qt::QueuedConnection);
  });
  call_button_->setEnabled(true);
  sign_out_button_->setEnabled(true);
  set_signing_in(false);
  update_state();
}

void AccountWindow::sign_in(SignInMethod method) {
  if (!client_) {  // not connected yet: try again
    state_->setText("Connecting…");
    set_signing_in(true);
    return connect_to_server();
  }
  set_signing_in(true);
  prompt_->hide();
  sign_in_cancel_ = CancelToken();
  // The device flow's code arrives on the job's thread; the label is set on the UI thread.
  auto show_code = [this](const DeviceAuthorization& code) {
    const auto text =
        "Go to " + qstr(code.verification_uri) + " and enter the code " + qstr(code.user_code);
    QMetaObject::invokeMethod(
        this,
        [this, text] {
          device_code_->setText(text);
          device_code_->show();
        },
        Qt::QueuedConnection);
  };
  auto job = [client = client_, method, cancel = sign_in_cancel_, show_code]() -> Result<QString> {
    const auto& server = *client->server();
    auto tokens = run_sign_in(server, method, cancel, show_code);
    if (!tokens) return tokens.error();
    const auto who = who_signed_in(server, tokens->id_token);
    // Saves the tokens, then serves them; a save failure (a locked keyring) is returned, but
    // the tokens are still served from memory for this run.
    if (auto saved = client->session()->sign_in(std::move(*tokens)); !saved) return saved.error();
    return who;
  };
  run_in_background(job, [this](const Result<QString>& who) {
    set_signing_in(false);
    device_code_->hide();
    if (who) {
      user_ = *who;
    } else {
      show_error(who.error());
    }
    update_state();
  });
}

void AccountWindow::cancel_sign_in() { sign_in_cancel_.cancel(); }

void AccountWindow::call_api() {
  if (!client_) return;
  call_button_->setEnabled(false);
  result_->setPlainText("Calling " + url_->text() + " …");
  // Attaches the token, refreshes it when it must (on this job's thread), retries after a 401.
  run_in_background(
      [client = client_, url = url_->text().toStdString()] { return client->get(url); },
      [this](const Result<Response>& response) {
        call_button_->setEnabled(true);
        if (response) {
          result_->setPlainText(
              QString("HTTP %1\n%2").arg(response->status).arg(qstr(response->body)));
        } else {
          result_->setPlainText(qstr(response.error().to_string()));
          show_error(response.error());
        }
        update_state();
      });
}

void AccountWindow::sign_out() {
  if (!client_) return;
  // Revokes the refresh token at the server: a request, so in the background too.
  run_in_background([client = client_] { return client->sign_out(); },
                    [this](const Result<void>& done) {
                      if (!done) log("sign-out: " + qstr(done.error().to_string()));
                      user_.clear();
                      update_state();
                    });
}

void AccountWindow::update_state() {
  if (!client_) return;
  // The first status() reads the store: the keyring may be slow, or ask to be unlocked.
  run_in_background([client = client_] { return client->status(); },
                    [this](const Result<SessionStatus>& status) { show_status(status); });
}

void AccountWindow::show_status(const Result<SessionStatus>& status) {
  if (!status) {  // a store that cannot be read is not "signed out"
    show_error(status.error());
    return;
  }
  if (!status->signed_in) {
    state_->setText("Signed out");
    return;
  }
  auto text = user_.isEmpty() ? QString("Signed in") : "Signed in as " + user_;
  if (status->access_token_expires_at)
    text += " · access token valid until " + local_time(*status->access_token_expires_at);
  state_->setText(text);
  prompt_->hide();
}

void AccountWindow::show_error(const Error& error) {
  switch (error.code()) {
    case ErrorCode::login_required:
      user_.clear();
      state_->setText("Signed out");
      prompt_->setText("Your session has ended. Please sign in again.");
      prompt_->show();
      break;
    case ErrorCode::storage_unavailable:
      state_->setText("Unknown: the keyring is locked");
      prompt_->setText(
          "The keyring is locked (or its service is not running). Unlock it and try again: your "
          "sign-in is still kept there.");
      prompt_->show();
      break;
    case ErrorCode::storage:
      state_->setText("Unknown: the keyring could not be read");
      prompt_->setText(qstr(error.to_string()));
      prompt_->show();
      break;
    case ErrorCode::cancelled:
      log("sign-in cancelled");
      break;
    default:
      log(qstr(error.to_string()));  // never a secret: freshtoken's messages carry none
      break;
  }
}

void AccountWindow::on_session_event(const SessionEvent& event) {
  auto line = qstr(std::string(to_string(event.kind)));
  if (event.error) line += ": " + qstr(event.error->to_string());
  log(line);
  if (event.kind == SessionEventKind::login_required ||
      event.kind == SessionEventKind::signed_out_elsewhere) {
    show_error(Error(ErrorCode::login_required, "the session ended"));
  } else {
    update_state();
  }
}

void AccountWindow::set_signing_in(bool signing_in) {
  sign_in_button_->setEnabled(!signing_in);
  device_sign_in_button_->setEnabled(!signing_in);
  cancel_button_->setEnabled(signing_in);
}

void AccountWindow::log(const QString& line) {
  log_->appendPlainText(QTime::currentTime().toString("HH:mm:ss") + "  " + line);
}

}  // namespace freshtoken::qt_sample
