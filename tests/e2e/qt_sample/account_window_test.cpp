// The Qt sample's window, driven through its widgets against freshtoken-mock-server
// (--auto-approve) with a BROWSER stub that follows the redirect (curl). The test functions run
// in order on one window: each starts where the previous one left the session.
//
// FRESHTOKEN_QT_SCREENSHOT=<file.png> saves the signed-in window there (docs/images).
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTimer>
#include <QtTest>

#include <memory>

#include <freshtoken/platform/secret_stores.hpp>

#include "account_window.hpp"
#include "mock_server_process.hpp"

using freshtoken::qt_sample::AccountWindow;
using freshtoken::testing::MockServerProcess;

class AccountWindowTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void cancelEndsABrowserSignInThatNeverReturns();
  void signInShowsTheSignedInUser();
  void callApiShowsTheResultWhenItArrives();
  void revokedSessionAsksTheUserToSignInAgain();
  void deviceSignInShowsTheCodeThenSignsIn();
  void slowRefreshNeverStallsTheUiThread();
  void signOutShowsSignedOut();
  void lockedKeyringIsExplainedNotShownAsSignedOut();
  void cleanupTestCase();

 private:
  template <typename Widget>
  Widget* find(const char* name) {
    auto* widget = window_->findChild<Widget*>(name);
    if (!widget) qFatal("no widget named %s", name);
    return widget;
  }
  QString state() { return find<QLabel>("state")->text(); }
  QString result() { return find<QPlainTextEdit>("result")->toPlainText(); }
  void click(const char* button) { QTest::mouseClick(find<QPushButton>(button), Qt::LeftButton); }

  std::unique_ptr<MockServerProcess> server_;
  std::unique_ptr<AccountWindow> window_;
};

constexpr int kTimeoutMs = 10000;

// The longest time the UI thread's event loop went without running a 5 ms timer, from the
// construction to stop(), including the stretch after the last tick.
class StallMeter {
 public:
  StallMeter() {
    ticker_.setTimerType(Qt::PreciseTimer);
    QObject::connect(&ticker_, &QTimer::timeout, [this] { tick(); });
    clock_.start();
    ticker_.start(5);
  }
  qint64 stop() {
    tick();
    ticker_.stop();
    return longest_gap_;
  }

 private:
  void tick() {
    const auto now = clock_.elapsed();
    longest_gap_ = std::max(longest_gap_, now - last_tick_);
    last_tick_ = now;
  }
  QTimer ticker_;
  QElapsedTimer clock_;
  qint64 last_tick_ = 0;
  qint64 longest_gap_ = 0;
};
// Follows the mock server's --auto-approve redirect to the loopback listener, as a browser would.
constexpr char kFollowingBrowser[] = "curl -sL -o /dev/null %s";

void AccountWindowTest::initTestCase() {
  server_ = std::make_unique<MockServerProcess>(
      std::vector<std::string>{"--auto-approve", "--device-interval", "0"});
  qputenv("BROWSER", kFollowingBrowser);
  freshtoken::qt_sample::AccountWindowOptions options;
  options.issuer = server_->issuer();
  options.client_id = "freshtoken-demo";
  options.store = freshtoken::make_memory_store();
  window_ = std::make_unique<AccountWindow>(options);
  window_->show();
  QTRY_VERIFY_WITH_TIMEOUT(find<QPushButton>("signIn")->isEnabled(), kTimeoutMs);
  QTRY_COMPARE_WITH_TIMEOUT(state(), QString("Signed out"), kTimeoutMs);
}

void AccountWindowTest::cancelEndsABrowserSignInThatNeverReturns() {
  qputenv("BROWSER", "true");  // "opens" the page, and nobody ever comes back
  click("signIn");
  QVERIFY(find<QPushButton>("cancel")->isEnabled());
  QVERIFY(!find<QPushButton>("signIn")->isEnabled());
  click("cancel");
  QTRY_VERIFY_WITH_TIMEOUT(find<QPushButton>("signIn")->isEnabled(), kTimeoutMs);
  QVERIFY(find<QPlainTextEdit>("log")->toPlainText().contains("sign-in cancelled"));
  QCOMPARE(state(), QString("Signed out"));
  qputenv("BROWSER", kFollowingBrowser);
}

void AccountWindowTest::signInShowsTheSignedInUser() {
  click("signIn");
  QTRY_VERIFY_WITH_TIMEOUT(state().startsWith("Signed in as Alice Liddell (alice)"), kTimeoutMs);
  QVERIFY2(state().contains("access token valid until"), qPrintable(state()));
  QTRY_VERIFY(find<QPlainTextEdit>("log")->toPlainText().contains("signed_in"));
}

void AccountWindowTest::callApiShowsTheResultWhenItArrives() {
  QCOMPARE(find<QLineEdit>("url")->text(), QString::fromStdString(server_->issuer() + "/api/me"));
  click("call");
  QTRY_VERIFY_WITH_TIMEOUT(result().startsWith("HTTP 200"), kTimeoutMs);
  QVERIFY2(result().contains("\"sub\":\"alice\""), qPrintable(result()));

  const auto screenshot = qEnvironmentVariable("FRESHTOKEN_QT_SCREENSHOT");
  if (!screenshot.isEmpty()) QVERIFY(window_->grab().save(screenshot));
}

void AccountWindowTest::revokedSessionAsksTheUserToSignInAgain() {
  server_->post("/mock/revoke", {{"what", "user"}, {"user", "alice"}});
  click("call");
  auto* prompt = find<QLabel>("prompt");
  QTRY_VERIFY_WITH_TIMEOUT(prompt->isVisible(), kTimeoutMs);
  QVERIFY2(prompt->text().contains("sign in again"), qPrintable(prompt->text()));
  QCOMPARE(state(), QString("Signed out"));
  QTRY_VERIFY(find<QPlainTextEdit>("log")->toPlainText().contains("login_required"));
}

void AccountWindowTest::deviceSignInShowsTheCodeThenSignsIn() {
  click("deviceSignIn");
  auto* code = find<QLabel>("deviceCode");
  QTRY_VERIFY_WITH_TIMEOUT(code->text().contains("enter the code"), kTimeoutMs);
  QTRY_VERIFY_WITH_TIMEOUT(state().startsWith("Signed in as Alice Liddell (alice)"), kTimeoutMs);
  QVERIFY(!find<QLabel>("prompt")->isVisible());
  QVERIFY(!code->isVisible());
}

void AccountWindowTest::slowRefreshNeverStallsTheUiThread() {
  // The server's clock moves past the access token's expiry: the API answers 401, and the
  // refresh that follows waits 3 s for the token endpoint.
  const auto refreshes_before = freshtoken::testing::grants(server_->stats(), "refresh_token");
  server_->arm_token_fault("delay", 3000, 1);
  server_->post("/mock/clock", {{"offset_seconds", 3700}});

  StallMeter meter;
  QElapsedTimer waited;
  waited.start();
  click("call");
  QTRY_VERIFY_WITH_TIMEOUT(result().startsWith("HTTP 200"), kTimeoutMs);
  const auto longest_gap = meter.stop();
  const auto waited_ms = waited.elapsed();
  server_->post("/mock/clock", {{"offset_seconds", 0}});

  qInfo("longest gap between 5 ms ticks while the call waited %lld ms: %lld ms", waited_ms,
        longest_gap);
  QCOMPARE(freshtoken::testing::grants(server_->stats(), "refresh_token"), refreshes_before + 1);
  QVERIFY2(waited_ms >= 3000, "the call did not wait for the delayed refresh");
  QVERIFY2(longest_gap < 50,
           qPrintable(QString("the UI thread stalled for %1 ms").arg(longest_gap)));
}

void AccountWindowTest::signOutShowsSignedOut() {
  click("signOut");
  QTRY_COMPARE_WITH_TIMEOUT(state(), QString("Signed out"), kTimeoutMs);
  QVERIFY(find<QPlainTextEdit>("log")->toPlainText().contains("signed_out"));
}

// A keyring that stays locked: every call says storage_unavailable.
class LockedStore : public freshtoken::SecretStore {
 public:
  freshtoken::Result<freshtoken::Secret> load(const std::string&, const std::string&) override {
    return locked();
  }
  freshtoken::Result<void> save(const std::string&, const std::string&,
                                const freshtoken::Secret&) override {
    return locked();
  }
  freshtoken::Result<void> erase(const std::string&, const std::string&) override {
    return locked();
  }
  std::string describe() const override { return "a locked keyring"; }

 private:
  static freshtoken::Error locked() {
    return {freshtoken::ErrorCode::storage_unavailable, "the collection is locked"};
  }
};

void AccountWindowTest::lockedKeyringIsExplainedNotShownAsSignedOut() {
  freshtoken::qt_sample::AccountWindowOptions options;
  options.issuer = server_->issuer();
  options.client_id = "freshtoken-demo";
  options.store = std::make_shared<LockedStore>();
  AccountWindow locked(options);
  locked.show();
  auto* state = locked.findChild<QLabel*>("state");
  auto* prompt = locked.findChild<QLabel*>("prompt");
  QTRY_VERIFY_WITH_TIMEOUT(prompt->isVisible(), kTimeoutMs);
  QVERIFY2(state->text().contains("keyring is locked"), qPrintable(state->text()));
  QVERIFY2(prompt->text().contains("Unlock it"), qPrintable(prompt->text()));
}

void AccountWindowTest::cleanupTestCase() {
  window_.reset();
  server_.reset();
}

QTEST_MAIN(AccountWindowTest)
#include "account_window_test.moc"
