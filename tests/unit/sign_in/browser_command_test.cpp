// The BROWSER value as the convention has it: candidates, arguments, %s.
#include "sign_in/browser_command.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace freshtoken::detail {
namespace {

const std::string kUrl = "http://127.0.0.1:8123/authorize?state=x&a=%41;b";

using Commands = std::vector<BrowserCommand>;

TEST(BrowserCommand, APlainProgramGetsTheUrlAsItsOnlyArgument) {
  EXPECT_EQ(parse_browser_commands("/usr/bin/firefox", kUrl, ':'),
            (Commands{{"/usr/bin/firefox", kUrl}}));
}

TEST(BrowserCommand, ArgumentsAreSplitOnBlanksWithoutAShell) {
  EXPECT_EQ(parse_browser_commands("  curl\t-sL   -o /dev/null $HOME;x ", kUrl, ':'),
            (Commands{{"curl", "-sL", "-o", "/dev/null", "$HOME;x", kUrl}}));
}

TEST(BrowserCommand, PercentSIsReplacedByTheUrlAndNothingIsAppended) {
  EXPECT_EQ(parse_browser_commands("chromium --app=%s --new-window", kUrl, ':'),
            (Commands{{"chromium", "--app=" + kUrl, "--new-window"}}));
  EXPECT_EQ(parse_browser_commands("echo 100%% %s", kUrl, ':'), (Commands{{"echo", "100%", kUrl}}));
}

TEST(BrowserCommand, TheUrlStaysOneArgumentWhateverItHolds) {
  const std::string url = "http://127.0.0.1:1/a?x=%s&y=$(id) z";
  EXPECT_EQ(parse_browser_commands("open %s", url, ':'), (Commands{{"open", url}}));
}

TEST(BrowserCommand, CandidatesAreKeptInOrderAndEmptyOnesSkipped) {
  EXPECT_EQ(parse_browser_commands("::firefox -new-tab:  :xdg-open %s:", kUrl, ':'),
            (Commands{{"firefox", "-new-tab", kUrl}, {"xdg-open", kUrl}}));
}

TEST(BrowserCommand, WindowsSeparatorLeavesDriveLettersAlone) {
  EXPECT_EQ(
      parse_browser_commands(R"("C:\Program Files\Firefox\firefox.exe" -new-tab %s;msedge)", kUrl,
                             ';'),
      (Commands{{R"(C:\Program Files\Firefox\firefox.exe)", "-new-tab", kUrl}, {"msedge", kUrl}}));
}

TEST(BrowserCommand, QuotesKeepBlanksAndSeparatorsTogether) {
  EXPECT_EQ(parse_browser_commands(R"("/opt/my browser/run" "a:b" "" x"y z")", kUrl, ':'),
            (Commands{{"/opt/my browser/run", "a:b", "", "xy z", kUrl}}));
}

TEST(BrowserCommand, NothingToRunGivesNoCandidates) {
  for (const char* value : {"", "   ", ":::", " : \t: ", R"("" %s)"}) {
    EXPECT_TRUE(parse_browser_commands(value, kUrl, ':').empty()) << "'" << value << "'";
  }
}

}  // namespace
}  // namespace freshtoken::detail
